//! Host queries: functions the embedder registers by name for contracts to
//! call through `hq`, each with a price computed from its argument.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Once};

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

thread_local! {
    /// How many query calls this thread is inside: a panic there is an
    /// outcome of the call (`HostError::Panic`), not a fault of the tool.
    static CONTAINING: Cell<u32> = const { Cell::new(0) };
}

/// Runs a query's `price` or `run`, its panic caught as the outcome of the
/// call that made it.
pub(crate) fn contain<T>(query: impl FnOnce() -> T) -> std::thread::Result<T> {
    CONTAINING.with(|depth| depth.set(depth.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(query));
    CONTAINING.with(|depth| depth.set(depth.get() - 1));
    result
}

/// Keeps the panics of host queries out of the terminal: the panic hook
/// prints nothing (no message, no backtrace under `RUST_BACKTRACE`) for a
/// panic a query call contains, and defers to the hook before it for every
/// other panic. A binary calls this once at start; later calls do nothing.
pub fn keep_contained_panics_quiet() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CONTAINING.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}
