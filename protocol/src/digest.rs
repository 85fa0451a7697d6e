//! The digest of a contract's memory, the same on every engine.
//!
//! The memory is cut into 4 KiB pages; each page is a leaf (its blake3
//! hash; a last, shorter page is hashed as it is). The leaves are padded
//! with all-zero 32-byte hashes to a power of two (at least one) and paired
//! up in a binary Merkle tree whose inner nodes hash the concatenation of
//! their two children. The digest is blake3 of the memory length (`u64`,
//! little-endian) followed by the root.
//!
//! A Merkle tree lets an engine that knows which pages changed refresh the
//! digest in time proportional to those pages; this function computes it
//! from scratch, as a runner that sees only the memory does.

/// Size of a page of the digest, in bytes.
pub const DIGEST_PAGE: usize = 4096;

/// The hash of a page. Most pages of a contract's memory are zero; checking
/// that is several times faster than hashing them.
pub fn page_hash(page: &[u8]) -> [u8; 32] {
    static ZERO_PAGE: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    // An OR over the whole page (no early exit) vectorizes.
    if page.len() == DIGEST_PAGE && page.iter().fold(0, |acc, &byte| acc | byte) == 0 {
        return *ZERO_PAGE.get_or_init(|| *blake3::hash(&[0; DIGEST_PAGE]).as_bytes());
    }
    *blake3::hash(page).as_bytes()
}

/// An inner node of the tree.
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(left);
    hasher.update(right);
    *hasher.finalize().as_bytes()
}

/// The digest of a memory of `len` bytes whose tree root is `root`.
pub fn digest_of_root(len: u64, root: &[u8; 32]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&len.to_le_bytes());
    hasher.update(root);
    *hasher.finalize().as_bytes()
}

/// The hash of an all-zero page.
pub fn zero_page_hash() -> [u8; 32] {
    page_hash(&[0; DIGEST_PAGE])
}

/// The digest of a memory of `len` bytes from its page hashes, in order.
pub fn digest_from_leaves(len: u64, mut leaves: Vec<[u8; 32]>) -> [u8; 32] {
    let capacity = leaves.len().max(1).next_power_of_two();
    leaves.resize(capacity, [0; 32]);
    while leaves.len() > 1 {
        leaves = leaves
            .chunks(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    digest_of_root(len, &leaves[0])
}

/// The digest of `memory`.
pub fn memory_digest(memory: &[u8]) -> [u8; 32] {
    let leaves = memory.chunks(DIGEST_PAGE).map(page_hash).collect();
    digest_from_leaves(memory.len() as u64, leaves)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_memory_has_a_zero_root() {
        assert_eq!(memory_digest(&[]), digest_of_root(0, &[0; 32]));
    }

    #[test]
    fn one_page_is_its_own_root() {
        let page = vec![7u8; DIGEST_PAGE];
        assert_eq!(
            memory_digest(&page),
            digest_of_root(DIGEST_PAGE as u64, blake3::hash(&page).as_bytes())
        );
    }

    #[test]
    fn three_pages_pad_to_four() {
        let memory: Vec<u8> = (0..3 * DIGEST_PAGE)
            .map(|i| (i / 7).to_le_bytes()[0])
            .collect();
        let leaves: Vec<[u8; 32]> = memory
            .chunks(DIGEST_PAGE)
            .map(|p| *blake3::hash(p).as_bytes())
            .collect();
        let left = node_hash(&leaves[0], &leaves[1]);
        let right = node_hash(&leaves[2], &[0; 32]);
        let root = node_hash(&left, &right);
        assert_eq!(
            memory_digest(&memory),
            digest_of_root(memory.len() as u64, &root)
        );
    }

    #[test]
    fn absolute_digest_of_one_zero_wasm_page() {
        // Pinned (checked with the Python blake3 package): changing the
        // definition changes every snapshot.
        let digest = memory_digest(&[0; 65_536]);
        assert_eq!(
            hex::encode(digest),
            "782c9c342ded6348d30eb11aa5f919caf7bc87f6998a5f467e3811913d1ee9b0"
        );
    }

    #[test]
    fn a_byte_anywhere_changes_the_digest() {
        let base = vec![0u8; 5 * DIGEST_PAGE];
        let reference = memory_digest(&base);
        for offset in [0, DIGEST_PAGE - 1, DIGEST_PAGE, 5 * DIGEST_PAGE - 1] {
            let mut changed = base.clone();
            changed[offset] = 1;
            assert_ne!(memory_digest(&changed), reference, "offset {offset}");
        }
    }
}
