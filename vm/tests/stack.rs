//! The logical stack limit: both engines stop recursion at the same depth,
//! before either native stack, for small and huge frames.

mod common;

use common::{TestVms, call_both, call_checked, contract, deepest_frame};
use vm::failure::Trap;
use vm::oracle::OracleError;
use vm::{CallError, DeployOptions, EngineError, EngineKind};

/// A function recursing `n` times (n read from the argument buffer) with
/// `locals` extra i64 locals, returning the depth reached.
fn recursive(locals: usize) -> String {
    let decls = if locals == 0 {
        String::new()
    } else {
        format!("(local {})", "i64 ".repeat(locals))
    };
    contract(&format!(
        r#"(global $depth (mut i32) (i32.const 0))
           (func $down (param $n i32) {decls}
             global.get $depth i32.const 1 i32.add global.set $depth
             local.get $n
             if
               local.get $n i32.const 1 i32.sub call $down
             end)
           (func (export "recurse") (param i32) (result i32)
             i32.const 0 i32.load call $down
             i32.const 0 global.get $depth i32.store
             i32.const 4)"#
    ))
}

fn depth_arg(n: u32) -> Vec<u8> {
    n.to_le_bytes().to_vec()
}

fn exhausts(locals: usize, n: u32) -> bool {
    let receipt = call_both(&recursive(locals), "recurse", &depth_arg(n), 1_000_000_000);
    match receipt.result {
        Ok(_) => false,
        Err(CallError::Trap {
            trap: Trap::StackExhausted,
        }) => true,
        Err(other) => panic!("unexpected failure at depth {n}: {other}"),
    }
}

/// The largest depth that completes, by bisection.
fn limit(locals: usize) -> u32 {
    let (mut ok, mut fails) = (0u32, 1u32);
    while !exhausts(locals, fails) {
        ok = fails;
        fails *= 2;
    }
    while fails - ok > 1 {
        let mid = ok + (fails - ok) / 2;
        if exhausts(locals, mid) {
            fails = mid;
        } else {
            ok = mid;
        }
    }
    ok
}

/// The deepest `recurse(n)` that completes (n + 1 frames of `$down` below
/// the exported one) for small frames and for 2,000-local frames: the
/// ABI's figures (`docs/abi.md`), pinned.
const SMALL_FRAME_LIMIT: u32 = 1_534;
const HUGE_FRAME_LIMIT: u32 = 11;

#[test]
fn small_frames_recurse_to_the_same_logical_limit() {
    // The deepest recursion that completes returns the frames it opened;
    // one more exhausts the stack on both engines.
    let receipt = call_both(
        &recursive(0),
        "recurse",
        &depth_arg(SMALL_FRAME_LIMIT),
        1_000_000_000,
    );
    assert_eq!(
        receipt.result,
        Ok((SMALL_FRAME_LIMIT + 1).to_le_bytes().to_vec())
    );
    assert_eq!(limit(0), SMALL_FRAME_LIMIT);
    assert!(exhausts(0, SMALL_FRAME_LIMIT + 1));
}

#[test]
fn huge_frames_hit_the_limit_sooner_without_native_overflow() {
    assert_eq!(limit(2_000), HUGE_FRAME_LIMIT);
    assert!(!exhausts(2_000, HUGE_FRAME_LIMIT));
    assert!(exhausts(2_000, HUGE_FRAME_LIMIT + 1));
}

#[test]
fn exhausted_stack_rolls_back_state() {
    // Every frame counts itself in memory; a call that exhausts the stack
    // must leave the count as it was.
    let engines = TestVms::new();
    let wasm = common::wasm(&contract(
        r#"(func $down (param $n i32)
             i32.const 100 i32.const 100 i32.load i32.const 1 i32.add i32.store
             local.get $n
             if
               local.get $n i32.const 1 i32.sub call $down
             end)
           (func (export "recurse") (param i32) (result i32)
             i32.const 0 i32.load call $down
             i32.const 0 i32.const 100 i32.load i32.store
             i32.const 4)"#,
    ));
    let options = DeployOptions {
        gas_limit: 1_000_000,
        ..DeployOptions::default()
    };
    let mut wt = engines.wasmtime.session();
    let mut wi = engines.wasmi.session();
    let id = wt.deploy(&wasm, options.clone()).expect("deploys").id;
    wi.deploy(&wasm, options).expect("deploys");
    let mut both = |n: u32| {
        let a = wt
            .call(&id, "recurse", &depth_arg(n), 1_000_000_000)
            .expect("runs");
        let b = wi
            .call(&id, "recurse", &depth_arg(n), 1_000_000_000)
            .expect("runs");
        assert_eq!(a, b);
        (a, wt.state_digest(&id))
    };
    let (first, before) = both(2);
    assert_eq!(first.result, Ok(3u32.to_le_bytes().to_vec()));
    let (exhausted, after) = both(1_000_000);
    assert_eq!(
        exhausted.result,
        Err(CallError::Trap {
            trap: Trap::StackExhausted
        })
    );
    assert_eq!(after, before, "memory rolled back");
    // The count goes on from 3, without the frames of the failed call.
    let (next, _) = both(0);
    assert_eq!(next.result, Ok(4u32.to_le_bytes().to_vec()));
}

/// The native-fuel oracle has no logical limit, only wasmtime's native
/// stack (512 KiB): the recursion our engines allow completes on it, with
/// the same result and gas, and one far deeper overflows its native stack (`NativeStackOverflow`).
#[test]
fn the_native_fuel_oracle_recurses_as_deep_as_the_engines() {
    let engines = TestVms::new();
    let wasm = common::wasm(&recursive(0));
    let deepest = call_checked(
        &engines,
        &wasm,
        "recurse",
        &depth_arg(SMALL_FRAME_LIMIT),
        1_000_000_000,
    );
    assert_eq!(
        deepest.result,
        Ok((SMALL_FRAME_LIMIT + 1).to_le_bytes().to_vec())
    );
    let overflow = engines
        .oracle
        .call(&wasm, "recurse", &depth_arg(1_000_000), 1_000_000_000);
    assert_eq!(
        overflow,
        Err(OracleError::Engine(EngineError::NativeStackOverflow {
            engine: EngineKind::Wasmtime
        }))
    );
}

/// `dive` opens `argbuf[0..4]` more frames below its own through `c`; the
/// innermost one recurses until the logical stack is exhausted. Each frame
/// outputs the code its callee returned.
const DIVER: &str = r#"(module
  (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
  (import "env" "self_id" (func $self_id))
  (memory (export "memory") 2)
  (global (export "A") i32 (i32.const 0))
  (data (i32.const 70100) "dive")
  (func $recurse (param $n i32) (result i32)
    local.get $n i32.const 1 i32.add call $recurse)
  (func (export "dive") (param i32) (result i32)
    (local $left i32)
    i32.const 0 i32.load local.tee $left
    i32.eqz
    if (drop (call $recurse (i32.const 0))) end
    call $self_id
    i32.const 70000 i32.const 0 i32.const 32 memory.copy
    (i32.store (i32.const 0) (i32.sub (local.get $left) (i32.const 1)))
    (i32.store (i32.const 0)
      (call $c (i32.const 70000) (i32.const 70100) (i32.const 4) (i32.const 4) (i64.const 0)))
    i32.const 4))"#;

/// The deepest native stack a call can reach: 48 frames of inter-contract
/// calls (each with the host's frames between them) and, in the innermost,
/// recursion to the end of the logical stack. wasmtime's native limit
/// ([`vm::determinism::stack::NATIVE_STACK_LIMIT`]) leaves the logical
/// limit to fire first: this call needs between 1 and 1.5 MiB of it in a
/// debug build (measured), and overflows a limit of 1 MiB.
#[test]
fn the_logical_limit_fires_first_at_the_deepest_call_nesting() {
    let engines = TestVms::new();
    let wasm = common::wasm(DIVER);
    let receipt = common::call_both_with(&engines, &wasm, "dive", &47u32.to_le_bytes(), u64::MAX);
    let (depth, frame) = deepest_frame(receipt.call_tree.as_ref().expect("the call ran"));
    assert_eq!(depth, 48);
    assert_eq!(
        frame.outcome,
        vm::trace::FrameOutcome::Failed {
            code: Some(i32::MIN),
            error: CallError::Trap {
                trap: Trap::StackExhausted
            },
        }
    );
    // The 47th frame's callee failed; every frame above it succeeded.
    assert_eq!(receipt.result, Ok(4i32.to_le_bytes().to_vec()));
}
