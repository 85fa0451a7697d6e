//! How things fail, as plain data every layer shares: a contract's trap,
//! a host function's error, a call's error as its caller sees it, and a
//! failure of the engine itself.
//!
//! Nothing here knows an engine, a session or the host state: engines map
//! their own errors into these types, and the layers above them pass them
//! on.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::abi::CallErrorCode;

/// Which engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// wasmtime with Cranelift: the reference.
    Wasmtime,
    /// wasmi: the shadow interpreter.
    Wasmi,
}

impl EngineKind {
    pub const ALL: [EngineKind; 2] = [EngineKind::Wasmtime, EngineKind::Wasmi];

    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Wasmtime => "wasmtime",
            EngineKind::Wasmi => "wasmi",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A trap: how a Wasm execution stopped abnormally. The same on both engines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum Trap {
    #[error("unreachable executed")]
    Unreachable,
    #[error("memory access out of bounds")]
    MemoryOutOfBounds,
    #[error("table access out of bounds")]
    TableOutOfBounds,
    #[error("indirect call to a null table entry")]
    IndirectCallToNull,
    #[error("indirect call signature mismatch")]
    BadSignature,
    #[error("integer divide by zero")]
    IntegerDivisionByZero,
    #[error("integer overflow")]
    IntegerOverflow,
    #[error("invalid conversion to integer")]
    BadConversionToInteger,
    #[error("logical stack exhausted")]
    StackExhausted,
    #[error("out of gas")]
    OutOfGas,
    #[error("host function failed: {0}")]
    Host(HostError),
}

/// A failure of the engine itself: never a contract's doing, never equal to
/// anything. Seeing one means the VM has a bug or hit a resource limit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("{engine}: configuration rejected: {message}")]
    Config { engine: EngineKind, message: String },
    #[error("{engine}: compilation failed: {message}")]
    Compile { engine: EngineKind, message: String },
    #[error("{engine}: instantiation failed: {message}")]
    Instantiate { engine: EngineKind, message: String },
    #[error("{engine}: export `{export}` missing from the instrumented module")]
    MissingExport { engine: EngineKind, export: String },
    #[error("{engine}: native stack overflow before the logical limit")]
    NativeStackOverflow { engine: EngineKind },
    /// A module or session needs more than the engine's instance pool
    /// holds (see [`EngineConfig::instance_pool`]): a limit of this
    /// process, not an outcome of the contract.
    #[error("{engine}: instance pool exhausted: {message}")]
    InstancePoolExhausted { engine: EngineKind, message: String },
    /// The call ran past the session's wall-clock limit
    /// ([`crate::host::HostState::deadline`]). It unwinds every frame of the
    /// call, each rolled back, and becomes the call's outcome
    /// ([`crate::CallError::Timeout`]): never an error of the run.
    #[error("{engine}: the call ran past its wall-clock limit")]
    Timeout { engine: EngineKind },
    #[error("{engine}: unknown error: {message}")]
    Unknown { engine: EngineKind, message: String },
    #[error("host invariant broken: {0}")]
    HostInvariant(String),
}

/// How an engine call ended, other than with a result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallFailure {
    /// The contract trapped (or a host function failed).
    #[error(transparent)]
    Trap(Trap),
    /// The engine failed.
    #[error(transparent)]
    Engine(EngineError),
}

/// Why a host function made its calling contract fail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "error")]
pub enum HostError {
    #[error("panic: {message}")]
    Panic { message: String },
    #[error("out of gas")]
    OutOfGas,
    #[error("pointer range [{start:#x}, +{len}) is outside memory of {memory_len} bytes")]
    MemoryRange {
        start: u64,
        len: u64,
        memory_len: u64,
    },
    #[error("length {len} exceeds the 65536-byte argument buffer")]
    ArgbufLength { len: u64 },
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 { what: String },
    #[error("the session has no feeder")]
    NoFeeder,
    #[error("no host query named `{name}`")]
    UnknownQuery { name: String },
    #[error("host query output of {len} bytes does not fit the argument buffer")]
    QueryOutputTooLong { len: u64 },
}

/// A host function's failure: the contract's doing, or the engine's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostFailure {
    #[error(transparent)]
    Contract(HostError),
    #[error(transparent)]
    Engine(EngineError),
}

impl From<HostError> for HostFailure {
    fn from(error: HostError) -> Self {
        HostFailure::Contract(error)
    }
}

impl From<EngineError> for HostFailure {
    fn from(error: EngineError) -> Self {
        HostFailure::Engine(error)
    }
}

/// Why a call did not produce output. What a contract author sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CallError {
    #[error("panic: {message}")]
    Panic { message: String },
    #[error("out of gas")]
    OutOfGas,
    #[error("trap: {trap}")]
    Trap { trap: Trap },
    #[error("host function failed: {error}")]
    Host { error: HostError },
    #[error("no contract with id {id}")]
    DoesNotExist { id: String },
    #[error("the contract has no exported function `{name}`")]
    MissingFunction { name: String },
    #[error("`init` runs only at deploy")]
    InitNotCallable,
    #[error("call depth would exceed {max}")]
    DepthExceeded { max: usize },
    #[error("input of {len} bytes does not fit the 65536-byte argument buffer")]
    InputTooLarge { len: usize },
    #[error("the contract returned output length {len}, outside 0..=65536")]
    OutputLength { len: i32 },
    /// The top-level call ran past its wall-clock limit: every frame was
    /// abandoned and rolled back. Never seen by a calling contract, and
    /// not deterministic: a slower machine may time out where a faster
    /// one finishes.
    #[error("the call ran past its wall-clock limit of {limit:?}")]
    Timeout { limit: std::time::Duration },
}

impl CallError {
    /// The code a calling contract sees for this failure of its callee.
    pub fn code(&self) -> CallErrorCode {
        match self {
            CallError::Panic { .. } => CallErrorCode::Panic,
            CallError::OutOfGas => CallErrorCode::OutOfGas,
            CallError::DoesNotExist { .. } => CallErrorCode::DoesNotExist,
            _ => CallErrorCode::Unknown,
        }
    }
}

impl From<HostFailure> for CallFailure {
    /// A host function's failure as its call's: the contract's doing traps
    /// it, the engine's fails the engine.
    fn from(failure: HostFailure) -> Self {
        match failure {
            HostFailure::Contract(error) => CallFailure::Trap(Trap::Host(error)),
            HostFailure::Engine(error) => CallFailure::Engine(error),
        }
    }
}
