//! A counter: `init` takes the starting value, every call sees the state
//! the previous ones left, and overflow checks turn a wrap into a panic.
#![no_std]

use piecrust_uplink::wrap_call;

static mut VALUE: u64 = 0;

// Edition 2024 refuses `&mut STATIC`; a reference made from the raw
// pointer is its way (clippy would shorten it back).
#[allow(clippy::deref_addrof)]
fn value() -> &'static mut u64 {
    // SAFETY: a contract runs single-threaded; no reference outlives a call.
    unsafe { &mut *(&raw mut VALUE) }
}

/// Sets the starting value.
#[unsafe(no_mangle)]
extern "C" fn init(arg_len: u32) -> u32 {
    wrap_call(arg_len, |start: u64| *value() = start)
}

/// The current value.
#[unsafe(no_mangle)]
extern "C" fn read(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| *value())
}

/// Adds one; returns the new value.
#[unsafe(no_mangle)]
extern "C" fn increment(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| {
        *value() += 1;
        *value()
    })
}

/// Adds `n` (panics on overflow); returns the new value.
#[unsafe(no_mangle)]
extern "C" fn add(arg_len: u32) -> u32 {
    wrap_call(arg_len, |n: u64| {
        *value() += n;
        *value()
    })
}
