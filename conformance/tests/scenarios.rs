//! Every scenario of `corpus/scenarios/` as its own test: run on both
//! engines, compared field by field, then checked against its snapshot in
//! `snapshots/` (review changes with `cargo insta review`).

use std::path::Path;

use conformance::scenario::Scenario;
use conformance::suite::{self, Which, snapshot_name};
use libtest_mimic::{Arguments, Failed, Trial};

fn run(scenario: &Scenario, engines: &suite::Engines) -> Result<(), Failed> {
    let root = conformance::repository_root();
    let snapshots = root.join("snapshots");
    let report = suite::run_scenario(engines, scenario, Which::Both, &snapshots);
    if let Some(error) = report.error() {
        return Err(error.to_string().into());
    }
    if !report.divergences.is_empty() {
        return Err(format!(
            "engines diverge:\n{}",
            suite::divergence_report(scenario, &report.divergences)
        )
        .into());
    }
    let rendered = report.rendered.unwrap_or_default();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(&snapshots);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(&scenario.path);
    let name = snapshot_name(scenario);
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
    let engines = std::sync::Arc::new(suite::Engines::new().expect("engines"));
    let mut trials = Vec::new();
    for path in files {
        let name = path
            .strip_prefix(&scenarios_dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let engines = engines.clone();
        let corpus = corpus.clone();
        let scenarios_dir = scenarios_dir.clone();
        trials.push(Trial::test(name, move || {
            let scenario = Scenario::load(Path::new(&path), &corpus, &scenarios_dir)
                .map_err(|error| Failed::from(error.to_string()))?;
            run(&scenario, &engines)
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
