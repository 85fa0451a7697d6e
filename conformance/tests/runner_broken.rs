//! The production runners tell when a trap left their process broken
//! (`segv-trap-crash`): a persistent runner is replaced exactly then, and
//! never after a trap production survived.

use std::time::Duration;

use conformance::driver::Driver;
use conformance::driver::build::runner_binary;
use conformance::driver::process::{RestartCauses, RunnerProcess, RunnerStats};
use conformance::engines::Production;
use runner_protocol::outcome::{CallResult, DeployResult};
use runner_protocol::wire::{CallRequest, DeployRequest, SessionRequest};
use runner_protocol::{Bytes, ContractId, FailureKind, TrapCode};

/// Traps of two kinds: a null table entry (raised through SIGSEGV) and
/// `unreachable` (raised otherwise). No memory page is written, so the
/// runner can still read the state after the first (a written one would
/// crash it at once, `segv-trap-crash`).
const TRAPS: &str = r#"(module
  (memory (export "memory") 2)
  (global (export "A") i32 (i32.const 0))
  (type $ret (func (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $seven)
  (func $seven (result i32) i32.const 7)
  (func (export "null_entry") (param i32) (result i32) i32.const 1 call_indirect (type $ret))
  (func (export "unreachable") (param i32) (result i32) unreachable))"#;

fn runner(production: &Production) -> RunnerProcess {
    let root = conformance::repository_root();
    let (binary, baseline) =
        runner_binary(production, &root, "piecrust").expect("the runner builds");
    RunnerProcess::new("piecrust".into(), baseline, binary, Duration::from_secs(20)).persistent()
}

/// Opens a session, deploys the contract and calls `function`, which
/// traps with `code`.
fn trap(runner: &mut RunnerProcess, function: &str, code: TrapCode) {
    runner
        .open_session(&SessionRequest::default())
        .expect("a session");
    let deployed = runner
        .deploy(&DeployRequest {
            bytecode: Bytes(wat::parse_str(TRAPS).expect("valid WAT")),
            owner: Bytes::default(),
            id: Some(ContractId([0; 32])),
            init_arg: Bytes::default(),
            gas: 1_000_000,
            node: None,
        })
        .expect("a deploy");
    assert!(
        matches!(deployed.result, DeployResult::Deployed(_)),
        "{deployed:?}"
    );
    let outcome = runner
        .call(&CallRequest {
            contract: ContractId([0; 32]),
            function: function.into(),
            arg: Bytes::default(),
            gas: 1_000_000,
        })
        .expect("an outcome");
    match outcome.result {
        CallResult::Failed(failure) => {
            assert_eq!(failure.kind, FailureKind::Trap { code }, "{function}")
        }
        other => panic!("{function}: expected a trap, got {other:?}"),
    }
}

fn replaced_exactly_after_segv_traps(production: Production) {
    let mut runner = runner(&production);
    // A trap production survives keeps the process.
    trap(&mut runner, "unreachable", TrapCode::Unreachable);
    trap(&mut runner, "unreachable", TrapCode::Unreachable);
    // The first process and its spare.
    let stats = runner.stats();
    assert_eq!((stats.starts, stats.restarts), (2, 0), "{stats:?}");
    // One raised through SIGSEGV leaves the lock held: the next session is
    // refused by the runner at once (no reuse probe waits), and a new
    // process serves it.
    trap(&mut runner, "null_entry", TrapCode::IndirectCallToNull);
    trap(&mut runner, "unreachable", TrapCode::Unreachable);
    runner
        .open_session(&SessionRequest::default())
        .expect("a session");
    assert_eq!(
        runner.stats(),
        RunnerStats {
            // The first process, its spare, and the spare after it.
            starts: 3,
            restarts: 1,
            restart_causes: RestartCauses {
                lock_held: 1,
                ..RestartCauses::default()
            },
            host_panics: 0,
            crashes: 0,
            timeouts: 0,
            probe_timeouts: 0,
        },
        "{production:?}"
    );
}

#[test]
fn piecrust_0_32_is_replaced_exactly_after_a_segv_trap() {
    replaced_exactly_after_segv_traps(Production::Piecrust0_32);
}

#[test]
fn piecrust_0_31_is_replaced_exactly_after_a_segv_trap() {
    replaced_exactly_after_segv_traps(Production::Piecrust0_31);
}
