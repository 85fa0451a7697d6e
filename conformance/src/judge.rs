//! Judging a scenario's runs: every engine's steps against the reference
//! (the first of our engines in the run), by the one comparison of
//! [`runner_protocol::compare`]. Our engines must agree exactly; production
//! may differ only where a catalogue entry named on the step explains the
//! field, and an entry named but not seen is a failure too (production
//! changed, or the entry is wrong).

use runner_protocol::{Difference, compare_calls, compare_deploys};
use serde::Serialize;

use crate::catalogue::{Catalogue, History, step_class};
use crate::play::{EngineRun, StepOutcome};
use crate::scenario::Scenario;

/// A difference nothing explains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// 1-based step number.
    pub step: usize,
    pub line: usize,
    pub reference: String,
    pub engine: String,
    pub field: String,
    /// The reference engine's value.
    pub expected: String,
    /// This engine's value.
    pub found: String,
}

/// A difference a catalogue entry explains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deviation {
    pub step: usize,
    pub engine: String,
    pub id: String,
    pub field: String,
    pub expected: String,
    pub found: String,
}

/// A catalogue entry a step names for an engine that showed no difference
/// it explains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unseen {
    pub step: usize,
    pub line: usize,
    pub engine: String,
    pub id: String,
}

/// The first step of a scenario that names a catalogue entry, where the
/// outcomes do not show the entry's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignatureMismatch {
    pub step: usize,
    pub line: usize,
    pub engine: String,
    pub id: String,
    /// Our outcome's class and production's.
    pub ours: String,
    pub production: String,
}

/// What the comparison of a scenario's runs found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Judgement {
    pub divergences: Vec<Divergence>,
    pub deviations: Vec<Deviation>,
    pub unseen: Vec<Unseen>,
    pub signatures: Vec<SignatureMismatch>,
}

impl Judgement {
    /// Whether nothing failed.
    pub fn clean(&self) -> bool {
        self.divergences.is_empty() && self.unseen.is_empty() && self.signatures.is_empty()
    }
}

/// The index of the reference run: the first of our engines, else the
/// first; never a run the scenario did not apply to.
pub fn reference(runs: &[EngineRun]) -> Option<usize> {
    let applicable = |run: &&EngineRun| run.not_applicable.is_none();
    runs.iter()
        .position(|run| !run.production && applicable(&run))
        .or_else(|| runs.iter().position(|run| applicable(&run)))
}

/// Every difference between two outcomes of the same step.
pub fn step_differences(left: &StepOutcome, right: &StepOutcome) -> Vec<Difference> {
    match (left, right) {
        (StepOutcome::Deploy { outcome: a, .. }, StepOutcome::Deploy { outcome: b, .. }) => {
            compare_deploys(a, b)
        }
        (StepOutcome::Call { outcome: a, .. }, StepOutcome::Call { outcome: b, .. }) => {
            compare_calls(a, b)
        }
        _ => vec![Difference {
            field: "step".into(),
            left: "a different kind of step".into(),
            right: "a different kind of step".into(),
            left_detail: String::new(),
            right_detail: String::new(),
        }],
    }
}

/// A value with the engine's own words, for people.
fn with_detail(value: String, detail: &str) -> String {
    if detail.is_empty() {
        value
    } else {
        format!("{value} ({detail})")
    }
}

/// Compares every run with the reference.
pub fn judge(scenario: &Scenario, runs: &[EngineRun], catalogue: &Catalogue) -> Judgement {
    let mut judgement = Judgement::default();
    let Some(reference) = reference(runs) else {
        return judgement;
    };
    let base = &runs[reference];
    for (index, run) in runs.iter().enumerate() {
        if index == reference || run.not_applicable.is_some() {
            continue;
        }
        let mut named = std::collections::BTreeSet::new();
        let mut history = History::default();
        for (step_index, (expected, found)) in base.steps.iter().zip(&run.steps).enumerate() {
            let step = &scenario.steps[step_index];
            let declared: Vec<&crate::catalogue::Entry> = if run.production {
                step.deviations
                    .iter()
                    .filter_map(|id| catalogue.get(id))
                    .filter(|entry| entry.applies_to(&run.baseline))
                    .collect()
            } else {
                Vec::new()
            };
            for entry in &declared {
                if named.insert(entry.id.clone())
                    && !entry.signature.matches(expected, found, history)
                {
                    judgement.signatures.push(SignatureMismatch {
                        step: step_index + 1,
                        line: step.line,
                        engine: run.engine.clone(),
                        id: entry.id.clone(),
                        ours: step_class(expected),
                        production: step_class(found),
                    });
                }
            }
            let mut explained = vec![false; declared.len()];
            for difference in step_differences(expected, found) {
                match declared
                    .iter()
                    .position(|entry| entry.covers(&difference.field))
                {
                    Some(position) => {
                        explained[position] = true;
                        judgement.deviations.push(Deviation {
                            step: step_index + 1,
                            engine: run.baseline.clone(),
                            id: declared[position].id.clone(),
                            field: difference.field,
                            expected: difference.left,
                            found: difference.right,
                        });
                    }
                    None => judgement.divergences.push(Divergence {
                        step: step_index + 1,
                        line: step.line,
                        reference: base.engine.clone(),
                        engine: run.engine.clone(),
                        field: difference.field,
                        expected: with_detail(difference.left, &difference.left_detail),
                        found: with_detail(difference.right, &difference.right_detail),
                    }),
                }
            }
            for (entry, seen) in declared.iter().zip(explained) {
                if !seen {
                    judgement.unseen.push(Unseen {
                        step: step_index + 1,
                        line: step.line,
                        engine: run.engine.clone(),
                        id: entry.id.clone(),
                    });
                }
            }
            history = history.after(expected, found);
        }
    }
    judgement
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use runner_protocol::outcome::CallResult;
    use runner_protocol::{Bytes, CallOutcome};

    use super::*;
    use crate::catalogue::{Category, Entry};
    use crate::scenario::{Step, StepKind};

    fn scenario(deviations: &[&str]) -> Scenario {
        Scenario {
            path: PathBuf::from("t.toml"),
            name: "t.toml".into(),
            description: String::new(),
            contracts: Vec::new(),
            host_data: BTreeMap::new(),
            feeder: false,
            chain: None,
            builtin_queries: true,
            node_queries: false,
            step_timeout: None,
            steps: vec![Step {
                line: 3,
                kind: StepKind::Call {
                    contract: 0,
                    function: "f".into(),
                    arg: Vec::new(),
                    gas: 10,
                },
                deviations: deviations.iter().map(|d| d.to_string()).collect(),
                block: None,
                arg_text: None,
                returns: None,
            }],
        }
    }

    fn run(engine: &str, production: bool, spent: u64) -> EngineRun {
        EngineRun {
            engine: engine.into(),
            baseline: engine.into(),
            production,
            steps: vec![StepOutcome::Call {
                contract: "a".into(),
                function: "f".into(),
                arg: Bytes::default(),
                outcome: CallOutcome {
                    result: CallResult::Output(Bytes::default()),
                    gas_limit: 10,
                    gas_spent: Some(spent),
                    events: Some(Vec::new()),
                    feed: Vec::new(),
                    debug: Vec::new(),
                    omitted: Default::default(),
                    frames: None,
                    state: BTreeMap::new(),
                    trace: None,
                    grow_refused: false,
                },
            }],
            failure: None,
            not_applicable: None,
        }
    }

    fn catalogue(engines: &[&str]) -> Catalogue {
        Catalogue {
            entries: vec![Entry {
                id: "gas".into(),
                category: Category::ProductionBug,
                rule: String::new(),
                production: String::new(),
                ours: String::new(),
                why: String::new(),
                fields: vec!["gas_spent".into()],
                engines: engines.iter().map(|e| e.to_string()).collect(),
                signature: crate::catalogue::Signature {
                    ours: vec!["output".into()],
                    production: Vec::new(),
                    condition: None,
                },
            }],
        }
    }

    #[test]
    fn our_engines_must_agree_exactly_whatever_the_step_names() {
        let runs = [run("wasmtime", false, 5), run("wasmi", false, 6)];
        let judgement = judge(&scenario(&["gas"]), &runs, &catalogue(&[]));
        assert_eq!(judgement.divergences.len(), 1);
        assert_eq!(judgement.divergences[0].field, "gas_spent");
        assert_eq!(judgement.divergences[0].engine, "wasmi");
        assert!(judgement.deviations.is_empty() && judgement.unseen.is_empty());
    }

    #[test]
    fn a_named_entry_explains_production_in_its_fields_only() {
        let runs = [run("wasmtime", false, 5), run("piecrust-0.32.2", true, 6)];
        let judgement = judge(&scenario(&["gas"]), &runs, &catalogue(&[]));
        assert!(judgement.divergences.is_empty());
        assert_eq!(judgement.deviations.len(), 1);
        assert_eq!(judgement.deviations[0].found, "6");
        // Without the name on the step, the same difference diverges.
        let judgement = judge(&scenario(&[]), &runs, &catalogue(&[]));
        assert_eq!(judgement.divergences.len(), 1);
    }

    #[test]
    fn an_entry_named_where_production_agrees_is_unseen() {
        let runs = [run("wasmtime", false, 5), run("piecrust-0.32.2", true, 5)];
        let judgement = judge(&scenario(&["gas"]), &runs, &catalogue(&[]));
        assert_eq!(
            judgement.unseen,
            vec![Unseen {
                step: 1,
                line: 3,
                engine: "piecrust-0.32.2".into(),
                id: "gas".into()
            }]
        );
    }

    #[test]
    fn an_entry_scoped_to_another_release_explains_nothing() {
        let runs = [run("wasmtime", false, 5), run("piecrust-0.32.2", true, 6)];
        let judgement = judge(&scenario(&["gas"]), &runs, &catalogue(&["piecrust-0.31.0"]));
        assert_eq!(judgement.divergences.len(), 1);
        assert!(judgement.unseen.is_empty());
    }
}
