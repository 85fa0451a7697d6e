//! The normalized outcome of a deploy or a call: what every engine, ours or
//! production, reports in the same terms.
//!
//! Engines expose different amounts of detail. Production reports no gas,
//! events or call tree for a failed call, and its call tree has only the
//! frames that succeeded; our engines report everything. A field an engine
//! does not expose is `None`, and the comparison ([`crate::compare`]) skips
//! a field only when one side does not expose it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

use crate::bytes::Bytes;

/// A contract's 32-byte identity, hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContractId(pub [u8; 32]);

impl fmt::Display for ContractId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ContractId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContractId({self})")
    }
}

impl Serialize for ContractId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for ContractId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text).map_err(D::Error::custom)?;
        bytes
            .try_into()
            .map(ContractId)
            .map_err(|_| D::Error::custom("a contract id is 32 bytes"))
    }
}

/// Why a Wasm execution trapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrapCode {
    Unreachable,
    MemoryOutOfBounds,
    TableOutOfBounds,
    IndirectCallToNull,
    BadSignature,
    IntegerDivisionByZero,
    IntegerOverflow,
    BadConversionToInteger,
    /// The engine's stack limit (ours is logical, production's native).
    StackOverflow,
}

/// The longest name or detail text an outcome carries as it is.
pub const TEXT_BOUND: usize = 1024;

/// `text` as an outcome carries it: as it is up to [`TEXT_BOUND`] bytes,
/// otherwise its first 64 bytes (cut back to a character boundary), its
/// length and the start of its blake3 hash. Every engine bounds names this
/// way, so that two long names compare as equal exactly when they are, and
/// a query name a contract reads from hundreds of megabytes of memory
/// cannot make a response line unbounded.
pub fn bounded_text(text: String) -> String {
    if text.len() <= TEXT_BOUND {
        return text;
    }
    let mut cut = 64;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let hash = blake3::hash(text.as_bytes()).to_hex();
    format!(
        "{}... ({} bytes, blake3 {})",
        &text[..cut],
        text.len(),
        &hash.as_str()[..16]
    )
}

/// Why a call failed, in the terms the ABI distinguishes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FailureKind {
    /// The contract called `panic`, or a host query panicked.
    Panic {
        message: String,
    },
    OutOfGas,
    Trap {
        code: TrapCode,
    },
    /// A host function or the VM found a pointer range outside memory, a
    /// length over the argument buffer, or an output length outside
    /// `0..=65536`.
    MemoryAccess,
    /// A host function read text that is not UTF-8.
    InvalidUtf8,
    /// `feed` without a feeder.
    MissingFeed,
    /// `hq` named a query the session does not have (the name as
    /// [`bounded_text`] gives it).
    MissingHostQuery {
        name: String,
    },
    /// The called function is not an export (the name as [`bounded_text`]
    /// gives it).
    MissingFunction {
        name: String,
    },
    /// `init` called after deploy.
    InitNotCallable,
    /// A top-level call to a contract nobody deployed.
    DoesNotExist,
    /// The engine itself panicked (a host panic): always a finding.
    HostPanic,
    /// The step ran past its wall-clock limit.
    Timeout,
    /// An error the engine's mapping does not know. Never equal to
    /// anything, itself included.
    Unknown,
}

impl FailureKind {
    /// A short stable name of the kind.
    pub fn name(&self) -> &'static str {
        match self {
            FailureKind::Panic { .. } => "panic",
            FailureKind::OutOfGas => "out_of_gas",
            FailureKind::Trap { .. } => "trap",
            FailureKind::MemoryAccess => "memory_access",
            FailureKind::InvalidUtf8 => "invalid_utf8",
            FailureKind::MissingFeed => "missing_feed",
            FailureKind::MissingHostQuery { .. } => "missing_host_query",
            FailureKind::MissingFunction { .. } => "missing_function",
            FailureKind::InitNotCallable => "init_not_callable",
            FailureKind::DoesNotExist => "does_not_exist",
            FailureKind::HostPanic => "host_panic",
            FailureKind::Timeout => "timeout",
            FailureKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Panic { message } => write!(f, "panic {message:?}"),
            FailureKind::Trap { code } => {
                write!(f, "trap {}", serde_json::to_value(code).unwrap_or_default())
            }
            FailureKind::MissingHostQuery { name } | FailureKind::MissingFunction { name } => {
                write!(f, "{} {name:?}", self.name())
            }
            other => f.write_str(other.name()),
        }
    }
}

/// A failure: its kind, compared, and the engine's own words, not compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    #[serde(flatten)]
    pub kind: FailureKind,
    /// The engine's own description.
    pub detail: String,
    /// For `out_of_gas`: the failure that ended the call while no gas
    /// remained (a trap of the contract's code, a host function's error, a
    /// panic), where the engine knows it (ours do; production reports such
    /// a failure as `out_of_gas` without it). Not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked: Option<Box<FailureKind>>,
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallResult {
    Output(Bytes),
    Failed(Failure),
}

/// An event in a receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub source: ContractId,
    pub topic: String,
    pub data: Bytes,
    /// Whether the frame that emitted it (or one above) failed.
    pub reverted: bool,
}

/// A frame of a call as production reports it. Production keeps only the
/// frames that succeeded (with every frame above them), lists them in
/// pre-order (a frame before its children, children in call order) without
/// their nesting, and counts for each the gas it spent itself, its
/// children's excluded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    pub contract: ContractId,
    pub limit: u64,
    pub spent: u64,
}

/// A contract's memory: its length and the digest of its contents
/// ([`crate::digest::memory_digest`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryState {
    pub len: u64,
    pub digest: Bytes,
}

/// The normalized outcome of a top-level call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallOutcome {
    pub result: CallResult,
    pub gas_limit: u64,
    /// Gas spent; `None` where the engine does not expose it.
    pub gas_spent: Option<u64>,
    /// Events in emission order; `None` where the engine does not expose
    /// them (production, for a failed call).
    pub events: Option<Vec<Event>>,
    /// Data fed to the feeder during the call, up to
    /// [`crate::RETAINED_BYTES`].
    pub feed: Vec<Bytes>,
    /// Debug messages recorded during the call, up to
    /// [`crate::RETAINED_BYTES`].
    pub debug: Vec<String>,
    /// What `debug` and `feed` left out past [`crate::RETAINED_BYTES`].
    #[serde(default, skip_serializing_if = "crate::Omissions::is_empty")]
    pub omitted: crate::Omissions,
    /// The frames that succeeded, in pre-order; `None` where not exposed.
    pub frames: Option<Vec<Frame>>,
    /// Every deployed contract's memory after the call.
    pub state: BTreeMap<ContractId, MemoryState>,
    /// Engine-specific detail (our engines' full call trace), compared
    /// between engines that both expose it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<serde_json::Value>,
    /// Whether a `memory.grow` returned -1 during the call, where the
    /// engine knows it (ours do). Not compared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub grow_refused: bool,
}

impl CallOutcome {
    /// A call that ran past its wall-clock limit: nothing of it is seen but
    /// that (production's runner was stopped, our engines abandoned the
    /// call and rolled it back), so every engine reports it alike and two
    /// timeouts compare as equal.
    pub fn timed_out(gas_limit: u64, detail: String) -> Self {
        CallOutcome {
            result: CallResult::Failed(Failure {
                kind: FailureKind::Timeout,
                detail,
                masked: None,
            }),
            gas_limit,
            gas_spent: None,
            events: None,
            feed: Vec::new(),
            debug: Vec::new(),
            omitted: crate::Omissions::default(),
            frames: None,
            state: BTreeMap::new(),
            trace: None,
            grow_refused: false,
        }
    }
}

/// Why a deploy failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DeployFailure {
    /// The module is not an acceptable contract (compiled, validated or
    /// shaped wrongly). Engines word the reason differently, so only the
    /// kind is compared. `rule` names the rule broken where the engine
    /// says (ours do; production does not).
    Rejected {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    },
    /// Instantiation trapped (a segment out of bounds).
    InstantiationTrap { code: TrapCode, message: String },
    /// `init` failed.
    InitFailed { failure: Failure },
    /// A contract with that id is already deployed.
    DuplicateId,
    /// A node deploy whose gas limit is below the deploy charge: the node
    /// discards the transaction before anything runs.
    GasBelowCharge { charge: u64 },
    /// The engine panicked.
    HostPanic { message: String },
    /// The deploy ran past its wall-clock limit.
    Timeout,
}

impl DeployFailure {
    pub fn name(&self) -> &'static str {
        match self {
            DeployFailure::Rejected { .. } => "rejected",
            DeployFailure::InstantiationTrap { .. } => "instantiation_trap",
            DeployFailure::InitFailed { .. } => "init_failed",
            DeployFailure::DuplicateId => "duplicate_id",
            DeployFailure::GasBelowCharge { .. } => "gas_below_charge",
            DeployFailure::HostPanic { .. } => "host_panic",
            DeployFailure::Timeout => "timeout",
        }
    }
}

/// How a deploy ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployResult {
    Deployed(ContractId),
    Failed(DeployFailure),
}

/// The normalized outcome of a deploy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployOutcome {
    pub result: DeployResult,
    /// The outcome of `init`, where the contract has one and the engine
    /// exposes it.
    pub init: Option<CallOutcome>,
    /// Every deployed contract's memory after the deploy.
    pub state: BTreeMap<ContractId, MemoryState>,
    /// What a node deploy is charged ([`crate::node_deploy::node_charge`]);
    /// absent for a session's deploy and for a discarded one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charged: Option<u64>,
}

impl DeployOutcome {
    /// A deploy that ran past its wall-clock limit (see
    /// [`CallOutcome::timed_out`]).
    pub fn timed_out() -> Self {
        DeployOutcome {
            result: DeployResult::Failed(DeployFailure::Timeout),
            init: None,
            state: BTreeMap::new(),
            charged: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_bounded_and_still_tell_names_apart() {
        let short = "a".repeat(TEXT_BOUND);
        assert_eq!(bounded_text(short.clone()), short);
        let long = bounded_text("a".repeat(TEXT_BOUND + 1));
        assert_eq!(
            long,
            format!(
                "{}... (1025 bytes, blake3 {})",
                "a".repeat(64),
                &blake3::hash("a".repeat(1025).as_bytes()).to_hex()[..16]
            )
        );
        let other = bounded_text(format!("{}b", "a".repeat(TEXT_BOUND)));
        assert_ne!(long, other);
        assert_eq!(long, bounded_text("a".repeat(TEXT_BOUND + 1)));
        // A cut inside a character moves back to its start.
        let wide = bounded_text(format!("{}é{}", "a".repeat(63), "a".repeat(2000)));
        assert!(
            wide.starts_with(&format!("{}...", "a".repeat(63))),
            "{wide}"
        );
    }
}
