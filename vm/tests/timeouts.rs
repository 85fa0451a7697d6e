//! Wall-clock limits: a call that runs past its session's limit ends as
//! `timeout` on both engines, every frame rolled back, however much gas it
//! was given, and the session goes on.

use std::time::{Duration, Instant};

use vm::engine::Engine;
use vm::session::Deployment;
use vm::{CallError, DeployError, DeployOptions, Vm, VmConfig, WasmiEngine, WasmtimeEngine};

/// `spin` writes 7 at 100, then loops forever; `outer` writes 9 at 200 and
/// calls its own `spin` through `c`, then would return the code; `init`
/// loops when its argument is 1; `peek` returns bytes 100..104 and
/// 200..204.
const SPINNER: &str = r#"(module
  (import "env" "c" (func $c (param i32 i32 i32 i32 i64) (result i32)))
  (import "env" "self_id" (func $self_id))
  (memory (export "memory") 2)
  (global (export "A") i32 (i32.const 0))
  (data (i32.const 70100) "spin")
  (func (export "init") (param i32) (result i32)
    i32.const 0 i32.load i32.const 1 i32.eq
    if (loop $l (br $l)) end
    i32.const 0)
  (func (export "spin") (param i32) (result i32)
    (i32.store (i32.const 100) (i32.const 7))
    (loop $l (br $l))
    i32.const 0)
  (func (export "outer") (param i32) (result i32)
    (i32.store (i32.const 200) (i32.const 9))
    call $self_id
    i32.const 70000 i32.const 0 i32.const 32 memory.copy
    (i32.store (i32.const 0)
      (call $c (i32.const 70000) (i32.const 70100) (i32.const 4) (i32.const 0) (i64.const 0)))
    i32.const 4)
  (func (export "peek") (param i32) (result i32)
    (i32.store (i32.const 0) (i32.load (i32.const 100)))
    (i32.store (i32.const 4) (i32.load (i32.const 200)))
    i32.const 8))"#;

const LIMIT: Duration = Duration::from_millis(300);

fn config() -> VmConfig {
    VmConfig {
        time_limit: Some(LIMIT),
        ..VmConfig::default()
    }
}

fn deploy<E: Engine>(session: &mut vm::Session<'_, E>) -> Deployment {
    session
        .deploy(
            &wat::parse_str(SPINNER).expect("WAT"),
            DeployOptions {
                init_arg: vec![0, 0, 0, 0],
                gas_limit: 1_000_000,
                ..DeployOptions::default()
            },
        )
        .expect("deploys")
}

fn timeouts_on<E: Engine>() {
    let vm = Vm::<E>::new(config()).expect("engine");
    let mut session = vm.session();
    let Deployment { id, .. } = deploy(&mut session);

    for function in ["spin", "outer"] {
        let started = Instant::now();
        let receipt = session
            .call(&id, function, &[], u64::MAX)
            .expect("a timeout is an outcome");
        let took = started.elapsed();
        assert_eq!(
            receipt.result,
            Err(CallError::Timeout { limit: LIMIT }),
            "{function} on {}",
            E::KIND
        );
        assert!(
            took >= LIMIT && took < LIMIT + Duration::from_secs(2),
            "{function} on {} ended after {took:?}",
            E::KIND
        );
        // Nothing of the abandoned call is kept.
        assert_eq!(receipt.gas_spent, 0);
        assert!(receipt.events.is_empty() && receipt.call_tree.is_none());
    }

    // Every frame was rolled back, and the session goes on.
    let peek = session.call(&id, "peek", &[], 1_000).expect("peek");
    assert_eq!(peek.result, Ok(vec![0; 8]), "on {}", E::KIND);
    assert_eq!(peek.gas_spent, 40);

    // A session's own limit replaces the VM's, and is the one reported.
    let shorter = Duration::from_millis(100);
    session.set_time_limit(Some(shorter));
    let receipt = session.call(&id, "spin", &[], u64::MAX).expect("spin");
    assert_eq!(
        receipt.result,
        Err(CallError::Timeout { limit: shorter }),
        "on {}",
        E::KIND
    );

    // Without a limit, gas alone ends the same loop.
    session.set_time_limit(None);
    let receipt = session.call(&id, "spin", &[], 200_000).expect("spin");
    assert_eq!(receipt.result, Err(CallError::OutOfGas));
    assert_eq!(receipt.gas_spent, 200_000);
}

#[test]
fn a_loop_with_unbounded_gas_ends_at_the_limit_on_wasmtime() {
    timeouts_on::<WasmtimeEngine>();
}

#[test]
fn a_loop_with_unbounded_gas_ends_at_the_limit_on_wasmi() {
    timeouts_on::<WasmiEngine>();
}

fn init_timeout_on<E: Engine>() {
    let vm = Vm::<E>::new(config()).expect("engine");
    let mut session = vm.session();
    let error = session
        .deploy(
            &wat::parse_str(SPINNER).expect("WAT"),
            DeployOptions {
                init_arg: vec![1, 0, 0, 0],
                gas_limit: u64::MAX,
                ..DeployOptions::default()
            },
        )
        .expect_err("init runs past the limit");
    let DeployError::InitFailed { receipt } = &error else {
        panic!("not an init failure on {}: {error}", E::KIND);
    };
    assert_eq!(receipt.result, Err(CallError::Timeout { limit: LIMIT }));
    let outcome = vm::normalize::deploy_outcome(&Err(error), Default::default()).expect("maps");
    assert_eq!(outcome, runner_protocol::DeployOutcome::timed_out());
    // The contract is not deployed; deploying it again with a good `init`
    // works.
    assert!(session.contract_ids().is_empty());
    deploy(&mut session);
}

#[test]
fn an_init_past_the_limit_fails_the_deploy_as_a_timeout() {
    init_timeout_on::<WasmtimeEngine>();
    init_timeout_on::<WasmiEngine>();
}

#[test]
fn a_timed_out_call_maps_to_the_outcome_production_gives() {
    let vm = Vm::<WasmiEngine>::new(config()).expect("wasmi");
    let mut session = vm.session();
    let Deployment { id, .. } = deploy(&mut session);
    let receipt = session.call(&id, "spin", &[], u64::MAX).expect("timeout");
    let outcome = vm::normalize::call_outcome(&receipt, session.memory_states()).expect("maps");
    assert_eq!(
        outcome,
        runner_protocol::CallOutcome::timed_out(
            u64::MAX,
            "the call ran past its wall-clock limit of 300ms".into()
        )
    );
}
