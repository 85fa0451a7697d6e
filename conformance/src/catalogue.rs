//! The deviation catalogue: every way production may differ from our
//! engines, reviewed, with the reason we differ. `corpus/deviations.toml`
//! holds it; scenario steps name the entries that explain what production
//! does at that step.
//!
//! ```toml
//! [[deviation]]
//! id = "stale-events"
//! category = "production-bug"
//! rule = "A failed top-level call's events belong to its own receipt"
//! production = "They appear, flagged reverted, in the next call's receipt"
//! ours = "They are in the failed call's receipt, flagged reverted"
//! why = "A receipt describes its own call; production leaks state across calls"
//! fields = ["events"]
//! engines = ["piecrust-0.32.2", "piecrust-0.31.0"]   # optional: all production engines
//! ```

use std::path::Path;

use runner_protocol::outcome::{CallResult, DeployResult};
use runner_protocol::{DeployFailure, FailureKind, TrapCode};
use serde::{Deserialize, Serialize};

use crate::play::StepOutcome;

/// Why we keep a behaviour production does not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Production is wrong: a bug we do not copy.
    ProductionBug,
    /// Production breaks the WebAssembly specification.
    WasmSpec,
    /// Production panics (its host thread dies).
    ProductionPanic,
    /// A rule both our engines need to compute the same thing.
    Determinism,
    /// A rule the project adds on purpose (stricter admission, bounds).
    ProjectRule,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::ProductionBug,
        Category::WasmSpec,
        Category::ProductionPanic,
        Category::Determinism,
        Category::ProjectRule,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::ProductionBug => "production-bug",
            Category::WasmSpec => "wasm-spec",
            Category::ProductionPanic => "production-panic",
            Category::Determinism => "determinism",
            Category::ProjectRule => "project-rule",
        }
    }
}

/// One reviewed difference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: String,
    pub category: Category,
    /// The ABI rule concerned.
    pub rule: String,
    /// What production does.
    pub production: String,
    /// What our engines do.
    pub ours: String,
    /// Why we differ.
    pub why: String,
    /// The outcome fields that may differ (prefixes of field paths such as
    /// `result`, `gas_spent`, `events`, `state`).
    pub fields: Vec<String>,
    /// The production engines it applies to; all of them when empty.
    #[serde(default)]
    pub engines: Vec<String>,
    /// How to recognize the step where the deviation starts from the two
    /// outcomes alone: what the fuzzer uses, where no scenario names the
    /// entry. Every scenario that names the entry shows it (a test).
    pub signature: Signature,
}

/// The outcomes of the step where a deviation starts: our class and
/// production's (patterns over [`step_class`]: exact, or a prefix ending
/// in `*`), and a condition over both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// Our outcome's class is one of these.
    pub ours: Vec<String>,
    /// Production's outcome's class is one of these (any when empty).
    #[serde(default)]
    pub production: Vec<String>,
    #[serde(default)]
    pub condition: Option<Condition>,
}

/// What must hold of the two outcomes besides their classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// A `memory.grow` returned -1 in our call (production grows up to its
    /// reservation).
    OursGrowRefused,
    /// Production's events are ours after one or more reverted events.
    ProductionStaleEvents,
    /// This step (ours trapped so, nested frames included) or an earlier
    /// one in the same production process failed with a trap raised
    /// through SIGSEGV (see `segv-trap-crash`).
    AfterSegvTrap,
    /// Our step failed with `memory_access`, or a frame of it (nested ones
    /// included) failed on a host import's memory range outside memory.
    OursMemoryRange,
    /// A nested frame of our step panicked with a message too long for
    /// its caller's argument buffer (over 65,532 bytes, see
    /// `panic-message-past-the-buffer`).
    OursLongNestedPanic,
}

/// What a signature may know of the steps before the one it judges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Production failed earlier in this process with a trap raised
    /// through SIGSEGV.
    pub segv_trap: bool,
}

impl History {
    /// The history after a step where ours did `ours` and production
    /// `production`. Production reports a trap while no gas remained as
    /// `out_of_gas` without the trap; ours, taking the same path, say which
    /// it was.
    pub fn after(self, ours: &StepOutcome, production: &StepOutcome) -> History {
        fn failure(step: &StepOutcome) -> Option<&runner_protocol::Failure> {
            match step {
                StepOutcome::Call { outcome, .. } => match &outcome.result {
                    CallResult::Failed(failure) => Some(failure),
                    CallResult::Output(_) => None,
                },
                StepOutcome::Deploy { outcome, .. } => match &outcome.result {
                    DeployResult::Failed(DeployFailure::InitFailed { failure }) => Some(failure),
                    _ => None,
                },
            }
        }
        let segv = |kind: &FailureKind| {
            *kind != FailureKind::HostPanic && crate::driver::process::leaves_process_broken(kind)
        };
        let production_segv = failure(production).is_some_and(|f| segv(&f.kind));
        let masked_segv = match (failure(ours), failure(production)) {
            (Some(mine), Some(theirs)) if theirs.kind == FailureKind::OutOfGas => {
                mine.masked.as_deref().is_some_and(segv)
            }
            _ => false,
        };
        History {
            segv_trap: self.segv_trap || production_segv || masked_segv,
        }
    }
}

/// Whether our outcome of a step shows a trap production raises through
/// SIGSEGV (a memory or table trap, a null indirect call, a stack
/// overflow): of the call itself, behind its `out_of_gas`, or of a nested
/// frame its caller survived.
pub fn segv_trapped(ours: &StepOutcome) -> bool {
    fn segv_code(code: &str) -> bool {
        matches!(
            code,
            "memory_out_of_bounds"
                | "table_out_of_bounds"
                | "indirect_call_to_null"
                | "stack_overflow"
                | "stack_exhausted"
        )
    }
    let top = top_failure(ours).is_some_and(|failure| {
        let kind = match (&failure.kind, failure.masked.as_deref()) {
            (FailureKind::OutOfGas, Some(masked)) => masked,
            (kind, _) => kind,
        };
        matches!(kind, FailureKind::Trap { .. })
            && crate::driver::process::leaves_process_broken(kind)
    });
    top || any_frame_failed(ours, |error| {
        error.get("kind").and_then(serde_json::Value::as_str) == Some("trap")
            && error
                .get("trap")
                .and_then(|trap| trap.get("kind"))
                .and_then(serde_json::Value::as_str)
                .is_some_and(segv_code)
    })
}

/// Whether our step met a host import's memory range outside memory: the
/// step failed with `memory_access`, or a frame of it (nested ones
/// included) failed on such a range (see `host-pointers-current-size`).
pub fn memory_range_failed(ours: &StepOutcome) -> bool {
    let top = top_failure(ours).is_some_and(|failure| {
        let kind = match (&failure.kind, failure.masked.as_deref()) {
            (FailureKind::OutOfGas, Some(masked)) => masked,
            (kind, _) => kind,
        };
        *kind == FailureKind::MemoryAccess
    });
    top || any_frame_failed(ours, |error| {
        error.get("kind").and_then(serde_json::Value::as_str) == Some("host")
            && error
                .get("error")
                .and_then(|host| host.get("error"))
                .and_then(serde_json::Value::as_str)
                == Some("memory_range")
    })
}

/// Whether a nested frame of our step (not the top-level one, whose
/// message goes to no caller) panicked with a message longer than the
/// 65,532 bytes the `[u32 length][message]` encoding leaves in a caller's
/// argument buffer.
pub fn long_nested_panic(ours: &StepOutcome) -> bool {
    const FITS: usize = vm::abi::ARGBUF_LEN - 4;
    let long_panic = |error: &serde_json::Value| {
        error.get("kind").and_then(serde_json::Value::as_str) == Some("panic")
            && error
                .get("message")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|message| message.len() > FITS)
    };
    let trace = match ours {
        StepOutcome::Call { outcome, .. } => outcome.trace.as_ref(),
        StepOutcome::Deploy { outcome, .. } => {
            outcome.init.as_ref().and_then(|init| init.trace.as_ref())
        }
    };
    trace
        .and_then(|tree| tree.get("children"))
        .and_then(serde_json::Value::as_array)
        .is_some_and(|children| {
            children
                .iter()
                .any(|child| frame_failed_within(child, &long_panic))
        })
}

/// Whether `tree` or a frame below it failed with an error `failed`
/// holds of.
fn frame_failed_within(
    tree: &serde_json::Value,
    failed: &dyn Fn(&serde_json::Value) -> bool,
) -> bool {
    let error = tree
        .get("outcome")
        .and_then(|outcome| outcome.get("failed"))
        .and_then(|failed| failed.get("error"));
    error.is_some_and(failed)
        || tree
            .get("children")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|children| {
                children
                    .iter()
                    .any(|child| frame_failed_within(child, failed))
            })
}

/// The failure that ended our step, if it failed.
fn top_failure(ours: &StepOutcome) -> Option<&runner_protocol::Failure> {
    match ours {
        StepOutcome::Call { outcome, .. } => match &outcome.result {
            CallResult::Failed(failure) => Some(failure),
            CallResult::Output(_) => None,
        },
        StepOutcome::Deploy { outcome, .. } => match &outcome.result {
            DeployResult::Failed(DeployFailure::InitFailed { failure }) => Some(failure),
            _ => None,
        },
    }
}

/// Whether a frame of our step's call tree (our engines' trace) failed
/// with an error `failed` holds of (the error as the trace writes it).
fn any_frame_failed(ours: &StepOutcome, failed: impl Fn(&serde_json::Value) -> bool) -> bool {
    let trace = match ours {
        StepOutcome::Call { outcome, .. } => outcome.trace.as_ref(),
        StepOutcome::Deploy { outcome, .. } => {
            outcome.init.as_ref().and_then(|init| init.trace.as_ref())
        }
    };
    trace.is_some_and(|tree| frame_failed_within(tree, &failed))
}

/// The class of a step's outcome a signature matches: `output`,
/// `failed:<kind>` (`failed:trap:<code>` for traps,
/// `failed:out_of_gas:<masked>` for another failure while no gas remained,
/// where the engine knows it, e.g. `failed:out_of_gas:trap:<code>`),
/// `deployed`,
/// `rejected[:<rule>]`, `instantiation_trap:<code>`, `init_failed:<kind>`,
/// `duplicate_id`, `gas_below_charge`, `host_panic`, `timeout`.
pub fn step_class(step: &StepOutcome) -> String {
    fn failure(kind: &FailureKind) -> String {
        match kind {
            FailureKind::Trap { code } => format!("trap:{}", code_name(code)),
            other => other.name().to_string(),
        }
    }
    fn code_name(code: &TrapCode) -> String {
        serde_json::to_value(code)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default()
    }
    match step {
        StepOutcome::Call { outcome, .. } => match &outcome.result {
            CallResult::Output(_) => "output".into(),
            CallResult::Failed(f) => match (&f.kind, f.masked.as_deref()) {
                (FailureKind::OutOfGas, Some(masked)) => {
                    format!("failed:out_of_gas:{}", failure(masked))
                }
                (kind, _) => format!("failed:{}", failure(kind)),
            },
        },
        StepOutcome::Deploy { outcome, .. } => match &outcome.result {
            DeployResult::Deployed(_) => "deployed".into(),
            DeployResult::Failed(DeployFailure::Rejected { rule, .. }) => match rule {
                Some(rule) => format!("rejected:{rule}"),
                None => "rejected".into(),
            },
            DeployResult::Failed(DeployFailure::InstantiationTrap { code, .. }) => {
                format!("instantiation_trap:{}", code_name(code))
            }
            DeployResult::Failed(DeployFailure::InitFailed { failure: f }) => {
                format!("init_failed:{}", failure(&f.kind))
            }
            DeployResult::Failed(other) => other.name().to_string(),
        },
    }
}

/// Whether a step class is a request that was not answered in time.
fn is_timeout(class: &str) -> bool {
    matches!(class, "failed:timeout" | "timeout" | "init_failed:timeout")
}

fn matches_any(patterns: &[String], class: &str) -> bool {
    patterns
        .iter()
        .any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => class.starts_with(prefix),
            None => class == pattern,
        })
}

impl Signature {
    /// Whether the step where ours did `ours` and production `production`,
    /// after `history`, shows this signature.
    pub fn matches(&self, ours: &StepOutcome, production: &StepOutcome, history: History) -> bool {
        if !matches_any(&self.ours, &step_class(ours)) {
            return false;
        }
        let theirs = step_class(production);
        if is_timeout(&theirs) {
            // A timeout says only that production took too long: an entry
            // explains one only by naming it, never by a wildcard or by
            // leaving production's side open.
            if !self.production.contains(&theirs) {
                return false;
            }
        } else if !self.production.is_empty() && !matches_any(&self.production, &theirs) {
            return false;
        }
        match self.condition {
            None => true,
            Some(Condition::AfterSegvTrap) => history.segv_trap || segv_trapped(ours),
            Some(Condition::OursMemoryRange) => memory_range_failed(ours),
            Some(Condition::OursLongNestedPanic) => long_nested_panic(ours),
            Some(Condition::OursGrowRefused) => match ours {
                StepOutcome::Call { outcome, .. } => outcome.grow_refused,
                StepOutcome::Deploy { outcome, .. } => {
                    outcome.init.as_ref().is_some_and(|init| init.grow_refused)
                }
            },
            Some(Condition::ProductionStaleEvents) => match (ours, production) {
                (StepOutcome::Call { outcome: a, .. }, StepOutcome::Call { outcome: b, .. }) => {
                    match (&a.events, &b.events) {
                        (Some(mine), Some(theirs)) if theirs.len() > mine.len() => {
                            let stale = theirs.len() - mine.len();
                            theirs[..stale].iter().all(|event| event.reverted)
                                && theirs[stale..] == mine[..]
                        }
                        _ => false,
                    }
                }
                _ => false,
            },
        }
    }
}

impl Entry {
    /// Whether the entry applies to the engine named `engine`.
    pub fn applies_to(&self, engine: &str) -> bool {
        self.engines.is_empty() || self.engines.iter().any(|e| e == engine)
    }

    /// Whether a difference in `field` is one this entry explains.
    pub fn covers(&self, field: &str) -> bool {
        self.fields.iter().any(|pattern| {
            pattern == "*"
                || field == pattern
                || field
                    .strip_prefix(pattern.as_str())
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    deviation: Vec<Entry>,
}

/// The catalogue.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    pub entries: Vec<Entry>,
}

/// Why the catalogue cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CatalogueError {
    pub path: String,
    pub message: String,
}

impl Catalogue {
    /// Loads and checks `path`: unique ids, at least one field each.
    pub fn load(path: &Path) -> Result<Self, CatalogueError> {
        let error = |message: String| CatalogueError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
        let file: File = toml::from_str(&text).map_err(|e| error(e.to_string()))?;
        let mut seen = std::collections::BTreeSet::new();
        for entry in &file.deviation {
            if !seen.insert(entry.id.clone()) {
                return Err(error(format!("deviation `{}` is listed twice", entry.id)));
            }
            if entry.fields.is_empty() {
                return Err(error(format!("deviation `{}` names no field", entry.id)));
            }
        }
        Ok(Catalogue {
            entries: file.deviation,
        })
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.id == id)
    }
}

impl Catalogue {
    /// The catalogue as a Markdown page (`docs/deviations.md` is this text),
    /// with the scenarios that show each entry, from `uses` (entry id,
    /// scenario name).
    pub fn markdown(&self, uses: &[(String, String)]) -> String {
        let mut out = String::from(
            "# Deviations from production\n\n\
             Generated by `cargo run -p conformance -- catalogue` from \
             `corpus/deviations.toml`; a test fails when this page is out of date.\n\n\
             Production (piecrust, inside the node's `dusk-vm`) defines the contract ABI. \
             Our engines follow it everywhere except in the entries below: where production \
             breaks the WebAssembly specification, is wrong in a way we do not copy, crashes, \
             or where the project adds a rule. A scenario step names the entries that explain \
             production's outcome there; any other difference fails the suite, and so does an \
             entry named where production does not differ.\n\n\
             The fuzzer explains a difference by an entry's signature: the outcome classes of \
             ours and production (a class ending in `*` matches every class it begins), and a \
             condition. A production request not answered in time (`failed:timeout`) matches \
             only an entry that names it: a wildcard or an open production side does not \
             cover it.\n",
        );
        for category in Category::ALL {
            let entries: Vec<&Entry> = self
                .entries
                .iter()
                .filter(|entry| entry.category == category)
                .collect();
            if entries.is_empty() {
                continue;
            }
            out.push_str(&format!("\n## {}\n", category.name()));
            for entry in entries {
                out.push_str(&format!("\n### `{}`\n\n", entry.id));
                out.push_str(&format!("- **Rule**: {}\n", entry.rule));
                out.push_str(&format!("- **Production**: {}\n", entry.production));
                out.push_str(&format!("- **Ours**: {}\n", entry.ours));
                out.push_str(&format!("- **Why**: {}\n", entry.why));
                out.push_str(&format!("- **Fields**: {}\n", entry.fields.join(", ")));
                let signature = &entry.signature;
                let mut shown = format!("ours {}", signature.ours.join(" | "));
                if !signature.production.is_empty() {
                    shown.push_str(&format!(
                        ", production {}",
                        signature.production.join(" | ")
                    ));
                }
                if let Some(condition) = signature.condition {
                    let condition = serde_json::to_value(condition)
                        .ok()
                        .and_then(|value| value.as_str().map(str::to_string))
                        .unwrap_or_default();
                    shown.push_str(&format!(", and {condition}"));
                }
                out.push_str(&format!("- **Signature**: {shown}\n"));
                if !entry.engines.is_empty() {
                    out.push_str(&format!("- **Engines**: {}\n", entry.engines.join(", ")));
                }
                let mut scenarios: Vec<&str> = uses
                    .iter()
                    .filter(|(id, _)| *id == entry.id)
                    .map(|(_, scenario)| scenario.as_str())
                    .collect();
                scenarios.sort();
                scenarios.dedup();
                out.push_str(&format!(
                    "- **Scenarios**: {}\n",
                    scenarios
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runner_protocol::{Bytes, CallOutcome};

    fn entry(fields: &[&str]) -> Entry {
        Entry {
            id: "x".into(),
            category: Category::ProductionBug,
            rule: String::new(),
            production: String::new(),
            ours: String::new(),
            why: String::new(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
            engines: vec!["piecrust-0.31.0".into()],
            signature: Signature {
                ours: vec!["failed:*".into()],
                production: Vec::new(),
                condition: None,
            },
        }
    }

    #[test]
    fn fields_match_as_path_prefixes() {
        let entry = entry(&["events", "result"]);
        assert!(entry.covers("events"));
        assert!(entry.covers("events[3]"));
        assert!(entry.covers("result.failure"));
        assert!(!entry.covers("eventsx"));
        assert!(!entry.covers("gas_spent"));
        assert!(!entry.covers("state.01020304"));
    }

    fn call(kind: Option<FailureKind>) -> StepOutcome {
        StepOutcome::Call {
            contract: String::new(),
            function: "f".into(),
            arg: Bytes::default(),
            outcome: CallOutcome {
                result: match kind {
                    Some(kind) => CallResult::Failed(runner_protocol::Failure {
                        kind,
                        detail: String::new(),
                        masked: None,
                    }),
                    None => CallResult::Output(Bytes::default()),
                },
                gas_limit: 10,
                gas_spent: None,
                events: None,
                feed: Vec::new(),
                debug: Vec::new(),
                omitted: Default::default(),
                frames: None,
                state: Default::default(),
                trace: None,
                grow_refused: false,
            },
        }
    }

    #[test]
    fn a_timeout_is_explained_only_where_an_entry_names_it() {
        let ours = call(Some(FailureKind::MemoryAccess));
        let timeout = call(Some(FailureKind::Timeout));
        let trap = call(Some(FailureKind::Trap {
            code: TrapCode::Unreachable,
        }));
        let open = entry(&["result"]).signature;
        assert!(open.matches(&ours, &trap, History::default()));
        assert!(!open.matches(&ours, &timeout, History::default()));
        let wildcard = Signature {
            production: vec!["output".into(), "failed:*".into()],
            ..open.clone()
        };
        assert!(wildcard.matches(&ours, &trap, History::default()));
        assert!(wildcard.matches(&ours, &call(None), History::default()));
        assert!(!wildcard.matches(&ours, &timeout, History::default()));
        let named = Signature {
            production: vec!["failed:*".into(), "failed:timeout".into()],
            ..open
        };
        assert!(named.matches(&ours, &timeout, History::default()));
    }

    /// A call whose trace has a nested frame that panicked with `len`
    /// bytes (at `depth` below the top-level frame).
    fn nested_panic(len: usize, depth: usize) -> StepOutcome {
        let mut tree = serde_json::json!({
            "outcome": {"failed": {"error": {"kind": "panic", "message": "a".repeat(len)}}},
            "children": [],
        });
        for _ in 0..depth {
            tree = serde_json::json!({"outcome": {"output": ""}, "children": [tree]});
        }
        let mut step = call(None);
        if let StepOutcome::Call { outcome, .. } = &mut step {
            outcome.trace = Some(tree);
        }
        step
    }

    #[test]
    fn a_long_panic_explains_only_below_the_top_level_frame() {
        assert!(long_nested_panic(&nested_panic(65_533, 1)));
        assert!(long_nested_panic(&nested_panic(65_536, 3)));
        assert!(!long_nested_panic(&nested_panic(65_532, 1)));
        // The top-level frame's message goes to no caller's buffer.
        assert!(!long_nested_panic(&nested_panic(65_536, 0)));
        assert!(!long_nested_panic(&call(None)));
    }

    #[test]
    fn engines_scope_an_entry() {
        let entry = entry(&["*"]);
        assert!(entry.covers("anything.at[all]"));
        assert!(entry.applies_to("piecrust-0.31.0"));
        assert!(!entry.applies_to("piecrust-0.32.2"));
    }
}
