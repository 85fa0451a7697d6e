//! Host queries: functions the embedder registers by name for contracts to
//! call through `hq`, each with a price computed from its argument.

use std::collections::BTreeMap;
use std::sync::Arc;

pub use runner_protocol::queries::BuiltinQuery;

/// A host query.
pub trait HostQuery: Send + Sync {
    /// Gas charged before the query runs.
    fn price(&self, arg: &[u8]) -> u64;
    /// The query's output, written to the caller's argument buffer.
    fn run(&self, arg: &[u8]) -> Vec<u8>;
}

/// The queries of a session, by name.
pub type QueryRegistry = BTreeMap<String, Arc<dyn HostQuery>>;

/// A built-in query, as every engine (production's runner included)
/// defines it: [`runner_protocol::queries`].
pub struct Builtin(pub BuiltinQuery);

impl HostQuery for Builtin {
    fn price(&self, arg: &[u8]) -> u64 {
        self.0.price(arg)
    }

    fn run(&self, arg: &[u8]) -> Vec<u8> {
        self.0.run(arg)
    }
}

/// The deterministic built-ins: `hash`, `echo`, `priced`, `panics`.
pub fn builtin_queries() -> QueryRegistry {
    BuiltinQuery::ALL
        .into_iter()
        .map(|query| {
            let entry: Arc<dyn HostQuery> = Arc::new(Builtin(query));
            (query.name().to_string(), entry)
        })
        .collect()
}
