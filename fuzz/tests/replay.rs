//! Replays every finding saved under `corpus/regressions/`: each must no
//! longer diverge. Findings made with a deliberately wrong engine (`fault`)
//! are measurements, not bugs, and are not kept there.

use std::path::PathBuf;

use conformance::engines::EngineSpec;
use fuzz::campaign::{self, Target};
use fuzz::oracle::Verdict;

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
            other => panic!("{}: unknown target {other:?}", dir.display()),
        };
        // The engines the finding was made with: production too, unless it
        // was a two-way campaign.
        let production = match json["production"].as_str() {
            None | Some("none") => None,
            Some(name) => Some(EngineSpec::parse(name).expect("a production engine")),
        };
        let verdict = campaign::replay(target, None, production.as_ref(), &dir.join("input.bin"))
            .expect("replays");
        assert!(
            !matches!(verdict, Verdict::Diverge(_)),
            "{} diverges again: {verdict:?}",
            dir.display()
        );
        replayed.push(dir);
    }
    eprintln!("replayed {} findings", replayed.len());
}
