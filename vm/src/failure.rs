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
    /// Both engines.
    pub const ALL: [EngineKind; 2] = [EngineKind::Wasmtime, EngineKind::Wasmi];

    /// Its name on the command line and in reports.
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
    /// `unreachable` ran.
    #[error("unreachable executed")]
    Unreachable,
    /// A load, store or bulk memory operation went past the memory.
    #[error("memory access out of bounds")]
    MemoryOutOfBounds,
    /// A table access (or an element segment) went past the table.
    #[error("table access out of bounds")]
    TableOutOfBounds,
    /// `call_indirect` found no function in the entry.
    #[error("indirect call to a null table entry")]
    IndirectCallToNull,
    /// `call_indirect` found a function of another type.
    #[error("indirect call signature mismatch")]
    BadSignature,
    /// An integer division or remainder by zero.
    #[error("integer divide by zero")]
    IntegerDivisionByZero,
    /// A signed division of the minimum by -1.
    #[error("integer overflow")]
    IntegerOverflow,
    /// A float-to-integer truncation of NaN or of a value out of range.
    #[error("invalid conversion to integer")]
    BadConversionToInteger,
    /// The call's logical stack budget ran out.
    #[error("logical stack exhausted")]
    StackExhausted,
    /// The gas ran out.
    #[error("out of gas")]
    OutOfGas,
    /// A host function failed the contract.
    #[error("host function failed: {0}")]
    Host(HostError),
}

/// A failure of the engine itself: never a contract's doing, never equal to
/// anything. Seeing one means the VM has a bug or hit a resource limit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The engine refused its configuration.
    #[error("{engine}: configuration rejected: {message}")]
    Config {
        /// The engine.
        engine: EngineKind,
        /// What it said.
        message: String,
    },
    /// The engine could not compile an instrumented module.
    #[error("{engine}: compilation failed: {message}")]
    Compile {
        /// The engine.
        engine: EngineKind,
        /// What it said.
        message: String,
    },
    /// The engine failed to instantiate a module, for no contract reason.
    #[error("{engine}: instantiation failed: {message}")]
    Instantiate {
        /// The engine.
        engine: EngineKind,
        /// What it said.
        message: String,
    },
    /// An export the determinism pass adds (or the called one) is missing.
    #[error("{engine}: export `{export}` missing from the instrumented module")]
    MissingExport {
        /// The engine.
        engine: EngineKind,
        /// The export's name.
        export: String,
    },
    /// The native stack overflowed before the logical stack limit fired.
    #[error("{engine}: native stack overflow before the logical limit")]
    NativeStackOverflow {
        /// The engine.
        engine: EngineKind,
    },
    /// A module or session needs more than the engine's instance pool
    /// holds (see [`EngineConfig::instance_pool`]): a limit of this
    /// process, not an outcome of the contract.
    #[error("{engine}: instance pool exhausted: {message}")]
    InstancePoolExhausted {
        /// The engine.
        engine: EngineKind,
        /// What it said.
        message: String,
    },
    /// The call ran past the session's wall-clock limit
    /// ([`crate::host::HostState::deadline`]). It unwinds every frame of the
    /// call, each rolled back, and becomes the call's outcome
    /// ([`crate::CallError::Timeout`]): never an error of the run.
    #[error("{engine}: the call ran past its wall-clock limit")]
    Timeout {
        /// The engine.
        engine: EngineKind,
    },
    /// An engine error no mapping table knows: a failure, never equal to
    /// anything.
    #[error("{engine}: unknown error: {message}")]
    Unknown {
        /// The engine.
        engine: EngineKind,
        /// What it said.
        message: String,
    },
    /// The VM's own bookkeeping is inconsistent: a bug of ours.
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
    /// The contract called `panic`, or a host query panicked.
    #[error("panic: {message}")]
    Panic {
        /// The message.
        message: String,
    },
    /// A host charge took the frame's last gas.
    #[error("out of gas")]
    OutOfGas,
    /// A pointer and length reach past the contract's memory.
    #[error("pointer range [{start:#x}, +{len}) is outside memory of {memory_len} bytes")]
    MemoryRange {
        /// The pointer.
        start: u64,
        /// The length.
        len: u64,
        /// The memory's length.
        memory_len: u64,
    },
    /// A length read from the argument buffer is past its 65,536 bytes.
    #[error("length {len} exceeds the 65536-byte argument buffer")]
    ArgbufLength {
        /// The length.
        len: u64,
    },
    /// Bytes that must be text are not UTF-8.
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 {
        /// What they are (a topic, a function name, ...).
        what: String,
    },
    /// `feed` in a session that feeds nobody.
    #[error("the session has no feeder")]
    NoFeeder,
    /// `hq` named a query the host does not have.
    #[error("no host query named `{name}`")]
    UnknownQuery {
        /// The name.
        name: String,
    },
    /// A host query answered more than the argument buffer holds.
    #[error("host query output of {len} bytes does not fit the argument buffer")]
    QueryOutputTooLong {
        /// The answer's length.
        len: u64,
    },
}

/// A host function's failure: the contract's doing, or the engine's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostFailure {
    /// The contract's doing: it fails.
    #[error(transparent)]
    Contract(HostError),
    /// The engine's or the VM's: the run fails.
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
    /// The contract panicked.
    #[error("panic: {message}")]
    Panic {
        /// Its message.
        message: String,
    },
    /// The gas ran out, or the call failed otherwise with none left.
    #[error("out of gas")]
    OutOfGas,
    /// The contract trapped.
    #[error("trap: {trap}")]
    Trap {
        /// The trap.
        trap: Trap,
    },
    /// A host function failed the contract.
    #[error("host function failed: {error}")]
    Host {
        /// How.
        error: HostError,
    },
    /// No live contract has the callee's id.
    #[error("no contract with id {id}")]
    DoesNotExist {
        /// The id, in hex.
        id: String,
    },
    /// The callee does not export the function.
    #[error("the contract has no exported function `{name}`")]
    MissingFunction {
        /// The function's name.
        name: String,
    },
    /// The function is `init`, which only a deploy runs.
    #[error("`init` runs only at deploy")]
    InitNotCallable,
    /// A `c` that would open more frames than the VM allows.
    #[error("call depth would exceed {max}")]
    DepthExceeded {
        /// The most frames a call may have open.
        max: usize,
    },
    /// The input is longer than the argument buffer.
    #[error("input of {len} bytes does not fit the 65536-byte argument buffer")]
    InputTooLarge {
        /// The input's length.
        len: usize,
    },
    /// The export returned a length outside the argument buffer.
    #[error("the contract returned output length {len}, outside 0..=65536")]
    OutputLength {
        /// The length it returned.
        len: i32,
    },
    /// The top-level call ran past its wall-clock limit: every frame was
    /// abandoned and rolled back. Never seen by a calling contract, and
    /// not deterministic: a slower machine may time out where a faster
    /// one finishes.
    #[error("the call ran past its wall-clock limit of {limit:?}")]
    Timeout {
        /// The limit.
        limit: std::time::Duration,
    },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_are_named_as_on_the_command_line() {
        let names: Vec<String> = EngineKind::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["wasmtime", "wasmi"]);
    }
}
