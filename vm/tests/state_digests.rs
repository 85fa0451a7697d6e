//! The state digest kept incrementally (a Merkle tree over 4 KiB pages,
//! refreshed only where pages were written, grown or rolled back) equals
//! the digest computed from scratch over the committed memory, after any
//! sequence of writes, growth and failed calls, on both engines; and the
//! committed memory is what a plain model of those calls predicts.

mod common;

use common::{TestVms, wasm};
use proptest::prelude::*;
use runner_protocol::digest::memory_digest;
use vm::DeployOptions;

/// `fill` writes `len` copies of `byte` at `offset`; `grow` grows the
/// memory by `pages`; the `_then_fail` variants do the same and trap, so
/// the call is rolled back. The argument is read before anything is
/// written: `[offset: u32][len: u32][byte: u32]` or `[pages: u32]`.
const STATE: &str = r#"(module
  (memory (export "memory") 2 40)
  (global (export "A") i32 (i32.const 0))
  (func $fill
    (local $offset i32) (local $len i32) (local $byte i32)
    i32.const 0 i32.load local.set $offset
    i32.const 4 i32.load local.set $len
    i32.const 8 i32.load local.set $byte
    local.get $offset local.get $byte local.get $len memory.fill)
  (func $grow i32.const 0 i32.load memory.grow drop)
  (func (export "fill") (param i32) (result i32) call $fill i32.const 0)
  (func (export "fill_then_fail") (param i32) (result i32) call $fill unreachable)
  (func (export "grow") (param i32) (result i32) call $grow i32.const 0)
  (func (export "grow_fill_then_fail") (param i32) (result i32)
    call $grow
    i32.const 131072 i32.const 7 i32.const 70000 memory.fill
    unreachable))"#;

#[derive(Clone, Debug)]
enum Op {
    Fill {
        offset: u32,
        len: u32,
        byte: u8,
        fail: bool,
    },
    Grow {
        pages: u32,
        fail: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..200_000, 0u32..20_000, any::<u8>(), any::<bool>())
            .prop_map(|(offset, len, byte, fail)| Op::Fill { offset, len, byte, fail }),
        1 => (0u32..4, any::<bool>()).prop_map(|(pages, fail)| Op::Grow { pages, fail }),
    ]
}

fn arg(op: &Op) -> (&'static str, Vec<u8>) {
    match *op {
        Op::Fill {
            offset,
            len,
            byte,
            fail,
        } => (
            if fail { "fill_then_fail" } else { "fill" },
            [offset, len, u32::from(byte)]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        ),
        Op::Grow { pages, fail } => (
            if fail { "grow_fill_then_fail" } else { "grow" },
            pages.to_le_bytes().to_vec(),
        ),
    }
}

/// What a successful call leaves in memory: the argument written at the
/// argument buffer (offset 0), then the call's own effect; a failed call
/// or one that traps on a bad range leaves it as it was.
fn apply(model: &mut Vec<u8>, op: &Op) {
    let (_, argument) = arg(op);
    match *op {
        Op::Fill {
            offset,
            len,
            byte,
            fail: false,
        } => {
            let (offset, len) = (offset as usize, len as usize);
            if offset + len <= model.len() {
                model[..argument.len()].copy_from_slice(&argument);
                model[offset..offset + len].fill(byte);
            }
        }
        Op::Grow { pages, fail: false } => {
            model[..argument.len()].copy_from_slice(&argument);
            let grown = model.len() + pages as usize * 65_536;
            if grown <= 40 * 65_536 {
                model.resize(grown, 0);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn incremental_digests_equal_digests_from_scratch(ops in prop::collection::vec(op(), 1..24)) {
        let engines = TestVms::new();
        let wasm = wasm(STATE);
        let mut wasmtime = engines.wasmtime.session();
        let mut wasmi = engines.wasmi.session();
        let id = wasmtime.deploy(&wasm, DeployOptions::default()).expect("deploys").id;
        wasmi.deploy(&wasm, DeployOptions::default()).expect("deploys");
        let mut model = vec![0u8; 2 * 65_536];
        for op in &ops {
            let (function, argument) = arg(op);
            let a = wasmtime.call(&id, function, &argument, 10_000_000).expect("runs");
            let b = wasmi.call(&id, function, &argument, 10_000_000).expect("runs");
            prop_assert_eq!(&a, &b);
            apply(&mut model, op);
            for session_memory in [wasmtime.committed_memory(&id), wasmi.committed_memory(&id)] {
                let memory = session_memory.expect("deployed");
                prop_assert!(memory == model, "{op:?} left memory the model does not predict");
            }
            let expected = memory_digest(&model);
            prop_assert_eq!(wasmtime.state_digest(&id), Some(expected));
            prop_assert_eq!(wasmi.state_digest(&id), Some(expected));
        }
    }
}

/// A deployed contract's state is its memory with its data segments in
/// place (only their bytes are copied and hashed at the deploy).
#[test]
fn data_segments_are_the_deployed_state() {
    let engines = TestVms::new();
    let wasm = wasm(
        r#"(module (memory (export "memory") 3) (global (export "A") i32 (i32.const 0))
             (data (i32.const 5) "abc") (data (i32.const 65534) "wxyz"))"#,
    );
    let mut expected = vec![0u8; 3 * 65_536];
    expected[5..8].copy_from_slice(b"abc");
    expected[65_534..65_538].copy_from_slice(b"wxyz");
    let mut wasmtime = engines.wasmtime.session();
    let mut wasmi = engines.wasmi.session();
    let id = wasmtime
        .deploy(&wasm, DeployOptions::default())
        .expect("deploys")
        .id;
    wasmi
        .deploy(&wasm, DeployOptions::default())
        .expect("deploys");
    for (memory, digest) in [
        (wasmtime.committed_memory(&id), wasmtime.state_digest(&id)),
        (wasmi.committed_memory(&id), wasmi.state_digest(&id)),
    ] {
        assert!(memory.expect("deployed") == expected);
        assert_eq!(digest, Some(memory_digest(&expected)));
    }
}
