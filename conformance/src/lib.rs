//! The conformance suite: scenarios run on our two engines (the wasmtime
//! reference VM and the wasmi shadow interpreter) and on Dusk's production
//! VM (piecrust, through a runner process), judged step by step by one
//! comparison, with production's differences explained by a reviewed
//! deviation catalogue, and checked against reviewed snapshots.

pub mod abi_changes;
pub mod archived;
pub mod catalogue;
pub mod driver;
pub mod engines;
pub mod judge;
pub mod play;
pub mod report;
pub mod scenario;
pub mod suite;
pub mod summary;

use std::path::PathBuf;

/// The repository root, for tests and tools run from anywhere in it.
pub fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
