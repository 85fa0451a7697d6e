//! Host queries: functions the embedder registers by name for contracts to
//! call through `hq`, each with a price computed from its argument.

use std::collections::BTreeMap;
use std::sync::Arc;

/// A host query.
pub trait HostQuery: Send + Sync {
    /// Gas charged before the query runs.
    fn price(&self, arg: &[u8]) -> u64;
    /// The query's output, written to the caller's argument buffer.
    fn run(&self, arg: &[u8]) -> Vec<u8>;
}

/// The queries of a session, by name.
pub type QueryRegistry = BTreeMap<String, Arc<dyn HostQuery>>;

/// blake3 of the argument; a flat price of 1,000.
pub struct HashQuery;

impl HostQuery for HashQuery {
    fn price(&self, _arg: &[u8]) -> u64 {
        1_000
    }

    fn run(&self, arg: &[u8]) -> Vec<u8> {
        blake3::hash(arg).as_bytes().to_vec()
    }
}

/// Returns its argument; costs 1 per byte.
pub struct EchoQuery;

impl HostQuery for EchoQuery {
    fn price(&self, arg: &[u8]) -> u64 {
        arg.len() as u64
    }

    fn run(&self, arg: &[u8]) -> Vec<u8> {
        arg.to_vec()
    }
}

/// Returns the argument's length as a little-endian `u32`; costs 100 per
/// byte of argument.
pub struct PricedQuery;

impl HostQuery for PricedQuery {
    fn price(&self, arg: &[u8]) -> u64 {
        100 * arg.len() as u64
    }

    fn run(&self, arg: &[u8]) -> Vec<u8> {
        (arg.len() as u32).to_le_bytes().to_vec()
    }
}

/// Panics while running: for testing that query panics are contained.
pub struct PanickingQuery;

impl HostQuery for PanickingQuery {
    fn price(&self, _arg: &[u8]) -> u64 {
        1
    }

    fn run(&self, _arg: &[u8]) -> Vec<u8> {
        // Unwinds like a panic without running the panic hook, so tests and
        // the suite stay quiet.
        std::panic::resume_unwind(Box::new("the panicking test query panicked"))
    }
}

/// The deterministic built-ins: `hash`, `echo`, `priced`, `panics`.
pub fn builtin_queries() -> QueryRegistry {
    let mut registry: QueryRegistry = BTreeMap::new();
    registry.insert("hash".into(), Arc::new(HashQuery));
    registry.insert("echo".into(), Arc::new(EchoQuery));
    registry.insert("priced".into(), Arc::new(PricedQuery));
    registry.insert("panics".into(), Arc::new(PanickingQuery));
    registry
}
