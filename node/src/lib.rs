//! The host queries Dusk's node adds to piecrust (dusk-vm 1.7.0), in our
//! model: the same names, argument decoding, fallbacks, results and prices
//! per hard fork, computed with Dusk's own crates. Kept apart from `vm` so
//! that the VM builds without Dusk's cryptography; the conformance suite
//! registers them in sessions that ask for them. It also derives the ids
//! the node gives the contracts it deploys ([`deploy`]).
//!
//! The node memoizes query results in a process-wide cache. Results are
//! pure functions of the argument and the fork, and the price is charged
//! whether or not the cache answers, so the cache changes only wall time;
//! the model has none.

use std::sync::Arc;

use runner_protocol::HardFork;
use vm::query::{HostQuery, QueryRegistry};

pub mod deploy;
mod query;
pub mod schedule;

pub use query::NodeQuery;

/// A node query as it runs at one hard fork.
#[derive(Clone, Copy, Debug)]
pub struct AtFork {
    pub query: NodeQuery,
    pub fork: HardFork,
}

impl HostQuery for AtFork {
    fn price(&self, arg: &[u8]) -> u64 {
        self.query.price(self.fork, arg)
    }

    fn run(&self, arg: &[u8]) -> Vec<u8> {
        self.query.run(self.fork, arg)
    }
}

/// Every node query, at `fork`, by name.
pub fn registry(fork: HardFork) -> QueryRegistry {
    NodeQuery::ALL
        .into_iter()
        .map(|query| {
            let entry: Arc<dyn HostQuery> = Arc::new(AtFork { query, fork });
            (query.name().to_string(), entry)
        })
        .collect()
}
