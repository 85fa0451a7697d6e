//! Running scenarios on both engines, comparing them, and checking the
//! agreed outcome against its snapshot.

use std::path::{Path, PathBuf};

use insta::internals::SnapshotContents;
use vm::{Vm, VmConfig, WasmiEngine, WasmtimeEngine};

use crate::diff::{Divergence, diff};
use crate::report::render;
use crate::scenario::{Scenario, StepError, StepKind, StepOutcome, run};

/// Both engines, each with its module cache, shared by all scenarios.
pub struct Engines {
    pub wasmtime: Vm<WasmtimeEngine>,
    pub wasmi: Vm<WasmiEngine>,
}

impl Engines {
    pub fn new() -> Result<Self, String> {
        let config = VmConfig::default();
        Ok(Engines {
            wasmtime: Vm::new(config.clone()).map_err(|e| e.to_string())?,
            wasmi: Vm::new(config).map_err(|e| e.to_string())?,
        })
    }
}

/// Which engines a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Both,
    Wasmtime,
    Wasmi,
}

/// How the agreed outcome compares with its snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotStatus {
    Match,
    Mismatch {
        expected: String,
    },
    Missing,
    /// Not compared: the engines diverged or the run failed.
    NotChecked,
}

/// Everything a run of one scenario found.
pub struct ScenarioReport {
    pub steps: usize,
    pub wasmtime: Option<Result<Vec<StepOutcome>, StepError>>,
    pub wasmi: Option<Result<Vec<StepOutcome>, StepError>>,
    pub divergences: Vec<Divergence>,
    /// The rendered outcome both engines agree on (or the only engine's).
    pub rendered: Option<String>,
    pub snapshot: SnapshotStatus,
}

impl ScenarioReport {
    pub fn error(&self) -> Option<&StepError> {
        [&self.wasmtime, &self.wasmi]
            .into_iter()
            .flatten()
            .find_map(|run| run.as_ref().err())
    }

    pub fn passed(&self) -> bool {
        self.error().is_none()
            && self.divergences.is_empty()
            && self.snapshot == SnapshotStatus::Match
    }
}

/// The snapshot file of a scenario: `snapshots/<name with / as __>.snap`.
pub fn snapshot_name(scenario: &Scenario) -> String {
    scenario.name.trim_end_matches(".toml").replace('/', "__")
}

pub fn snapshot_path(snapshots: &Path, scenario: &Scenario) -> PathBuf {
    snapshots.join(format!("{}.snap", snapshot_name(scenario)))
}

/// Compares `rendered` with the snapshot at `path`.
pub fn check_snapshot(path: &Path, rendered: &str) -> SnapshotStatus {
    if !path.exists() {
        return SnapshotStatus::Missing;
    }
    match insta::Snapshot::from_file(path) {
        Ok(snapshot) => match snapshot.contents() {
            SnapshotContents::Text(text) => {
                let expected = text.to_string();
                if expected.trim_end() == rendered.trim_end() {
                    SnapshotStatus::Match
                } else {
                    SnapshotStatus::Mismatch { expected }
                }
            }
            _ => SnapshotStatus::Mismatch {
                expected: "(not a text snapshot)".into(),
            },
        },
        Err(error) => SnapshotStatus::Mismatch {
            expected: format!("(unreadable snapshot: {error})"),
        },
    }
}

/// Runs `scenario` on the chosen engines and compares.
pub fn run_scenario(
    engines: &Engines,
    scenario: &Scenario,
    which: Which,
    snapshots: &Path,
) -> ScenarioReport {
    let wasmtime = (which != Which::Wasmi).then(|| run(scenario, &engines.wasmtime));
    let wasmi = (which != Which::Wasmtime).then(|| run(scenario, &engines.wasmi));
    let mut report = ScenarioReport {
        steps: scenario.steps.len(),
        wasmtime,
        wasmi,
        divergences: Vec::new(),
        rendered: None,
        snapshot: SnapshotStatus::NotChecked,
    };
    match (&report.wasmtime, &report.wasmi) {
        (Some(Ok(a)), Some(Ok(b))) => {
            report.divergences = diff(a, b);
            if report.divergences.is_empty() {
                report.rendered = Some(render(scenario, a));
            }
        }
        (Some(Ok(only)), None) | (None, Some(Ok(only))) => {
            report.rendered = Some(render(scenario, only))
        }
        _ => {}
    }
    if let Some(rendered) = &report.rendered {
        report.snapshot = check_snapshot(&snapshot_path(snapshots, scenario), rendered);
    }
    report
}

/// A precise account of a divergence: the step, the field, both values, the
/// contract involved and a command that reproduces it.
pub fn divergence_report(scenario: &Scenario, divergences: &[Divergence]) -> String {
    let mut text = String::new();
    for divergence in divergences {
        let step = &scenario.steps[divergence.step - 1];
        let contract = match &step.kind {
            StepKind::Deploy { contract } | StepKind::Call { contract, .. } => {
                &scenario.contracts[*contract]
            }
        };
        text.push_str(&format!(
            "step {} (line {}), field `{}`:\n  wasmtime: {}\n  wasmi:    {}\n",
            divergence.step, step.line, divergence.field, divergence.wasmtime, divergence.wasmi
        ));
        text.push_str(&format!("  contract `{}`:\n", contract.name));
        for line in contract.wat.lines().take(60) {
            text.push_str(&format!("    {line}\n"));
        }
    }
    text.push_str(&format!(
        "reproduce: cargo run --release -p conformance -- show {}\n",
        scenario.path.display()
    ));
    text
}

/// The scenario files under `paths`, sorted.
pub fn find_scenarios(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = paths.to_vec();
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
        } else if path.extension().is_some_and(|ext| ext == "toml") {
            files.push(path);
        } else if !path.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{}: no such file or folder", path.display()),
            ));
        }
    }
    files.sort();
    Ok(files)
}
