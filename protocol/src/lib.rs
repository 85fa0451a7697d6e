//! The runner protocol: how the conformance suite drives a VM under test.
//!
//! A VM under test is a process speaking JSON lines (one [`Request`] per
//! line on its stdin, one [`Response`] per line on its stdout), the way
//! Ethereum's `t8n` tools let test drivers run any client. Our own engines
//! implement the same interface in process. `docs/runner-protocol.md`
//! describes the protocol for people; this crate is its executable form.
//!
//! The crate also holds what every engine must compute the same way:
//! the normalized [`outcome`] of a deploy or a call, the one comparison of
//! two outcomes ([`compare`]), the memory digest ([`digest`]) and the
//! built-in host queries ([`queries`]), and how the node deploys
//! ([`node_deploy`]).
//!
//! It depends on nothing engine-specific, so that runners built against
//! other versions of wasmtime (production's fork) can use it.

pub mod bytes;
pub mod chain;
pub mod compare;
pub mod digest;
pub mod node_deploy;
pub mod outcome;
pub mod queries;
pub mod retained;
pub mod wire;

pub use bytes::Bytes;
pub use chain::{Chain, HardFork};
pub use compare::{Difference, compare_calls, compare_deploys};
pub use outcome::{
    CallOutcome, ContractId, DeployFailure, DeployOutcome, Event, Failure, FailureKind, Frame,
    MemoryState, TEXT_BOUND, TrapCode, bounded_text,
};
pub use retained::{
    Omissions, Omitted, RETAINED_BYTES, RETAINED_ITEMS, RetainedItem, Retainer, digest_event,
    event_len,
};
pub use wire::{PROTOCOL_VERSION, Request, Response};
