//! Every deliberately wrong shadow engine is found by a short, seeded,
//! two-way campaign of the scenario oracle (over `corpus/contracts/`,
//! `limits.wat` among them): if a fault survives, the oracle has stopped
//! checking the promise it breaks.

use std::path::PathBuf;

use clap::ValueEnum;
use fuzz::campaign::{self, Settings};
use fuzz::faulty::FaultChoice;
use fuzz::inputs::Reuse;
use fuzz::judge::Target;

/// The longest a campaign may take to find a fault.
const SECONDS: u64 = 10;

fn found_by_a_short_campaign(fault: FaultChoice) {
    let findings_dir: PathBuf =
        std::env::temp_dir().join(format!("fuzz-faults-{}-{fault:?}", std::process::id()));
    let settings = Settings {
        target: Target::Scenario,
        seconds: SECONDS,
        jobs: 1,
        seed: 0,
        keep_going: false,
        fault: Some(fault),
        findings_dir: findings_dir.clone(),
        progress: false,
        reuse: Reuse::DEFAULT,
        production: None,
        against: None,
        stats_every: None,
    };
    let report = campaign::run(&settings).expect("the campaign runs");
    let _ = std::fs::remove_dir_all(&findings_dir);
    assert_eq!(
        report.findings.len(),
        1,
        "{fault:?} survived {} executions of {SECONDS} s",
        report.tally.executions
    );
    assert_eq!(report.findings[0].divergence.oracle, "scenario");
}

#[test]
fn every_fault_is_found_within_ten_seconds() {
    let faults = FaultChoice::value_variants();
    assert_eq!(faults.len(), 8, "a new fault: it is tested here too");
    for &fault in faults {
        found_by_a_short_campaign(fault);
    }
}
