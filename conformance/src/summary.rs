//! The summary of a run over many scenarios: scenarios by result, steps per
//! engine by how they compare with the reference, and the catalogue entries
//! that explained production's differences. What `conformance run` prints
//! last, and the `summary` of its JSON report.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::catalogue::{Catalogue, Category};
use crate::engines::EngineSpec;
use crate::judge;
use crate::suite::ScenarioReport;
pub use crate::suite::ScenarioResult;

/// Per-engine counts of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EngineTally {
    pub engine: String,
    /// Steps the engine served.
    pub steps: usize,
    /// Steps identical to the reference.
    pub agreeing: usize,
    /// Steps that differ only as catalogue entries explain.
    pub explained: usize,
    /// Steps with a difference nothing explains.
    pub diverging: usize,
    /// Scenarios not run on the engine, because they need what it lacks
    /// (`EngineRun::not_applicable`); their steps are in no count above.
    pub not_applicable: usize,
}

/// What a run counted so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub scenarios: usize,
    pub steps: usize,
    pub agreeing: usize,
    pub diverging: usize,
    pub snapshot_mismatches: usize,
    /// Scenarios nothing was compared in ([`ScenarioResult::NotCompared`]).
    pub not_compared: usize,
    pub broken: usize,
    pub passed: usize,
    pub engines: Vec<EngineTally>,
    /// Catalogue entries that explained a step, with how many steps.
    pub deviations_seen: BTreeMap<String, usize>,
}

impl RunSummary {
    /// An empty summary of a run on `engines`.
    pub fn new(engines: &[EngineSpec]) -> Self {
        RunSummary {
            engines: engines
                .iter()
                .map(|engine| EngineTally {
                    engine: engine.name(),
                    ..EngineTally::default()
                })
                .collect(),
            ..RunSummary::default()
        }
    }

    /// Counts a scenario file that did not load: broken, failed.
    pub fn unreadable(&mut self) {
        self.scenarios += 1;
        self.broken += 1;
    }

    /// Counts a scenario's report; `passed` is whether it passed under the
    /// run's snapshot policy.
    pub fn record(&mut self, report: &ScenarioReport, passed: bool) -> ScenarioResult {
        self.scenarios += 1;
        self.steps += report.steps;
        self.tally_steps(report);
        for deviation in &report.judgement.deviations {
            *self
                .deviations_seen
                .entry(deviation.id.clone())
                .or_default() += 1;
        }
        if passed {
            self.passed += 1;
        }
        let result = report.result();
        match result {
            ScenarioResult::Broken => self.broken += 1,
            ScenarioResult::Diverged => self.diverging += 1,
            ScenarioResult::NotCompared => self.not_compared += 1,
            ScenarioResult::Agreed => self.agreeing += 1,
            ScenarioResult::SnapshotMismatch => {
                self.agreeing += 1;
                self.snapshot_mismatches += 1;
            }
        }
        result
    }

    /// Each engine's steps: the reference's agree with themselves; the
    /// others' diverge, are explained, or agree.
    fn tally_steps(&mut self, report: &ScenarioReport) {
        let reference = judge::reference(&report.runs);
        for (index, run) in report.runs.iter().enumerate() {
            let Some(tally) = self.engines.get_mut(index) else {
                continue;
            };
            if run.not_applicable.is_some() {
                tally.not_applicable += 1;
                continue;
            }
            tally.steps += run.steps.len();
            if Some(index) == reference {
                tally.agreeing += run.steps.len();
                continue;
            }
            for step in 1..=run.steps.len() {
                let diverges = report
                    .judgement
                    .divergences
                    .iter()
                    .any(|d| d.step == step && d.engine == run.engine);
                let explained = report
                    .judgement
                    .deviations
                    .iter()
                    .any(|d| d.step == step && d.engine == run.baseline);
                if diverges {
                    tally.diverging += 1;
                } else if explained {
                    tally.explained += 1;
                } else {
                    tally.agreeing += 1;
                }
            }
        }
    }

    /// Scenarios that did not pass.
    pub fn failed(&self) -> usize {
        self.scenarios - self.passed
    }

    /// Catalogue entries seen, by category.
    fn seen_by_category(&self, catalogue: &Catalogue) -> BTreeMap<Category, usize> {
        let mut by_category = BTreeMap::new();
        for id in self.deviations_seen.keys() {
            if let Some(entry) = catalogue.get(id) {
                *by_category.entry(entry.category).or_default() += 1;
            }
        }
        by_category
    }

    /// The summary as `conformance run` prints it.
    pub fn render(&self, catalogue: &Catalogue, elapsed: Duration) -> String {
        let names: Vec<&str> = self.engines.iter().map(|t| t.engine.as_str()).collect();
        let mut text = format!(
            "{} scenarios, {} steps on {}: {} agree, {} diverge, {} snapshot mismatches, {} broken ({elapsed:.2?})\n",
            self.scenarios,
            self.steps,
            names.join(", "),
            self.agreeing,
            self.diverging,
            self.snapshot_mismatches,
            self.broken,
        );
        if self.not_compared > 0 {
            text.push_str(&format!(
                "  {} scenarios not compared: fewer than two engines played them and no snapshot was checked\n",
                self.not_compared
            ));
        }
        for tally in &self.engines {
            text.push_str(&format!(
                "  {:<16} {} steps: {} agree, {} explained by the catalogue, {} diverge",
                tally.engine, tally.steps, tally.agreeing, tally.explained, tally.diverging
            ));
            if tally.not_applicable > 0 {
                text.push_str(&format!(
                    "; {} scenarios not applicable (they need host queries or node deploys the engine lacks)",
                    tally.not_applicable
                ));
            }
            text.push('\n');
        }
        if !self.deviations_seen.is_empty() {
            let categories: Vec<String> = self
                .seen_by_category(catalogue)
                .iter()
                .map(|(category, count)| format!("{} {count}", category.name()))
                .collect();
            text.push_str(&format!(
                "  deviations seen: {} of {} catalogue entries ({})\n",
                self.deviations_seen.len(),
                catalogue.entries.len(),
                categories.join(", ")
            ));
        }
        text.push_str(&format!(
            "conformance: {} passed, {} failed\n",
            self.passed,
            self.failed()
        ));
        text
    }

    /// The summary in the JSON report of `conformance run`.
    pub fn to_json(&self, catalogue: &Catalogue, elapsed: Duration) -> serde_json::Value {
        serde_json::json!({
            "scenarios": self.scenarios,
            "steps": self.steps,
            "agreeing": self.agreeing,
            "diverging": self.diverging,
            "snapshot_mismatches": self.snapshot_mismatches,
            "not_compared": self.not_compared,
            "broken": self.broken,
            "passed": self.passed,
            "failed": self.failed(),
            "engines": self.engines,
            "deviations_seen": self.deviations_seen,
            "catalogue_entries": catalogue.entries.len(),
            "seconds": elapsed.as_secs_f64(),
        })
    }
}
