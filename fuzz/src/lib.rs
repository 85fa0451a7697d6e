//! Differential fuzzing of the Dusk contract VM: a generator of ABI-shaped
//! contracts and cases, oracles with typed verdicts, deliberately wrong
//! engines that prove the oracles find bugs, and a stable campaign runner.

pub mod allocator;
pub mod bench;
pub mod campaign;
pub mod corpus;
pub mod engines;
pub mod faulty;
pub mod findings;
pub mod generate;
pub mod inputs;
pub mod judge;
#[cfg(feature = "libfuzzer")]
pub mod libfuzzer;
pub mod memory;
pub mod mutate;
pub mod oracle;
pub mod phases;
pub mod production;
pub mod replay;
pub mod seeds;
