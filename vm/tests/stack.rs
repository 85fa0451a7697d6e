//! The logical stack limit: both engines stop recursion at the same depth,
//! before either native stack, for small and huge frames.

mod common;

use common::{call_both, contract};
use vm::CallError;
use vm::engine::Trap;

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

#[test]
fn small_frames_recurse_to_the_same_logical_limit() {
    let depth = limit(0);
    eprintln!("small-frame depth limit: {depth}");
    assert!(
        depth > 500,
        "small frames reach a useful depth, got {depth}"
    );
    // The limit is exact: one more frame fails on both engines.
    assert!(!exhausts(0, depth));
    assert!(exhausts(0, depth + 1));
}

#[test]
fn huge_frames_hit_the_limit_sooner_without_native_overflow() {
    let small = limit(0);
    let huge = limit(2_000);
    eprintln!("depth limits: small frames {small}, 2,000-local frames {huge}");
    assert!(huge >= 1, "a huge frame still fits once");
    assert!(
        huge < small / 10,
        "huge frames ({huge}) count more than small ones ({small})"
    );
    assert!(exhausts(2_000, huge + 1));
}

#[test]
fn exhausted_stack_rolls_back_state() {
    let wat = recursive(0);
    let receipt = call_both(&wat, "recurse", &depth_arg(1_000_000), 1_000_000_000);
    assert_eq!(
        receipt.result,
        Err(CallError::Trap {
            trap: Trap::StackExhausted
        })
    );
}
