//! Multi-contract sessions on both engines: inter-contract calls, their gas,
//! error codes, depth, rollback, events and call traces.

mod common;

use common::{Both, TestVms, deepest_frame};
use vm::abi::ContractId;
use vm::trace::{CallTree, FrameOutcome};
use vm::{CallError, CallReceipt, DeployOptions};

const ACTOR: &str = include_str!("../../corpus/contracts/actors/actor32.wat");

fn id(n: u8) -> ContractId {
    ContractId([n; 32])
}

/// A request for `call`: [callee][gas][name length][name][argument].
fn request(callee: ContractId, gas: i64, function: &str, arg: &[u8]) -> Vec<u8> {
    let mut bytes = callee.as_bytes().to_vec();
    bytes.extend_from_slice(&gas.to_le_bytes());
    bytes.extend_from_slice(
        &u32::try_from(function.len())
            .expect("a short name")
            .to_le_bytes(),
    );
    bytes.extend_from_slice(function.as_bytes());
    bytes.extend_from_slice(arg);
    bytes
}

/// Two requests for `pair`.
fn pair(first: &[u8], second: &[u8]) -> Vec<u8> {
    let mut bytes = u32::try_from(first.len())
        .expect("a short request")
        .to_le_bytes()
        .to_vec();
    bytes.extend_from_slice(first);
    bytes.extend_from_slice(second);
    bytes
}

/// The [code][result] a `call` returns.
fn code_of(output: &[u8]) -> (i32, Vec<u8>) {
    let code = i32::from_le_bytes(output[..4].try_into().expect("code"));
    (code, output[4..].to_vec())
}

/// Deploys `wat` on both engines at `id`, owned by `owner`.
fn deploy_at(both: &mut Both<'_>, wat: &str, id: ContractId, owner: &[u8]) -> ContractId {
    let options = DeployOptions {
        id: Some(id),
        owner: owner.to_vec(),
        gas_limit: 1_000_000,
        ..DeployOptions::default()
    };
    both.deploy(&wat::parse_str(wat).expect("parses"), options)
}

fn actors(engines: &TestVms, count: u8) -> (Both<'_>, Vec<ContractId>) {
    let mut both = Both::of(engines);
    let ids = (1..=count)
        .map(|n| deploy_at(&mut both, ACTOR, id(n), &[n]))
        .collect();
    (both, ids)
}

fn tree(receipt: &CallReceipt) -> &CallTree {
    receipt.call_tree.as_ref().expect("the call ran")
}

#[test]
fn a_call_returns_the_callee_output_and_charges_what_it_spent() {
    let engines = TestVms::new();
    let (mut both, ids) = actors(&engines, 2);
    let receipt = both.call(ids[0], "call", &request(ids[1], 0, "out32", &[]), 1_000_000);
    let (code, output) = code_of(receipt.result.as_ref().expect("succeeds"));
    assert_eq!((code, output), (32, vec![0x55; 32]));
    let root = tree(&receipt);
    assert_eq!(root.children.len(), 1);
    let child = &root.children[0];
    assert_eq!(child.contract, ids[1]);
    assert_eq!(child.function, "out32");
    // 93 % of what the caller had left at the call.
    assert!(
        child.gas_limit > 900_000 && child.gas_limit < 930_000,
        "{}",
        child.gas_limit
    );
    assert_eq!(child.outcome, FrameOutcome::Output(vec![0x55; 32].into()));
    // The caller was charged what the callee spent, no more.
    assert!(root.gas_spent < 500, "{}", root.gas_spent);
    assert!(root.gas_spent > child.gas_spent);
}

#[test]
fn every_error_code_and_the_panic_encoding() {
    let engines = TestVms::new();
    let (mut both, ids) = actors(&engines, 2);
    // The caller's total gas: its own 71 (74 when it reads a panic
    // message's length) plus the callee's whole limit of 50,000, except for
    // a callee that does not exist, which is refused before any frame and
    // costs nothing. The same totals on piecrust 0.32.2 (the `calls/error-*`
    // scenarios).
    let cases: [(&str, ContractId, i32, u64); 7] = [
        ("fail", ids[1], -1, 50_074),
        ("spin", ids[1], -2, 50_071),
        ("echo", id(99), -3, 71),
        ("trap", ids[1], i32::MIN, 50_071),
        ("nope", ids[1], i32::MIN, 50_071),
        ("init", ids[1], i32::MIN, 50_071),
        ("bad_output", ids[1], i32::MIN, 50_071),
    ];
    for (function, callee, expected, total) in cases {
        let receipt = both.call(
            ids[0],
            "call",
            &request(callee, 50_000, function, &[]),
            1_000_000,
        );
        let (code, rest) = code_of(receipt.result.as_ref().expect("the caller continues"));
        assert_eq!(code, expected, "{function}");
        let root = tree(&receipt);
        let child = &root.children[0];
        assert!(
            matches!(child.outcome, FrameOutcome::Failed { code: Some(c), .. } if c == expected),
            "{function}: {:?}",
            child.outcome
        );
        assert!(child.gas_spent <= 50_000, "{function}");
        assert_eq!(root.gas_spent, total, "{function}");
        if expected == -1 {
            let mut encoded = 13u32.to_le_bytes().to_vec();
            encoded.extend_from_slice(b"callee failed");
            assert_eq!(rest, encoded);
        } else {
            assert!(rest.is_empty(), "{function}: argbuf untouched");
        }
    }
    // A function name that is not UTF-8 fails the caller itself, before
    // any callee frame exists.
    let mut bad_name = request(ids[1], 1000, "xx", &[]);
    bad_name[44] = 0xff;
    let receipt = both.call(ids[0], "call", &bad_name, 1_000_000);
    assert_eq!(
        receipt.result,
        Err(vm::CallError::Host {
            error: vm::failure::HostError::InvalidUtf8 {
                what: "function name".into()
            }
        })
    );
    assert!(tree(&receipt).children.is_empty());
}

#[test]
fn explicit_gas_limits_below_and_above_the_remaining_gas() {
    let engines = TestVms::new();
    let (mut both, ids) = actors(&engines, 2);
    let limit_of = |both: &mut Both, gas: i64, total: u64| {
        let receipt = both.call(ids[0], "call", &request(ids[1], gas, "gas", &[]), total);
        let (code, rest) = code_of(receipt.result.as_ref().expect("succeeds"));
        assert_eq!(code, 16);
        u64::from_le_bytes(rest[..8].try_into().expect("limit"))
    };
    assert_eq!(limit_of(&mut both, 5_000, 100_000), 5_000);
    // Above what remains: 93 % of the remaining gas instead.
    let remaining_share = limit_of(&mut both, 200_000, 100_000);
    assert!(
        remaining_share < 93_000 && remaining_share > 92_000,
        "{remaining_share}"
    );
    assert_eq!(limit_of(&mut both, 0, 100_000), remaining_share);
    assert_eq!(limit_of(&mut both, -7, 100_000), remaining_share);
}

#[test]
fn out_of_gas_in_a_callee_lets_the_caller_continue() {
    let engines = TestVms::new();
    let (mut both, ids) = actors(&engines, 2);
    let receipt = both.call(
        ids[0],
        "call",
        &request(ids[1], 10_000, "spin", &[]),
        100_000,
    );
    assert_eq!(code_of(receipt.result.as_ref().expect("continues")).0, -2);
    let child = &tree(&receipt).children[0];
    assert_eq!(child.gas_spent, 10_000);
    assert!(matches!(
        &child.outcome,
        FrameOutcome::Failed {
            error: CallError::OutOfGas,
            ..
        }
    ));
}

#[test]
fn reentrant_changes_of_the_caller_are_rolled_back() {
    let engines = TestVms::new();
    let (mut both, ids) = actors(&engines, 2);
    both.call(ids[0], "set", &[1, 0, 0, 0], 100_000);
    // A calls B; B sets A's state through A and panics.
    let receipt = both.call(
        ids[0],
        "call",
        &request(ids[1], 0, "reenter_then_panic", ids[0].as_bytes()),
        1_000_000,
    );
    assert_eq!(code_of(receipt.result.as_ref().expect("continues")).0, -1);
    let b = &tree(&receipt).children[0];
    assert_eq!(b.children.len(), 1, "B called A");
    assert_eq!(
        b.children[0].outcome,
        FrameOutcome::Output(Vec::new().into())
    );
    assert_eq!(
        both.call(ids[0], "get", &[], 100_000).result,
        Ok(vec![1, 0, 0, 0])
    );
}

#[test]
fn nested_failures_with_succeeding_siblings() {
    let engines = TestVms::new();
    let (mut both, ids) = actors(&engines, 4);
    // A -> pair( B.set(7) ok , B -> pair( C.set(8) ok , D.fail ) ok ) ...
    let inner = pair(
        &request(ids[2], 0, "set", &[8, 0, 0, 0]),
        &request(ids[3], 0, "fail", &[]),
    );
    let outer = pair(
        &request(ids[1], 0, "set", &[7, 0, 0, 0]),
        &request(ids[1], 0, "pair", &inner),
    );
    let receipt = both.call(ids[0], "pair", &outer, 5_000_000);
    assert!(receipt.result.is_ok());
    // Both sets survive: only D failed, and D changed nothing.
    assert_eq!(
        both.call(ids[1], "get", &[], 100_000).result,
        Ok(vec![7, 0, 0, 0])
    );
    assert_eq!(
        both.call(ids[2], "get", &[], 100_000).result,
        Ok(vec![8, 0, 0, 0])
    );
    // Now fail a level higher: A sets D, then B sets C through C and fails
    // itself: C's change is undone, A's earlier sibling call is kept.
    let outer = pair(
        &request(ids[3], 0, "set", &[5, 0, 0, 0]),
        &request(ids[1], 0, "reenter_then_panic", ids[2].as_bytes()),
    );
    let receipt = both.call(ids[0], "pair", &outer, 5_000_000);
    assert!(receipt.result.is_ok());
    assert_eq!(
        both.call(ids[3], "get", &[], 100_000).result,
        Ok(vec![5, 0, 0, 0])
    );
    assert_eq!(
        both.call(ids[2], "get", &[], 100_000).result,
        Ok(vec![8, 0, 0, 0])
    );
}

#[test]
fn events_of_failed_frames_stay_flagged_reverted() {
    let engines = TestVms::new();
    let (mut both, ids) = actors(&engines, 3);
    // A: pair( B.emit("one") , C -> pair( C.emit("two") , C.emit_then_fail("three") ) )
    let inner = pair(
        &request(ids[2], 0, "emit", b"two"),
        &request(ids[2], 0, "emit_then_fail", b"three"),
    );
    let outer = pair(
        &request(ids[1], 0, "emit", b"one"),
        &request(ids[2], 0, "pair", &inner),
    );
    let receipt = both.call(ids[0], "pair", &outer, 5_000_000);
    assert!(receipt.result.is_ok());
    let events: Vec<(&[u8], bool, usize)> = receipt
        .events
        .iter()
        .map(|record| (&record.event.data[..], record.reverted, record.frame))
        .collect();
    // Frames in pre-order: 0 A, 1 B.emit, 2 C.pair, 3 C.emit, 4 C.emit_then_fail.
    assert_eq!(
        events,
        [
            (&b"one"[..], false, 1),
            (&b"two"[..], false, 3),
            (&b"three"[..], true, 4)
        ]
    );
    assert!(
        receipt
            .events
            .iter()
            .all(|record| record.event.topic == "ev")
    );
    // A failing top-level call keeps its events, flagged reverted.
    let failed = both.call(ids[1], "emit_then_fail", b"gone", 1_000_000);
    assert!(matches!(failed.result, Err(CallError::Panic { .. })));
    assert_eq!(failed.events.len(), 1);
    assert!(failed.events[0].reverted);
    assert_eq!(failed.events[0].frame, 0);
}

#[test]
fn call_chains_to_depth_48_succeed_and_49_fail() {
    let engines = TestVms::new();
    let (mut both, ids) = actors(&engines, 1);
    // A chain of `call`s into the same contract: depth n means n frames.
    let chain = |depth: usize| {
        let mut req = request(ids[0], 0, "echo", b"deep");
        for _ in 2..depth {
            req = request(ids[0], 0, "call", &req);
        }
        req
    };
    // Each of the depth - 1 calls wraps its callee's output in a code.
    let innermost = |receipt: &CallReceipt, depth: usize| {
        let mut output = receipt.result.clone().expect("top level succeeds");
        let mut code = 0;
        for _ in 1..depth {
            (code, output) = code_of(&output);
            if code < 0 {
                break;
            }
        }
        (code, output)
    };
    let ok = both.call(ids[0], "call", &chain(48), 100_000_000);
    assert_eq!(innermost(&ok, 48), (4, b"deep".to_vec()));
    let too_deep = both.call(ids[0], "call", &chain(49), 100_000_000);
    assert_eq!(innermost(&too_deep, 49), (i32::MIN, vec![]));
    // The trace shows the refused 49th frame under the 48th.
    let (depth, frame) = deepest_frame(tree(&too_deep));
    assert_eq!(depth, 49);
    assert!(matches!(
        &frame.outcome,
        FrameOutcome::Failed {
            error: CallError::DepthExceeded { max: 48 },
            ..
        }
    ));
}

#[test]
fn callstack_and_caller_at_depth() {
    let engines = TestVms::new();
    let (mut both, ids) = actors(&engines, 3);
    let receipt = both.call(
        ids[0],
        "call",
        &request(ids[1], 0, "call", &request(ids[2], 0, "callers", &[])),
        1_000_000,
    );
    let (_, b_result) = code_of(receipt.result.as_ref().expect("ok"));
    let (_, c_result) = code_of(&b_result);
    let count = u32::from_le_bytes(c_result[..4].try_into().expect("count"));
    assert_eq!(count, 2);
    assert_eq!(&c_result[4..36], ids[1].as_bytes(), "nearest caller first");
    assert_eq!(&c_result[36..68], ids[0].as_bytes());
}

#[test]
fn a_callee_growing_memory_then_failing_leaves_no_trace() {
    let engines = TestVms::new();
    let (mut both, ids) = actors(&engines, 2);
    let receipt = both.call(
        ids[0],
        "call",
        &request(ids[1], 0, "grow_then_fail", &[]),
        1_000_000,
    );
    assert_eq!(
        code_of(receipt.result.as_ref().expect("continues")).0,
        i32::MIN
    );
    assert_eq!(
        both.call(ids[1], "pages", &[], 100_000).result,
        Ok(vec![2, 0, 0, 0])
    );
}

#[test]
fn host_queries() {
    let engines = TestVms::new();
    let wat = r#"(module
        (import "env" "hq" (func $hq (param i32 i32 i32) (result i32)))
        (memory (export "memory") 2)
        (global (export "A") i32 (i32.const 0))
        (data (i32.const 70000) "hashechopricedpanicsnope")
        (func (export "hash") (param i32) (result i32) i32.const 70000 i32.const 4 local.get 0 call $hq)
        (func (export "echo") (param i32) (result i32) i32.const 70004 i32.const 4 local.get 0 call $hq)
        (func (export "priced") (param i32) (result i32) i32.const 70008 i32.const 6 local.get 0 call $hq)
        (func (export "panics") (param i32) (result i32) i32.const 70014 i32.const 6 local.get 0 call $hq)
        (func (export "nope") (param i32) (result i32) i32.const 70020 i32.const 4 local.get 0 call $hq))"#;
    let mut both = Both::of(&engines);
    let id = deploy_at(&mut both, wat, id(1), &[]);
    assert_eq!(
        both.call(id, "hash", b"abc", 100_000).result,
        Ok(blake3::hash(b"abc").as_bytes().to_vec())
    );
    assert_eq!(
        both.call(id, "echo", b"abc", 100_000).result,
        Ok(b"abc".to_vec())
    );
    let priced = both.call(id, "priced", &[0; 10], 100_000);
    assert_eq!(priced.result, Ok(10u32.to_le_bytes().to_vec()));
    assert!(priced.gas_spent > 1_000);
    let too_poor = both.call(id, "priced", &[0; 10], 500);
    assert_eq!(too_poor.result, Err(CallError::OutOfGas));
    assert_eq!(too_poor.gas_spent, 500);
    assert_eq!(
        both.call(id, "panics", &[], 100_000).result,
        Err(CallError::Panic {
            message: "host query panicked".into()
        })
    );
    assert!(matches!(
        both.call(id, "nope", &[], 100_000).result,
        Err(CallError::Host { .. })
    ));

    // A runner's session keeps only the built-in queries it names.
    let keep = ["hash".to_string()];
    assert_eq!(both.wasmtime.keep_builtin_queries(&keep), Ok(()));
    assert_eq!(both.wasmi.keep_builtin_queries(&keep), Ok(()));
    assert_eq!(
        both.call(id, "hash", b"abc", 100_000).result,
        Ok(blake3::hash(b"abc").as_bytes().to_vec())
    );
    assert!(matches!(
        both.call(id, "echo", b"abc", 100_000).result,
        Err(CallError::Host { .. })
    ));
    assert_eq!(
        both.wasmtime.keep_builtin_queries(&["nope".to_string()]),
        Err("no built-in host query named `nope`".to_string())
    );
    // A query registered under a name answers to it, at its own price.
    both.wasmtime
        .register_query("echo", std::sync::Arc::new(Reverse));
    both.wasmi
        .register_query("echo", std::sync::Arc::new(Reverse));
    let reversed = both.call(id, "echo", b"abc", 100_000);
    assert_eq!(reversed.result, Ok(b"cba".to_vec()));
    let poor = both.call(id, "echo", b"abc", 60);
    assert_eq!(poor.result, Err(CallError::OutOfGas));
}

/// Reverses its argument, for 1,000 gas.
struct Reverse;

impl vm::query::HostQuery for Reverse {
    fn price(&self, _arg: &[u8]) -> u64 {
        1_000
    }
    fn run(&self, arg: &[u8]) -> Vec<u8> {
        arg.iter().rev().copied().collect()
    }
}

#[test]
fn receipts_carry_a_digest_of_every_contract() {
    let engines = TestVms::new();
    let (mut both, ids) = actors(&engines, 2);
    let receipt = both.call(ids[0], "call", &request(ids[1], 0, "echo", &[]), 1_000_000);
    assert!(receipt.result.is_ok());
    assert_eq!(receipt.state.len(), 2, "a digest per contract");
}

const ACTOR64: &str = r#"(module
  (import "env" "c" (func $c (param i64 i64 i32 i32 i64) (result i32)))
  (memory (export "memory") i64 3)
  (global (export "A") i64 (i64.const 65536))
  ;; input: [callee][name length u32][name][argument]; returns the callee's
  ;; output after a 4-byte code.
  (func (export "call") (param $len i32) (result i32)
    (local $nl i32) (local $al i32) (local $code i32)
    i64.const 140000 i64.const 65536 local.get $len i64.extend_i32_u memory.copy
    i64.const 140032 i32.load local.set $nl
    local.get $len i32.const 36 i32.sub local.get $nl i32.sub local.set $al
    i64.const 65536
    i64.const 140036 local.get $nl i64.extend_i32_u i64.add
    local.get $al i64.extend_i32_u
    memory.copy
    i64.const 140000 i64.const 140036 local.get $nl local.get $al i64.const 0
    call $c local.set $code
    i64.const 65540 i64.const 65536
    local.get $code i32.const 0 local.get $code i32.const 0 i32.ge_s select i64.extend_i32_u
    memory.copy
    i64.const 65536 local.get $code i32.store
    local.get $code i32.const 0 local.get $code i32.const 0 i32.ge_s select i32.const 4 i32.add)
  (func (export "echo") (param $len i32) (result i32) local.get $len))"#;

#[test]
fn a_wasm64_contract_calls_a_wasm32_one_and_back() {
    let engines = TestVms::new();
    let mut both = Both::of(&engines);
    let wide = deploy_at(&mut both, ACTOR64, id(64), b"wide");
    let narrow = deploy_at(&mut both, ACTOR, id(32), b"narrow");
    // wide -> narrow.call -> wide.echo("round trip")
    let mut inner = narrow.as_bytes().to_vec();
    let back = request(wide, 0, "echo", b"round trip");
    inner.extend_from_slice(&4u32.to_le_bytes());
    inner.extend_from_slice(b"call");
    inner.extend_from_slice(&back);
    let receipt = both.call(wide, "call", &inner, 1_000_000);
    let (code, narrow_result) = code_of(receipt.result.as_ref().expect("ok"));
    assert!(code > 0);
    let (inner_code, echoed) = code_of(&narrow_result);
    assert_eq!((inner_code, echoed), (10, b"round trip".to_vec()));
    let root = tree(&receipt);
    assert_eq!(root.children[0].contract, narrow);
    assert_eq!(root.children[0].children[0].contract, wide);
}

#[test]
fn bad_pointers_and_lengths_in_host_calls_fail_the_caller() {
    let engines = TestVms::new();
    let wat = r#"(module
        (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
        (import "env" "emit" (func $emit (param i32 i32 i32)))
        (memory (export "memory") 2)
        (global (export "A") i32 (i32.const 0))
        (data (i32.const 70000) "\ff\fe")
        (func (export "callee_oob") (param i32) (result i32)
          i32.const 131060 i32.const 0 i32.const 1 i32.const 0 i64.const 0 call $c)
        (func (export "name_oob") (param i32) (result i32)
          i32.const 0 i32.const 131070 i32.const 10 i32.const 0 i64.const 0 call $c)
        (func (export "arg_too_long") (param i32) (result i32)
          i32.const 0 i32.const 0 i32.const 1 i32.const 65537 i64.const 0 call $c)
        (func (export "topic_not_utf8") (param i32) (result i32)
          i32.const 70000 i32.const 2 i32.const 0 call $emit i32.const 0))"#;
    let mut both = Both::of(&engines);
    let id = deploy_at(&mut both, wat, id(1), &[]);
    for (function, kind) in [
        ("callee_oob", "memory range"),
        ("name_oob", "memory range"),
        ("arg_too_long", "argbuf length"),
        ("topic_not_utf8", "utf-8"),
    ] {
        let receipt = both.call(id, function, &[], 100_000);
        let Err(CallError::Host { error }) = &receipt.result else {
            panic!("{function}: {:?}", receipt.result);
        };
        let text = error.to_string().to_lowercase();
        let matches = match kind {
            "memory range" => text.contains("outside memory"),
            "argbuf length" => text.contains("65536-byte argument buffer"),
            _ => text.contains("not valid utf-8"),
        };
        assert!(matches, "{function}: {text}");
    }
}

#[test]
fn a_contract_calling_itself_forever_stops_at_the_depth_limit() {
    let engines = TestVms::new();
    let (mut both, ids) = actors(&engines, 1);
    // A request whose argument is itself, to any depth: build 60 levels.
    let mut req = request(ids[0], 0, "spin", &[]);
    for _ in 0..60 {
        req = request(ids[0], 0, "call", &req);
    }
    let receipt = both.call(ids[0], "call", &req, u64::MAX >> 2);
    assert!(receipt.result.is_ok(), "the outermost frame survives");
}

#[test]
fn state_digests_follow_the_state_not_its_history() {
    let engines = TestVms::new();
    let (mut both, ids) = actors(&engines, 2);
    let digest = |receipt: &CallReceipt| receipt.state[&ids[0].to_string()].clone();
    let first = both.call(ids[0], "set", &[1, 0, 0, 0], 100_000);
    let second = both.call(ids[0], "set", &[2, 0, 0, 0], 100_000);
    assert_ne!(digest(&first), digest(&second));
    // Back to the same memory: the same digest, however it was reached.
    let third = both.call(ids[0], "set", &[1, 0, 0, 0], 100_000);
    assert_eq!(digest(&first), digest(&third));
    // A failed call changes no digest.
    let failed = both.call(ids[0], "emit_then_fail", &[1, 0, 0, 0], 100_000);
    assert_eq!(failed.state, third.state);
    // The digest is the protocol's digest of the memory itself: two pages,
    // the argument [1, 0, 0, 0] in the argument buffer, the data segments
    // and the value `set` stored at 70,500.
    let mut memory = vec![0u8; 2 * 65_536];
    memory[..4].copy_from_slice(&[1, 0, 0, 0]);
    for (at, bytes) in [
        (70_000, &b"set"[..]),
        (70_016, b"callee failed"),
        (70_032, b"ev"),
        (70_500, &[1, 0, 0, 0]),
    ] {
        memory[at..at + bytes.len()].copy_from_slice(bytes);
    }
    let expected = runner_protocol::digest::memory_digest(&memory);
    assert_eq!(digest(&third), hex::encode(expected));
    assert_eq!(both.wasmtime.state_digest(&ids[0]), Some(expected));
    assert_eq!(both.wasmi.state_digest(&ids[0]), Some(expected));
}

#[test]
fn growth_undone_while_the_contract_runs_takes_effect_after_the_call() {
    let engines = TestVms::new();
    let (mut both, ids) = actors(&engines, 2);
    // A calls B, B calls back A.grow_then_fail: A is running when its growth
    // must be undone.
    let mut inner = request(ids[0], 0, "grow_then_fail", &[]);
    inner = request(ids[1], 0, "call", &inner);
    let receipt = both.call(ids[0], "call", &inner, 1_000_000);
    assert!(receipt.result.is_ok());
    assert_eq!(
        both.call(ids[0], "pages", &[], 100_000).result,
        Ok(vec![2, 0, 0, 0])
    );
    // A still works and its state is intact.
    both.call(ids[0], "set", &[3, 0, 0, 0], 100_000);
    assert_eq!(
        both.call(ids[0], "get", &[], 100_000).result,
        Ok(vec![3, 0, 0, 0])
    );
}

/// What a VM and a session report about themselves: the configuration, the
/// modules compiled (once per bytecode), every contract's memory in the
/// runner protocol's terms, and digests in receipts only when asked.
#[test]
fn vms_and_sessions_report_their_settings_and_state() {
    let config = vm::VmConfig {
        module_cache_capacity: 7,
        ..vm::VmConfig::default()
    };
    let vm = vm::Vm::<vm::WasmiEngine>::new(config).expect("wasmi");
    assert_eq!(vm.config().module_cache_capacity, 7);
    assert_eq!(vm.modules_compiled(), 0);

    let mut session = vm.session();
    let actor = wat::parse_str(ACTOR).expect("parses");
    for n in [1, 2] {
        let options = DeployOptions {
            id: Some(id(n)),
            gas_limit: 1_000_000,
            ..DeployOptions::default()
        };
        session.deploy(&actor, options).expect("deploys");
    }
    assert_eq!(vm.modules_compiled(), 1, "one bytecode, compiled once");
    let other = wat::parse_str(
        r#"(module (memory (export "memory") 1) (global (export "A") i32 (i32.const 0)))"#,
    )
    .expect("parses");
    let options = DeployOptions {
        id: Some(id(3)),
        ..DeployOptions::default()
    };
    session.deploy(&other, options).expect("deploys");
    assert_eq!(vm.modules_compiled(), 2);

    let states = session.memory_states();
    assert_eq!(
        states.keys().map(|id| id.0[0]).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(states[&runner_protocol::ContractId([3; 32])].len, 65_536);
    for n in [1, 2, 3] {
        let digest = session.state_digest(&id(n)).expect("deployed");
        assert_eq!(
            states[&runner_protocol::ContractId([n; 32])].digest.0,
            digest.to_vec()
        );
    }

    let echo = request(id(2), 0, "echo", &[]);
    let with = session
        .call(&id(1), "call", &echo, 1_000_000)
        .expect("call");
    assert_eq!(with.state.len(), 3);
    session.set_state_digests(false);
    let without = session
        .call(&id(1), "call", &echo, 1_000_000)
        .expect("call");
    assert!(without.state.is_empty());
    assert_eq!(without.result, with.result);
}

/// An active segment that does not fit is admitted, and the deploy fails
/// with its trap on both engines, the id left free: an element segment
/// past its table, a data segment past memory. Each fits one element or
/// byte lower.
#[test]
fn segments_that_do_not_fit_fail_the_deploy_with_their_trap() {
    let engines = TestVms::new();
    let module = |segment: &str| {
        common::wasm(&format!(
            r#"(module
                 (memory (export "memory") 1)
                 (global (export "A") i32 (i32.const 0))
                 (table 2 funcref)
                 (func $f)
                 {segment}
                 (func (export "f") (param i32) (result i32) (i32.const 0)))"#
        ))
    };
    for (segment, fits) in [
        ("(elem (i32.const 1) func $f)", None),
        (
            "(elem (i32.const 2) func $f)",
            Some(vm::Trap::TableOutOfBounds),
        ),
        (r#"(data (i32.const 65535) "x")"#, None),
        (
            r#"(data (i32.const 65536) "x")"#,
            Some(vm::Trap::MemoryOutOfBounds),
        ),
    ] {
        let wasm = module(segment);
        let options = DeployOptions::default();
        let on_wasmtime = engines.wasmtime.session().deploy(&wasm, options.clone());
        let on_wasmi = engines.wasmi.session().deploy(&wasm, options);
        for result in [
            on_wasmtime.map(|deployment| deployment.id),
            on_wasmi.map(|deployment| deployment.id),
        ] {
            match &fits {
                None => assert!(result.is_ok(), "{segment}: {result:?}"),
                Some(trap) => assert_eq!(
                    result,
                    Err(vm::DeployError::InstantiationTrap { trap: trap.clone() }),
                    "{segment}"
                ),
            }
        }
    }
}
