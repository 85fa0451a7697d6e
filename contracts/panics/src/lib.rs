//! The SDK's panic paths, each ending the call with the message the SDK's
//! panic handler writes: an explicit message, `unwrap` on `None`, overflow,
//! division by zero, an index out of bounds, an argument that is not a
//! valid archive, a message too long for the buffer, running out of gas,
//! and running out of stack.
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use piecrust_uplink::{self as uplink, wrap_call};

/// Panics with the given message.
#[unsafe(no_mangle)]
extern "C" fn panic_with(arg_len: u32) -> u32 {
    wrap_call(arg_len, |message: String| -> () { panic!("{message}") })
}

/// `unwrap` on the option given.
#[unsafe(no_mangle)]
extern "C" fn unwrap(arg_len: u32) -> u32 {
    wrap_call(arg_len, |value: Option<u64>| value.unwrap())
}

/// `a + b` with overflow checks.
#[unsafe(no_mangle)]
extern "C" fn add(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(a, b): (u64, u64)| a + b)
}

/// `a / b`.
#[unsafe(no_mangle)]
extern "C" fn divide(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(a, b): (u64, u64)| a / b)
}

/// The element at `index` of `values`.
#[unsafe(no_mangle)]
extern "C" fn index(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(values, index): (Vec<u64>, u32)| {
        values[index as usize]
    })
}

/// A message of `length` bytes of `x`: past 65,536 the SDK's writer
/// fails and it sends "PANIC INFO TOO LONG" instead.
#[unsafe(no_mangle)]
extern "C" fn long_message(arg_len: u32) -> u32 {
    wrap_call(arg_len, |length: u32| -> () {
        let mut message = String::new();
        for _ in 0..length {
            message.push('x');
        }
        panic!("{message}")
    })
}

/// Loops until the gas runs out.
#[unsafe(no_mangle)]
extern "C" fn spin(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| -> u64 {
        let mut count: u64 = 0;
        loop {
            count = core::hint::black_box(count.wrapping_add(1));
            if uplink::spent() == u64::MAX {
                return count;
            }
        }
    })
}

/// Recurses `depth` times without a tail call: deep enough, the 64 KiB
/// shadow stack or the engine's stack runs out.
#[unsafe(no_mangle)]
extern "C" fn recurse(arg_len: u32) -> u32 {
    fn down(depth: u32, pad: [u64; 16]) -> u64 {
        let pad = core::hint::black_box(pad);
        if depth == 0 {
            pad[0]
        } else {
            down(depth - 1, pad) + pad[(depth % 16) as usize]
        }
    }
    wrap_call(arg_len, |depth: u32| down(depth, [1; 16]))
}
