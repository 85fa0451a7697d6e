//! What an outcome keeps of a call's debug messages and fed data.
//!
//! Both cost a contract little gas per byte, so a loop can produce
//! gigabytes of them at an ordinary gas limit. Every engine keeps the same
//! bounded prefix: items are kept in order while their total stays within
//! [`RETAINED_BYTES`]; from the first item that does not fit, items are
//! counted and digested instead ([`Omitted`]), so two engines that agree on
//! the prefix still disagree if anything after it differs.

use serde::{Deserialize, Serialize};

use crate::Bytes;

/// Bytes of debug messages, and separately of fed data, kept per call.
pub const RETAINED_BYTES: usize = 1 << 20;

/// The items past the kept prefix: how many, their total length, and
/// blake3 of each one's length (`u64`, little-endian) and bytes in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Omitted {
    pub items: u64,
    pub bytes: u64,
    pub digest: Bytes,
}

/// What a call's outcome left out of its debug messages and fed data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Omissions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<Omitted>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<Omitted>,
}

impl Omissions {
    pub fn is_empty(&self) -> bool {
        self.debug.is_none() && self.feed.is_none()
    }
}

/// Collects items, keeping the prefix that fits [`RETAINED_BYTES`].
#[derive(Clone, Debug)]
pub struct Retainer<T> {
    kept: Vec<T>,
    kept_bytes: usize,
    omitted: Option<(u64, u64, blake3::Hasher)>,
}

impl<T> Default for Retainer<T> {
    fn default() -> Self {
        Retainer {
            kept: Vec::new(),
            kept_bytes: 0,
            omitted: None,
        }
    }
}

impl<T: AsRef<[u8]>> Retainer<T> {
    /// Keeps `item` if it and everything kept before fit, else counts it.
    pub fn push(&mut self, item: T) {
        let len = item.as_ref().len();
        if self.omitted.is_none() && self.kept_bytes + len <= RETAINED_BYTES {
            self.kept_bytes += len;
            self.kept.push(item);
            return;
        }
        let (items, bytes, hasher) = self
            .omitted
            .get_or_insert_with(|| (0, 0, blake3::Hasher::new()));
        *items += 1;
        *bytes += len as u64;
        hasher.update(&(len as u64).to_le_bytes());
        hasher.update(item.as_ref());
    }

    /// The items kept so far.
    pub fn kept(&self) -> &[T] {
        &self.kept
    }

    /// Everything collected, leaving the retainer empty.
    pub fn take(&mut self) -> (Vec<T>, Option<Omitted>) {
        let taken = std::mem::take(self);
        let omitted = taken.omitted.map(|(items, bytes, hasher)| Omitted {
            items,
            bytes,
            digest: Bytes(hasher.finalize().as_bytes().to_vec()),
        });
        (taken.kept, omitted)
    }
}

impl<T: AsRef<[u8]>> FromIterator<T> for Retainer<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut retainer = Retainer::default();
        for item in items {
            retainer.push(item);
        }
        retainer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_prefix_that_fits_and_digests_the_rest() {
        let half = vec![1u8; RETAINED_BYTES / 2];
        let mut retainer: Retainer<Vec<u8>> = [half.clone(), half.clone(), vec![2], half.clone()]
            .into_iter()
            .collect();
        assert_eq!(retainer.kept().len(), 2);
        let (kept, omitted) = retainer.take();
        assert_eq!(kept, vec![half.clone(), half.clone()]);
        let omitted = omitted.expect("two items did not fit");
        assert_eq!(
            (omitted.items, omitted.bytes),
            (2, 1 + RETAINED_BYTES as u64 / 2)
        );
        let mut hasher = blake3::Hasher::new();
        hasher.update(&1u64.to_le_bytes());
        hasher.update(&[2]);
        hasher.update(&(half.len() as u64).to_le_bytes());
        hasher.update(&half);
        assert_eq!(omitted.digest.0, hasher.finalize().as_bytes().to_vec());
        assert!(retainer.take().1.is_none(), "take leaves it empty");
    }

    #[test]
    fn an_item_that_would_fit_after_one_that_did_not_is_omitted_too() {
        let mut retainer = Retainer::default();
        retainer.push(vec![0u8; RETAINED_BYTES]);
        retainer.push(vec![0u8; 1]);
        retainer.push(Vec::new());
        let (kept, omitted) = retainer.take();
        assert_eq!(kept.len(), 1);
        assert_eq!(omitted.map(|o| (o.items, o.bytes)), Some((2, 1)));
    }

    #[test]
    fn exactly_the_bound_is_kept_whole() {
        let retainer: Retainer<String> = ["x".repeat(RETAINED_BYTES - 1), "y".into()]
            .into_iter()
            .collect();
        let mut retainer = retainer;
        let (kept, omitted) = retainer.take();
        assert_eq!(kept.len(), 2);
        assert!(omitted.is_none());
    }
}
