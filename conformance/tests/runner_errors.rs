//! A runner that is missing, crashes, hangs, speaks another protocol
//! version or prints something that is not the protocol gets a clear error
//! naming the runner and the request; our engines' results are still
//! reported, and the scenario fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use conformance::catalogue::Catalogue;
use conformance::driver::process::{RestartCauses, RunnerProcess, RunnerStats};
use conformance::driver::{Driver, DriverConfig, DriverError, OurVms, drivers};
use conformance::engines::EngineSpec;
use conformance::play::session_request;
use conformance::scenario::Scenario;
use conformance::suite::{self, TestedEngine};
use runner_protocol::wire::{CallRequest, DeployRequest, PROTOCOL_VERSION};
use runner_protocol::{
    Bytes, CallOutcome, ContractId, DeployOutcome, FailureKind, outcome::CallResult,
};

/// The greeting of a fake runner that speaks the suite's protocol.
fn hello() -> String {
    format!(r#"{{"hello":{{"protocol":{PROTOCOL_VERSION},"engine":"fake","version":"0"}}}}"#)
}

/// A fake runner: a shell script answering with `body`.
fn fake_runner(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("conformance-runners-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("writes");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn process(binary: PathBuf) -> RunnerProcess {
    RunnerProcess::new("fake".into(), "fake".into(), binary, Duration::from_secs(2))
}

fn scenario() -> Scenario {
    let root = conformance::repository_root().join("corpus");
    Scenario::load(
        &root.join("scenarios/contracts/counter.toml"),
        &root,
        &root.join("scenarios"),
    )
    .expect("loads")
}

/// A call of `function` on the zero contract with no argument.
fn call_of(function: &str, gas: u64) -> CallRequest {
    CallRequest {
        contract: ContractId([0; 32]),
        function: function.into(),
        arg: Bytes::default(),
        gas,
    }
}

fn open(binary: PathBuf) -> Result<(), DriverError> {
    process(binary).open_session(&session_request(&scenario(), true, false))
}

#[test]
fn a_missing_runner_is_named() {
    let error = open(PathBuf::from("/nonexistent/runner")).expect_err("cannot start");
    assert!(matches!(error, DriverError::Spawn { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.starts_with("fake: cannot start its runner /nonexistent/runner"),
        "{text}"
    );
}

#[test]
fn a_runner_that_exits_at_once_crashed_during_hello() {
    let error = open(fake_runner("exits", "echo dying >&2; exit 3")).expect_err("crashes");
    let text = error.to_string();
    assert!(matches!(error, DriverError::Crashed { .. }), "{text}");
    assert!(text.contains("during hello (exit status: 3)"), "{text}");
    assert!(text.contains("dying"), "{text}");
}

#[test]
fn another_protocol_version_is_refused() {
    let error = open(fake_runner(
        "version",
        r#"read line; echo '{"hello":{"protocol":1,"engine":"fake","version":"0"}}'; sleep 5"#,
    ))
    .expect_err("wrong version");
    assert_eq!(
        error.to_string(),
        format!(
            "fake: the runner broke the protocol during hello: the runner speaks protocol 1, the suite {PROTOCOL_VERSION}"
        )
    );
}

#[test]
fn output_that_is_not_the_protocol_is_a_protocol_error() {
    let error = open(fake_runner(
        "garbage",
        "read line; echo 'Hello, world'; sleep 5",
    ))
    .expect_err("garbage");
    let text = error.to_string();
    assert!(
        text.starts_with("fake: the runner broke the protocol during hello: not a response"),
        "{text}"
    );
    assert!(text.contains("Hello, world"), "{text}");
}

#[test]
fn a_runner_that_hangs_times_out() {
    let binary = fake_runner(
        "hangs",
        &format!(
            "read line; echo '{}'; read line; echo '{{\"session\":{{}}}}'; sleep 30",
            hello()
        ),
    );
    let mut runner = process(binary);
    runner
        .open_session(&session_request(&scenario(), true, false))
        .expect("opens");
    let started = std::time::Instant::now();
    let outcome = runner
        .call(&call_of("f", 1))
        .expect("a step past its limit has an outcome");
    assert!(started.elapsed() < Duration::from_secs(10));
    let CallResult::Failed(failure) = &outcome.result else {
        panic!("not a failure: {outcome:?}");
    };
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert_eq!(
        failure.detail,
        "fake: no answer to call f within 2s; the runner was stopped"
    );
    assert_eq!(
        (
            outcome.gas_spent,
            outcome.events.is_none(),
            outcome.frames.is_none()
        ),
        (None, true, true),
        "nothing else of a timed-out call is seen"
    );
    // The session is lost with the process: its later steps time out at
    // once.
    let started = std::time::Instant::now();
    let later = runner.call(&call_of("g", 7)).expect("an outcome");
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(
        later,
        CallOutcome::timed_out(
            7,
            "an earlier step of the session timed out (fake: no answer to call f within 2s; the runner was stopped)".into()
        )
    );
    assert!(matches!(
        runner.deploy(&DeployRequest {
            bytecode: Bytes::default(),
            owner: Bytes::default(),
            id: None,
            init_arg: Bytes::default(),
            gas: 1,
            node: None,
        }),
        Ok(outcome) if outcome == DeployOutcome::timed_out()
    ));
    assert_eq!(
        runner.stats(),
        RunnerStats {
            starts: 1,
            restarts: 0,
            restart_causes: RestartCauses::default(),
            host_panics: 0,
            crashes: 0,
            timeouts: 1,
            probe_timeouts: 0,
        }
    );
}

#[test]
fn a_runner_that_dies_during_a_call_reports_a_host_panic() {
    let binary = fake_runner(
        "dies",
        &format!(
            "read line; echo '{hello}'; read line; echo '{{\"session\":{{}}}}'; read line; kill -SEGV $$",
            hello = hello()
        ),
    );
    let mut runner = process(binary);
    runner
        .open_session(&session_request(&scenario(), true, false))
        .expect("opens");
    let outcome = runner
        .call(&call_of("f", 1))
        .expect("a crash is the call's outcome");
    match outcome.result {
        CallResult::Failed(failure) => {
            assert_eq!(failure.kind, FailureKind::HostPanic);
            assert!(
                failure.detail.contains("during call f (signal: 11"),
                "{}",
                failure.detail
            );
        }
        other => panic!("expected a host panic, got {other:?}"),
    }
    assert!(outcome.gas_spent.is_none() && outcome.events.is_none());
    assert_eq!(
        runner.stats(),
        RunnerStats {
            starts: 1,
            restarts: 0,
            restart_causes: RestartCauses::default(),
            host_panics: 1,
            crashes: 1,
            timeouts: 0,
            probe_timeouts: 0,
        }
    );
}

#[test]
fn the_suite_reports_our_engines_and_fails_when_a_runner_is_broken() {
    let vms = OurVms::new().expect("engines");
    let specs = [EngineSpec::Wasmtime, EngineSpec::Wasmi];
    let root = conformance::repository_root();
    let ours = drivers(&specs, &vms, &DriverConfig::new(&root)).expect("drivers");
    let mut tested: Vec<TestedEngine> = specs
        .into_iter()
        .zip(ours)
        .map(|(spec, driver)| TestedEngine { spec, driver })
        .collect();
    tested.push(TestedEngine {
        spec: EngineSpec::Production(conformance::engines::Production::Piecrust0_32),
        driver: Box::new(process(fake_runner("gone", "exit 1"))),
    });
    let report = suite::run_scenario(
        &mut tested,
        &scenario(),
        &Catalogue::default(),
        Some(Path::new("/nonexistent")),
    );
    assert!(report.broken() && !report.passed());
    let failures = report.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with("opening the session: fake: the runner exited during hello"),
        "{failures:?}"
    );
    // Our engines ran every step and agree.
    assert_eq!(report.runs[0].steps.len(), scenario().steps.len());
    assert_eq!(report.runs[1].steps.len(), scenario().steps.len());
    assert!(report.judgement.divergences.is_empty());
}

#[test]
fn a_runner_that_cannot_be_built_is_named() {
    let vms = OurVms::new().expect("engines");
    let specs = [EngineSpec::parse("piecrust@/nonexistent/piecrust").expect("parses")];
    let root = conformance::repository_root();
    let error = match drivers(&specs, &vms, &DriverConfig::new(&root)) {
        Ok(_) => panic!("no runner can be built from a missing checkout"),
        Err(error) => error,
    };
    assert!(matches!(error, DriverError::Build { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        "piecrust-local: cannot build its runner: /nonexistent/piecrust: no piecrust crate here or in its `piecrust/` folder"
    );
}

#[test]
fn a_reused_runner_that_deadlocks_opening_a_session_is_replaced() {
    // The first process opens one session, then hangs on the next (as
    // piecrust does dropping a session after a SIGSEGV trap the runner
    // could not see); the others work. The first is the one that makes the
    // marker folder, before it answers `hello` (the spare starts after).
    let first =
        std::env::temp_dir().join(format!("conformance-runner-first-{}", std::process::id()));
    let _ = std::fs::remove_dir(&first);
    let binary = fake_runner(
        "deadlocks-on-reuse",
        &format!(
            "if mkdir {first} 2>/dev/null; then hangs=1; else hangs=0; fi; \
             read line; echo '{hello}'; read line; echo '{{\"session\":{{}}}}'; \
             if [ $hangs -eq 1 ]; then read line; sleep 30; fi; \
             read line; echo '{{\"session\":{{}}}}'; sleep 30",
            first = first.display(),
            hello = hello()
        ),
    );
    let mut runner = process(binary).persistent();
    let request = session_request(&scenario(), true, false);
    runner.open_session(&request).expect("opens");
    let started = std::time::Instant::now();
    runner
        .open_session(&request)
        .expect("a fresh process opens the session");
    assert!(started.elapsed() < Duration::from_secs(10));
    let _ = std::fs::remove_dir(&first);
    assert_eq!(
        runner.stats(),
        RunnerStats {
            starts: 3,
            restarts: 1,
            restart_causes: RestartCauses {
                probe_timeout: 1,
                ..RestartCauses::default()
            },
            host_panics: 0,
            crashes: 0,
            timeouts: 0,
            probe_timeouts: 1,
        }
    );
}

#[test]
fn a_persistent_runner_is_replaced_after_a_host_panic_and_tells_its_own_times_first() {
    // Every process greets, opens sessions, answers every call with a host
    // panic and `stats` with fixed times.
    let stats = r#"{"stats":{"requests":4,"session_ns":10,"deploy_ns":0,"call_ns":30,"other_ns":1,"digest_ns":5,"rss_bytes":7340032}}"#;
    let call = r#"{"call":{"result":{"failed":{"kind":"host_panic","detail":"boom"}},"gas_limit":1,"gas_spent":null,"events":null,"feed":[],"debug":[],"frames":null,"state":{}}}"#;
    let binary = fake_runner(
        "panics-and-tells",
        &format!(
            r#"while read -r line; do
  case "$line" in
    *'"op":"hello"'*) echo '{hello}' ;;
    *'"op":"session"'*) echo '{{"session":{{}}}}' ;;
    *'"op":"call"'*) echo '{call}' ;;
    *'"op":"stats"'*) echo '{stats}' ;;
    *) exit 0 ;;
  esac
done"#,
            hello = hello()
        ),
    );
    let mut runner = process(binary).persistent();
    let request = session_request(&scenario(), true, false);
    runner.open_session(&request).expect("opens");
    // A session that failed nothing keeps its process; a spare waits.
    runner.open_session(&request).expect("reuses");
    assert_eq!((runner.stats().starts, runner.stats().restarts), (2, 0));
    let outcome = runner.call(&call_of("f", 1)).expect("an outcome");
    assert!(matches!(
        outcome.result,
        CallResult::Failed(ref failure) if failure.kind == FailureKind::HostPanic
    ));
    runner
        .open_session(&request)
        .expect("a new process opens it");
    assert_eq!(
        runner.stats(),
        RunnerStats {
            starts: 3,
            restarts: 1,
            restart_causes: RestartCauses {
                host_panic: 1,
                ..RestartCauses::default()
            },
            host_panics: 1,
            crashes: 0,
            timeouts: 0,
            probe_timeouts: 0,
        }
    );
    let time = runner.time();
    assert_eq!((time.reported, time.unreported), (1, 0));
    assert_eq!(
        (
            time.inside.requests,
            time.inside.session_ns,
            time.inside.call_ns,
            time.inside.other_ns,
            time.inside.digest_ns,
            time.inside.rss_bytes
        ),
        (4, 10, 30, 1, 5, 7 << 20)
    );
    // Four round trips timed by kind: three sessions (the stats request
    // is "other"), one call; two starts.
    assert!(time.session_ns > 0 && time.call_ns > 0 && time.other_ns > 0 && time.spawn_ns > 0);
    assert_eq!(time.deploy_ns, 0);
    // The second process tells its times when asked at the end.
    runner.collect_times();
    assert_eq!(runner.time().reported, 2);
    assert_eq!(runner.time().inside.call_ns, 60);
}
