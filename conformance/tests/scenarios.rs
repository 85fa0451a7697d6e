//! Every scenario of `corpus/scenarios/` as its own test: run on our two
//! engines and three production releases (piecrust 0.32.2 and 0.31.0, and
//! the node's dusk-vm 1.7.0, for the scenarios that do not need the
//! built-in host queries; runners are built on first use), judged by the one comparison and the
//! deviation catalogue, then checked against its snapshot in `snapshots/`
//! (review changes with `cargo insta review`). A snapshot records what each
//! production release does where a catalogue entry says it differs.
//!
//! `CONFORMANCE_ENGINES` picks other engines, comma-separated, as
//! `--engine` does (for example `wasmtime,wasmi` to leave production out).

use std::path::Path;
use std::sync::{Arc, Mutex};

use conformance::catalogue::Catalogue;
use conformance::driver::{DriverConfig, OurVms, drivers};
use conformance::engines::{EngineSpec, Production, default_engines};
use conformance::report::for_engines;
use conformance::scenario::Scenario;
use conformance::suite::{self, TestedEngine, snapshot_name};
use libtest_mimic::{Arguments, Failed, Trial};

/// Every engine the snapshots record: a run on all of them may record one.
fn all_engines() -> Vec<EngineSpec> {
    let mut engines = default_engines();
    engines.push(EngineSpec::Production(Production::Piecrust0_31));
    engines.push(EngineSpec::Production(Production::DuskVm1_7));
    engines
}

fn engines() -> Vec<EngineSpec> {
    match std::env::var("CONFORMANCE_ENGINES") {
        Ok(list) => EngineSpec::parse_list(&list).expect("CONFORMANCE_ENGINES names engines"),
        Err(_) => all_engines(),
    }
}

fn run(
    scenario: &Scenario,
    tested: &Mutex<Vec<TestedEngine<'static>>>,
    catalogue: &Catalogue,
) -> Result<(), Failed> {
    let root = conformance::repository_root();
    let snapshots = root.join("snapshots");
    let report = {
        let mut tested = tested
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        suite::run_scenario(&mut tested, scenario, catalogue, None)
    };
    if report.broken() || !report.judgement.clean() {
        return Err(format!(
            "the engines disagree:\n{}",
            suite::failure_report(scenario, &report)
        )
        .into());
    }
    let Some(rendered) = report.rendered else {
        return Err("no engine of ours ran: nothing to check against the snapshot".into());
    };
    let production: Vec<String> = report
        .runs
        .iter()
        .filter(|run| run.production && run.not_applicable.is_none())
        .map(|run| run.baseline.clone())
        .collect();
    // Engines the scenario does not apply to have no lines to record.
    let not_applicable: Vec<String> = report
        .runs
        .iter()
        .filter(|run| run.not_applicable.is_some())
        .map(|run| run.baseline.clone())
        .collect();
    let name = snapshot_name(scenario);
    let path = suite::snapshot_path(&snapshots, scenario);
    // A run without every production engine checks the snapshot as far as
    // it goes; only a full run records one.
    let recorded = all_engines()
        .into_iter()
        .filter(EngineSpec::is_production)
        .map(|engine| engine.name());
    if !recorded
        .filter(|engine| !not_applicable.contains(engine))
        .all(|engine| production.contains(&engine))
    {
        return match suite::check_snapshot(&path, &rendered, &production) {
            suite::SnapshotStatus::Match => Ok(()),
            status => Err(format!(
                "snapshot {}: run with production to review it",
                status.name()
            )
            .into()),
        };
    }
    let rendered = for_engines(&rendered, &production);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(&snapshots);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(&scenario.path);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name, rendered));
    }));
    outcome.map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "snapshot assertion failed".into());
        Failed::from(message)
    })
}

fn main() {
    let args = Arguments::from_args();
    let root = conformance::repository_root();
    let corpus = root.join("corpus");
    let scenarios_dir = corpus.join("scenarios");
    let files = suite::find_scenarios(std::slice::from_ref(&scenarios_dir))
        .expect("corpus/scenarios exists");
    let catalogue =
        Arc::new(Catalogue::load(&corpus.join("deviations.toml")).expect("the catalogue loads"));
    // The VMs live as long as the test binary: the drivers borrow them.
    let vms: &'static OurVms = Box::leak(Box::new(OurVms::new().expect("our engines start")));
    let specs = engines();
    let drivers = drivers(&specs, vms, &DriverConfig::new(&root)).expect("every engine starts");
    let tested: Arc<Mutex<Vec<TestedEngine<'static>>>> = Arc::new(Mutex::new(
        specs
            .into_iter()
            .zip(drivers)
            .map(|(spec, driver)| TestedEngine { spec, driver })
            .collect(),
    ));
    let mut trials = Vec::new();
    for path in files {
        let name = path
            .strip_prefix(&scenarios_dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let tested = tested.clone();
        let catalogue = catalogue.clone();
        let corpus = corpus.clone();
        let scenarios_dir = scenarios_dir.clone();
        trials.push(Trial::test(name, move || {
            let scenario = Scenario::load(Path::new(&path), &corpus, &scenarios_dir)
                .map_err(|error| Failed::from(error.to_string()))?;
            run(&scenario, &tested, &catalogue)
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
