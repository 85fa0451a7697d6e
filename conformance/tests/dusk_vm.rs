//! The node's VM (`dusk-vm` 1.7.0) as an engine: what it refuses, and how
//! the suite reports the scenarios it cannot run.

use conformance::catalogue::Catalogue;
use conformance::driver::{DriverConfig, DriverError, OurVms, drivers};
use conformance::engines::{EngineSpec, Production};
use conformance::play::NEEDS_BUILTIN_QUERIES;
use conformance::scenario::Scenario;
use conformance::suite::{self, TestedEngine};
use conformance::summary::{RunSummary, ScenarioResult};
use runner_protocol::wire::SessionRequest;

fn scenario(name: &str) -> Scenario {
    let corpus = conformance::repository_root().join("corpus");
    Scenario::load(
        &corpus.join("scenarios").join(name),
        &corpus,
        &corpus.join("scenarios"),
    )
    .expect("loads")
}

#[test]
fn the_node_vm_refuses_a_session_with_built_in_queries() {
    let root = conformance::repository_root();
    let vms = OurVms::new().expect("our engines");
    let specs = [EngineSpec::Production(Production::DuskVm1_7)];
    let mut engines = drivers(&specs, &vms, &DriverConfig::new(&root)).expect("the runner");
    let error = engines[0]
        .open_session(&SessionRequest {
            queries: vec!["echo".into()],
            ..SessionRequest::default()
        })
        .expect_err("refused");
    match error {
        DriverError::Refused { message, .. } => assert_eq!(
            message,
            "dusk-vm offers the node's host queries, not the built-in `echo`"
        ),
        other => panic!("not a refusal: {other}"),
    }
    engines[0]
        .open_session(&SessionRequest::default())
        .expect("a session without queries opens");
}

#[test]
fn a_scenario_that_imports_hq_is_not_applicable_and_counted_so() {
    let root = conformance::repository_root();
    let vms = OurVms::new().expect("our engines");
    let specs = vec![
        EngineSpec::Wasmtime,
        EngineSpec::Production(Production::DuskVm1_7),
    ];
    let built = drivers(&specs, &vms, &DriverConfig::new(&root)).expect("drivers");
    let mut tested: Vec<TestedEngine> = specs
        .iter()
        .cloned()
        .zip(built)
        .map(|(spec, driver)| TestedEngine { spec, driver })
        .collect();
    let catalogue =
        Catalogue::load(&root.join("corpus").join("deviations.toml")).expect("catalogue");
    let mut summary = RunSummary::new(&specs);

    let uses_hq = scenario("host/hq-echo.toml");
    assert!(uses_hq.imports_host_queries());
    let report = suite::run_scenario(&mut tested, &uses_hq, &catalogue, None);
    assert_eq!(
        report.runs[1].not_applicable.as_deref(),
        Some(NEEDS_BUILTIN_QUERIES)
    );
    assert!(report.runs[1].steps.is_empty());
    // Only wasmtime played it: nothing was compared, nothing passed.
    assert_eq!(report.played(), ["wasmtime"]);
    assert!(!report.compared() && !report.judged_clean());
    assert_eq!(summary.record(&report, false), ScenarioResult::NotCompared);

    let metadata = scenario("node/chain-metadata.toml");
    assert!(!metadata.imports_host_queries());
    let report = suite::run_scenario(&mut tested, &metadata, &catalogue, None);
    assert_eq!(report.runs[1].not_applicable, None);
    assert_eq!(report.runs[1].steps.len(), 5);
    assert!(report.judged_clean());
    summary.record(&report, true);

    let node = &summary.engines[1];
    assert_eq!(
        (node.steps, node.agreeing, node.not_applicable),
        (5, 5, 1),
        "the skipped scenario's steps are in no count"
    );
    assert_eq!(summary.engines[0].steps, 2 + 5);
    assert_eq!((summary.not_compared, summary.passed), (1, 1));
}

#[test]
fn bare_piecrust_refuses_the_node_queries_and_a_block_without_a_chain() {
    let root = conformance::repository_root();
    let vms = OurVms::new().expect("our engines");
    let specs = [EngineSpec::Production(Production::Piecrust0_32)];
    let mut engines = drivers(&specs, &vms, &DriverConfig::new(&root)).expect("the runner");
    let error = engines[0]
        .open_session(&SessionRequest {
            node_queries: true,
            chain: Some(runner_protocol::Chain::default()),
            ..SessionRequest::default()
        })
        .expect_err("refused");
    match error {
        DriverError::Refused { message, .. } => assert_eq!(
            message,
            "bare piecrust has none of the node's host queries (dusk-vm adds them)"
        ),
        other => panic!("not a refusal: {other}"),
    }
    engines[0]
        .open_session(&SessionRequest::default())
        .expect("a session without a chain opens");
    match engines[0].block(5).expect_err("no chain to move") {
        DriverError::Refused { message, .. } => {
            assert_eq!(message, "`block` needs a session on a chain");
        }
        other => panic!("not a refusal: {other}"),
    }
}

#[test]
fn a_scenario_with_the_node_queries_is_not_applicable_to_bare_piecrust() {
    let root = conformance::repository_root();
    let vms = OurVms::new().expect("our engines");
    let specs = [EngineSpec::Production(Production::Piecrust0_32)];
    let mut engines = drivers(&specs, &vms, &DriverConfig::new(&root)).expect("the runner");
    let scenario = scenario("node/queries/sha256-boreas.toml");
    let run = conformance::play::play(&scenario, engines[0].as_mut(), &specs[0]);
    assert_eq!(
        run.not_applicable.as_deref(),
        Some(conformance::play::NEEDS_NODE_QUERIES)
    );
    assert!(run.steps.is_empty());
}
