//! The oracles as libFuzzer sees them: one judge per target and thread,
//! built on first use, and a divergence reported as a crash (libFuzzer's
//! only way to keep an input).

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::judge::{Judge, Target};
use crate::oracle::Verdict;

thread_local! {
    static JUDGES: RefCell<HashMap<Target, Judge>> = RefCell::new(HashMap::new());
}

/// The production engine of the targets: `FUZZ_PRODUCTION` names one
/// (`piecrust-0.32.2`, `piecrust-0.31`, `piecrust@DIR`), or `none`, the
/// default (libFuzzer's speed comes from running in process).
fn production() -> Option<conformance::engines::EngineSpec> {
    match std::env::var("FUZZ_PRODUCTION") {
        Ok(name) if name != "none" => match conformance::engines::EngineSpec::parse(&name) {
            Ok(spec) if spec.is_production() => Some(spec),
            _ => {
                eprintln!("fuzz: FUZZ_PRODUCTION={name} is not a production engine");
                std::process::exit(2);
            }
        },
        _ => None,
    }
}

/// Judges one libFuzzer input; panics with the divergence on a finding.
///
/// Discards return normally: libFuzzer counts them as uninteresting runs.
/// A judge that cannot be built (engine configuration, unreadable corpus)
/// is a broken setup, not a finding, and aborts the run with its reason.
pub fn judge(target: Target, data: &[u8]) {
    let verdict = JUDGES.with(|judges| {
        let mut judges = judges.borrow_mut();
        let judge = match judges.entry(target) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                crate::allocator::tune();
                match Judge::new(target, None, production().as_ref()) {
                    Ok(judge) => entry.insert(judge),
                    Err(error) => {
                        eprintln!("fuzz: cannot set up the {target:?} oracle: {error}");
                        std::process::exit(2);
                    }
                }
            }
        };
        match judge.input(data) {
            Ok(verdict) => verdict,
            Err(error) => {
                eprintln!("fuzz: cannot renew the {target:?} oracle's engines: {error}");
                std::process::exit(2);
            }
        }
    });
    if let Verdict::Diverge(divergence) = verdict {
        panic!(
            "{target:?} oracle: divergence {}\n{divergence:#?}",
            divergence.key()
        );
    }
}

/// libFuzzer's custom mutator for the targets whose inputs are framed case
/// inputs (`differential`, `gas`): see [`crate::mutate`]. `data` holds the
/// input in its first `size` bytes and has room for `max_size`.
pub fn mutate_case_input(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> usize {
    let size = size.min(data.len());
    let max_size = max_size.min(data.len());
    let mutated = crate::mutate::mutate(&data[..size], seed, max_size, |bytes, max_len| {
        let len = bytes.len();
        bytes.resize(max_len.max(len), 0);
        let new_len = libfuzzer_sys::fuzzer_mutate(bytes, len, max_len.max(len));
        bytes.truncate(new_len);
    });
    match mutated {
        Some(bytes) if bytes.len() <= max_size => {
            data[..bytes.len()].copy_from_slice(&bytes);
            bytes.len()
        }
        _ => libfuzzer_sys::fuzzer_mutate(data, size, max_size),
    }
}
