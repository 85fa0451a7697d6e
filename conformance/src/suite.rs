//! Running a scenario on every engine of a run, judging the runs and
//! checking the reference outcome against its snapshot.

use std::path::{Path, PathBuf};

use insta::internals::SnapshotContents;

use crate::catalogue::Catalogue;
use crate::driver::Driver;
use crate::engines::EngineSpec;
use crate::judge::{Judgement, judge, reference};
use crate::play::{EngineRun, StepOutcome, play};
use crate::report::{for_engines, render};
use crate::scenario::{Scenario, StepKind};

/// An engine of a run and its driver.
pub struct TestedEngine<'vm> {
    pub spec: EngineSpec,
    pub driver: Box<dyn Driver + 'vm>,
}

/// How the reference outcome compares with its snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotStatus {
    Match,
    Mismatch {
        expected: String,
    },
    Missing,
    /// Not compared: the engines diverged, a run failed, or no engine of
    /// ours ran.
    NotChecked,
}

impl SnapshotStatus {
    pub fn name(&self) -> &'static str {
        match self {
            SnapshotStatus::Match => "match",
            SnapshotStatus::Mismatch { .. } => "mismatch",
            SnapshotStatus::Missing => "missing",
            SnapshotStatus::NotChecked => "not_checked",
        }
    }
}

/// How one scenario ended: the verdict `run` counts and `show` and
/// `call` print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScenarioResult {
    /// It could not be run to the end (a file that does not load, an
    /// engine or runner that failed).
    Broken,
    /// Engines differed where nothing explains it.
    Diverged,
    /// Every engine agreed (or differed as explained), and the snapshot
    /// matched or was not checked.
    Agreed,
    /// Fewer than two engines played it and no snapshot was compared:
    /// neither agreement nor a pass.
    NotCompared,
    /// Every engine agreed, but the snapshot is missing or differs.
    SnapshotMismatch,
}

/// Everything a run of one scenario found.
pub struct ScenarioReport {
    pub steps: usize,
    pub runs: Vec<EngineRun>,
    pub judgement: Judgement,
    /// Problems of the scenario itself (unknown catalogue entries).
    pub problems: Vec<String>,
    /// The reference outcome with production's explained differences.
    pub rendered: Option<String>,
    pub snapshot: SnapshotStatus,
}

impl ScenarioReport {
    /// Engines that could not serve every step, with why.
    pub fn failures(&self) -> Vec<String> {
        self.runs
            .iter()
            .filter_map(|run| run.failure.as_ref())
            .map(|failure| match failure.step {
                0 => format!("opening the session: {}", failure.error),
                step => format!("step {step} (line {}): {}", failure.line, failure.error),
            })
            .collect()
    }

    /// Whether the run is broken: a scenario problem or an engine failure.
    pub fn broken(&self) -> bool {
        !self.problems.is_empty() || !self.failures().is_empty()
    }

    /// The engines that played the scenario (those it applies to).
    pub fn played(&self) -> Vec<&str> {
        self.runs
            .iter()
            .filter(|run| run.not_applicable.is_none())
            .map(|run| run.engine.as_str())
            .collect()
    }

    /// The engines the scenario does not apply to, with why.
    pub fn not_played(&self) -> Vec<(&str, &str)> {
        self.runs
            .iter()
            .filter_map(|run| Some((run.engine.as_str(), run.not_applicable.as_deref()?)))
            .collect()
    }

    /// Whether anything was compared: two engines or more played, or one
    /// did and its outcome was checked against the snapshot. One engine
    /// alone agrees with nothing.
    pub fn compared(&self) -> bool {
        let played = self.played().len();
        played >= 2
            || (played == 1
                && matches!(
                    self.snapshot,
                    SnapshotStatus::Match | SnapshotStatus::Mismatch { .. }
                ))
    }

    /// What ran and what could not, for a scenario nothing was compared in
    /// (at most one engine played it).
    pub fn not_compared_reason(&self) -> String {
        let mut text = match self.played().as_slice() {
            [one] => format!("only {one} played it, with no snapshot to compare"),
            _ => "no engine played it".to_string(),
        };
        for (engine, why) in self.not_played() {
            text.push_str(&format!("; {engine}: not applicable ({why})"));
        }
        text
    }

    /// Whether the engines that played ran to the end and agreed (or
    /// differed only as the catalogue explains).
    fn agreed(&self) -> bool {
        !self.broken() && self.judgement.clean()
    }

    /// Whether two engines or more ran and agreed, whatever the snapshot
    /// says.
    pub fn judged_clean(&self) -> bool {
        self.agreed() && self.played().len() >= 2
    }

    /// Whether the scenario passed: the engines that played agreed, and
    /// the snapshot matches (a comparison of its own, so one engine can
    /// pass).
    pub fn passed(&self) -> bool {
        self.agreed() && self.snapshot == SnapshotStatus::Match
    }

    /// How the scenario ended.
    pub fn result(&self) -> ScenarioResult {
        if self.broken() {
            ScenarioResult::Broken
        } else if !self.judgement.clean() {
            ScenarioResult::Diverged
        } else if !self.compared() {
            ScenarioResult::NotCompared
        } else if matches!(
            self.snapshot,
            SnapshotStatus::Match | SnapshotStatus::NotChecked
        ) {
            ScenarioResult::Agreed
        } else {
            ScenarioResult::SnapshotMismatch
        }
    }
}

/// The snapshot file of a scenario: `snapshots/<name with / as __>.snap`.
pub fn snapshot_name(scenario: &Scenario) -> String {
    scenario.name.trim_end_matches(".toml").replace('/', "__")
}

pub fn snapshot_path(snapshots: &Path, scenario: &Scenario) -> PathBuf {
    snapshots.join(format!("{}.snap", snapshot_name(scenario)))
}

/// Writes `rendered` as the insta snapshot of `scenario` at `path`, in the
/// form `cargo test -p conformance --test scenarios` reads and writes.
pub fn write_snapshot(path: &Path, scenario: &Scenario, rendered: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let input = scenario.path.display().to_string().replace('\\', "/");
    std::fs::write(
        path,
        format!(
            "---\nsource: conformance/tests/scenarios.rs\ninput_file: {input}\n---\n{}\n",
            rendered.trim_end()
        ),
    )
}

/// Compares `rendered` with the snapshot at `path`, as far as the
/// production engines of the run go.
pub fn check_snapshot(path: &Path, rendered: &str, production: &[String]) -> SnapshotStatus {
    if !path.exists() {
        return SnapshotStatus::Missing;
    }
    match insta::Snapshot::from_file(path) {
        Ok(snapshot) => match snapshot.contents() {
            SnapshotContents::Text(text) => {
                let expected = for_engines(&text.to_string(), production);
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

/// Runs `scenario` on every engine and judges the runs; checks the
/// snapshot under `snapshots` when given.
pub fn run_scenario(
    engines: &mut [TestedEngine<'_>],
    scenario: &Scenario,
    catalogue: &Catalogue,
    snapshots: Option<&Path>,
) -> ScenarioReport {
    let mut problems = Vec::new();
    for step in &scenario.steps {
        for id in &step.deviations {
            if catalogue.get(id).is_none() {
                problems.push(format!(
                    "{}:{}: no deviation `{id}` in the catalogue",
                    scenario.path.display(),
                    step.line
                ));
            }
        }
    }
    let runs: Vec<EngineRun> = engines
        .iter_mut()
        .map(|engine| play(scenario, engine.driver.as_mut(), &engine.spec))
        .collect();
    let judgement = judge(scenario, &runs, catalogue);
    let mut report = ScenarioReport {
        steps: scenario.steps.len(),
        runs,
        judgement,
        problems,
        rendered: None,
        snapshot: SnapshotStatus::NotChecked,
    };
    let clean = !report.broken() && report.judgement.divergences.is_empty();
    if let Some(index) = reference(&report.runs)
        && clean
        && !report.runs[index].production
    {
        let rendered = render(
            scenario,
            &report.runs[index].steps,
            &report.judgement.deviations,
        );
        if let Some(snapshots) = snapshots {
            let production: Vec<String> = report
                .runs
                .iter()
                .filter(|run| run.production && run.not_applicable.is_none())
                .map(|run| run.baseline.clone())
                .collect();
            report.snapshot =
                check_snapshot(&snapshot_path(snapshots, scenario), &rendered, &production);
        }
        report.rendered = Some(rendered);
    }
    report
}

/// A precise account of what failed: each divergence with the step, the
/// field, both values and the contract; each unseen deviation; and a
/// command that reproduces it.
pub fn failure_report(scenario: &Scenario, report: &ScenarioReport) -> String {
    let mut text = String::new();
    for problem in &report.problems {
        text.push_str(&format!("  {problem}\n"));
    }
    for failure in report.failures() {
        text.push_str(&format!("  {failure}\n"));
    }
    let mut shown_contracts = Vec::new();
    for divergence in &report.judgement.divergences {
        text.push_str(&format!(
            "  step {} (line {}), field `{}`:\n    {}: {}\n    {}: {}\n",
            divergence.step,
            divergence.line,
            divergence.field,
            divergence.reference,
            divergence.expected,
            divergence.engine,
            divergence.found
        ));
        let step = &scenario.steps[divergence.step - 1];
        let contract = match &step.kind {
            StepKind::Deploy { contract } | StepKind::Call { contract, .. } => *contract,
        };
        if !shown_contracts.contains(&contract) {
            shown_contracts.push(contract);
        }
    }
    for unseen in &report.judgement.unseen {
        text.push_str(&format!(
            "  step {} (line {}): deviation `{}` is named for {} but {} agrees with our engines there\n",
            unseen.step, unseen.line, unseen.id, unseen.engine, unseen.engine
        ));
    }
    for mismatch in &report.judgement.signatures {
        text.push_str(&format!(
            "  step {} (line {}): deviation `{}` is named first here, but the outcomes do not show its signature (ours {}, {} {})\n",
            mismatch.step, mismatch.line, mismatch.id, mismatch.ours, mismatch.engine, mismatch.production
        ));
    }
    for contract in shown_contracts {
        let decl = &scenario.contracts[contract];
        text.push_str(&format!("  contract `{}`:\n", decl.name));
        // At most 60 lines, each shortened as long messages are: a
        // contract's text can be megabytes on one line.
        let lines = decl.wat.lines().count();
        for line in decl.wat.lines().take(SHOWN_WAT_LINES) {
            text.push_str(&format!(
                "    {}\n",
                crate::report::shortened(line, str::to_string)
            ));
        }
        if lines > SHOWN_WAT_LINES {
            text.push_str(&format!(
                "    ... ({} more lines)\n",
                lines - SHOWN_WAT_LINES
            ));
        }
    }
    text.push_str(&format!(
        "  reproduce: cargo run --release -p conformance -- show {}\n",
        scenario.path.display()
    ));
    text
}

/// Lines of a contract's text a divergence report shows.
const SHOWN_WAT_LINES: usize = 60;

/// The steps of `run` as rendered text (for `show`).
pub fn render_run(scenario: &Scenario, run: &EngineRun) -> String {
    let steps: &[StepOutcome] = &run.steps;
    render(scenario, steps, &[])
}

/// The scenario files under `paths`, sorted. A path named explicitly must
/// be a folder or a `.toml` file, and running nothing is an error: a
/// suite that found no scenario has checked nothing.
pub fn find_scenarios(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let invalid = |message: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, message);
    let mut files = Vec::new();
    let mut pending = Vec::new();
    for path in paths {
        if let Err(error) = std::fs::metadata(path) {
            // The system's reason: missing, a loop of links, no permission.
            return Err(std::io::Error::new(
                error.kind(),
                format!("{}: {error}", path.display()),
            ));
        }
        if !path.is_dir() && path.extension().is_none_or(|ext| ext != "toml") {
            return Err(invalid(format!(
                "{}: not a scenario file (.toml) or a folder of them",
                path.display()
            )));
        }
        pending.push(path.clone());
    }
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
        } else if path.extension().is_some_and(|ext| ext == "toml") {
            files.push(path);
        }
    }
    if files.is_empty() {
        let named: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(invalid(format!(
            "no scenario files (.toml) under {}",
            named.join(", ")
        )));
    }
    files.sort();
    Ok(files)
}
