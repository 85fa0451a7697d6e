//! The limits the VM imposes on every contract: one table, read by
//! admission, by the engines' configuration (the instance pool sizes its
//! slots from it), by the determinism pass and by the host (call depth).

use crate::abi::MAX_CALL_DEPTH;

/// Total logical stack, in bytes, all active frames of one call may use by
/// default ([`crate::determinism::stack`] says what a frame costs).
pub const STACK_BUDGET: u64 = 384 * 1024;

/// Limits the VM imposes on every contract, identical on both engines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest memory, in Wasm pages. A memory without a maximum, or with a
    /// larger one, gets this maximum.
    pub max_memory_pages: u64,
    /// Largest initial size of a table, in elements.
    pub max_table_elements: u64,
    /// Most locals (parameters included) a function may declare.
    pub max_function_locals: u32,
    /// Most frames a top-level call may have open at once, itself included:
    /// a `c` that would open one more is refused.
    pub max_call_depth: usize,
    /// Logical stack, in bytes, all active frames of one call may use
    /// ([`crate::determinism::stack`]).
    pub stack_budget: u64,
    /// Most values a function's operand stack may hold at once: wasmi
    /// translates locals and stack values into registers and cannot
    /// translate a function that needs about 32,700, so this and
    /// `max_function_locals` together stay below that.
    pub max_operand_stack: u32,
    /// Most targets (the default excluded) a `br_table` may have:
    /// Cranelift's implementation limit in wasmtime 48.
    pub max_br_table_targets: u32,
    /// Most exports a module may have, of every kind: production's parser
    /// (wasmparser under Dusk's wasmtime 21) refuses more.
    pub max_exports: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // 256 MiB.
            max_memory_pages: 4096,
            max_table_elements: 65_536,
            max_function_locals: 10_000,
            max_call_depth: MAX_CALL_DEPTH,
            stack_budget: STACK_BUDGET,
            max_operand_stack: 22_000,
            max_br_table_targets: 65_520,
            max_exports: 100_000,
        }
    }
}
