//! The built-in host queries every engine registers under the same names
//! with the same prices: deterministic functions for testing `hq`.

/// A built-in host query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltinQuery {
    /// blake3 of the argument; a flat price of 1,000.
    Hash,
    /// The argument itself; 1 per byte.
    Echo,
    /// The argument's length as a little-endian `u32`; 100 per byte.
    Priced,
    /// Panics while running (price 1): shows how an engine contains it.
    Panics,
}

/// The message of the panic [`BuiltinQuery::Panics`] raises.
pub const QUERY_PANIC_MESSAGE: &str = "the panicking test query panicked";

impl BuiltinQuery {
    pub const ALL: [BuiltinQuery; 4] = [
        BuiltinQuery::Hash,
        BuiltinQuery::Echo,
        BuiltinQuery::Priced,
        BuiltinQuery::Panics,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BuiltinQuery::Hash => "hash",
            BuiltinQuery::Echo => "echo",
            BuiltinQuery::Priced => "priced",
            BuiltinQuery::Panics => "panics",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|query| query.name() == name)
    }

    /// Gas charged before the query runs.
    pub fn price(self, arg: &[u8]) -> u64 {
        match self {
            BuiltinQuery::Hash => 1_000,
            BuiltinQuery::Echo => arg.len() as u64,
            BuiltinQuery::Priced => 100 * arg.len() as u64,
            BuiltinQuery::Panics => 1,
        }
    }

    /// The query's output. [`BuiltinQuery::Panics`] unwinds (without the
    /// panic hook, so test output stays quiet).
    pub fn run(self, arg: &[u8]) -> Vec<u8> {
        match self {
            BuiltinQuery::Hash => blake3::hash(arg).as_bytes().to_vec(),
            BuiltinQuery::Echo => arg.to_vec(),
            // An argument is at most the argument buffer's 65,536 bytes.
            BuiltinQuery::Priced => u32::try_from(arg.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes()
                .to_vec(),
            BuiltinQuery::Panics => std::panic::resume_unwind(Box::new(QUERY_PANIC_MESSAGE)),
        }
    }
}
