//! Host imports of a single-contract session and the typed failures of calls
//! and deploys, identical on both engines.

mod common;

use common::{TestVms, call_both, wasm};
use vm::abi::ContractId;
use vm::failure::{HostError, Trap};
use vm::session::Deployment;
use vm::{CallError, DeployError, DeployOptions};

const IMPORTS: &str = r#"
    (import "env" "limit" (func $limit (result i64)))
    (import "env" "spent" (func $spent (result i64)))
    (import "env" "panic" (func $panic (param i32)))
    (import "env" "self_id" (func $self_id))
    (import "env" "owner" (func $owner (param i32) (result i32)))
    (import "env" "hdebug" (func $hdebug (param i32)))
    (memory (export "memory") 2)
    (global (export "A") i32 (i32.const 0))"#;

fn module(funcs: &str) -> String {
    format!("(module {IMPORTS} {funcs})")
}

#[test]
fn limit_and_spent_read_the_frame_gas() {
    let wat = module(
        r#"(func (export "f") (param i32) (result i32)
             i32.const 0 call $limit i64.store
             i32.const 8 call $spent i64.store
             i32.const 16)"#,
    );
    let out = call_both(&wat, "f", &[], 12_345).result.expect("runs");
    let limit = u64::from_le_bytes(out[..8].try_into().expect("8 bytes"));
    let spent = u64::from_le_bytes(out[8..].try_into().expect("8 bytes"));
    assert_eq!(limit, 12_345);
    // entry 1, i32.const, call $limit, i64.store (32), i32.const, call $spent
    assert_eq!(spent, 1 + 1 + 1 + 32 + 1 + 1);
}

#[test]
fn panic_carries_its_message() {
    let wat = module(
        r#"(data (i32.const 0) "oh no")
           (func (export "f") (param i32) (result i32) i32.const 5 call $panic i32.const 0)
           (func (export "bad_utf8") (param i32) (result i32)
             i32.const 0 i32.const 0xff i32.store8 i32.const 1 call $panic i32.const 0)
           (func (export "too_long") (param i32) (result i32) i32.const 65537 call $panic i32.const 0)"#,
    );
    assert_eq!(
        call_both(&wat, "f", &[], 10_000).result,
        Err(CallError::Panic {
            message: "oh no".into()
        })
    );
    assert_eq!(
        call_both(&wat, "bad_utf8", &[], 10_000).result,
        Err(CallError::Host {
            error: HostError::InvalidUtf8 {
                what: "panic message".into()
            }
        })
    );
    assert_eq!(
        call_both(&wat, "too_long", &[], 10_000).result,
        Err(CallError::Host {
            error: HostError::ArgbufLength { len: 65537 }
        })
    );
}

#[test]
fn self_id_owner_and_debug() {
    let wat = module(
        r#"(func (export "id") (param i32) (result i32) call $self_id i32.const 32)
           (func (export "own") (param i32) (result i32) i32.const 0 call $owner)
           (func (export "other") (param i32) (result i32)
             ;; the 32-byte id to look up is the input; copy it away first
             i32.const 1000 i32.const 0 i32.const 32 memory.copy
             i32.const 1000 call $owner)
           (func (export "oob") (param i32) (result i32) i32.const 131070 call $owner)
           (func (export "dbg") (param i32) (result i32) local.get 0 call $hdebug i32.const 0)"#,
    );
    let engines = TestVms::new();
    let bytes = wasm(&wat);
    let other_bytes = wasm(&module(""));
    let mut outcomes = Vec::new();
    for mut session in [
        Box::new(engines.wasmtime.session()) as Box<dyn SessionLike>,
        Box::new(engines.wasmi.session()),
    ] {
        let me = session.deploy_owned(&bytes, b"alice");
        let other = session.deploy_owned(&other_bytes, b"bob-the-owner");
        let missing = ContractId([7; 32]);
        outcomes.push(vec![
            session.call(&me, "id", &[]),
            session.call(&me, "own", &[]),
            session.call(&me, "other", other.as_bytes()),
            session.call(&me, "other", missing.as_bytes()),
            session.call(&me, "oob", &[]),
            session.call(&me, "dbg", "hello from wasm".as_bytes()),
        ]);
        assert_eq!(
            outcomes.last().expect("pushed")[0].result,
            Ok(me.as_bytes().to_vec())
        );
    }
    assert_eq!(outcomes[0], outcomes[1]);
    let results: Vec<_> = outcomes[0].iter().map(|r| r.result.clone()).collect();
    assert_eq!(results[1], Ok(b"alice".to_vec()));
    assert_eq!(results[2], Ok(b"bob-the-owner".to_vec()));
    assert_eq!(results[3], Ok(vec![]));
    assert_eq!(
        results[4],
        Err(CallError::Host {
            error: HostError::MemoryRange {
                start: 131070,
                len: 32,
                memory_len: 131072
            }
        })
    );
    assert_eq!(outcomes[0][5].debug, ["hello from wasm"]);
}

/// Both engines' sessions, behind one interface for the test above.
trait SessionLike {
    fn deploy_owned(&mut self, wasm: &[u8], owner: &[u8]) -> ContractId;
    fn call(&mut self, id: &ContractId, function: &str, arg: &[u8]) -> vm::CallReceipt;
}

impl<E: vm::engine::Engine> SessionLike for vm::Session<'_, E> {
    fn deploy_owned(&mut self, wasm: &[u8], owner: &[u8]) -> ContractId {
        let options = DeployOptions {
            owner: owner.to_vec(),
            ..DeployOptions::default()
        };
        self.deploy(wasm, options).expect("deploys").id
    }

    fn call(&mut self, id: &ContractId, function: &str, arg: &[u8]) -> vm::CallReceipt {
        vm::Session::call(self, id, function, arg, 100_000).expect("calls")
    }
}

#[test]
fn argument_buffer_bounds() {
    let echo = module(r#"(func (export "echo") (param i32) (result i32) local.get 0)"#);
    let full = vec![0xab; 65_536];
    assert_eq!(
        call_both(&echo, "echo", &full, 10_000).result,
        Ok(full.clone())
    );
    assert_eq!(call_both(&echo, "echo", &[], 10_000).result, Ok(vec![]));
    assert_eq!(
        call_both(&echo, "echo", &vec![0; 65_537], 10_000).result,
        Err(CallError::InputTooLarge { len: 65_537 })
    );
    let long = module(
        r#"(func (export "long") (param i32) (result i32) i32.const 65537)
           (func (export "negative") (param i32) (result i32) i32.const -1)"#,
    );
    assert_eq!(
        call_both(&long, "long", &[], 10_000).result,
        Err(CallError::OutputLength { len: 65_537 })
    );
    assert_eq!(
        call_both(&long, "negative", &[], 10_000).result,
        Err(CallError::OutputLength { len: -1 })
    );
}

#[test]
fn missing_functions_and_init_are_refused_without_gas() {
    let wat = module(
        r#"(func (export "init") (param i32) (result i32) i32.const 0)
           (func $private (param i32) (result i32) i32.const 0)"#,
    );
    let missing = call_both(&wat, "private", &[], 10_000);
    assert_eq!(
        missing.result,
        Err(CallError::MissingFunction {
            name: "private".into()
        })
    );
    assert_eq!(missing.gas_spent, 0);
    assert_eq!(
        call_both(&wat, "init", &[], 10_000).result,
        Err(CallError::InitNotCallable)
    );
}

#[test]
fn init_runs_once_and_its_failure_aborts_the_deploy() {
    let engines = TestVms::new();
    let good = wasm(&module(
        r#"(global $inited (mut i32) (i32.const 0))
           (func (export "init") (param i32) (result i32)
             global.get $inited i32.const 1 i32.add global.set $inited
             i32.const 100 i32.const 0 i32.load8_u i32.store8
             i32.const 0)
           (func (export "read") (param i32) (result i32)
             i32.const 0 global.get $inited i32.store8
             i32.const 1 i32.const 100 i32.load8_u i32.store8
             i32.const 2)"#,
    ));
    let bad = wasm(&module(
        r#"(func (export "init") (param i32) (result i32) unreachable)"#,
    ));
    let options = DeployOptions {
        init_arg: vec![42],
        gas_limit: 10_000,
        ..DeployOptions::default()
    };
    let mut a = engines.wasmtime.session();
    let mut b = engines.wasmi.session();
    let Deployment { id, init } = a.deploy(&good, options.clone()).expect("deploys");
    assert_eq!(
        b.deploy(&good, options.clone()).expect("deploys").init,
        init
    );
    assert!(init.expect("init ran").result.is_ok());
    let ra = a.call(&id, "read", &[], 10_000).expect("calls");
    assert_eq!(ra, b.call(&id, "read", &[], 10_000).expect("calls"));
    // init's memory write stays; its global change does not outlive the
    // deploy: every top-level call starts from the initial globals.
    assert_eq!(ra.result, Ok(vec![0, 42]));

    let fa = a.deploy(&bad, options.clone()).expect_err("init fails");
    let fb = b.deploy(&bad, options.clone()).expect_err("init fails");
    assert_eq!(fa, fb);
    let DeployError::InitFailed { receipt } = fa else {
        panic!("expected InitFailed, got {fa}");
    };
    assert_eq!(
        receipt.result,
        Err(CallError::Trap {
            trap: Trap::Unreachable
        })
    );
    assert_eq!(a.contract_ids(), [id]);
    assert_eq!(
        a.deploy(&good, options).expect_err("same id twice"),
        DeployError::DuplicateId(id)
    );
}

#[test]
fn failures_leave_state_exactly_as_it_was() {
    let engines = TestVms::new();
    let wat = module(
        r#"(global $g (mut i64) (i64.const 5))
           (func (export "write") (param i32) (result i32)
             i32.const 4096 i32.const 0 i32.load i32.store
             global.get $g i64.const 1 i64.add global.set $g
             i32.const 0)
           (func (export "write_then_trap") (param i32) (result i32)
             i32.const 4094 i64.const -1 i64.store   ;; straddles two dirty pages
             i32.const 60000 i32.const 9 i32.const 5000 memory.fill
             global.get $g i64.const 100 i64.add global.set $g
             i32.const 1 i32.const 0 i32.div_u)
           (func (export "out_of_gas") (param i32) (result i32)
             i32.const 4096 i32.const 77 i32.store
             (loop $l br $l) i32.const 0)
           (func (export "read") (param i32) (result i32)
             i32.const 0 i32.const 4092 i64.load i64.store
             i32.const 8 global.get $g i64.store
             i32.const 16 i32.const 62000 i32.load i32.store
             i32.const 20)"#,
    );
    let bytes = wasm(&wat);
    let mut a = engines.wasmtime.session();
    let mut b = engines.wasmi.session();
    let id = a
        .deploy(&bytes, DeployOptions::default())
        .expect("deploys")
        .id;
    b.deploy(&bytes, DeployOptions::default()).expect("deploys");
    let mut both = |function: &str, arg: &[u8]| {
        let ra = a.call(&id, function, arg, 50_000).expect("calls");
        assert_eq!(
            ra,
            b.call(&id, function, arg, 50_000).expect("calls"),
            "{function}"
        );
        (ra.result, a.state_digest(&id))
    };
    let (_, initial) = both("read", &[]);
    let (written, after_write) = both("write", &[1, 2, 3, 4]);
    assert_eq!(written, Ok(vec![]));
    assert_ne!(initial, after_write);
    let (read, _) = both("read", &[]);
    let expected = {
        let mut bytes = vec![0, 0, 0, 0, 1, 2, 3, 4];
        // The global went to 6 during `write` and back to 5 after it.
        bytes.extend_from_slice(&5i64.to_le_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 0]);
        bytes
    };
    assert_eq!(read, Ok(expected.clone()));
    let (failed, after_failure) = both("write_then_trap", &[]);
    assert_eq!(
        failed,
        Err(CallError::Trap {
            trap: Trap::IntegerDivisionByZero
        })
    );
    let (oog, after_oog) = both("out_of_gas", &[]);
    assert_eq!(oog, Err(CallError::OutOfGas));
    assert_eq!(after_failure, after_oog);
    assert_eq!(both("read", &[]).0, Ok(expected));
}

#[test]
fn events_host_data_feeder_and_callers_at_top_level() {
    let wat = r#"(module
        (import "env" "emit" (func $emit (param i32 i32 i32)))
        (import "env" "hd" (func $hd (param i32 i32) (result i32)))
        (import "env" "feed" (func $feed (param i32)))
        (import "env" "caller" (func $caller (result i32)))
        (import "env" "callstack" (func $callstack (result i32)))
        (memory (export "memory") 2)
        (global (export "A") i32 (i32.const 0))
        (data (i32.const 70000) "topicnet")
        (func (export "emit") (param i32) (result i32)
          i32.const 70000 i32.const 5 local.get 0 call $emit i32.const 0)
        (func (export "hd") (param i32) (result i32)
          i32.const 70005 i32.const 3 call $hd)
        (func (export "feed") (param i32) (result i32) local.get 0 call $feed i32.const 0)
        (func (export "callers") (param i32) (result i32)
          i32.const 0 call $caller i32.store8
          i32.const 1 call $callstack i32.store8
          i32.const 2))"#;
    let engines = TestVms::new();
    let bytes = wasm(wat);
    let mut receipts = Vec::new();
    for with_feeder in [false, true] {
        let mut a = engines.wasmtime.session();
        let mut b = engines.wasmi.session();
        for session in [&mut a as &mut dyn Configure, &mut b] {
            session.configure(with_feeder);
        }
        let id = a
            .deploy(&bytes, DeployOptions::default())
            .expect("deploys")
            .id;
        b.deploy(&bytes, DeployOptions::default()).expect("deploys");
        for (function, arg, gas) in [
            ("emit", &b"data"[..], 100_000),
            // 4 * (5 + 4) = 36 gas for the event; not enough left.
            ("emit", &b"data"[..], 40),
            ("hd", &[][..], 100_000),
            ("feed", &b"fed"[..], 100_000),
            ("callers", &[][..], 100_000),
        ] {
            let ra = a.call(&id, function, arg, gas).expect("calls");
            assert_eq!(
                ra,
                b.call(&id, function, arg, gas).expect("calls"),
                "{function}"
            );
            receipts.push(ra);
        }
    }
    let emitted = &receipts[0];
    assert_eq!(emitted.result, Ok(vec![]));
    assert_eq!(emitted.events.len(), 1);
    assert_eq!(emitted.events[0].event.topic, "topic");
    assert_eq!(emitted.events[0].event.data, b"data");
    assert_eq!(receipts[1].result, Err(CallError::OutOfGas));
    assert!(
        receipts[1].events.is_empty(),
        "a failed call's events are dropped"
    );
    assert_eq!(receipts[2].result, Ok(vec![]), "absent host data is empty");
    assert_eq!(
        receipts[3].result,
        Err(CallError::Host {
            error: HostError::NoFeeder
        })
    );
    assert_eq!(
        receipts[4].result,
        Ok(vec![0, 0]),
        "no callers at top level"
    );
    // With a feeder and host data set.
    assert_eq!(receipts[7].result, Ok(b"ok!".to_vec()));
    assert_eq!(receipts[8].result, Ok(vec![]));
    assert_eq!(receipts[8].feed, vec![b"fed".to_vec()]);
}

/// Sets the embedder's side of a session: host data `net` and a feeder.
trait Configure {
    fn configure(&mut self, with_feeder: bool);
}

impl<E: vm::engine::Engine> Configure for vm::Session<'_, E> {
    fn configure(&mut self, with_feeder: bool) {
        if with_feeder {
            self.attach_feeder();
            self.set_host_data("net", b"ok!".to_vec());
        }
    }
}
