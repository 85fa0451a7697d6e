//! Saving a finding: its input, the divergence, the diverging contract
//! minimized while it shows the same divergence, its WAT and how to replay.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::campaign::Settings;
use crate::judge::{Judge, Target};
use crate::oracle::{Divergence, Verdict};
use conformance::engines::EngineSpec;

/// A saved finding.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub directory: PathBuf,
    pub divergence: Divergence,
    pub seconds_to_find: f64,
    pub input_size: usize,
    pub minimized_size: Option<u64>,
}

/// Saves a finding: the raw input, the divergence, the contract of the
/// diverging step minimized while it shows the same divergence, its WAT,
/// and how to replay.
pub(crate) fn save(
    settings: &Settings,
    judge: &mut Judge,
    input: &[u8],
    divergence: Divergence,
    elapsed: Duration,
) -> Result<Finding, String> {
    let name = format!(
        "{}-{}",
        serde_json::to_value(settings.target)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        &blake3::hash(input).to_hex()[..12]
    );
    let directory = settings.findings_dir.join(name);
    std::fs::create_dir_all(&directory).map_err(|e| e.to_string())?;
    let write = |file: &str, bytes: &[u8]| {
        std::fs::write(directory.join(file), bytes).map_err(|e| format!("{file}: {e}"))
    };
    write("input.bin", input)?;
    let minimized = minimize(judge, input, &divergence);
    if let Some(wasm) = &minimized {
        write("contract.wasm", wasm)?;
        write(
            "contract.wat",
            wasmprinter::print_bytes(wasm)
                .unwrap_or_default()
                .as_bytes(),
        )?;
    }
    let fault = settings
        .fault
        .map(|f| {
            format!(
                " --fault {}",
                serde_json::to_value(f)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let target = serde_json::to_value(settings.target)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let production = settings
        .production
        .as_ref()
        .map_or_else(|| "none".to_string(), EngineSpec::name);
    // The older release of a release-to-release finding.
    let against = match (settings.target, &settings.against) {
        (Target::Releases, Some(spec)) => Some(spec.name()),
        _ => None,
    };
    let against_flag = against
        .as_ref()
        .map(|name| format!(" --against {name}"))
        .unwrap_or_default();
    let repro = format!(
        "cargo run --release -p fuzz -- replay --target {target}{fault} --production {production}{against_flag} {}\n",
        directory.join("input.bin").display()
    );
    write("repro.txt", repro.as_bytes())?;
    let finding = Finding {
        directory: directory.clone(),
        divergence,
        seconds_to_find: elapsed.as_secs_f64(),
        input_size: input.len(),
        minimized_size: minimized.as_ref().map(|w| w.len() as u64),
    };
    let mut json = serde_json::json!({
        "target": target,
        "fault": settings.fault,
        "production": production,
        "finding": finding,
    });
    if let Some(against) = against {
        json["against"] = against.into();
    }
    if let Some(case) = judge.describe(input) {
        json["case"] = case;
    }
    write(
        "finding.json",
        serde_json::to_string_pretty(&json)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    Ok(finding)
}

/// How long a finding's contract is minimized at most.
const MINIMIZE_FOR: Duration = Duration::from_secs(60);

/// The diverging step's contract, shrunk while the case still shows a
/// divergence with the same key (not just any failure).
fn minimize(judge: &mut Judge, input: &[u8], divergence: &Divergence) -> Option<Vec<u8>> {
    if matches!(judge.target, Target::Admission | Target::Scenario) {
        return None;
    }
    let case = judge.generator.case(input).ok()?;
    let key = divergence.key();
    let target = divergence.contract.unwrap_or(0);
    let original = case.contracts.get(target)?.clone();
    // Candidates run on production too, which may time out: the search
    // stops taking candidates after a while, keeping the smallest so far.
    let deadline = Instant::now() + MINIMIZE_FOR;
    let shrunk = wasm_shrink::WasmShrink::default()
        .attempts(200)
        .run(original, |candidate| {
            if Instant::now() > deadline {
                return Ok(false);
            }
            let mut smaller = case.clone();
            smaller.contracts[target] = candidate.to_vec();
            Ok(matches!(judge.case(&smaller), Verdict::Diverge(d) if d.key() == key))
        })
        .ok()?;
    Some(shrunk.output)
}
