//! Where a campaign job's inputs come from: a seeded byte generator, and
//! for targets made of generated contracts a pool of contract seeds reused
//! across cases.

use serde::Serialize;

use crate::generate::CaseInput;
use crate::judge::Target;

/// How campaigns of the `differential` and `gas` targets reuse generated
/// contracts. A new contract costs milliseconds (wasm-smith, admission,
/// instrumentation, Cranelift and wasmi compilation); a case over compiled
/// contracts costs a fraction of that. So a job keeps a pool of contract
/// seeds, builds each case from one to three of them plus new calls, and
/// brings in a new seed every `fresh_every` executions, replacing the
/// oldest; the case it arrives in always uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Reuse {
    /// Seeds in a job's pool; 0 makes every contract of every case new.
    pub pool: usize,
    /// Executions between two new seeds.
    pub fresh_every: u64,
}

impl Reuse {
    /// What campaigns use unless told otherwise.
    pub const DEFAULT: Reuse = Reuse {
        pool: 16,
        fresh_every: 8,
    };

    /// Every contract of every case new (no pool).
    pub const NONE: Reuse = Reuse {
        pool: 0,
        fresh_every: 1,
    };
}

/// How many bytes a new contract seed has: what a campaign generates a
/// contract from.
pub const CONTRACT_SEED_LEN: std::ops::RangeInclusive<usize> = 256..=4_096;

/// A small, seedable generator of input bytes (splitmix64).
pub struct Bytes(pub u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n`, which is more than 0.
    fn below(&mut self, n: usize) -> usize {
        // Less than `n`, so a usize.
        usize::try_from(self.next() % n as u64).unwrap_or_default()
    }

    /// Between `min` and `max` random bytes.
    pub fn bytes(&mut self, min: usize, max: usize) -> Vec<u8> {
        let len = min + self.below(max - min + 1);
        let mut bytes = Vec::with_capacity(len + 8);
        while bytes.len() < len {
            bytes.extend_from_slice(&self.next().to_le_bytes());
        }
        bytes.truncate(len);
        bytes
    }
}

/// Where a job's inputs come from: random bytes, or for the targets made of
/// generated contracts, [`CaseInput`]s framed from contract seeds (see
/// [`Reuse`]) and random call bytes.
pub(crate) struct Inputs {
    framed: bool,
    bytes: Bytes,
    reuse: Reuse,
    pool: Vec<Vec<u8>>,
    /// The pool slot the next new seed replaces (the oldest).
    oldest: usize,
    made: u64,
    pub(crate) new_contracts: u64,
}

impl Inputs {
    pub(crate) fn new(target: Target, reuse: Reuse, seed: u64) -> Self {
        Inputs {
            framed: matches!(
                target,
                Target::Differential | Target::Gas | Target::Releases
            ),
            bytes: Bytes(seed),
            reuse,
            pool: Vec::new(),
            oldest: 0,
            made: 0,
            new_contracts: 0,
        }
    }

    fn new_seed(&mut self) -> Vec<u8> {
        self.new_contracts += 1;
        self.bytes
            .bytes(*CONTRACT_SEED_LEN.start(), *CONTRACT_SEED_LEN.end())
    }

    pub(crate) fn next(&mut self) -> Vec<u8> {
        if !self.framed {
            return self.bytes.bytes(256, 8_447);
        }
        self.made += 1;
        let count = 1 + (self.bytes.next() % 3) as usize;
        let mut seeds = Vec::with_capacity(count);
        if self.reuse.pool == 0 {
            for _ in 0..count {
                seeds.push(self.new_seed());
            }
        } else {
            let mut arrived = None;
            if self.pool.len() < self.reuse.pool {
                let seed = self.new_seed();
                self.pool.push(seed);
                arrived = Some(self.pool.len() - 1);
            } else if self.made.is_multiple_of(self.reuse.fresh_every.max(1)) {
                let seed = self.new_seed();
                self.pool[self.oldest] = seed;
                arrived = Some(self.oldest);
                self.oldest = (self.oldest + 1) % self.pool.len();
            }
            let newcomer_at = self.bytes.below(count);
            for at in 0..count {
                let slot = match arrived {
                    Some(slot) if at == newcomer_at => slot,
                    _ => self.bytes.below(self.pool.len()),
                };
                seeds.push(self.pool[slot].clone());
            }
        }
        let calls = self.bytes.bytes(16, 512);
        let seeds: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
        // The seeds are at most 4,096 bytes and one to three: this encodes.
        CaseInput::encode(&seeds, &calls).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn seeds_of(inputs: &mut Inputs, count: usize) -> Vec<Vec<Vec<u8>>> {
        (0..count)
            .map(|_| {
                let input = inputs.next();
                CaseInput::parse(&input)
                    .seeds()
                    .map(<[u8]>::to_vec)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_pool_brings_in_a_new_seed_every_so_often_and_uses_it_at_once() {
        let reuse = Reuse {
            pool: 4,
            fresh_every: 10,
        };
        let mut inputs = Inputs::new(Target::Differential, reuse, 1);
        let cases = seeds_of(&mut inputs, 200);
        let mut seen = HashSet::new();
        for seeds in &cases {
            // Each input brings in at most one seed not seen before.
            let new: HashSet<&Vec<u8>> =
                seeds.iter().filter(|seed| !seen.contains(*seed)).collect();
            assert!(new.len() <= 1, "{} new seeds in one input", new.len());
            seen.extend(seeds.iter().cloned());
        }
        // Four to fill the pool, then one every ten inputs.
        assert_eq!(inputs.new_contracts, 4 + 200 / 10);
        assert_eq!(seen.len() as u64, inputs.new_contracts);
    }

    #[test]
    fn without_a_pool_every_contract_is_new() {
        let mut inputs = Inputs::new(Target::Gas, Reuse::NONE, 2);
        let cases = seeds_of(&mut inputs, 50);
        let all: Vec<&Vec<u8>> = cases.iter().flatten().collect();
        let distinct: HashSet<&Vec<u8>> = all.iter().copied().collect();
        assert_eq!(distinct.len(), all.len());
        assert_eq!(inputs.new_contracts, all.len() as u64);
    }

    #[test]
    fn other_targets_get_raw_bytes() {
        let mut inputs = Inputs::new(Target::Admission, Reuse::DEFAULT, 3);
        let input = inputs.next();
        assert!(input.len() >= 256);
        assert_eq!(inputs.new_contracts, 0);
    }
}
