//! What a receipt records beside the result, with absolute values: the
//! failure `out_of_gas` masks, refused memory growth, and the call tree's
//! JSON form (which reports parse back).

mod common;

use common::{call_both, wasm};
use vm::abi::ContractId;
use vm::failure::{HostError, Trap};
use vm::trace::CallTree;
use vm::{CallError, DeployOptions, Vm, VmConfig, WasmtimeEngine};

const HOST: &str = include_str!("../../corpus/contracts/host.wat");
const ACTOR: &str = include_str!("../../corpus/contracts/actors/actor32.wat");

#[test]
fn out_of_gas_keeps_the_failure_it_masks() {
    // `hd_oob` names a range 3 bytes past memory; with 4 gas the range
    // error comes while no gas remains (corpus/scenarios/host/hd-past-memory-out-of-gas.toml).
    let receipt = call_both(HOST, "hd_oob", &[], 4);
    assert_eq!(receipt.result, Err(CallError::OutOfGas));
    assert_eq!(receipt.gas_spent, 4);
    assert_eq!(
        receipt.masked,
        Some(CallError::Host {
            error: HostError::MemoryRange {
                start: 131_070,
                len: 5,
                memory_len: 131_072
            }
        })
    );
    // With gas left the same range error is the failure itself.
    let receipt = call_both(HOST, "hd_oob", &[], 1_000);
    assert!(matches!(receipt.result, Err(CallError::Host { .. })));
    assert_eq!(receipt.masked, None);
    // Running out of gas at a check masks nothing.
    let spin = r#"(module (memory (export "memory") 1) (global (export "A") i32 (i32.const 0))
        (func (export "f") (param i32) (result i32) (loop $l br $l) i32.const 0))"#;
    let receipt = call_both(spin, "f", &[], 1_000);
    assert_eq!(receipt.result, Err(CallError::OutOfGas));
    assert_eq!(receipt.masked, None);
}

#[test]
fn a_refused_growth_is_recorded() {
    let wat = r#"(module (memory (export "memory") 1 2) (global (export "A") i32 (i32.const 0))
        (func (export "grow") (param i32) (result i32)
          i32.const 0 local.get 0 i32.const 0 i32.ne memory.grow i32.store i32.const 4)
        (func (export "past") (param i32) (result i32)
          i32.const 0 i32.const 5 memory.grow i32.store i32.const 4))"#;
    let grown = call_both(wat, "grow", &[1], 1_000);
    assert_eq!(grown.result, Ok(1i32.to_le_bytes().to_vec()));
    assert!(!grown.grow_refused);
    let refused = call_both(wat, "past", &[], 1_000);
    assert_eq!(refused.result, Ok((-1i32).to_le_bytes().to_vec()));
    assert!(refused.grow_refused);
    let trap = call_both(
        r#"(module (memory (export "memory") 1) (global (export "A") i32 (i32.const 0))
            (func (export "f") (param i32) (result i32) unreachable))"#,
        "f",
        &[],
        1_000,
    );
    assert_eq!(
        trap.result,
        Err(CallError::Trap {
            trap: Trap::Unreachable
        })
    );
    assert!(!trap.grow_refused);

    // The same on a 64-bit memory, where `memory.grow` returns an `i64`.
    let wat64 = r#"(module (memory (export "memory") i64 1 2) (global (export "A") i64 (i64.const 0))
        (func (export "grow") (param i32) (result i32)
          i64.const 0 i64.const 1 memory.grow i64.store i32.const 8)
        (func (export "past") (param i32) (result i32)
          i64.const 0 i64.const 5 memory.grow i64.store i32.const 8))"#;
    let grown = call_both(wat64, "grow", &[], 1_000);
    assert_eq!(grown.result, Ok(1i64.to_le_bytes().to_vec()));
    assert!(!grown.grow_refused);
    let refused = call_both(wat64, "past", &[], 1_000);
    assert_eq!(refused.result, Ok((-1i64).to_le_bytes().to_vec()));
    assert!(refused.grow_refused);
}

#[test]
fn call_trees_read_back_from_their_json() {
    let vm = Vm::<WasmtimeEngine>::new(VmConfig::default()).expect("wasmtime");
    let mut session = vm.session();
    let options = |id: u8| DeployOptions {
        id: Some(ContractId([id; 32])),
        gas_limit: 1_000_000,
        ..DeployOptions::default()
    };
    session.deploy(&wasm(ACTOR), options(1)).expect("deploy");
    session.deploy(&wasm(ACTOR), options(2)).expect("deploy");
    // a calls b's out32: [callee][gas][name length][name].
    let mut request = vec![2u8; 32];
    request.extend_from_slice(&0i64.to_le_bytes());
    request.extend_from_slice(&5u32.to_le_bytes());
    request.extend_from_slice(b"out32");
    let receipt = session
        .call(&ContractId([1; 32]), "call", &request, 1_000_000)
        .expect("call");
    let tree = receipt.call_tree.expect("a call tree");
    let json = serde_json::to_value(&tree).expect("serializes");
    assert_eq!(json["contract"], "01".repeat(32));
    assert_eq!(json["children"][0]["contract"], "02".repeat(32));
    assert_eq!(json["children"][0]["arg"], "");
    assert_eq!(json["children"][0]["outcome"]["output"], "55".repeat(32));
    let back: CallTree = serde_json::from_value(json).expect("parses back");
    assert_eq!(back, tree);
    // Ids are 32 bytes of hex; anything else is refused.
    assert!(serde_json::from_value::<ContractId>(serde_json::json!("0102")).is_err());
    assert!(serde_json::from_value::<ContractId>(serde_json::json!("zz".repeat(32))).is_err());
    assert_eq!(
        format!("{:?}", ContractId([0xab; 32])),
        format!("ContractId({})", "ab".repeat(32))
    );
}

#[test]
fn emit_charges_four_gas_per_byte_of_topic_and_data() {
    // host.wat's `emit`: a 5-byte topic and the input as data.
    let none = call_both(HOST, "emit", &[], 1_000_000);
    let three = call_both(HOST, "emit", &[1, 2, 3], 1_000_000);
    assert_eq!(none.result, Ok(vec![]));
    assert_eq!(three.gas_spent - none.gas_spent, 4 * 3);
    let data: Vec<Vec<u8>> = three.events.iter().map(|e| e.event.data.clone()).collect();
    assert_eq!(data, [vec![1, 2, 3]]);
}

/// A contract of `pages` pages whose 64 KiB argument buffer is its last
/// 64 KiB, so that a full buffer written by `hd` ends at the memory's end.
fn ending_at(pages: u32) -> String {
    format!(
        r#"(module
    (import "env" "hd" (func $hd (param i32 i32) (result i32)))
    (memory (export "memory") {pages})
    (global (export "A") i32 (i32.const {argbuf}))
    (data (i32.const 0) "k")
    (func (export "copy") (param i32) (result i32)
      i32.const 0 i32.const 1 call $hd drop i32.const 0))"#,
        argbuf = (u64::from(pages) - 1) * 65_536
    )
}

/// Copies 64 KiB of host data to the end of a `pages`-page memory; the
/// state digest before the call and after it, and the memory after it.
fn copy_to_the_end(pages: u32) -> (Option<[u8; 32]>, Option<[u8; 32]>, Vec<u8>) {
    let vm = Vm::<WasmtimeEngine>::new(VmConfig::default()).expect("wasmtime");
    let mut session = vm.session();
    session.set_host_data("k", vec![0xcd; 65_536]);
    let id = session
        .deploy(
            &wasm(&ending_at(pages)),
            DeployOptions {
                gas_limit: 1_000_000,
                ..DeployOptions::default()
            },
        )
        .expect("deploy")
        .id;
    let before = session.state_digest(&id);
    let copied = session.call(&id, "copy", &[], 1_000_000).expect("call");
    assert_eq!(copied.result, Ok(vec![]));
    let memory = session.committed_memory(&id).expect("memory");
    assert_eq!(memory.len(), pages as usize * 65_536);
    assert_eq!(&memory[memory.len() - 65_536..], &[0xcd; 65_536][..]);
    (before, session.state_digest(&id), memory)
}

#[test]
fn a_host_write_that_ends_at_the_end_of_memory_is_tracked() {
    let (before, after, memory) = copy_to_the_end(2);
    assert_ne!(after, before);
    assert_eq!(
        after,
        Some(runner_protocol::digest::memory_digest(&memory)),
        "the digest follows every page of the write, the last included"
    );
}

#[test]
fn a_host_write_that_ends_at_the_page_cap_is_tracked() {
    // At the VM's cap of 4,096 pages the last 4 KiB page is the dirty-page
    // map's last mark: a mark past it would leave every page of the write
    // unmarked, and the digest unchanged.
    let (before, after, _) = copy_to_the_end(4096);
    assert_ne!(after, before);
}

/// A contract whose argument buffer starts 6 bytes before the end of the
/// first 4 KiB page, so that `hd` writes across into the second.
const SPANNING: &str = r#"(module
    (import "env" "hd" (func $hd (param i32 i32) (result i32)))
    (memory (export "memory") 2)
    (global (export "A") i32 (i32.const 4090))
    (data (i32.const 70000) "k")
    (func (export "copy") (param i32) (result i32)
      i32.const 70000 i32.const 1 call $hd drop i32.const 0)
    (func (export "copy_then_fail") (param i32) (result i32)
      i32.const 70000 i32.const 1 call $hd drop unreachable))"#;

#[test]
fn host_writes_across_a_page_boundary_are_tracked() {
    let vm = Vm::<WasmtimeEngine>::new(VmConfig::default()).expect("wasmtime");
    let mut session = vm.session();
    session.set_host_data("k", vec![0xab; 16]);
    let id = session
        .deploy(
            &wasm(SPANNING),
            DeployOptions {
                gas_limit: 1_000_000,
                ..DeployOptions::default()
            },
        )
        .expect("deploy")
        .id;
    let failed = session
        .call(&id, "copy_then_fail", &[], 1_000_000)
        .expect("call");
    assert!(failed.result.is_err());
    let memory = session.committed_memory(&id).expect("memory");
    assert_eq!(
        &memory[4090..4106],
        &[0; 16],
        "the failed call's write is undone"
    );
    let copied = session.call(&id, "copy", &[], 1_000_000).expect("call");
    assert_eq!(copied.result, Ok(vec![]));
    let memory = session.committed_memory(&id).expect("memory");
    assert_eq!(&memory[4090..4106], &[0xab; 16]);
    assert_eq!(
        session.state_digest(&id),
        Some(runner_protocol::digest::memory_digest(&memory)),
        "both pages' digests follow the write"
    );
    let failed = session
        .call(&id, "copy_then_fail", &[], 1_000_000)
        .expect("call");
    assert!(failed.result.is_err());
    assert_eq!(session.committed_memory(&id).expect("memory"), memory);
}

#[test]
fn a_long_panic_message_fills_the_callers_buffer() {
    const RANGES: &str = include_str!("../../corpus/contracts/ranges.wat");
    let vm = Vm::<WasmtimeEngine>::new(VmConfig::default()).expect("wasmtime");
    let mut session = vm.session();
    for id in [1u8, 3] {
        session
            .deploy(
                &wasm(RANGES),
                DeployOptions {
                    id: Some(ContractId([id; 32])),
                    gas_limit: 1_000_000,
                    ..DeployOptions::default()
                },
            )
            .expect("deploy");
    }
    let mut arg = 65_536u32.to_le_bytes().to_vec();
    arg.extend_from_slice(&[3; 32]);
    let receipt = session
        .call(&ContractId([1; 32]), "c_panic", &arg, 1_000_000)
        .expect("call");
    assert_eq!(
        receipt.result,
        Ok([(-1i32).to_le_bytes(), 65_532u32.to_le_bytes()].concat())
    );
    // The caller's buffer: [code][length] over the length, then the
    // message's first 65,528 bytes after them, all of it 'a'.
    let memory = session
        .committed_memory(&ContractId([1; 32]))
        .expect("memory");
    assert!(memory[8..65_536].iter().all(|&b| b == b'a'));
}

#[test]
fn c_refuses_init_in_the_callees_frame() {
    let init = r#"(module (memory (export "memory") 1) (global (export "A") i32 (i32.const 0))
        (func (export "init") (param i32) (result i32) i32.const 0))"#;
    let vm = Vm::<WasmtimeEngine>::new(VmConfig::default()).expect("wasmtime");
    let mut session = vm.session();
    let options = |id: u8| DeployOptions {
        id: Some(ContractId([id; 32])),
        gas_limit: 1_000_000,
        ..DeployOptions::default()
    };
    session.deploy(&wasm(ACTOR), options(1)).expect("deploy");
    session.deploy(&wasm(init), options(2)).expect("deploy");
    let mut request = vec![2u8; 32];
    request.extend_from_slice(&0i64.to_le_bytes());
    request.extend_from_slice(&4u32.to_le_bytes());
    request.extend_from_slice(b"init");
    let receipt = session
        .call(&ContractId([1; 32]), "call", &request, 1_000_000)
        .expect("call");
    assert_eq!(
        receipt.result.as_ref().map(|out| out[..4].to_vec()),
        Ok(i32::MIN.to_le_bytes().to_vec())
    );
    let tree = receipt.call_tree.expect("tree");
    let json = serde_json::to_value(&tree.children[0].outcome).expect("json");
    assert_eq!(
        json["failed"]["error"]["kind"], "init_not_callable",
        "{json}"
    );
}

/// Calls `hdebug` (or `feed`) with all 65,536 bytes of the argument buffer
/// as many times as the argument says, the buffer filled with the letter
/// of the round each time.
const SPAM: &str = r#"(module
  (import "env" "hdebug" (func $debug (param i32)))
  (import "env" "feed" (func $feed (param i32)))
  (memory (export "memory") 2)
  (global (export "A") i32 (i32.const 0))
  (func $spam (param $times i32) (param $which i32)
    (local $round i32)
    (block $done
      (loop $next
        local.get $round local.get $times i32.ge_u br_if $done
        i32.const 0
        i32.const 97 local.get $round i32.const 26 i32.rem_u i32.add
        i32.const 65536 memory.fill
        i32.const 65536
        local.get $which
        if (param i32) call $feed else call $debug end
        local.get $round i32.const 1 i32.add local.set $round
        br $next)))
  (func (export "debug") (param i32) (result i32)
    i32.const 0 i32.load i32.const 0 call $spam i32.const 0)
  (func (export "feed") (param i32) (result i32)
    i32.const 0 i32.load i32.const 1 call $spam i32.const 0))"#;

/// blake3 over each item's length (u64, little-endian) and bytes, as
/// `runner_protocol::retained` digests what it omits.
fn omitted_digest(items: impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut hasher = blake3::Hasher::new();
    for item in items {
        hasher.update(&(item.len() as u64).to_le_bytes());
        hasher.update(&item);
    }
    hasher.finalize().as_bytes().to_vec()
}

fn letter(round: u8) -> Vec<u8> {
    vec![b'a' + round % 26; 65_536]
}

#[test]
fn debug_messages_past_one_mebibyte_are_counted_not_kept() {
    let exactly = call_both(SPAM, "debug", &16u32.to_le_bytes(), 100_000_000);
    assert_eq!(exactly.result, Ok(Vec::new()));
    assert_eq!(exactly.debug.len(), 16);
    assert_eq!(exactly.omitted, runner_protocol::Omissions::default());

    let past = call_both(SPAM, "debug", &40u32.to_le_bytes(), 100_000_000);
    assert_eq!(past.debug.len(), 16);
    assert_eq!(past.debug[15].as_bytes(), letter(15).as_slice());
    let omitted = past.omitted.debug.expect("24 messages did not fit");
    assert_eq!((omitted.items, omitted.bytes), (24, 24 * 65_536));
    assert_eq!(omitted.digest.0, omitted_digest((16..40).map(letter)));
    assert_eq!(past.omitted.feed, None);
}

#[test]
fn fed_data_past_one_mebibyte_is_counted_not_kept() {
    let engines = common::TestVms::new();
    let wasm = wasm(SPAM);
    macro_rules! fed {
        ($session:expr) => {{
            let mut session = $session;
            session.attach_feeder();
            let id = session
                .deploy(&wasm, DeployOptions::default())
                .expect("deploys")
                .id;
            session
                .call(&id, "feed", &17u32.to_le_bytes(), 100_000_000)
                .expect("runs")
        }};
    }
    let receipts = [
        fed!(engines.wasmtime.session()),
        fed!(engines.wasmi.session()),
    ];
    assert_eq!(receipts[0], receipts[1], "the engines agree");
    let receipt = &receipts[0];
    assert_eq!(receipt.feed.len(), 16);
    assert_eq!(receipt.feed[0], letter(0));
    let omitted = receipt.omitted.feed.as_ref().expect("one item did not fit");
    assert_eq!((omitted.items, omitted.bytes), (1, 65_536));
    assert_eq!(
        omitted.digest.0,
        omitted_digest(std::iter::once(letter(16)))
    );
}

#[test]
fn call_trees_keep_little_of_long_arguments_and_names() {
    // One refused call to a missing contract with a 65,536-byte name (at
    // 131,104) and argument (the whole buffer, filled with 7s).
    let wat = r#"(module
      (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
      (memory (export "memory") 4)
      (global (export "A") i32 (i32.const 0))
      (func (export "f") (param i32) (result i32)
        i32.const 0 i32.const 7 i32.const 65536 memory.fill
        i32.const 131104 i32.const 120 i32.const 65536 memory.fill
        i32.const 131072 i32.const 131104 i32.const 65536 i32.const 65536 i64.const 0
        call $c drop
        i32.const 0))"#;
    let receipt = call_both(wat, "f", &[], 1_000_000);
    let tree = receipt.call_tree.expect("a tree");
    let refused = &tree.children[0];
    let argument = vec![7u8; 65_536];
    assert_eq!(refused.arg.len(), 65_536);
    assert_eq!(refused.arg.whole(), None, "not kept whole");
    assert_eq!(
        refused.arg.to_string(),
        runner_protocol::bytes::short_hex(&argument),
        "shown as the whole value would be"
    );
    let name = "x".repeat(65_536);
    assert_eq!(
        refused.function,
        runner_protocol::bounded_text(name),
        "the name is bounded as outcomes bound names"
    );
    assert!(refused.function.len() < 200);
    let json = serde_json::to_string(&tree).expect("serializes");
    assert!(json.len() < 2_000, "{} bytes of JSON", json.len());
    let back: CallTree = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back, tree);
    // A short argument stays whole.
    assert_eq!(tree.arg.whole(), Some(&[][..]));
}

/// `events` emits n empty events topic "t" (n, a u32, in the argument);
/// `refused` makes n calls, each given 1,000 gas, to a contract nobody
/// deployed.
const MANY: &str = r#"(module
  (import "env" "emit" (func $emit (param i32 i32 i32)))
  (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
  (memory (export "memory") 2)
  (global (export "A") i32 (i32.const 0))
  (data (i32.const 70000) "t")
  (func (export "events") (param i32) (result i32) (local $n i32)
    (local.set $n (i32.load (i32.const 0)))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (call $emit (i32.const 70000) (i32.const 1) (i32.const 0))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    i32.const 0)
  (func (export "refused") (param i32) (result i32) (local $n i32)
    (local.set $n (i32.load (i32.const 0)))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (drop (call $c (i32.const 70100) (i32.const 70000) (i32.const 1) (i32.const 0) (i64.const 1000)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    i32.const 0))"#;

#[test]
fn events_past_the_retained_count_are_counted_and_digested() {
    let receipt = call_both(MANY, "events", &65_539u32.to_le_bytes(), 100_000_000);
    assert_eq!(receipt.result, Ok(Vec::new()));
    assert_eq!(receipt.events.len(), 65_536);
    let omitted = receipt.omitted.events.as_ref().expect("three left out");
    assert_eq!((omitted.items, omitted.bytes), (3, 3));
    let mut hasher = blake3::Hasher::new();
    let id = receipt.events[0].event.source;
    for _ in 0..3 {
        hasher.update(&id.0);
        hasher.update(&1u64.to_le_bytes());
        hasher.update(b"t");
        hasher.update(&0u64.to_le_bytes());
    }
    assert_eq!(omitted.digest.0, hasher.finalize().as_bytes().to_vec());
    let tree = receipt.call_tree.as_ref().expect("a tree");
    assert_eq!(tree.events.len(), 65_536);
    // One event fewer fits whole.
    let receipt = call_both(MANY, "events", &65_536u32.to_le_bytes(), 100_000_000);
    assert_eq!(receipt.events.len(), 65_536);
    assert!(receipt.omitted.is_empty());
}

#[test]
fn frames_past_the_traced_count_are_counted_and_digested() {
    let receipt = call_both(MANY, "refused", &65_538u32.to_le_bytes(), 100_000_000);
    assert_eq!(receipt.result, Ok(Vec::new()));
    let tree = receipt.call_tree.as_ref().expect("a tree");
    // The root and 65,535 refused calls are traced; 3 are not.
    assert_eq!(tree.children.len(), 65_535);
    let omitted = tree.omitted_frames.as_ref().expect("three left out");
    assert_eq!((omitted.items, omitted.bytes), (3, 0));
    let mut hasher = blake3::Hasher::new();
    for _ in 0..3 {
        serde_json::to_writer(&mut hasher, tree.children.last().expect("a child"))
            .expect("serializes");
    }
    assert_eq!(omitted.digest.0, hasher.finalize().as_bytes().to_vec());
    assert!(tree.render().ends_with(&format!(
        "... 3 more frames, blake3 {}\n",
        &hex::encode(&omitted.digest.0)[..16]
    )));
    // Production cannot be shown every frame that succeeded: not exposed.
    let outcome = vm::normalize::call_outcome(&receipt, Default::default()).expect("maps");
    assert_eq!(outcome.frames, None);
    let receipt = call_both(MANY, "refused", &65_535u32.to_le_bytes(), 100_000_000);
    let tree = receipt.call_tree.as_ref().expect("a tree");
    assert_eq!(
        (tree.children.len(), tree.omitted_frames.is_none()),
        (65_535, true)
    );
}
