//! The imports that read the session or the call through the SDK:
//! `self_id`, `caller`, `callstack`, `limit`, `spent`, `owner` (own and
//! another's), `hd` (typed host data), `hq` (the suite's built-in queries)
//! and `hdebug` (the SDK's `debug!`).
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use contract_types::ContractId;
use piecrust_uplink::{self as uplink, debug, wrap_call};

// Exports are named apart from the imports: an export called `self_id`
// would be the very symbol the SDK's `self_id` import links to, and the
// contract would call itself forever.

/// This contract's id.
#[unsafe(no_mangle)]
extern "C" fn my_id(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| uplink::self_id())
}

/// The calling contract, if any.
#[unsafe(no_mangle)]
extern "C" fn my_caller(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| uplink::caller())
}

/// Every contract on the call stack.
#[unsafe(no_mangle)]
extern "C" fn my_callstack(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| uplink::callstack())
}

/// The gas limit of this call and what it had spent when asked.
#[unsafe(no_mangle)]
extern "C" fn gas(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| (uplink::limit(), uplink::spent()))
}

/// This contract's 32-byte owner (the SDK panics on another length).
#[unsafe(no_mangle)]
extern "C" fn self_owner(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| uplink::self_owner::<32>())
}

/// Another contract's 32-byte owner, or `None` if it does not exist.
#[unsafe(no_mangle)]
extern "C" fn owner_of(arg_len: u32) -> u32 {
    wrap_call(arg_len, |id: ContractId| uplink::owner::<32>(id))
}

/// Host data under `name` read as a `u64` (`None` if absent or not one).
#[unsafe(no_mangle)]
extern "C" fn meta_u64(arg_len: u32) -> u32 {
    wrap_call(arg_len, |name: String| uplink::meta_data::<u64>(&name))
}

/// Host data under `name` read as text (`None` if absent or not text).
#[unsafe(no_mangle)]
extern "C" fn meta_string(arg_len: u32) -> u32 {
    wrap_call(arg_len, |name: String| uplink::meta_data::<String>(&name))
}

/// The `hash` query (blake3 of the archived argument).
#[unsafe(no_mangle)]
extern "C" fn query_hash(arg_len: u32) -> u32 {
    wrap_call(arg_len, |data: Vec<u8>| {
        uplink::host_query::<Vec<u8>, [u8; 32]>("hash", data)
    })
}

/// The `echo` query: the archive comes back as it went.
#[unsafe(no_mangle)]
extern "C" fn query_echo(arg_len: u32) -> u32 {
    wrap_call(arg_len, |words: Vec<String>| {
        uplink::host_query::<Vec<String>, Vec<String>>("echo", words)
    })
}

/// The `priced` query: the archived argument's length, priced per byte.
#[unsafe(no_mangle)]
extern "C" fn query_priced(arg_len: u32) -> u32 {
    wrap_call(arg_len, |data: Vec<u8>| {
        let before = uplink::spent();
        let length = uplink::host_query::<Vec<u8>, u32>("priced", data);
        (length, uplink::spent() - before)
    })
}

/// A query by any name, with a `u64` argument and result.
#[unsafe(no_mangle)]
extern "C" fn query_named(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(name, arg): (String, u64)| {
        uplink::host_query::<u64, u64>(&name, arg)
    })
}

/// Sends `lines` debug messages through the SDK's `debug!`.
#[unsafe(no_mangle)]
extern "C" fn say(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(text, lines): (String, u32)| {
        for line in 0..lines {
            debug!("{line}: {text}");
        }
        lines
    })
}
