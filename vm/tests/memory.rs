//! Memory growth, bulk memory and their gas, tables and `call_indirect`, on
//! both engines (and against native fuel where gas is the point).

mod common;

use common::{Both, TestVms, call_both, call_both_with, call_checked, contract, wasm};
use vm::failure::Trap;
use vm::{CallError, DeployOptions};

#[test]
fn memory_grows_to_its_maximum_and_no_further() {
    let wat = r#"(module
        (memory (export "memory") 1 3)
        (global (export "A") i32 (i32.const 0))
        (func (export "f") (param i32) (result i32)
          i32.const 0 i32.const 1 memory.grow i32.store        ;; 1
          i32.const 4 i32.const 1 memory.grow i32.store        ;; 2
          i32.const 8 i32.const 1 memory.grow i32.store        ;; -1: past 3
          i32.const 12 memory.size i32.store                   ;; 3
          i32.const 16 i32.const 0 memory.grow i32.store       ;; 3
          i32.const 20))"#;
    let out = call_both(wat, "f", &[], 100_000).result.expect("runs");
    let words: Vec<i32> = out
        .chunks(4)
        .map(|w| i32::from_le_bytes(w.try_into().expect("word")))
        .collect();
    assert_eq!(words, [1, 2, -1, 3, 3]);
}

#[test]
fn a_memory_without_maximum_stops_at_the_vm_limit() {
    let wat = contract(
        r#"(func (export "f") (param i32) (result i32)
             i32.const 0 i32.const 4094 memory.grow i32.store
             i32.const 4 i32.const 1 memory.grow i32.store
             i32.const 8)"#,
    );
    let out = call_both(&wat, "f", &[], 100_000).result.expect("runs");
    // The VM limit is 4096 pages; the contract started with 2.
    assert_eq!(out, [2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
}

#[test]
fn memory64_grows_and_traps_out_of_bounds() {
    let wat = r#"(module
        (memory (export "memory") i64 2 3)
        (global (export "A") i64 (i64.const 0))
        (func (export "grow") (param i32) (result i32)
          i64.const 0 i64.const 1 memory.grow i64.store
          i32.const 8)
        (func (export "oob") (param i32) (result i32)
          i64.const 0x30000 i32.load))"#;
    let grow = call_both(wat, "grow", &[], 100_000).result.expect("runs");
    assert_eq!(grow, 2u64.to_le_bytes());
    assert_eq!(
        call_both(wat, "oob", &[], 100_000).result,
        Err(CallError::Trap {
            trap: Trap::MemoryOutOfBounds
        })
    );
}

#[test]
fn bulk_memory_operations() {
    let wat = r#"(module
        (memory (export "memory") 2)
        (global (export "A") i32 (i32.const 0))
        (data $hello "hello")
        (func (export "f") (param i32) (result i32)
          i32.const 0 i32.const 0x61 i32.const 8 memory.fill      ;; aaaaaaaa
          i32.const 2 i32.const 0 i32.const 3 memory.init $hello  ;; aahelaaa
          i32.const 5 i32.const 2 i32.const 3 memory.copy         ;; aahelhel
          i32.const 8))"#;
    assert_eq!(
        call_both(wat, "f", &[], 100_000).result,
        Ok(b"aahelhel".to_vec())
    );
    let oob = r#"(module
        (memory (export "memory") 2)
        (global (export "A") i32 (i32.const 0))
        (func (export "f") (param i32) (result i32)
          i32.const 0x1fff0 i32.const 0 i32.const 17 memory.fill i32.const 0))"#;
    assert_eq!(
        call_both(oob, "f", &[], 100_000).result,
        Err(CallError::Trap {
            trap: Trap::MemoryOutOfBounds
        })
    );
}

/// A contract filling `len` bytes, with the length a constant or read from
/// the argument buffer.
fn fill(len: &str) -> Vec<u8> {
    wasm(&contract(&format!(
        r#"(func (export "f") (param i32) (result i32)
             i32.const 100 i32.const 7 {len} memory.fill
             i32.const 0)"#
    )))
}

#[test]
fn bulk_memory_gas_is_flat_and_never_checked() {
    let engines = TestVms::new();
    // entry 1, two constants 2, the size 1, memory.fill 1, the result 1:
    // the same 6 for 100 bytes as for 60,000, as piecrust 0.32.2 charges
    // (`corpus/scenarios/gas/bulk-memory.toml`).
    for size in ["i32.const 100", "i32.const 60000"] {
        let receipt = call_both_with(&engines, &fill(size), "f", &[], 1_000);
        assert_eq!(
            (receipt.result, receipt.gas_spent),
            (Ok(vec![]), 6),
            "{size}"
        );
    }
    // No check follows the operation, whatever its size: with a limit of
    // 2 the entry check passes and the call overruns to its end.
    let overrun = call_both_with(&engines, &fill("i32.const 60000"), "f", &[], 2);
    assert_eq!((overrun.result, overrun.gas_spent), (Ok(vec![]), 2));
    // A limit of 1 fails the entry check itself.
    let entry = call_both_with(&engines, &fill("i32.const 60000"), "f", &[], 1);
    assert_eq!(entry.result, Err(CallError::OutOfGas));
    // A size known only at run time costs the same, plus its load.
    let dynamic = fill("i32.const 0 i32.load");
    let arg = 60_000u32.to_le_bytes();
    let receipt = call_both_with(&engines, &dynamic, "f", &arg, 1_000);
    assert_eq!((receipt.result, receipt.gas_spent), (Ok(vec![]), 7));
}

#[test]
fn call_indirect_and_its_traps() {
    let wat = r#"(module
        (memory (export "memory") 2)
        (global (export "A") i32 (i32.const 0))
        (type $ret (func (result i32)))
        (type $take (func (param i32) (result i32)))
        (table 4 funcref)
        (elem (i32.const 0) $seven $double)
        (func $seven (result i32) i32.const 7)
        (func $double (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
        (func (export "ok") (param i32) (result i32)
          i32.const 0 i32.const 0 call_indirect (type $ret) i32.store8 i32.const 1)
        (func (export "mismatch") (param i32) (result i32)
          i32.const 1 call_indirect (type $ret))
        (func (export "null") (param i32) (result i32)
          i32.const 2 call_indirect (type $ret))
        (func (export "oob") (param i32) (result i32)
          i32.const 9 call_indirect (type $ret)))"#;
    assert_eq!(call_both(wat, "ok", &[], 10_000).result, Ok(vec![7]));
    for (function, trap) in [
        ("mismatch", Trap::BadSignature),
        ("null", Trap::IndirectCallToNull),
        ("oob", Trap::TableOutOfBounds),
    ] {
        assert_eq!(
            call_both(wat, function, &[], 10_000).result,
            Err(CallError::Trap { trap }),
            "{function}"
        );
    }
}

#[test]
fn an_infinite_loop_runs_out_of_gas() {
    let engines = TestVms::new();
    let wasm = wasm(&contract(
        r#"(func (export "f") (param i32) (result i32) (loop $l br $l) i32.const 0)"#,
    ));
    let receipt = call_checked(&engines, &wasm, "f", &[], 1_000_000);
    assert_eq!(receipt.result, Err(CallError::OutOfGas));
    assert_eq!(receipt.gas_spent, 1_000_000);
}

#[test]
fn a_failed_call_that_grew_memory_leaves_no_trace() {
    let wat = contract(
        r#"(global $counter (mut i32) (i32.const 0))
           (func (export "bump") (param i32) (result i32)
             global.get $counter i32.const 1 i32.add global.set $counter
             i32.const 0 global.get $counter i32.store
             i32.const 4)
           (func (export "grow_and_fail") (param i32) (result i32)
             i32.const 3 memory.grow drop
             i32.const 70000 i32.const 0x55 i32.const 1000 memory.fill
             global.get $counter i32.const 100 i32.add global.set $counter
             unreachable)
           (func (export "size") (param i32) (result i32)
             i32.const 0 memory.size i32.store
             i32.const 4 i32.const 70000 i32.load8_u i32.store
             i32.const 8)"#,
    );
    let engines = TestVms::new();
    let wasm = wasm(&wat);
    let mut both = Both::of(&engines);
    let id = both.deploy(&wasm, DeployOptions::default());
    let mut call = |function: &str| both.call(id, function, &[], 100_000).result;
    assert_eq!(call("bump"), Ok(vec![1, 0, 0, 0]));
    assert_eq!(
        call("grow_and_fail"),
        Err(CallError::Trap {
            trap: Trap::Unreachable
        })
    );
    assert_eq!(call("size"), Ok(vec![2, 0, 0, 0, 0, 0, 0, 0]));
    // Globals start from their initial value at every top-level call.
    assert_eq!(call("bump"), Ok(vec![1, 0, 0, 0]));
}

#[test]
fn memory64_bulk_operations_cost_the_same_whatever_their_length() {
    let wasm = wasm(
        r#"(module
            (memory (export "memory") i64 2)
            (global (export "A") i64 (i64.const 0))
            (func (export "f") (param i32) (result i32)
              i64.const 100 i32.const 1 i64.const 0 i64.load memory.fill
              i32.const 0)
            (func (export "huge") (param i32) (result i32)
              i64.const 0 i32.const 1 i64.const -1 memory.fill
              i32.const 0))"#,
    );
    let engines = TestVms::new();
    let receipt = call_both_with(&engines, &wasm, "f", &300u64.to_le_bytes(), 10_000);
    assert_eq!((receipt.result, receipt.gas_spent), (Ok(vec![]), 7));
    // A length of 2^64 - 1 bytes is no more expensive; it traps out of
    // bounds.
    let huge = call_both_with(&engines, &wasm, "huge", &[], 1_000_000);
    assert_eq!(
        huge.result,
        Err(CallError::Trap {
            trap: Trap::MemoryOutOfBounds
        })
    );
}

/// With a page cap above the default 4,096 pages, the dirty-page map (one
/// byte per 4 KiB page, 64 KiB for 4,096 Wasm pages) needs a second page:
/// writes to the last page are marked, kept and rolled back like any other.
#[test]
fn a_larger_page_cap_marks_writes_in_its_last_page() {
    let config = || vm::VmConfig {
        limits: vm::limits::Limits {
            max_memory_pages: 4_097,
            ..vm::limits::Limits::default()
        },
        ..vm::VmConfig::default()
    };
    let wasmtime = vm::Vm::<vm::WasmtimeEngine>::new(config()).expect("wasmtime");
    let wasmi = vm::Vm::<vm::WasmiEngine>::new(config()).expect("wasmi");
    // The last 8 bytes of 4,097 pages start at 268,500,984.
    let wasm = wasm(&contract(
        r#"(func (export "grow") (param i32) (result i32)
             i32.const 0 i32.const 4095 memory.grow i32.store i32.const 4)
           (func (export "write") (param i32) (result i32)
             i32.const 268500984 i64.const 0x1122334455667788 i64.store i32.const 0)
           (func (export "write_and_fail") (param i32) (result i32)
             i32.const 268500984 i64.const -1 i64.store unreachable)
           (func (export "read") (param i32) (result i32)
             i32.const 0 i32.const 268500984 i64.load i64.store i32.const 8)"#,
    ));
    let mut both = Both::new(&wasmtime, &wasmi);
    let id = both.deploy(&wasm, DeployOptions::default());
    let mut call = |function: &str| both.call(id, function, &[], 100_000).result;
    assert_eq!(call("grow"), Ok(vec![2, 0, 0, 0]));
    assert_eq!(call("write"), Ok(vec![]));
    assert_eq!(
        call("write_and_fail"),
        Err(CallError::Trap {
            trap: Trap::Unreachable
        })
    );
    assert_eq!(
        call("read"),
        Ok(0x1122334455667788u64.to_le_bytes().to_vec())
    );
}

/// A store's static offset counts in the page it marks, whatever its width:
/// a failed call that wrote pages past its address leaves nothing behind.
/// The pages are two apart: a marked page's next one is restored with it.
#[test]
fn a_store_offset_marks_the_page_it_reaches() {
    let wat = contract(
        r#"(func (export "write_and_fail") (param i32) (result i32)
             i32.const 0 i32.const 7 i32.store offset=8192
             i32.const 0 i32.const 7 i32.store8 offset=16384
             i32.const 0 i32.const 7 i32.store16 offset=24576
             i32.const 0 v128.const i32x4 7 7 7 7 v128.store offset=32768
             unreachable)
           (func (export "read") (param i32) (result i32)
             i32.const 0 i32.const 0 i32.load offset=8192 i32.store
             i32.const 4 i32.const 0 i32.load8_u offset=16384 i32.store
             i32.const 8 i32.const 0 i32.load16_u offset=24576 i32.store
             i32.const 12 i32.const 0 i32.load offset=32780 i32.store
             i32.const 16)"#,
    );
    let engines = TestVms::new();
    let wasm = wasm(&wat);
    let mut both = Both::of(&engines);
    let id = both.deploy(&wasm, DeployOptions::default());
    let mut call = |function: &str| both.call(id, function, &[], 100_000).result;
    assert_eq!(
        call("write_and_fail"),
        Err(CallError::Trap {
            trap: Trap::Unreachable
        })
    );
    assert_eq!(call("read"), Ok(vec![0; 16]));
}

/// `memory.copy` and `memory.init` mark the pages they write: a failed call
/// that wrote far pages with them leaves nothing behind.
#[test]
fn bulk_writes_of_a_failed_call_are_rolled_back() {
    let wat = contract(
        r#"(data $bytes "\01\02\03\04")
           (func (export "copy_and_fail") (param i32) (result i32)
             i32.const 0 i32.const 0x01020304 i32.store
             i32.const 70000 i32.const 0 i32.const 4 memory.copy
             unreachable)
           (func (export "init_and_fail") (param i32) (result i32)
             i32.const 90000 i32.const 0 i32.const 4 memory.init $bytes
             unreachable)
           (func (export "read") (param i32) (result i32)
             i32.const 0 i32.const 70000 i32.load i32.store
             i32.const 4 i32.const 90000 i32.load i32.store
             i32.const 8)"#,
    );
    let engines = TestVms::new();
    let wasm = wasm(&wat);
    let mut both = Both::of(&engines);
    let id = both.deploy(&wasm, DeployOptions::default());
    let mut call = |function: &str| both.call(id, function, &[], 100_000).result;
    for function in ["copy_and_fail", "init_and_fail"] {
        assert_eq!(
            call(function),
            Err(CallError::Trap {
                trap: Trap::Unreachable
            }),
            "{function}"
        );
    }
    assert_eq!(call("read"), Ok(vec![0; 8]));
}
