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
use crate::memory::MemoryReading;
use crate::oracle::{Tally, Verdict};
use crate::phases::{self, Phase, timed};
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
    /// Seconds between two memory readings ([`MemoryReading`]), printed
    /// as they are taken and kept in the report; none when absent.
    pub stats_every: Option<u64>,
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
    /// The memory readings `stats_every` asked for, with the seconds since
    /// the campaign started.
    pub memory: Vec<(f64, MemoryReading)>,
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
    let mut memory = Vec::new();
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
                        phases::take();
                        while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                            timed(Phase::Total, || -> Result<(), String> {
                                let input = timed(Phase::Generate, || inputs.next());
                                let verdict = judge.input(&input)?;
                                local.record(&verdict);
                                executions.fetch_add(1, Ordering::Relaxed);
                                if let Verdict::Diverge(divergence) = verdict {
                                    // The first of each kind is saved (the
                                    // entry is made before saving, so two
                                    // jobs finding the same kind save it
                                    // once).
                                    let signature = divergence.signature();
                                    {
                                        let mut repeats =
                                            repeats.lock().map_err(|e| e.to_string())?;
                                        if let Some(count) = repeats.get_mut(&signature) {
                                            *count += 1;
                                            return Ok(());
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
                                Ok(())
                            })?;
                        }
                        local.runners = judge.runner_stats();
                        local.runner_time = judge.collect_runner_time();
                        local.phases = phases::take();
                        tally.lock().map_err(|e| e.to_string())?.merge(&local);
                        new_contracts.fetch_add(inputs.new_contracts, Ordering::Relaxed);
                        Ok(())
                    })
                    .map_err(|e| e.to_string())?,
            );
        }
        let mut next_reading = settings
            .stats_every
            .map(|every| Duration::from_secs(every.max(1)));
        while handles.iter().any(|h| !h.is_finished()) {
            if let (Some(due), Some(every)) = (next_reading, settings.stats_every)
                && started.elapsed() >= due
            {
                let reading = MemoryReading::now();
                let at = started.elapsed().as_secs_f64();
                let line = format!("[{at:.0} s] {reading}");
                if settings.progress {
                    bar.println(line);
                } else {
                    eprintln!("{line}");
                }
                memory.push((at, reading));
                next_reading = Some(due + Duration::from_secs(every.max(1)));
            }
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
        memory,
    })
}

/// Seconds from nanoseconds, for reports.
fn seconds(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

impl Report {
    /// Where the time went and what befell the production runners, for
    /// people: our side's phases, production's round trips by kind and
    /// what the runners measured inside, process starts per case, restarts
    /// by cause, step timeouts apart from reuse-probe timeouts, and
    /// production's host panics per 1,000 cases by the catalogue entry that
    /// explains them. Times are summed over jobs.
    pub fn summary_lines(&self, production: bool) -> Vec<String> {
        let tally = &self.tally;
        let phases = &tally.phases;
        let runner = &tally.runner_time;
        let spent_in_production = runner.total_ns();
        let accounted = phases.generate_ns
            + phases.our_engines_ns
            + phases.our_digests_ns
            + spent_in_production;
        let rest = phases.total_ns.saturating_sub(accounted);
        let share = |nanos: u64| {
            if phases.total_ns == 0 {
                0.0
            } else {
                100.0 * nanos as f64 / phases.total_ns as f64
            }
        };
        let phase = |name: &str, nanos: u64| {
            format!("{name} {:.2} s ({:.0} %)", seconds(nanos), share(nanos))
        };
        let mut lines = vec![format!(
            "time per phase ({:.2} s over all jobs): {}, {}, {}, {}, {}",
            seconds(phases.total_ns),
            phase("generating", phases.generate_ns),
            phase("our engines", phases.our_engines_ns),
            phase("our state digests", phases.our_digests_ns),
            phase("production", spent_in_production),
            phase("the rest (comparing, catalogue, bookkeeping)", rest),
        )];
        if !production {
            return lines;
        }
        let inside = &runner.inside;
        let round_trips = runner.session_ns + runner.deploy_ns + runner.call_ns + runner.other_ns;
        let pipe = round_trips.saturating_sub(inside.total_ns());
        let processes = runner.reported + runner.unreported;
        let lost = if runner.unreported == 0 {
            String::new()
        } else {
            format!(
                "; {} of {processes} processes ended without telling their own times, so the pipe's share is an upper bound",
                runner.unreported
            )
        };
        lines.push(format!(
            "production: {}, {}, {} (of which in the runner {:.2} s), {} (in the runner {:.2} s), {}; in the runners: state digests {:.2} s, waiting on the pipe and JSON {:.2} s{lost}",
            phase("starting processes", runner.spawn_ns),
            phase("opening sessions", runner.session_ns),
            phase("deploys", runner.deploy_ns),
            seconds(inside.deploy_ns),
            phase("calls", runner.call_ns),
            seconds(inside.call_ns),
            phase("other requests", runner.other_ns),
            seconds(inside.digest_ns),
            seconds(pipe),
        ));
        let stats = &tally.runners;
        let per_case = |count: u64| {
            if tally.executions == 0 {
                0.0
            } else {
                count as f64 / tally.executions as f64
            }
        };
        let causes: Vec<String> = stats
            .restart_causes
            .named()
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(cause, count)| format!("{cause} {count}"))
            .collect();
        lines.push(format!(
            "production runners: {} process starts ({:.3} per case), {} restarts ({:.1} % of cases; by cause: {}), {} host panics ({} process crashes), {} step timeouts, {} reuse-probe timeouts; largest runner RSS {:.0} MiB",
            stats.starts,
            per_case(stats.starts),
            stats.restarts,
            100.0 * per_case(stats.restarts),
            if causes.is_empty() {
                "none".to_string()
            } else {
                causes.join(", ")
            },
            stats.host_panics,
            stats.crashes,
            stats.timeouts,
            stats.probe_timeouts,
            inside.rss_bytes as f64 / f64::from(1u32 << 20),
        ));
        let explained: u64 = tally.explained_host_panics.values().sum();
        let by_entry: Vec<String> = tally
            .explained_host_panics
            .iter()
            .map(|(entry, count)| format!("{entry} {:.1}", 1000.0 * per_case(*count)))
            .collect();
        lines.push(format!(
            "production host panics per 1,000 cases, explained by the catalogue: {:.1} ({}); an unexplained one is a finding; the runners counted {} in all, minimization's runs included",
            1000.0 * per_case(explained),
            if by_entry.is_empty() {
                "none".to_string()
            } else {
                by_entry.join(", ")
            },
            stats.host_panics,
        ));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phases::PhaseTimes;
    use conformance::driver::process::{RestartCauses, RunnerStats, RunnerTime};
    use runner_protocol::wire::RunnerTimes;

    #[test]
    fn a_campaign_reads_memory_as_often_as_asked() {
        let settings = Settings {
            target: Target::Differential,
            seconds: 3,
            jobs: 1,
            seed: 1,
            keep_going: true,
            fault: None,
            findings_dir: std::env::temp_dir()
                .join(format!("fuzz-memory-readings-{}", std::process::id())),
            progress: false,
            reuse: Reuse::DEFAULT,
            production: None,
            against: None,
            stats_every: Some(1),
        };
        let report = run(&settings).expect("runs");
        // The n-th reading is due at n seconds (and taken at the monitor's
        // next look), until the job has ended: at 1 s and 2 s at least.
        assert!(report.memory.len() >= 2, "{:?}", report.memory);
        for (index, (at, _)) in report.memory.iter().enumerate() {
            assert!(*at >= (index + 1) as f64, "{:?}", report.memory);
        }
        let first = &report.memory[0].1;
        assert!(first.ours_rss > 0, "{first:?}");
    }

    #[test]
    fn the_summary_accounts_for_every_phase_restart_cause_and_explained_panic() {
        let second = 1_000_000_000;
        let mut tally = Tally {
            executions: 200,
            phases: PhaseTimes {
                generate_ns: second,
                our_engines_ns: 2 * second,
                our_digests_ns: second / 2,
                total_ns: 10 * second,
            },
            runner_time: RunnerTime {
                spawn_ns: second,
                session_ns: second / 2,
                deploy_ns: 3 * second,
                call_ns: second,
                other_ns: 0,
                inside: RunnerTimes {
                    requests: 900,
                    session_ns: second / 4,
                    deploy_ns: 2 * second,
                    call_ns: second / 2,
                    other_ns: 0,
                    digest_ns: second / 10,
                    rss_bytes: 64 << 20,
                },
                reported: 3,
                unreported: 1,
            },
            ..Tally::default()
        };
        tally.explained_host_panics = BTreeMap::from([
            ("segv-trap-crash".to_string(), 2),
            ("output-length-panic".to_string(), 1),
        ]);
        tally.runners = RunnerStats {
            starts: 5,
            restarts: 4,
            restart_causes: RestartCauses {
                crash: 1,
                host_panic: 3,
                ..RestartCauses::default()
            },
            host_panics: 3,
            crashes: 1,
            timeouts: 0,
            probe_timeouts: 2,
        };
        let report = Report {
            tally,
            new_contracts: 0,
            seconds: 5.0,
            findings: Vec::new(),
            repeats: BTreeMap::new(),
            memory: Vec::new(),
        };
        let lines = report.summary_lines(true);
        assert_eq!(
            lines,
            [
                "time per phase (10.00 s over all jobs): generating 1.00 s (10 %), our engines 2.00 s (20 %), our state digests 0.50 s (5 %), production 5.50 s (55 %), the rest (comparing, catalogue, bookkeeping) 1.00 s (10 %)",
                "production: starting processes 1.00 s (10 %), opening sessions 0.50 s (5 %), deploys 3.00 s (30 %) (of which in the runner 2.00 s), calls 1.00 s (10 %) (in the runner 0.50 s), other requests 0.00 s (0 %); in the runners: state digests 0.10 s, waiting on the pipe and JSON 1.75 s; 1 of 4 processes ended without telling their own times, so the pipe's share is an upper bound",
                "production runners: 5 process starts (0.025 per case), 4 restarts (2.0 % of cases; by cause: crash 1, host panic 3), 3 host panics (1 process crashes), 0 step timeouts, 2 reuse-probe timeouts; largest runner RSS 64 MiB",
                "production host panics per 1,000 cases, explained by the catalogue: 15.0 (output-length-panic 5.0, segv-trap-crash 10.0); an unexplained one is a finding; the runners counted 3 in all, minimization's runs included",
            ]
        );
        assert_eq!(report.summary_lines(false).len(), 1);
        // A tally records an explained case's panic under its entry.
        let mut tally = Tally::default();
        for production_panicked in [true, false, true] {
            tally.record(&Verdict::Explained {
                deviation: "segv-trap-crash".into(),
                production_panicked,
            });
        }
        assert_eq!(tally.explained["segv-trap-crash"], 3);
        assert_eq!(tally.explained_host_panics["segv-trap-crash"], 2);
    }
}
