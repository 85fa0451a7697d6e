//! The SDK's allocator (dlmalloc): buffers allocated and freed within a
//! call, memory grown for them, and allocations kept in state so that the
//! grown memory is what the next call finds.
#![no_std]

extern crate alloc;

use alloc::vec::Vec;

use piecrust_uplink::wrap_call;

static mut KEPT: Vec<Vec<u8>> = Vec::new();

// Edition 2024 refuses `&mut STATIC`; a reference made from the raw
// pointer is its way (clippy would shorten it back).
#[allow(clippy::deref_addrof)]
fn kept() -> &'static mut Vec<Vec<u8>> {
    // SAFETY: a contract runs single-threaded; no reference outlives a call.
    unsafe { &mut *(&raw mut KEPT) }
}

fn filled(length: u32, seed: u8) -> Vec<u8> {
    (0..length)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Allocates `length` bytes, fills and checks them, frees them; their
/// checksum and the memory's size in pages after.
#[unsafe(no_mangle)]
extern "C" fn scratch(arg_len: u32) -> u32 {
    wrap_call(arg_len, |length: u32| {
        let buffer = filled(length, 7);
        (checksum(&buffer), core::arch::wasm32::memory_size(0) as u32)
    })
}

/// Keeps a buffer of `length` bytes in state; the number kept and the
/// memory's size in pages.
#[unsafe(no_mangle)]
extern "C" fn keep(arg_len: u32) -> u32 {
    wrap_call(arg_len, |length: u32| {
        let kept = kept();
        let seed = kept.len() as u8;
        kept.push(filled(length, seed));
        (kept.len() as u32, core::arch::wasm32::memory_size(0) as u32)
    })
}

/// The checksum of everything kept, and its total length.
#[unsafe(no_mangle)]
extern "C" fn kept_checksum(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| {
        let kept = kept();
        let total: u64 = kept.iter().map(|b| b.len() as u64).sum();
        let all: Vec<u8> = kept.iter().flatten().copied().collect();
        (checksum(&all), total)
    })
}

/// Frees everything kept; the memory does not shrink.
#[unsafe(no_mangle)]
extern "C" fn release(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| {
        let count = kept().len() as u32;
        *kept() = Vec::new();
        (count, core::arch::wasm32::memory_size(0) as u32)
    })
}
