//! `c` through the SDK: a call that succeeds, each error the SDK decodes
//! (`Panic` with the callee's message, `OutOfGas`, `DoesNotExist`), explicit
//! gas limits, raw calls, and an error turned into the caller's own panic.
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use contract_types::{CallSpec, ContractId};
use piecrust_uplink::{self as uplink, ContractError, wrap_call};

fn call(spec: &CallSpec) -> Result<u64, ContractError> {
    uplink::call_with_limit::<u64, u64>(spec.contract, &spec.function, &spec.arg, spec.gas_limit)
}

/// Calls `function(arg)` on `contract`, a `u64` in and out; the SDK's
/// decoded error if it fails.
#[unsafe(no_mangle)]
extern "C" fn call_u64(arg_len: u32) -> u32 {
    wrap_call(arg_len, |spec: CallSpec| call(&spec))
}

/// Calls a function taking and returning `()`.
#[unsafe(no_mangle)]
extern "C" fn call_unit(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(contract, function): (ContractId, String)| {
        uplink::call::<(), ()>(contract, &function, &())
    })
}

/// Calls with raw argument bytes; the raw output bytes.
#[unsafe(no_mangle)]
extern "C" fn call_raw(arg_len: u32) -> u32 {
    wrap_call(
        arg_len,
        |(contract, function, arg): (ContractId, String, Vec<u8>)| {
            uplink::call_raw(contract, &function, &arg)
        },
    )
}

/// The call, and the gas this frame saw spent across it.
#[unsafe(no_mangle)]
extern "C" fn call_metered(arg_len: u32) -> u32 {
    wrap_call(arg_len, |spec: CallSpec| {
        let before = uplink::spent();
        let result = call(&spec);
        (result, uplink::spent() - before)
    })
}

/// The same call twice: the second sees what the first committed (or not,
/// if it failed).
#[unsafe(no_mangle)]
extern "C" fn call_twice(arg_len: u32) -> u32 {
    wrap_call(arg_len, |spec: CallSpec| (call(&spec), call(&spec)))
}

/// The call's result, or this contract's own panic if it failed (the
/// caller's message then carries the callee's).
#[unsafe(no_mangle)]
extern "C" fn call_or_panic(arg_len: u32) -> u32 {
    wrap_call(arg_len, |spec: CallSpec| match call(&spec) {
        Ok(value) => value,
        Err(error) => panic!("callee failed: {error}"),
    })
}
