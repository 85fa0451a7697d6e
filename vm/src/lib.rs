//! A reference VM (wasmtime) and a shadow interpreter (wasmi) for Dusk's
//! contract ABI, behind one engine-neutral interface.
//!
//! The pipeline for a contract is the same on both engines and written once:
//! [`admission`] checks the module against the ABI's rules, the
//! [`determinism`] pass rewrites it so that gas, stack depth, NaNs and state
//! tracking are identical on both engines, and an [`engine::Engine`] compiles
//! and runs the result with the host imports of [`host`] bound to it.

#![warn(missing_docs)]

pub mod abi;
pub mod admission;
pub mod cache;
pub mod determinism;
pub mod engine;
pub mod failure;
pub mod features;
mod gas;
pub mod host;
pub mod limits;
pub mod normalize;
pub mod oracle;
pub mod query;
pub mod session;
mod state;
pub mod trace;

pub use engine::{wasmi::WasmiEngine, wasmtime::WasmtimeEngine};
pub use failure::{CallError, EngineError, EngineKind, HostError, Trap};
pub use session::{
    CallReceipt, DEFAULT_TIME_LIMIT, DeployError, DeployOptions, Session, Vm, VmConfig, VmError,
};
