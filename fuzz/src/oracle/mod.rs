//! Oracles: each runs an input and returns a typed verdict, judged by the
//! one comparison of the runner protocol.
//!
//! - [`differential`] and [`scenario`] ([`lockstep`]): a case's deploys and
//!   calls on both our engines and production, in lock step;
//! - [`gas`]: every call on a fresh instance at several gas limits;
//! - [`admission`]: arbitrary bytes, accepted and refused alike;
//! - [`releases`]: a case on two production releases.

mod admission;
mod gas;
mod lockstep;
mod releases;

pub use admission::{admission, admission_with};
pub use gas::{gas, gas_with};
pub use lockstep::{differential, scenario};
pub use releases::releases;

use std::collections::BTreeMap;

use runner_protocol::Difference;
use serde::Serialize;
use vm::DeployError;
use vm::failure::EngineError;

use crate::phases::PhaseTimes;
use conformance::driver::process::{RunnerStats, RunnerTime};

/// Why an input was not judged. Every cause is counted by campaigns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscardCause {
    /// The bytes ran out before a case was generated.
    NotGenerated,
    /// Admission rejected the case's first contract on both engines.
    NotAContract,
    /// The gas oracle cannot judge stack exhaustion: native wasmtime has no
    /// logical stack limit.
    StackExhausted,
    /// The contract has bulk memory operations, `memory.grow` or accesses
    /// past its declared maximum, where wasmtime 48's native fuel differs
    /// from production's (`vm::oracle::applicable`); both engines were
    /// still compared with each other.
    NativeFuelInapplicable,
    /// The case needed more instances (or a module more tables) than the
    /// fuzz engines' wasmtime instance pool holds ([`crate::engines::OurEngines::new`]): a
    /// limit of this process, which the other engine does not have.
    InstancePoolExhausted,
}

/// Whether an engine error is the instance pool running out.
pub(crate) fn pool_exhausted(error: &EngineError) -> bool {
    matches!(error, EngineError::InstancePoolExhausted { .. })
}

pub(crate) fn deploy_pool_exhausted(result: &Result<vm::session::Deployment, DeployError>) -> bool {
    matches!(result, Err(DeployError::Engine(error)) if pool_exhausted(error))
}

pub(crate) fn call_pool_exhausted(result: &Result<vm::CallReceipt, vm::session::VmError>) -> bool {
    matches!(result, Err(vm::session::VmError::Engine(error)) if pool_exhausted(error))
}

/// A divergence: what differs, and a key that says whether a smaller input
/// shows the *same* divergence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    pub oracle: &'static str,
    /// The call (0-based, deploys first) where the outcomes differ.
    pub step: String,
    /// The differing fields with both values.
    pub fields: Vec<(String, String, String)>,
    /// The case contract the diverging step deployed or called.
    pub contract: Option<usize>,
}

impl Divergence {
    /// Identity of the divergence for minimization: the step and the field
    /// names, not the values.
    pub fn key(&self) -> String {
        let fields: Vec<&str> = self
            .fields
            .iter()
            .map(|(field, _, _)| field.as_str())
            .collect();
        format!("{}:{}:{}", self.oracle, self.step, fields.join(","))
    }

    /// What kind of difference this is, for telling a new finding from
    /// another case of one already saved: the oracle, the fields that
    /// differ, and for the result fields the outcome on each side without
    /// its detail (`failed: host_panic`), not which step or the values.
    pub fn signature(&self) -> String {
        let mut fields: Vec<String> = self
            .fields
            .iter()
            .map(|(field, left, right)| {
                // A field may be named after the engines compared
                // ("piecrust-0.31.0 -> piecrust-0.32.2: result.failure").
                let (engines, name) = match field.rsplit_once(": ") {
                    Some((engines, name)) => (format!("{engines}: "), name),
                    None => (String::new(), field.as_str()),
                };
                if name.starts_with("result") {
                    let kind =
                        |value: &str| value.split(" (").next().unwrap_or_default().to_owned();
                    format!("{engines}{name}={}/{}", kind(left), kind(right))
                } else {
                    format!("{engines}{}", name.split('.').next().unwrap_or_default())
                }
            })
            .collect();
        fields.sort();
        fields.dedup();
        format!("{}:{}", self.oracle, fields.join(","))
    }

    /// [`Divergence::key`] for people: at most the first six fields.
    pub fn summary(&self) -> String {
        const SHOWN: usize = 6;
        let mut fields: Vec<&str> = self
            .fields
            .iter()
            .take(SHOWN)
            .map(|(field, _, _)| field.as_str())
            .collect();
        let more = self.fields.len().saturating_sub(SHOWN);
        let more = format!("and {more} more");
        if self.fields.len() > SHOWN {
            fields.push(&more);
        }
        format!("{}:{}:{}", self.oracle, self.step, fields.join(","))
    }
}

/// What an oracle concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Both sides did the same (succeeded, or failed the same way).
    Agree,
    /// Our engines agreed; production differed at a step as the catalogue
    /// entry `deviation` explains, and was not compared after it;
    /// `production_panicked` when production's side of that step was a
    /// host panic (a crash of its process included).
    Explained {
        deviation: String,
        production_panicked: bool,
    },
    Diverge(Divergence),
    Discard(DiscardCause),
}

/// A divergence from the one comparison's differences, if there are any.
pub(crate) fn divergence(
    oracle: &'static str,
    step: String,
    differences: Vec<Difference>,
) -> Option<Divergence> {
    (!differences.is_empty()).then(|| Divergence {
        oracle,
        step,
        fields: differences
            .into_iter()
            .map(|d| (d.field, d.left, d.right))
            .collect(),
        contract: None,
    })
}

/// An engine error: a VM bug, never equal to anything.
pub(crate) fn engine_error(
    oracle: &'static str,
    step: String,
    contract: usize,
    error: String,
) -> Verdict {
    Verdict::Diverge(Divergence {
        oracle,
        step,
        fields: vec![("engine error".into(), error.clone(), error)],
        contract: Some(contract),
    })
}

/// A failure of production's runner (not an outcome): a finding, so that
/// its input is kept.
pub(crate) fn runner_failure(
    oracle: &'static str,
    step: String,
    contract: usize,
    name: &str,
    error: String,
) -> Verdict {
    Verdict::Diverge(Divergence {
        oracle,
        step,
        fields: vec![(format!("{name}: runner"), String::new(), error)],
        contract: Some(contract),
    })
}

/// The host data of a differential case's sessions, so that generated `hd`
/// calls find something.
pub(crate) const CASE_HOST_DATA: &[(&str, &[u8])] = &[("", &[1, 2, 3])];

/// A difference from production nothing explains.
pub(crate) fn production_divergence(
    oracle: &'static str,
    step: &str,
    name: &str,
    differences: Vec<Difference>,
) -> Verdict {
    let detailed = |value: String, detail: String| {
        if detail.is_empty() {
            value
        } else {
            format!("{value} ({detail})")
        }
    };
    Verdict::Diverge(Divergence {
        oracle,
        step: step.to_string(),
        fields: differences
            .into_iter()
            .map(|d| {
                (
                    format!("{name}: {}", d.field),
                    detailed(d.left, d.left_detail),
                    detailed(d.right, d.right_detail),
                )
            })
            .collect(),
        contract: Some(0),
    })
}

/// Counts of verdicts, by kind and discard cause.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Tally {
    pub executions: u64,
    pub agreed: u64,
    pub diverged: u64,
    pub discarded: BTreeMap<DiscardCause, u64>,
    /// Cases where production differed as a catalogue entry explains, by
    /// entry (counted in `agreed` too: our engines agreed).
    pub explained: BTreeMap<String, u64>,
    /// Of those, the cases where production panicked (or its process
    /// crashed), by entry.
    pub explained_host_panics: BTreeMap<String, u64>,
    /// What befell the production runners (minimization's runs included).
    pub runners: RunnerStats,
    /// Where the production runners' time went.
    pub runner_time: RunnerTime,
    /// Where our side's time went.
    pub phases: PhaseTimes,
}

impl Tally {
    pub fn record(&mut self, verdict: &Verdict) {
        self.executions += 1;
        match verdict {
            Verdict::Agree => self.agreed += 1,
            Verdict::Explained {
                deviation,
                production_panicked,
            } => {
                self.agreed += 1;
                *self.explained.entry(deviation.clone()).or_default() += 1;
                if *production_panicked {
                    *self
                        .explained_host_panics
                        .entry(deviation.clone())
                        .or_default() += 1;
                }
            }
            Verdict::Diverge(_) => self.diverged += 1,
            Verdict::Discard(cause) => *self.discarded.entry(*cause).or_default() += 1,
        }
    }

    pub fn discard_rate(&self) -> f64 {
        let discarded: u64 = self.discarded.values().sum();
        if self.executions == 0 {
            0.0
        } else {
            discarded as f64 / self.executions as f64
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        self.executions += other.executions;
        self.agreed += other.agreed;
        self.diverged += other.diverged;
        for (cause, count) in &other.discarded {
            *self.discarded.entry(*cause).or_default() += count;
        }
        for (deviation, count) in &other.explained {
            *self.explained.entry(deviation.clone()).or_default() += count;
        }
        for (deviation, count) in &other.explained_host_panics {
            *self
                .explained_host_panics
                .entry(deviation.clone())
                .or_default() += count;
        }
        self.runners.merge(&other.runners);
        self.runner_time.merge(&other.runner_time);
        self.phases.merge(&other.phases);
    }
}

#[cfg(test)]
mod signature_tests {
    use super::Divergence;

    fn divergence(step: &str, fields: &[(&str, &str, &str)]) -> Divergence {
        Divergence {
            oracle: "releases",
            step: step.into(),
            fields: fields
                .iter()
                .map(|(f, l, r)| (f.to_string(), l.to_string(), r.to_string()))
                .collect(),
            contract: Some(0),
        }
    }

    #[test]
    fn the_same_kind_of_difference_at_another_step_has_one_signature() {
        let first = divergence(
            "call 3",
            &[
                (
                    "result.failure",
                    "failed: host_panic (index 65537)",
                    "failed: memory_access (offset 0)",
                ),
                (
                    "state.9cc49a16",
                    "131072 bytes, digest 01",
                    "131072 bytes, digest 02",
                ),
            ],
        );
        let again = divergence(
            "call 7",
            &[
                (
                    "state.12345678",
                    "65536 bytes, digest 03",
                    "65536 bytes, digest 04",
                ),
                (
                    "result.failure",
                    "failed: host_panic (index 70000)",
                    "failed: memory_access (offset 9)",
                ),
            ],
        );
        assert_eq!(first.signature(), again.signature());
        assert_eq!(
            first.signature(),
            "releases:result.failure=failed: host_panic/failed: memory_access,state"
        );
        let other = divergence(
            "call 3",
            &[(
                "result.failure",
                "failed: host_panic (x)",
                "failed: out_of_gas (y)",
            )],
        );
        assert_ne!(first.signature(), other.signature());
        let named = divergence(
            "call 1",
            &[(
                "piecrust-0.31.0 -> piecrust-0.32.2: state.00000000",
                "1 bytes, digest 01",
                "1 bytes, digest 02",
            )],
        );
        assert_eq!(
            named.signature(),
            "releases:piecrust-0.31.0 -> piecrust-0.32.2: state"
        );
    }
}
