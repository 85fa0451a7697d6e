//! Re-entrant calls: a contract calling itself to a given depth, calling a
//! contract that calls it back, and seeing in a callee frame the state an
//! outer frame of itself wrote before the call.
#![no_std]

extern crate alloc;

use alloc::vec::Vec;

use contract_types::ContractId;
use piecrust_uplink::{self as uplink, ContractError, wrap_call};

static mut VISITS: u64 = 0;

// Edition 2024 refuses `&mut STATIC`; a reference made from the raw
// pointer is its way (clippy would shorten it back).
#[allow(clippy::deref_addrof)]
fn visits() -> &'static mut u64 {
    // SAFETY: a contract runs single-threaded; no reference outlives a call.
    unsafe { &mut *(&raw mut VISITS) }
}

/// Counts a visit and calls itself `depth` more times; returns the call
/// stack's length seen at the bottom.
#[unsafe(no_mangle)]
extern "C" fn dive(arg_len: u32) -> u32 {
    wrap_call(arg_len, |depth: u32| -> u64 {
        *visits() += 1;
        if depth == 0 {
            return uplink::callstack().len() as u64;
        }
        uplink::call::<u32, u64>(uplink::self_id(), "dive", &(depth - 1))
            .expect("the nested dive succeeds")
    })
}

/// The visits counted so far.
#[unsafe(no_mangle)]
extern "C" fn visits_so_far(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| *visits())
}

/// Asks `other` to call back `visits_so_far` on this contract, after
/// counting a visit: the callback sees the count this frame wrote.
#[unsafe(no_mangle)]
extern "C" fn bounce(arg_len: u32) -> u32 {
    wrap_call(arg_len, |other: ContractId| -> Result<u64, ContractError> {
        *visits() += 1;
        uplink::call::<(ContractId, alloc::string::String), u64>(
            other,
            "call_back",
            &(
                uplink::self_id(),
                alloc::string::String::from("visits_so_far"),
            ),
        )
    })
}

/// Calls `function` on `target` (which called us); its `u64` result.
#[unsafe(no_mangle)]
extern "C" fn call_back(arg_len: u32) -> u32 {
    wrap_call(
        arg_len,
        |(target, function): (ContractId, alloc::string::String)| {
            uplink::call::<(), u64>(target, &function, &()).expect("the call back succeeds")
        },
    )
}

/// Counts a visit, then calls itself with `fail` so the inner frame
/// counts one more and panics: the inner visit is rolled back.
#[unsafe(no_mangle)]
extern "C" fn dive_and_fail(arg_len: u32) -> u32 {
    wrap_call(arg_len, |fail: bool| -> (Result<(), ContractError>, u64) {
        *visits() += 1;
        if fail {
            panic!("inner frame fails after counting");
        }
        let inner = uplink::call::<bool, (Result<(), ContractError>, u64)>(
            uplink::self_id(),
            "dive_and_fail",
            &true,
        )
        .map(|_| ());
        (inner, *visits())
    })
}

/// The callers seen at each level of a dive of `depth`, outermost last.
#[unsafe(no_mangle)]
extern "C" fn callers(arg_len: u32) -> u32 {
    wrap_call(arg_len, |depth: u32| -> Vec<Option<ContractId>> {
        let mut seen = if depth == 0 {
            Vec::new()
        } else {
            uplink::call::<u32, Vec<Option<ContractId>>>(uplink::self_id(), "callers", &(depth - 1))
                .expect("the nested call succeeds")
        };
        seen.push(uplink::caller());
        seen
    })
}
