//! `fuzz`: stable-toolchain fuzz campaigns and replays.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use conformance::engines::EngineSpec;
use fuzz::campaign::{self, Settings};
use fuzz::faulty::FaultChoice;
use fuzz::inputs::Reuse;
use fuzz::judge::Target;
use fuzz::oracle::Verdict;

#[derive(Parser)]
#[command(
    name = "fuzz",
    about = "Differential fuzz campaigns for the Dusk contract VM"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an oracle on generated inputs for a while.
    Campaign {
        #[arg(long, value_enum)]
        target: Target,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Go on after a finding instead of stopping.
        #[arg(long)]
        keep_going: bool,
        /// Use a deliberately wrong shadow engine (to measure the oracle).
        #[arg(long, value_enum)]
        fault: Option<FaultChoice>,
        /// Where findings go: by default `corpus/regressions` (bugs, which
        /// `cargo test` replays until they no longer diverge), and for
        /// `releases` `corpus/abi-changes` (records of what changed between
        /// two releases, which `cargo test` replays while they still do).
        #[arg(long)]
        findings: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Contract seeds each job draws cases from (`differential`, `gas`);
        /// 0 makes every contract of every case new.
        #[arg(long, default_value_t = Reuse::DEFAULT.pool)]
        pool: usize,
        /// Executions between two new contract seeds entering the pool.
        #[arg(long, default_value_t = Reuse::DEFAULT.fresh_every)]
        fresh_every: u64,
        /// The production engine run beside ours (`differential`,
        /// `scenario`, `gas`): piecrust (0.32.2), piecrust-0.31,
        /// piecrust@DIR, or `none` for our two engines only (faster). For
        /// `releases`, the newer release.
        #[arg(long, default_value = "piecrust-0.32.2")]
        production: String,
        /// For `releases`: the older release (or local build) to compare
        /// with `--production`.
        #[arg(long, default_value = "piecrust-0.31")]
        against: String,
        /// Every SECONDS, print our resident set and live heap and each
        /// production runner's resident set.
        #[arg(long, value_name = "SECONDS")]
        stats_every: Option<u64>,
    },
    /// The release gate: the whole scenario suite, then N seconds of each
    /// oracle; non-zero on any divergence, snapshot mismatch or finding.
    Gate {
        #[arg(long, default_value_t = 30)]
        fuzz_seconds: u64,
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The production engine of the fuzz oracles, or `none`.
        #[arg(long, default_value = "piecrust-0.32.2")]
        production: String,
    },
    /// The oracle's overhead: the same generated cases run bare (compile,
    /// instantiate and call on both engines, nothing compared) and through
    /// the differential oracle, cold and then warm, in one run.
    Overhead {
        #[arg(long, default_value_t = 500)]
        cases: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Write seed inputs for `cargo fuzz` (inputs the oracle judges equal)
    /// to `corpus/seeds/<target>/`.
    Seeds {
        #[arg(long, value_enum)]
        target: Target,
        #[arg(long, default_value_t = 16)]
        count: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = "corpus/seeds")]
        out: PathBuf,
    },
    /// Run an oracle on a saved input.
    Replay {
        /// The oracle the input was found by.
        #[arg(long, value_enum)]
        target: Target,
        /// A deliberately wrong shadow engine, to see the oracle find it.
        #[arg(long, value_enum)]
        fault: Option<FaultChoice>,
        /// The production engine run beside ours, or `none`; for
        /// `releases`, the newer release.
        #[arg(long, default_value = "piecrust-0.32.2")]
        production: String,
        /// For `releases`: the older release.
        #[arg(long, default_value = "piecrust-0.31")]
        against: String,
        /// The saved input: a libFuzzer artifact, a seed, or a finding's
        /// `input` file.
        input: PathBuf,
    },
}

/// The production engine a flag names, or none.
fn production(name: &str) -> Result<Option<EngineSpec>, String> {
    if name == "none" {
        return Ok(None);
    }
    let spec = EngineSpec::parse(name).map_err(|e| e.to_string())?;
    if !spec.is_production() {
        return Err(format!("`{name}` is not a production engine (or `none`)"));
    }
    Ok(Some(spec))
}

fn gate(fuzz_seconds: u64, jobs: usize, seed: u64, production: Option<EngineSpec>) -> ExitCode {
    use conformance::catalogue::Catalogue;
    use conformance::driver::{DriverConfig, OurVms, drivers};
    use conformance::engines::default_engines;
    use conformance::scenario::Scenario;
    use conformance::suite::{self, TestedEngine};
    let root = PathBuf::from("corpus");
    let scenarios_dir = root.join("scenarios");
    let files = match suite::find_scenarios(std::slice::from_ref(&scenarios_dir)) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let catalogue = match Catalogue::load(&root.join("deviations.toml")) {
        Ok(catalogue) => catalogue,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let vms = match OurVms::new() {
        Ok(vms) => vms,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    // The suite on our engines and production, as `conformance run`.
    let specs = default_engines();
    let mut tested: Vec<TestedEngine> = match drivers(
        &specs,
        &vms,
        &DriverConfig::new(&conformance::repository_root()),
    ) {
        Ok(drivers) => specs
            .into_iter()
            .zip(drivers)
            .map(|(spec, driver)| TestedEngine { spec, driver })
            .collect(),
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let mut failed = 0;
    for path in &files {
        let passed = Scenario::load(path, &root, &scenarios_dir)
            .map(|scenario| {
                suite::run_scenario(
                    &mut tested,
                    &scenario,
                    &catalogue,
                    Some(std::path::Path::new("snapshots")),
                )
                .passed()
            })
            .unwrap_or(false);
        if !passed {
            failed += 1;
            println!("FAIL {}", path.display());
        }
    }
    println!("gate: {} scenarios, {failed} failing", files.len());
    let mut findings = 0;
    for target in [
        Target::Differential,
        Target::Gas,
        Target::Admission,
        Target::Scenario,
    ] {
        let settings = Settings {
            target,
            seconds: fuzz_seconds,
            jobs,
            seed,
            keep_going: false,
            fault: None,
            findings_dir: PathBuf::from("corpus/regressions"),
            progress: false,
            reuse: Reuse::DEFAULT,
            production: production.clone(),
            against: None,
            stats_every: None,
        };
        match campaign::run(&settings) {
            Ok(report) => {
                let engines = match (&production, target) {
                    (Some(spec), Target::Differential | Target::Gas | Target::Scenario) => {
                        format!("three-way with {spec}")
                    }
                    _ => "two-way".to_string(),
                };
                println!(
                    "gate: {target:?} ({engines}): {} executions, {} findings, {:.1} % discarded, {} explained by the catalogue {:?}",
                    report.tally.executions,
                    report.findings.len(),
                    100.0 * report.tally.discard_rate(),
                    report.tally.explained.values().sum::<u64>(),
                    report.tally.explained
                );
                // Admission runs our engines only, whatever the gate's
                // production.
                let three_way = settings.production.is_some() && target != Target::Admission;
                for line in report.summary_lines(three_way) {
                    println!("  {line}");
                }
                for finding in &report.findings {
                    println!("  finding saved in {}", finding.directory.display());
                }
                findings += report.findings.len();
            }
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::from(2);
            }
        }
    }
    let passed = failed == 0 && findings == 0;
    println!(
        "gate: {} passed, {} failed",
        usize::from(passed),
        usize::from(!passed)
    );
    ExitCode::from(if passed { 0 } else { 1 })
}

fn main() -> ExitCode {
    // A host query's panic is an outcome of the case, not on stderr.
    vm::query::keep_contained_panics_quiet();
    let cli = Cli::parse();
    fuzz::allocator::tune();
    match cli.command {
        Command::Campaign {
            target,
            seconds,
            jobs,
            seed,
            keep_going,
            fault,
            findings,
            json,
            pool,
            fresh_every,
            production: production_name,
            against,
            stats_every,
        } => {
            let (production, against) = match (production(&production_name), production(&against)) {
                (Ok(production), Ok(against)) => (production, against),
                (Err(error), _) | (_, Err(error)) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(2);
                }
            };
            let engines = match (&production, target) {
                (Some(spec), Target::Releases) => format!(
                    "{} and {spec} (release to release)",
                    against.as_ref().map_or_else(String::new, EngineSpec::name)
                ),
                (Some(spec), Target::Differential | Target::Gas | Target::Scenario) => {
                    format!("wasmtime, wasmi and {spec}")
                }
                _ => "wasmtime and wasmi (two-way)".to_string(),
            };
            let settings = Settings {
                target,
                seconds,
                jobs,
                seed,
                keep_going,
                fault,
                findings_dir: findings.unwrap_or_else(|| {
                    PathBuf::from(match target {
                        Target::Releases => "corpus/abi-changes",
                        _ => "corpus/regressions",
                    })
                }),
                progress: !json,
                reuse: Reuse { pool, fresh_every },
                production,
                against,
                stats_every,
            };
            match campaign::run(&settings) {
                Ok(report) => {
                    if json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&report).unwrap_or_default()
                        );
                    } else {
                        let t = &report.tally;
                        println!("engines: {engines}");
                        println!(
                            "{} executions in {:.1} s ({:.0} exec/s, {:.0} per job): {} agree ({} with production differing as the catalogue explains {:?}), {} diverge, {:.1} % discarded {:?}; {} new contracts ({:.0}/s)",
                            t.executions,
                            report.seconds,
                            t.executions as f64 / report.seconds,
                            t.executions as f64 / report.seconds / jobs.max(1) as f64,
                            t.agreed,
                            t.explained.values().sum::<u64>(),
                            t.explained,
                            t.diverged,
                            100.0 * t.discard_rate(),
                            t.discarded,
                            report.new_contracts,
                            report.new_contracts as f64 / report.seconds
                        );
                        for line in report.summary_lines(settings.production.is_some()) {
                            println!("{line}");
                        }
                        for (signature, count) in &report.repeats {
                            println!(
                                "{count} more of a kind already saved, not saved again: {signature}"
                            );
                        }
                        for finding in &report.findings {
                            let minimized = match finding.minimized_size {
                                Some(bytes) => format!("minimized contract: {bytes} bytes"),
                                None => "no generated contract to minimize".to_string(),
                            };
                            println!(
                                "finding after {:.2} s: {} ({} fields), saved in {} ({minimized})",
                                finding.seconds_to_find,
                                finding.divergence.summary(),
                                finding.divergence.fields.len(),
                                finding.directory.display(),
                            );
                        }
                    }
                    ExitCode::from(if report.findings.is_empty() { 0 } else { 1 })
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Gate {
            fuzz_seconds,
            jobs,
            seed,
            production: production_name,
        } => match production(&production_name) {
            Ok(production) => gate(fuzz_seconds, jobs, seed, production),
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::from(2)
            }
        },
        Command::Overhead { cases, seed } => match fuzz::bench::overhead(cases, seed) {
            Ok(o) => {
                println!(
                    "{} cases, cold (compile, instantiate, call): bare {:.3} s, through the oracle {:.3} s, ratio {:.3}",
                    o.cases,
                    o.cold_bare,
                    o.cold_oracle,
                    o.cold_oracle / o.cold_bare
                );
                println!(
                    "{} cases, warm (instantiate, call): bare {:.3} s, through the oracle {:.3} s, ratio {:.3}",
                    o.cases,
                    o.warm_bare,
                    o.warm_oracle,
                    o.warm_oracle / o.warm_bare
                );
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::from(2)
            }
        },
        Command::Seeds {
            target,
            count,
            seed,
            out,
        } => {
            let name = match target.to_possible_value() {
                Some(value) => value.get_name().to_string(),
                None => format!("{target:?}").to_lowercase(),
            };
            let dir = out.join(name);
            match fuzz::seeds::seeds(target, count, seed, &dir) {
                Ok(tried) => {
                    println!("{count} seeds in {} ({tried} inputs tried)", dir.display());
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Replay {
            target,
            fault,
            production: production_name,
            against,
            input,
        } => match fuzz::replay::describe(target, &input)
            .map(|case| {
                if let Some(case) = case {
                    println!("case: {case}");
                }
            })
            .and_then(|()| Ok((production(&production_name)?, production(&against)?)))
            .and_then(|(production, against)| {
                fuzz::replay::replay(target, fault, production.as_ref(), against.as_ref(), &input)
            }) {
            Ok(Verdict::Diverge(divergence)) => {
                println!("DIVERGE {}", divergence.key());
                for (field, a, b) in divergence.fields {
                    println!("  {field}:\n    {a}\n    {b}");
                }
                ExitCode::from(1)
            }
            Ok(verdict) => {
                println!("{verdict:?}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::from(2)
            }
        },
    }
}
