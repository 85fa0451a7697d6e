//! Mutation aimed at the framing of case inputs ([`CaseInput`]), for
//! libFuzzer's custom-mutator hook.
//!
//! libFuzzer mutates anywhere in an input, and most of a case input's bytes
//! are contract seeds: left alone, nearly every mutation would change a
//! contract and cost a new generation and compilation. Here most mutations
//! change only the calls (gas limits, arguments, functions), so the
//! contracts stay compiled; the rest change one seed, or the input as raw
//! bytes (which can change the framing itself). The byte-level mutation is
//! the caller's (libFuzzer's own, under the fuzzer), which keeps this
//! testable on stable Rust.

use crate::generate::{CaseInput, MAX_CONTRACT_SEED};

/// Out of [`ODDS`] mutations, how many change one contract seed, and how
/// many the whole input as raw bytes; the others change the calls. About
/// one in eight changes a contract, as a campaign's default pool does.
pub const SEED_SHARE: u32 = 1;
pub const RAW_SHARE: u32 = 1;
pub const ODDS: u32 = 16;

/// What a mutation changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Calls,
    /// The seed of contract `n` (0-based).
    Seed(usize),
    /// The input as raw bytes: the caller mutates it as a whole.
    Raw,
}

/// Which part a mutation with libFuzzer's `seed` changes.
pub fn choose(input: &CaseInput, seed: u32) -> Part {
    let roll = seed % ODDS;
    let contracts = input.seeds().count().max(1);
    if roll < RAW_SHARE {
        Part::Raw
    } else if roll < RAW_SHARE + SEED_SHARE {
        Part::Seed((seed / ODDS) as usize % contracts)
    } else {
        Part::Calls
    }
}

/// Mutates `part` of `input` with `mutate_bytes(bytes, max_len)` (which
/// may change the bytes and their length, up to `max_len`, never 0) and
/// returns the new input, at most `max_size` bytes; `None` for
/// [`Part::Raw`], for an empty part without room to grow, or when the
/// mutated part does not fit.
pub fn mutate_part(
    input: &[u8],
    part: Part,
    max_size: usize,
    mutate_bytes: impl FnMut(&mut Vec<u8>, usize),
) -> Option<Vec<u8>> {
    mutate_parsed(
        &CaseInput::parse(input),
        input.len(),
        part,
        max_size,
        mutate_bytes,
    )
}

/// Mutates the part of `input` libFuzzer's `seed` picks ([`choose`]), as
/// [`mutate_part`] does.
pub fn mutate(
    input: &[u8],
    seed: u32,
    max_size: usize,
    mutate_bytes: impl FnMut(&mut Vec<u8>, usize),
) -> Option<Vec<u8>> {
    let parsed = CaseInput::parse(input);
    let part = choose(&parsed, seed);
    mutate_parsed(&parsed, input.len(), part, max_size, mutate_bytes)
}

fn mutate_parsed(
    parsed: &CaseInput,
    input_len: usize,
    part: Part,
    max_size: usize,
    mut mutate_bytes: impl FnMut(&mut Vec<u8>, usize),
) -> Option<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = parsed.seeds().map(<[u8]>::to_vec).collect();
    let mut calls = parsed.calls.to_vec();
    let framing = 1 + 2 * seeds.len();
    let used: usize = framing + seeds.iter().map(Vec::len).sum::<usize>() + calls.len();
    let room = |current: usize| max_size.saturating_sub(used - current).max(current);
    match part {
        Part::Raw => return None,
        Part::Calls => {
            let max_len = room(calls.len());
            if max_len == 0 {
                return None;
            }
            mutate_bytes(&mut calls, max_len);
        }
        Part::Seed(index) => {
            let seed = seeds.get_mut(index)?;
            let max_len = room(seed.len()).min(MAX_CONTRACT_SEED).max(seed.len());
            if max_len == 0 {
                return None;
            }
            mutate_bytes(seed, max_len);
            seed.truncate(MAX_CONTRACT_SEED);
        }
    }
    let seeds: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
    CaseInput::encode(&seeds, &calls).filter(|bytes| bytes.len() <= max_size.max(input_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> Vec<u8> {
        let a: Vec<u8> = (0..300u32).map(|i| i.to_le_bytes()[0]).collect();
        let b: Vec<u8> = (0..200u32).map(|i| (i * 3).to_le_bytes()[0]).collect();
        CaseInput::encode(&[&a, &b], b"the calls").unwrap_or_default()
    }

    /// A byte mutation that appends a byte while there is room.
    fn grow(bytes: &mut Vec<u8>, max_len: usize) {
        if bytes.len() < max_len {
            bytes.push(0xAB);
        } else if let Some(first) = bytes.first_mut() {
            *first ^= 1;
        }
    }

    #[test]
    fn mutating_the_calls_keeps_every_seed() {
        let before = input();
        let after = mutate_part(&before, Part::Calls, 4_096, grow).expect("fits");
        let (b, a) = (CaseInput::parse(&before), CaseInput::parse(&after));
        assert_eq!(a.seeds().collect::<Vec<_>>(), b.seeds().collect::<Vec<_>>());
        assert_eq!(a.calls, b"the calls\xAB");
    }

    #[test]
    fn mutating_a_seed_changes_that_seed_only() {
        let before = input();
        let after = mutate_part(&before, Part::Seed(1), 4_096, grow).expect("fits");
        let (b, a) = (CaseInput::parse(&before), CaseInput::parse(&after));
        let (sb, sa): (Vec<_>, Vec<_>) = (b.seeds().collect(), a.seeds().collect());
        assert_eq!(sa[0], sb[0]);
        assert_eq!(sa[1].len(), sb[1].len() + 1);
        assert_eq!(a.calls, b.calls);
    }

    #[test]
    fn the_result_respects_max_size() {
        let before = input();
        let after = mutate_part(&before, Part::Calls, before.len(), grow).expect("fits");
        assert_eq!(
            after.len(),
            before.len(),
            "no room to grow: changed in place"
        );
        assert_eq!(mutate_part(&before, Part::Raw, 4_096, grow), None);
        assert_eq!(
            mutate_part(&before, Part::Seed(2), 4_096, grow),
            None,
            "no third seed"
        );
    }

    #[test]
    fn an_empty_part_without_room_is_left_to_the_raw_mutation() {
        let before = CaseInput::encode(&[b"seed"], b"").unwrap_or_default();
        let never = |_: &mut Vec<u8>, max_len: usize| assert!(max_len > 0);
        assert_eq!(mutate_part(&before, Part::Calls, before.len(), never), None);
        let empty_seed = CaseInput::encode(&[b""], b"").unwrap_or_default();
        assert_eq!(
            mutate_part(&empty_seed, Part::Seed(0), empty_seed.len(), never),
            None
        );
        assert!(mutate_part(&empty_seed, Part::Seed(0), 64, never).is_some());
    }

    #[test]
    fn most_mutations_leave_the_contracts() {
        let before = input();
        let parsed = CaseInput::parse(&before);
        let parts: Vec<Part> = (0..ODDS * 100).map(|seed| choose(&parsed, seed)).collect();
        let calls = parts.iter().filter(|part| **part == Part::Calls).count();
        assert_eq!(calls, ((ODDS - SEED_SHARE - RAW_SHARE) * 100) as usize);
        assert!(parts.contains(&Part::Seed(0)) && parts.contains(&Part::Seed(1)));
    }
}
