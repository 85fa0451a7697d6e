//! Replays every finding saved under `corpus/regressions/` with the engines
//! it was found on: each must no longer diverge, and one that a catalogue
//! entry now explains (its `resolution`) must be explained by that entry.
//! Findings made with a deliberately wrong engine (`fault`) are
//! measurements, not bugs, and are not kept there.

use std::path::PathBuf;

use conformance::engines::EngineSpec;
use fuzz::judge::Target;
use fuzz::oracle::Verdict;
use fuzz::replay;

#[test]
fn saved_findings_no_longer_diverge() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus/regressions");
    let mut replayed = Vec::new();
    for entry in std::fs::read_dir(&root).expect("corpus/regressions exists") {
        let dir = entry.expect("entry").path();
        let finding = dir.join("finding.json");
        if !finding.exists() {
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&finding).expect("readable")).expect("JSON");
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
            Some("releases") => Target::Releases,
            other => panic!("{}: unknown target {other:?}", dir.display()),
        };
        // The engines the finding was made with: production too, unless it
        // was a two-way campaign.
        let production = match json["production"].as_str() {
            None | Some("none") => None,
            Some(name) => Some(EngineSpec::parse(name).expect("a production engine")),
        };
        let verdict = replay::replay(target, None, production.as_ref(), &dir.join("input.bin"))
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
