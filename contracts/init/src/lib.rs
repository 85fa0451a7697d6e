//! `init` with a struct argument, and what the imports give during init:
//! its limit and spent gas, the owner, an event, no caller.
#![no_std]

extern crate alloc;

use contract_types::{ContractId, Record};
use piecrust_uplink::{self as uplink, wrap_call};

struct Setup {
    record: Option<Record>,
    caller: Option<ContractId>,
    limit: u64,
    spent: u64,
}

static mut SETUP: Setup = Setup {
    record: None,
    caller: None,
    limit: 0,
    spent: 0,
};

// Edition 2024 refuses `&mut STATIC`; a reference made from the raw
// pointer is its way (clippy would shorten it back).
#[allow(clippy::deref_addrof)]
fn setup() -> &'static mut Setup {
    // SAFETY: a contract runs single-threaded; no reference outlives a call.
    unsafe { &mut *(&raw mut SETUP) }
}

/// Keeps the record, what init saw, and emits `created` with its id.
#[unsafe(no_mangle)]
extern "C" fn init(arg_len: u32) -> u32 {
    wrap_call(arg_len, |record: Record| {
        let setup = setup();
        uplink::emit("created", record.id);
        setup.caller = uplink::caller();
        setup.limit = uplink::limit();
        setup.spent = uplink::spent();
        setup.record = Some(record);
    })
}

/// The record init kept.
#[unsafe(no_mangle)]
extern "C" fn record(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| setup().record.clone())
}

/// What init saw: its caller, gas limit and gas spent.
#[unsafe(no_mangle)]
extern "C" fn seen_at_init(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| {
        let setup = setup();
        (setup.caller, setup.limit, setup.spent)
    })
}

/// Replaces the kept record's name; the old one.
#[unsafe(no_mangle)]
extern "C" fn rename(arg_len: u32) -> u32 {
    wrap_call(arg_len, |name: alloc::string::String| {
        setup()
            .record
            .as_mut()
            .map(|r| core::mem::replace(&mut r.name, name))
    })
}
