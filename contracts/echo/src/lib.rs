//! rkyv round trips of every value kind the SDK encodes, and functions that
//! compute over decoded values, so that both directions of the encoding are
//! exercised on every engine.
#![no_std]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use contract_types::{ContractId, Record};
use piecrust_uplink::wrap_call;

macro_rules! echo {
    ($($name:ident: $ty:ty),* $(,)?) => {$(
        /// Returns its argument, decoded and encoded again.
        #[unsafe(no_mangle)]
        extern "C" fn $name(arg_len: u32) -> u32 {
            wrap_call(arg_len, |value: $ty| value)
        }
    )*};
}

echo! {
    echo_unit: (),
    echo_bool: bool,
    echo_u8: u8,
    echo_u16: u16,
    echo_u32: u32,
    echo_u64: u64,
    echo_i32: i32,
    echo_i64: i64,
    echo_u128: u128,
    echo_string: String,
    echo_bytes32: [u8; 32],
    echo_bytes: Vec<u8>,
    echo_vec: Vec<u64>,
    echo_strings: Vec<String>,
    echo_option: Option<u64>,
    echo_result: Result<u64, String>,
    echo_pair: (u32, String),
    echo_record: Record,
    echo_records: Vec<Record>,
    echo_id: ContractId,
}

/// The sum of a list (panics on overflow).
#[unsafe(no_mangle)]
extern "C" fn sum(arg_len: u32) -> u32 {
    wrap_call(arg_len, |values: Vec<u64>| values.iter().sum::<u64>())
}

/// The list sorted and without repeats.
#[unsafe(no_mangle)]
extern "C" fn sort_unique(arg_len: u32) -> u32 {
    wrap_call(arg_len, |mut values: Vec<u64>| {
        values.sort_unstable();
        values.dedup();
        values
    })
}

/// The text reversed by characters (so multi-byte UTF-8 survives).
#[unsafe(no_mangle)]
extern "C" fn reverse(arg_len: u32) -> u32 {
    wrap_call(arg_len, |text: String| {
        text.chars().rev().collect::<String>()
    })
}

/// A record described in one line of text.
#[unsafe(no_mangle)]
extern "C" fn describe(arg_len: u32) -> u32 {
    wrap_call(arg_len, |record: Record| {
        format!(
            "#{} {} tags={:?} active={} parent={:?}",
            record.id, record.name, record.tags, record.active, record.parent
        )
    })
}

/// The option's value, or the default given beside it.
#[unsafe(no_mangle)]
extern "C" fn unwrap_or(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(value, default): (Option<u64>, u64)| {
        value.unwrap_or(default)
    })
}

/// `Ok` with the quotient, or `Err` naming why not.
#[unsafe(no_mangle)]
extern "C" fn checked_div(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(a, b): (u64, u64)| -> Result<u64, String> {
        a.checked_div(b).ok_or_else(|| format!("{a} / 0"))
    })
}

/// Splits records into the active and inactive ones' ids.
#[unsafe(no_mangle)]
extern "C" fn partition(arg_len: u32) -> u32 {
    wrap_call(arg_len, |records: Vec<Record>| {
        let (active, inactive): (Vec<Record>, Vec<Record>) =
            records.into_iter().partition(|r| r.active);
        (
            active.iter().map(|r| r.id).collect::<Vec<u64>>(),
            inactive.iter().map(|r| r.id).collect::<Vec<u64>>(),
        )
    })
}
