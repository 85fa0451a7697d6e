//! Replaying a saved input, and describing what it runs.

use std::path::Path;

use crate::faulty::FaultChoice;
use crate::judge::{Judge, Target};
use crate::oracle::Verdict;
use conformance::engines::EngineSpec;

/// Replays a saved input: its verdict now, with `production` as a third
/// engine or without (for `releases`, `production` the newer release and
/// `against` the older).
///
/// A `scenario` input picks contracts by their place in the list of
/// `corpus/contracts/`, which a new contract shifts; so where the input has
/// a `finding.json` beside it with the `case` it ran (contract names and
/// calls), that case is replayed instead.
pub fn replay(
    target: Target,
    fault: Option<FaultChoice>,
    production: Option<&EngineSpec>,
    against: Option<&EngineSpec>,
    input: &Path,
) -> Result<Verdict, String> {
    let bytes = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let mut judge = Judge::with_against(target, fault, production, against)?;
    let recorded = input
        .parent()
        .map(|dir| dir.join("finding.json"))
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|text| serde_json::from_slice::<serde_json::Value>(&text).ok())
        .and_then(|json| json.get("case").cloned());
    match recorded {
        Some(case) if target == Target::Scenario => judge.recorded_case(&case),
        _ => judge.input(&bytes),
    }
}

/// What a saved input runs ([`Judge::describe`]), for `scenario`.
pub fn describe(target: Target, input: &Path) -> Result<Option<serde_json::Value>, String> {
    if target != Target::Scenario {
        return Ok(None);
    }
    let bytes = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    Ok(Judge::new(target, None, None)?.describe(&bytes))
}
