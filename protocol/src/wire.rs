//! The messages: one JSON object per line, requests on the runner's stdin,
//! responses on its stdout. Every request gets exactly one response, in
//! order; a runner writes nothing else to stdout.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::bytes::Bytes;
use crate::chain::Chain;
use crate::node_deploy::NodeDeploy;
use crate::outcome::{CallOutcome, ContractId, DeployOutcome, MemoryState};

/// The protocol version this crate speaks. A runner answering `hello` with
/// another version is refused.
pub const PROTOCOL_VERSION: u32 = 5;

/// A request to the VM under test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// First request of a connection: the driver's protocol version.
    Hello {
        protocol: u32,
    },
    /// Drops the current session, if any, and opens a new, empty one.
    Session(SessionRequest),
    Deploy(DeployRequest),
    Call(CallRequest),
    /// Reads part of a contract's memory.
    Memory(MemoryRequest),
    /// Moves the session's chain to a new block height: later requests see
    /// the new height in the metadata and the hard fork active there.
    Block(BlockRequest),
    /// What the runner measured of its own work since it started
    /// ([`RunnerTimes`]); it changes nothing.
    Stats,
    /// Ends the connection; the runner exits.
    Quit,
}

/// A new session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRequest {
    /// Host data contracts read with `hd`, by name.
    pub host_data: BTreeMap<String, Bytes>,
    /// Whether calls have a feeder collecting what contracts `feed`.
    pub feeder: bool,
    /// The built-in host queries ([`crate::queries`]) the session offers,
    /// by name.
    pub queries: Vec<String>,
    /// The chain the session runs on: its id and block height in the
    /// metadata, and the hard fork active at that height. Without one, the
    /// session has neither metadata entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<Chain>,
    /// Whether the session offers the node's host queries (dusk-vm's
    /// `hash`, `verify_plonk`, ...), priced and versioned by the chain's
    /// hard fork. Never together with built-in [`queries`](Self::queries):
    /// both sets have a `hash`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub node_queries: bool,
}

/// A new block height for a session on a chain, as when the node runs the
/// next block on the state the last one left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRequest {
    pub height: u64,
}

/// A deploy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployRequest {
    pub bytecode: Bytes,
    pub owner: Bytes,
    /// The id; blake3 of the bytecode when absent.
    pub id: Option<ContractId>,
    /// The argument of `init`.
    pub init_arg: Bytes,
    pub gas: u64,
    /// Deploy as the node does (`id` is then absent: the node derives it);
    /// a VM that is not the node answers with an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeDeploy>,
}

/// A top-level call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRequest {
    pub contract: ContractId,
    pub function: String,
    pub arg: Bytes,
    pub gas: u64,
}

/// A read of `len` bytes of a contract's memory from `offset` (clipped to
/// the memory's length).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryRequest {
    pub contract: ContractId,
    pub offset: u64,
    pub len: u64,
}

/// A runner's answer to `hello`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    /// The VM, e.g. `piecrust`.
    pub engine: String,
    /// Its version, e.g. `0.32.2`, or where a local build came from.
    pub version: String,
}

/// Contents of a contract's memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryRead {
    pub state: MemoryState,
    pub bytes: Bytes,
}

/// What a runner measured of its own work since its process started: the
/// time it spent serving each kind of request (from the request parsed to
/// the response built, so without the pipe and the JSON), of which the
/// time spent computing memory digests, and its resident memory. The
/// driver's round trips minus these are the pipe and the encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerTimes {
    /// Requests served, `hello` and `stats` included.
    pub requests: u64,
    /// Nanoseconds serving `session` (dropping the last session included).
    pub session_ns: u64,
    /// Nanoseconds serving `deploy` (compilation, `init`, digests).
    pub deploy_ns: u64,
    /// Nanoseconds serving `call` (digests included).
    pub call_ns: u64,
    /// Nanoseconds serving every other request.
    pub other_ns: u64,
    /// Nanoseconds of the above spent computing memory digests.
    pub digest_ns: u64,
    /// The process's resident set, in bytes, when it answered (0 where
    /// the system does not tell).
    pub rss_bytes: u64,
}

impl RunnerTimes {
    /// Sums two processes' times; the resident set is the larger.
    pub fn merge(&mut self, other: &RunnerTimes) {
        self.requests += other.requests;
        self.session_ns += other.session_ns;
        self.deploy_ns += other.deploy_ns;
        self.call_ns += other.call_ns;
        self.other_ns += other.other_ns;
        self.digest_ns += other.digest_ns;
        self.rss_bytes = self.rss_bytes.max(other.rss_bytes);
    }

    /// Nanoseconds serving requests of every kind.
    pub fn total_ns(&self) -> u64 {
        self.session_ns + self.deploy_ns + self.call_ns + self.other_ns
    }
}

/// `spent` in nanoseconds, saturating (a `u64` holds 584 years): how every
/// time of [`RunnerTimes`], and the driver's beside them, is counted.
pub fn nanos(spent: Duration) -> u64 {
    u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX)
}

/// The resident set in bytes of `process` (a pid, or `self`), as
/// [`RunnerTimes::rss_bytes`] is read: `VmRSS` in `/proc/<process>/status`;
/// `None` where the system does not tell.
pub fn resident_bytes(process: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib.saturating_mul(1024))
}

/// A response, one per request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Hello(Hello),
    Session {},
    Block {},
    Deploy(DeployOutcome),
    Call(CallOutcome),
    /// `None`: no contract with that id.
    Memory(Option<MemoryRead>),
    Stats(RunnerTimes),
    /// The answer to `session` of a runner whose process can no longer
    /// serve one: production left process-wide state broken (a trap raised
    /// through SIGSEGV left its memory library's lock held), so dropping the
    /// last session would deadlock. The runner has not touched its session;
    /// the driver replaces the process.
    Broken {
        reason: String,
    },
    /// The request could not be served (malformed, out of order, or the
    /// session is unusable after a host panic). Never an outcome.
    Error {
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resident_set_is_read_for_this_process_and_none_for_no_process() {
        let held = vec![1u8; 8 << 20];
        assert!(resident_bytes("self").is_some_and(|rss| rss >= 8 << 20));
        drop(held);
        assert_eq!(resident_bytes("0"), None);
        assert_eq!(nanos(Duration::from_millis(3)), 3_000_000);
        assert_eq!(nanos(Duration::MAX), u64::MAX);
    }

    #[test]
    fn requests_are_tagged_by_op() {
        let line = serde_json::to_string(&Request::Call(CallRequest {
            contract: ContractId([1; 32]),
            function: "f".into(),
            arg: Bytes(vec![0xab]),
            gas: 7,
        }))
        .unwrap();
        assert_eq!(
            line,
            r#"{"op":"call","contract":"0101010101010101010101010101010101010101010101010101010101010101","function":"f","arg":"ab","gas":7}"#
        );
        assert_eq!(
            serde_json::to_string(&Request::Quit).unwrap(),
            r#"{"op":"quit"}"#
        );
    }

    #[test]
    fn responses_are_tagged_by_kind() {
        let line = serde_json::to_string(&Response::Error {
            message: "no".into(),
        })
        .unwrap();
        assert_eq!(line, r#"{"error":{"message":"no"}}"#);
        assert_eq!(
            serde_json::to_string(&Response::Session {}).unwrap(),
            r#"{"session":{}}"#
        );
    }
}
