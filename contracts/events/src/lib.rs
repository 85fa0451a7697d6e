//! `emit` and `feed` through the SDK: typed (rkyv) and raw data, several
//! topics, many events in one call.
#![no_std]

extern crate alloc;

use alloc::vec::Vec;

use contract_types::Record;
use piecrust_uplink::{self as uplink, wrap_call};

/// One event under `number` holding the value.
#[unsafe(no_mangle)]
extern "C" fn emit_u64(arg_len: u32) -> u32 {
    wrap_call(arg_len, |value: u64| uplink::emit("number", value))
}

/// One event under `record` holding the archived record.
#[unsafe(no_mangle)]
extern "C" fn emit_record(arg_len: u32) -> u32 {
    wrap_call(arg_len, |record: Record| uplink::emit("record", record))
}

/// `count` events under `tick`, each holding its index; returns the count.
#[unsafe(no_mangle)]
extern "C" fn emit_many(arg_len: u32) -> u32 {
    wrap_call(arg_len, |count: u32| {
        for index in 0..count {
            uplink::emit("tick", index);
        }
        count
    })
}

/// One raw event under the given topic with the given bytes.
#[unsafe(no_mangle)]
extern "C" fn emit_raw(arg_len: u32) -> u32 {
    wrap_call(
        arg_len,
        |(topic, data): (alloc::string::String, Vec<u8>)| uplink::emit_raw(&topic, data),
    )
}

/// Feeds the values `0..count`, each archived alone (the host refuses it
/// outside a feed call).
#[unsafe(no_mangle)]
extern "C" fn feed_range(arg_len: u32) -> u32 {
    wrap_call(arg_len, |count: u64| {
        for value in 0..count {
            uplink::feed(value);
        }
        count
    })
}

/// Feeds each record's raw name bytes.
#[unsafe(no_mangle)]
extern "C" fn feed_names(arg_len: u32) -> u32 {
    wrap_call(arg_len, |records: Vec<Record>| {
        for record in &records {
            uplink::feed_raw(record.name.as_bytes());
        }
        records.len() as u32
    })
}
