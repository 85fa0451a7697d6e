//! The logical stack limit.
//!
//! wasmtime runs Wasm on the native stack and wasmi on its own stacks, so
//! their native limits differ. The determinism pass charges every function
//! a frame size on entry and refunds it on exit; a call that would take the
//! total over the budget ([`crate::limits::Limits::stack_budget`]) fails with stack exhaustion on both engines,
//! at the same depth, long before either native limit (wasmtime's is set to
//! [`NATIVE_STACK_LIMIT`], wasmi's are raised far above the budget).

/// Logical bytes every frame costs besides its slots: return address, frame
/// pointer, saved registers.
pub const FRAME_OVERHEAD: u64 = 64;

/// Logical bytes per parameter, local and operand-stack slot. Sixteen bytes
/// cover a `v128` and any spill Cranelift makes for a slot.
pub const SLOT_SIZE: u64 = 16;

/// The native stack wasmtime may use for Wasm (`Config::max_wasm_stack`),
/// host frames of nested inter-contract calls included: far above the
/// budget so the logical limit always fires first. Threads running calls
/// need this much stack and more (the main thread's 8 MiB is enough).
pub const NATIVE_STACK_LIMIT: usize = 2 * 1024 * 1024;

/// The native stack of the native-fuel oracle, which has no logical limit
/// and runs single contracts: wasmtime's default.
pub const ORACLE_NATIVE_STACK_LIMIT: usize = 512 * 1024;

/// Logical size of a frame with this many parameters and locals (scratch
/// locals of the pass included) and this operand-stack height.
pub fn frame_size(locals: u64, max_operand_height: u64) -> u64 {
    FRAME_OVERHEAD + SLOT_SIZE * (locals + max_operand_height)
}
