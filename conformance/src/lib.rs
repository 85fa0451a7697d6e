//! The conformance suite: scenarios run on the wasmtime reference VM and the
//! wasmi shadow interpreter, compared step by step and field by field, and
//! checked against reviewed snapshots.

pub mod diff;
pub mod report;
pub mod scenario;
pub mod suite;

use std::path::PathBuf;

/// The repository root, for tests and tools run from anywhere in it.
pub fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
