//! Replays every finding saved under `corpus/regressions/` with the engines
//! it was found on: each must no longer diverge, and one that a catalogue
//! entry now explains (its `resolution`) must be explained by that entry.
//! Replays every release-to-release difference recorded under
//! `corpus/abi-changes/`: each must still differ the same way.
//! Findings made with a deliberately wrong engine (`fault`) are
//! measurements, not bugs, and are not kept there.

use std::path::PathBuf;

use conformance::engines::EngineSpec;
use fuzz::judge::Target;
use fuzz::oracle::{Divergence, Verdict};
use fuzz::replay;

/// Every folder of `corpus/<folder>` with a `finding.json`, and that file.
fn saved(folder: &str) -> Vec<(PathBuf, serde_json::Value)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(folder);
    let mut saved = Vec::new();
    for entry in std::fs::read_dir(&root).expect("the corpus folder exists") {
        let dir = entry.expect("entry").path();
        let Ok(text) = std::fs::read(dir.join("finding.json")) else {
            continue;
        };
        let json = serde_json::from_slice(&text).expect("JSON");
        saved.push((dir, json));
    }
    saved
}

#[test]
fn saved_findings_no_longer_diverge() {
    let mut replayed = Vec::new();
    for (dir, json) in saved("regressions") {
        assert!(
            json["fault"].is_null(),
            "{}: findings of wrong engines are not regressions",
            dir.display()
        );
        let target = match json["target"].as_str() {
            Some("differential") => Target::Differential,
            Some("gas") => Target::Gas,
            Some("admission") => Target::Admission,
            Some("scenario") => Target::Scenario,
            Some("releases") => panic!(
                "{}: a difference between two releases is an ABI-change record: it belongs in corpus/abi-changes",
                dir.display()
            ),
            other => panic!("{}: unknown target {other:?}", dir.display()),
        };
        // The engines the finding was made with: production too, unless it
        // was a two-way campaign.
        let production = match json["production"].as_str() {
            None | Some("none") => None,
            Some(name) => Some(EngineSpec::parse(name).expect("a production engine")),
        };
        let verdict = replay::replay(
            target,
            None,
            production.as_ref(),
            None,
            &dir.join("input.bin"),
        )
        .expect("replays");
        assert!(
            !matches!(verdict, Verdict::Diverge(_)),
            "{} diverges again: {verdict:?}",
            dir.display()
        );
        if let Some(deviation) = json["resolution"]["explained_by"].as_str() {
            assert!(
                matches!(
                    &verdict,
                    Verdict::Explained { deviation: seen, .. } if seen == deviation
                ),
                "{}: {verdict:?}",
                dir.display()
            );
        }
        replayed.push(dir);
    }
    // The corpus holds findings of production the catalogue explains now.
    assert!(replayed.len() >= 3, "replayed {replayed:?}");
}

/// A finding's divergence as `finding.json` records it.
fn recorded_divergence(json: &serde_json::Value) -> Divergence {
    let divergence = &json["finding"]["divergence"];
    Divergence {
        oracle: "releases",
        step: divergence["step"].as_str().unwrap_or_default().to_string(),
        fields: divergence["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|field| {
                let text = |at: usize| field[at].as_str().unwrap_or_default().to_string();
                (text(0), text(1), text(2))
            })
            .collect(),
        contract: None,
    }
}

#[test]
fn recorded_abi_changes_still_hold() {
    let mut replayed = Vec::new();
    for (dir, json) in saved("abi-changes") {
        assert_eq!(json["target"], "releases", "{}", dir.display());
        let engine = |key: &str| {
            EngineSpec::parse(json[key].as_str().expect("an engine name")).expect("an engine")
        };
        let (to, from) = (engine("production"), engine("against"));
        let verdict = replay::replay(
            Target::Releases,
            None,
            Some(&to),
            Some(&from),
            &dir.join("input.bin"),
        )
        .expect("replays");
        // The same kind of difference at the same step: the record is
        // still true of both releases (a fix in one makes it fail, and the
        // record moves out).
        let recorded = recorded_divergence(&json);
        match verdict {
            Verdict::Diverge(seen) => {
                assert_eq!(seen.step, recorded.step, "{}", dir.display());
                assert_eq!(seen.signature(), recorded.signature(), "{}", dir.display());
            }
            other => panic!(
                "{}: {} and {} no longer differ: {other:?}",
                dir.display(),
                from.name(),
                to.name()
            ),
        }
        replayed.push(dir);
    }
    // The corpus records at least the 0.31.0 to 0.32.2 change.
    assert!(!replayed.is_empty(), "no ABI-change record replayed");
}
