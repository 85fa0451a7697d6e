//! Gas: the reference's measured cases, checked on both engines and against
//! wasmtime's native fuel.

mod common;

use common::{TestVms, call_both, call_checked, contract, wasm};
use vm::CallError;

/// The smallest limit that does not fail, found by trying them all.
fn smallest_passing_limit(engines: &TestVms, wasm: &[u8], function: &str, upto: u64) -> u64 {
    (0..=upto)
        .find(|&gas| {
            call_checked(engines, wasm, function, &[], gas)
                .result
                .is_ok()
        })
        .expect("some limit passes")
}

#[test]
fn straight_line_code_overruns_between_checks() {
    let engines = TestVms::new();
    let wasm = wasm(&contract(
        r#"(func (export "f") (param i32) (result i32)
            i32.const 7 i32.const 8 i32.add drop i32.const 0)"#,
    ));
    assert_eq!(call_checked(&engines, &wasm, "f", &[], 100).gas_spent, 5);
    assert_eq!(smallest_passing_limit(&engines, &wasm, "f", 10), 2);
    for limit in 2..=4 {
        let receipt = call_checked(&engines, &wasm, "f", &[], limit);
        assert!(receipt.result.is_ok());
        assert_eq!(
            receipt.gas_spent, limit,
            "an overrun spends the whole limit"
        );
    }
    let failed = call_checked(&engines, &wasm, "f", &[], 1);
    assert_eq!(failed.result, Err(CallError::OutOfGas));
    assert_eq!(failed.gas_spent, 1);
}

#[test]
fn store_to_argbuf_costs_sixteen() {
    let engines = TestVms::new();
    let wasm = wasm(&contract(
        r#"(func (export "f") (param i32) (result i32)
            i32.const 0 i32.const 42 i32.store i32.const 4)"#,
    ));
    let receipt = call_checked(&engines, &wasm, "f", &[], 1000);
    assert_eq!(receipt.gas_spent, 20);
    assert_eq!(receipt.result, Ok(vec![42, 0, 0, 0]));
    assert_eq!(smallest_passing_limit(&engines, &wasm, "f", 30), 2);
}

#[test]
fn every_call_entry_is_a_check() {
    let engines = TestVms::new();
    let calls = "call $empty ".repeat(10);
    let wasm = wasm(&contract(&format!(
        r#"(func $empty)
           (func (export "f") (param i32) (result i32) {calls} i32.const 0)"#
    )));
    assert_eq!(call_checked(&engines, &wasm, "f", &[], 1000).gas_spent, 22);
    assert_eq!(smallest_passing_limit(&engines, &wasm, "f", 30), 22);
}

#[test]
fn loop_headers_are_checks() {
    let engines = TestVms::new();
    let wasm = wasm(&contract(
        r#"(func (export "f") (param i32) (result i32) (local i32)
            i32.const 5 local.set 1
            (loop $l
              local.get 1 i32.const 1 i32.sub local.tee 1
              br_if $l)
            i32.const 0)"#,
    ));
    assert_eq!(call_checked(&engines, &wasm, "f", &[], 1000).gas_spent, 29);
    assert_eq!(smallest_passing_limit(&engines, &wasm, "f", 40), 24);
}

#[test]
fn limits_above_i64_max_read_back_whole_and_spend_exactly() {
    let wat = r#"(module
           (import "env" "limit" (func $limit (result i64)))
           (import "env" "spent" (func $spent (result i64)))
           (memory (export "memory") 2)
           (global (export "A") i32 (i32.const 0))
           (func (export "f") (param i32) (result i32)
             i32.const 0 call $limit i64.store
             i32.const 8 call $spent i64.store
             i32.const 16))"#;
    for limit in [i64::MAX as u64, 1 << 63, u64::MAX] {
        let receipt = call_both(wat, "f", &[], limit);
        let mut expected = limit.to_le_bytes().to_vec();
        expected.extend_from_slice(&37u64.to_le_bytes());
        assert_eq!(receipt.result, Ok(expected), "limit {limit}");
        assert_eq!(receipt.gas_spent, 70, "limit {limit}");
    }
}

/// Functions with two or more results: the determinism pass wraps each body
/// in a block typed by its result list, one added type per distinct list
/// (`$pair` and `$again` share one).
#[test]
fn functions_with_several_results_are_metered_and_return_them() {
    let engines = TestVms::new();
    let wasm = wasm(&contract(
        r#"(func $pair (result i32 i64) i32.const 7 i64.const 40)
           (func $again (result i32 i64) i32.const 3 i64.const 2)
           (func $swap (param i32 i64) (result i64 i32) local.get 1 local.get 0)
           (func (export "f") (param i32) (result i32) (local $t i64)
             i32.const 0
             call $pair call $swap i64.extend_i32_u i64.add
             call $again local.set $t i64.extend_i32_u local.get $t i64.add
             i64.mul i64.store
             i32.const 8)"#,
    ));
    let receipt = call_checked(&engines, &wasm, "f", &[], 1000);
    assert_eq!(receipt.result, Ok(235u64.to_le_bytes().to_vec()));
    assert_eq!(receipt.gas_spent, 54);
}

/// Gas of every kind of branch, of code after one (unreachable to the
/// translator) and of accesses the translator proves out of bounds (offset
/// plus size past 4 GiB), as production's fuel places it: checked against
/// wasmtime's native fuel where that applies, and pinned.
#[test]
fn branches_dead_code_and_static_bounds() {
    let engines = TestVms::new();
    let wasm = wasm(&contract(
        r#"(func (export "branches") (param i32) (result i32)
             (block $out
               (block $a
                 local.get 0 br_if $a
                 (if (local.get 0) (then nop) (else i32.const 1 drop))
                 (block $t (br_table $t $a $out (i32.const 1)))
                 i32.const 2 drop)
               (loop $l (br $out))
               unreachable)
             i32.const 0)
           (func $returns (result i32)
             i32.const 3 return
             (if (i32.const 1) (then nop) (else nop))
             (block (loop (br 0)))
             i32.const 4)
           (func (export "dead") (param i32) (result i32)
             call $returns drop
             (block $b (br $b) (if (i32.const 0) (then nop) (else nop)) (block) (loop))
             i32.const 0)
           (func (export "br_if_only") (param i32) (result i32)
             (block $x (br_if $x (i32.const 1)) unreachable)
             i32.const 5 drop i32.const 6 drop i32.const 0)
           (func (export "else_after_br") (param i32) (result i32)
             (if (i32.eqz (local.get 0)) (then (br 0)) (else i32.const 7 drop i32.const 8 drop))
             i32.const 0)
           (func (export "static8") (param i32) (result i32)
             i32.const 0 i32.load8_u offset=0xffffffff drop i32.const 0)
           (func (export "static16") (param i32) (result i32)
             i32.const 0 i32.load16_u offset=0xffffffff drop i32.const 0)
           (func (export "static128") (param i32) (result i32)
             i32.const 0 v128.load offset=0xfffffff1 drop i32.const 0)
           (func (export "dynamic128") (param i32) (result i32)
             i32.const 0 v128.load offset=0xfffffff0 drop i32.const 0)"#,
    ));
    let mut found = Vec::new();
    for function in [
        "branches",
        "dead",
        "br_if_only",
        "else_after_br",
        "static8",
        "static16",
        "static128",
        "dynamic128",
    ] {
        // Gas spent and whether the call ran out, at limits 0 to 7 and 1,000.
        let spent: Vec<(u64, bool)> = (0..=7)
            .chain([1000])
            .map(|gas| {
                let receipt = call_checked(&engines, &wasm, function, &[1], gas);
                (
                    receipt.gas_spent,
                    receipt.result == Err(CallError::OutOfGas),
                )
            })
            .collect();
        found.push((function, spent));
    }
    // The branches' frame spends 5; the dead code's (a call and a block
    // left by `br`) 6; a block left only by `br_if`, and the code after it,
    // 6; an `else` after a `then` that ends in `br`, 7. A dynamic
    // out-of-bounds trap comes before the first fuel save, so the failed
    // call reports none; a static one is a trap the translator placed,
    // after the saved 3.
    let ran_out = |spent: u64| (spent, true);
    let ended = |spent: u64| (spent, false);
    // Out of gas below `enough`, then spending up to `last`.
    let climbing = |enough: u64, last: u64| -> Vec<(u64, bool)> {
        (0..enough)
            .map(ran_out)
            .chain((enough..=7).chain([1000]).map(|gas| ended(gas.min(last))))
            .collect()
    };
    let early_trap: Vec<(u64, bool)> = [ran_out(0), ran_out(1)]
        .into_iter()
        .chain(std::iter::repeat_n(ended(0), 7))
        .collect();
    assert_eq!(
        found,
        [
            ("branches", climbing(4, 5)),
            ("dead", climbing(4, 6)),
            ("br_if_only", climbing(2, 6)),
            ("else_after_br", climbing(2, 7)),
            ("static8", early_trap.clone()),
            ("static16", climbing(4, 3)),
            ("static128", climbing(4, 3)),
            ("dynamic128", early_trap),
        ]
    );
}

/// A trap spends the gas counted up to the last call, not what the loop
/// header's check charged after it (the two constants): wasmtime's fuel
/// reaches the host only at calls and exits, and the determinism pass
/// keeps that figure in its saved-fuel global. Limits 1 to 6 run out
/// before the trap.
#[test]
fn a_trap_spends_the_gas_saved_at_the_last_call() {
    let engines = TestVms::new();
    let wasm = wasm(&contract(
        r#"(func $empty)
           (func (export "f") (param i32) (result i32)
             i32.const 1 drop call $empty
             i32.const 2 drop i32.const 3 drop
             (loop $l nop nop nop nop (drop (i32.load (i32.const -1))))
             i32.const 0)"#,
    ));
    for limit in 1..=6 {
        let receipt = call_checked(&engines, &wasm, "f", &[], limit);
        assert_eq!(receipt.result, Err(CallError::OutOfGas), "limit {limit}");
        assert_eq!(receipt.gas_spent, limit);
    }
    for limit in [7, 8, 1_000] {
        let receipt = call_checked(&engines, &wasm, "f", &[], limit);
        assert_eq!(
            receipt.result,
            Err(CallError::Trap {
                trap: vm::Trap::MemoryOutOfBounds
            }),
            "limit {limit}"
        );
        assert_eq!(receipt.gas_spent, 4, "limit {limit}");
    }
}
