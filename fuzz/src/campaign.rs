//! The stable campaign runner: the oracles driven by a seeded generator on
//! several threads, without libFuzzer, with findings saved, minimized.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::faulty::FaultChoice;
use crate::findings::{Finding, save};
use crate::inputs::{Inputs, Reuse};
use crate::judge::{Judge, Target};
use crate::oracle::{Tally, Verdict};
use conformance::engines::EngineSpec;

/// Campaign settings.
pub struct Settings {
    pub target: Target,
    pub seconds: u64,
    pub jobs: usize,
    pub seed: u64,
    pub keep_going: bool,
    pub fault: Option<FaultChoice>,
    pub findings_dir: PathBuf,
    pub progress: bool,
    pub reuse: Reuse,
    /// Production as a third engine (three-way), or none (two-way); for
    /// `releases`, the newer release.
    pub production: Option<EngineSpec>,
    /// For `releases`, the older release.
    pub against: Option<EngineSpec>,
}

/// What a campaign did.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub tally: Tally,
    /// Contracts generated from new seeds (the rest of the cases' contracts
    /// came from the pools).
    pub new_contracts: u64,
    pub seconds: f64,
    pub findings: Vec<Finding>,
    /// Divergences of a kind already saved in this campaign
    /// ([`Divergence::signature`]), by signature: counted, not saved or
    /// minimized again.
    pub repeats: BTreeMap<String, u64>,
}

/// Runs a campaign.
pub fn run(settings: &Settings) -> Result<Report, String> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(settings.seconds);
    let stop = Arc::new(AtomicBool::new(false));
    let executions = Arc::new(AtomicU64::new(0));
    let findings = Arc::new(Mutex::new(Vec::new()));
    let repeats: Arc<Mutex<BTreeMap<String, u64>>> = Arc::new(Mutex::new(BTreeMap::new()));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let new_contracts = Arc::new(AtomicU64::new(0));
    let bar = if settings.progress {
        indicatif::ProgressBar::new(settings.seconds)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} {bar:30} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    std::thread::scope(|scope| -> Result<(), String> {
        let mut handles = Vec::new();
        for job in 0..settings.jobs.max(1) {
            let (stop, executions, findings, repeats, tally, new_contracts) = (
                stop.clone(),
                executions.clone(),
                findings.clone(),
                repeats.clone(),
                tally.clone(),
                new_contracts.clone(),
            );
            handles.push(
                std::thread::Builder::new()
                    .stack_size(16 << 20)
                    .spawn_scoped(scope, move || -> Result<(), String> {
                        let mut judge = Judge::with_against(
                            settings.target,
                            settings.fault,
                            settings.production.as_ref(),
                            settings.against.as_ref(),
                        )?;
                        let mut inputs = Inputs::new(
                            settings.target,
                            settings.reuse,
                            settings.seed ^ (job as u64).wrapping_mul(0x5851_f42d),
                        );
                        let mut local = Tally::default();
                        while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                            let input = inputs.next();
                            let verdict = judge.input(&input)?;
                            local.record(&verdict);
                            executions.fetch_add(1, Ordering::Relaxed);
                            if let Verdict::Diverge(divergence) = verdict {
                                // The first of each kind is saved (the
                                // entry is made before saving, so two jobs
                                // finding the same kind save it once).
                                let signature = divergence.signature();
                                {
                                    let mut repeats = repeats.lock().map_err(|e| e.to_string())?;
                                    if let Some(count) = repeats.get_mut(&signature) {
                                        *count += 1;
                                        continue;
                                    }
                                    repeats.insert(signature, 0);
                                }
                                let finding = save(
                                    settings,
                                    &mut judge,
                                    &input,
                                    divergence,
                                    started.elapsed(),
                                )?;
                                findings.lock().map_err(|e| e.to_string())?.push(finding);
                                if !settings.keep_going {
                                    stop.store(true, Ordering::Relaxed);
                                }
                            }
                        }
                        local.runners = judge.runner_stats();
                        tally.lock().map_err(|e| e.to_string())?.merge(&local);
                        new_contracts.fetch_add(inputs.new_contracts, Ordering::Relaxed);
                        Ok(())
                    })
                    .map_err(|e| e.to_string())?,
            );
        }
        while handles.iter().any(|h| !h.is_finished()) {
            let elapsed = started.elapsed().as_secs_f64().max(0.001);
            let done = executions.load(Ordering::Relaxed);
            let found = findings.lock().map(|f| f.len()).unwrap_or(0);
            bar.set_position(started.elapsed().as_secs());
            bar.set_message(format!(
                "{done} execs, {:.0} exec/s, {found} findings",
                done as f64 / elapsed
            ));
            std::thread::sleep(Duration::from_millis(200));
        }
        for handle in handles {
            handle.join().map_err(|_| "a job panicked".to_string())??;
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    let tally = tally.lock().map_err(|e| e.to_string())?.clone();
    let findings = findings.lock().map_err(|e| e.to_string())?.clone();
    let mut repeats = repeats.lock().map_err(|e| e.to_string())?.clone();
    repeats.retain(|_, count| *count > 0);
    Ok(Report {
        tally,
        new_contracts: new_contracts.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
        findings,
        repeats,
    })
}
