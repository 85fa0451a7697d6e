//! `conformance`: run Dusk contracts on our two engines and on Dusk's
//! production VM, and report whether they agree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use conformance::catalogue::Catalogue;
use conformance::driver::{DriverConfig, OurVms, drivers};
use conformance::engines::EngineSpec;
use conformance::judge::step_differences;
use conformance::play::play;
use conformance::scenario::{ArgPart, ContractDecl, Scenario, Step, StepKind};
use conformance::suite::{self, SnapshotStatus, TestedEngine};
use conformance::summary::{RunSummary, ScenarioResult};
use runner_protocol::HardFork;
use serde::Serialize;

#[derive(Parser)]
#[command(name = "conformance", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Deploy contracts and call a function on every engine.
    #[command(override_usage = "conformance call [OPTIONS] CONTRACT... FUNCTION")]
    Call(CallArgs),
    /// Run scenarios on every engine, judge them and check their snapshots.
    Run {
        /// Scenario files or folders (default: corpus/scenarios).
        paths: Vec<PathBuf>,
        #[command(flatten)]
        engines: EngineArgs,
        /// Text for people, or one JSON document on stdout.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Check the snapshots, record them (for new scenarios of your
        /// own), or skip them.
        #[arg(long, value_enum, default_value_t = Snapshots::Check)]
        snapshots: Snapshots,
        /// Where the snapshots are (`<folder>__<name>.snap`; default: the
        /// repository's `snapshots/`).
        #[arg(long)]
        snapshot_dir: Option<PathBuf>,
    },
    /// Print every engine's outcome of one scenario and what differs.
    Show {
        scenario: PathBuf,
        #[command(flatten)]
        engines: EngineArgs,
    },
    /// List every scenario step whose outcome differs between two
    /// production releases: the ABI-change report.
    Releases {
        /// Scenario files or folders (default: corpus/scenarios).
        paths: Vec<PathBuf>,
        /// The older release.
        #[arg(long, default_value = "piecrust-0.31")]
        from: String,
        /// The newer release (or `piecrust@DIR`, a local checkout).
        /// Default: piecrust-0.32.2; with `--from-fork` and `--to-fork`,
        /// the `--from` engine.
        #[arg(long)]
        to: Option<String>,
        /// Compare hard forks instead (with `--to-fork`): every scenario
        /// on a chain runs on `--from` at this fork and on `--to` (the same
        /// engine by default) at the other, from its first block on.
        #[arg(long, value_enum, requires = "to_fork")]
        from_fork: Option<ForkName>,
        #[arg(long, value_enum, requires = "from_fork")]
        to_fork: Option<ForkName>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Seconds one step (a deploy or a call) may take on any engine;
        /// past it the step's outcome is `timeout`. A scenario's
        /// `[session] step_timeout` overrides it. From 1 to 3600, as the
        /// scenario field.
        #[arg(long, default_value_t = 60, value_parser = step_timeout_seconds())]
        step_timeout: u64,
    },
    /// Print the deviation catalogue as Markdown (docs/deviations.md).
    Catalogue,
    /// Print the module the determinism pass gives our engines, as WAT.
    Instrument {
        /// The contract, as `.wat` or `.wasm`.
        contract: PathBuf,
    },
}

#[derive(clap::Args)]
struct EngineArgs {
    /// Engines, comma-separated: wasmtime, wasmi, piecrust (0.32.2),
    /// piecrust-0.31, piecrust@DIR (a local checkout), dusk-vm (1.7.0),
    /// dusk-vm@DIR (a local rusk checkout).
    #[arg(long, default_value = "wasmtime,wasmi,piecrust-0.32.2")]
    engine: String,
    /// Seconds one step (a deploy or a call) may take on any engine; past
    /// it the step's outcome is `timeout`. A scenario's
    /// `[session] step_timeout` overrides it. From 1 to 3600, as the
    /// scenario field.
    #[arg(long, default_value_t = 60, value_parser = step_timeout_seconds())]
    step_timeout: u64,
}

#[derive(clap::Args)]
struct CallArgs {
    /// The contracts, as `.wat` or `.wasm`, deployed in this order, then the
    /// exported function to call (on the first contract unless `--to`).
    #[arg(required = true, num_args = 2.., value_name = "CONTRACT... FUNCTION")]
    items: Vec<String>,
    /// Which deployed contract to call, counting from 1.
    #[arg(long, default_value_t = 1)]
    to: usize,
    /// Input bytes, as hex.
    #[arg(long, conflicts_with_all = ["arg_utf8", "arg_file"])]
    arg: Option<String>,
    /// Input bytes, as UTF-8 text.
    #[arg(long, conflicts_with = "arg_file")]
    arg_utf8: Option<String>,
    /// Input bytes, read from a file as they are (for inputs too long for
    /// a command line; at most 1 MiB).
    #[arg(long)]
    arg_file: Option<PathBuf>,
    /// Gas limit of the call.
    #[arg(long, default_value_t = 1_000_000)]
    gas: u64,
    /// The `init` argument, as hex, of the contract in the same position
    /// (repeat for several contracts).
    #[arg(long)]
    init: Vec<String>,
    /// Gas limit of `init` at deploy.
    #[arg(long, default_value_t = 1_000_000)]
    init_gas: u64,
    #[command(flatten)]
    engines: EngineArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// A hard fork of Dusk's node, on the command line.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ForkName {
    PreFork,
    Aegis,
    Boreas,
}

impl ForkName {
    fn hard_fork(self) -> HardFork {
        match self {
            ForkName::PreFork => HardFork::PreFork,
            ForkName::Aegis => HardFork::Aegis,
            ForkName::Boreas => HardFork::Boreas,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// What `run` does with the snapshots of `snapshots/`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Snapshots {
    /// Compare the agreed outcome with its snapshot; a missing or
    /// different one fails the scenario.
    Check,
    /// Write the agreed outcome as the snapshot where it is missing or
    /// differs (review the files before committing them).
    Record,
    /// Judge the engines only.
    Skip,
}

/// Bad input or a setup failure: exit code 2.
#[derive(Debug, thiserror::Error)]
enum InputError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Wat(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Setup(String),
}

const CORPUS: &str = "corpus";
const SNAPSHOTS: &str = "snapshots";
const CATALOGUE: &str = "corpus/deviations.toml";

/// The largest `--arg-file`: inputs past the 65,536-byte argument buffer
/// are worth trying (they must fail), megabytes are not.
const MAX_ARG_FILE: u64 = 1 << 20;

fn arg_file(path: &Path) -> Result<Vec<u8>, InputError> {
    use std::io::Read;
    let read = |source| InputError::Read {
        path: path.display().to_string(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(read)?
        .take(MAX_ARG_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    if bytes.len() as u64 > MAX_ARG_FILE {
        return Err(InputError::Usage(format!(
            "--arg-file {}: larger than {MAX_ARG_FILE} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

fn load_contract(path: &Path) -> Result<(Vec<u8>, String), InputError> {
    let bytes = conformance::scenario::read_bounded_bytes(path)
        .map_err(|error| InputError::Usage(format!("cannot read {}: {error}", path.display())))?;
    if bytes.starts_with(b"\0asm") {
        let text = wasmprinter::print_bytes(&bytes).unwrap_or_else(|_| "(binary module)".into());
        return Ok((bytes, text));
    }
    let wasm = wat::parse_bytes(&bytes)
        .map(|wasm| wasm.into_owned())
        .map_err(|mut error| {
            error.set_path(path);
            InputError::Wat(error.to_string())
        })?;
    Ok((wasm, String::from_utf8_lossy(&bytes).into_owned()))
}

fn hex_arg(flag: &str, text: &str) -> Result<Vec<u8>, InputError> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(digits).map_err(|error| InputError::Usage(format!("bad {flag} `{text}`: {error}")))
}

fn parse_engines(list: &str) -> Result<Vec<EngineSpec>, InputError> {
    EngineSpec::parse_list(list).map_err(|e| InputError::Usage(e.to_string()))
}

/// `--step-timeout`: whole seconds within the bound a scenario's
/// `step_timeout` has, so that no deadline overflows and 0 is refused
/// rather than run as something else.
fn step_timeout_seconds() -> clap::builder::RangedU64ValueParser {
    clap::value_parser!(u64).range(1..=conformance::scenario::MAX_STEP_TIMEOUT_SECONDS)
}

/// The engines of a run with their drivers.
fn tested<'vm>(
    engines: &[EngineSpec],
    vms: &'vm OurVms,
    step_timeout: u64,
) -> Result<Vec<TestedEngine<'vm>>, InputError> {
    let mut config = DriverConfig::new(&conformance::repository_root());
    config.step_timeout = Duration::from_secs(step_timeout);
    let drivers = drivers(engines, vms, &config).map_err(|e| InputError::Setup(e.to_string()))?;
    Ok(engines
        .iter()
        .cloned()
        .zip(drivers)
        .map(|(spec, driver)| TestedEngine { spec, driver })
        .collect())
}

/// `relative` in the repository this binary was built from: as given when
/// the current folder is that repository (reports then show short paths),
/// otherwise under the repository, so that the tool works from any folder.
fn in_repository(relative: &str) -> PathBuf {
    let local = PathBuf::from(relative);
    let from_root = conformance::repository_root().join(relative);
    match (local.canonicalize(), from_root.canonicalize()) {
        (Ok(here), Ok(there)) if here == there => local,
        _ => from_root,
    }
}

fn catalogue() -> Result<Catalogue, InputError> {
    Catalogue::load(&in_repository(CATALOGUE)).map_err(|e| InputError::Setup(e.to_string()))
}

fn load_scenario(path: &Path) -> Result<Scenario, String> {
    let corpus = in_repository(CORPUS);
    Scenario::load(path, &corpus, &corpus.join("scenarios")).map_err(|e| e.to_string())
}

fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let roots = if paths.is_empty() {
        vec![in_repository(CORPUS).join("scenarios")]
    } else {
        paths.to_vec()
    };
    suite::find_scenarios(&roots).map_err(|source| InputError::Read {
        path: roots
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        source,
    })
}

/// A scenario made of the command line's contracts and call.
fn call_scenario(args: &CallArgs) -> Result<Scenario, InputError> {
    let (function, paths) = args
        .items
        .split_last()
        .ok_or_else(|| InputError::Usage("expected CONTRACT... FUNCTION".into()))?;
    if args.init.len() > paths.len() {
        return Err(InputError::Usage(format!(
            "{} --init arguments for {} contracts",
            args.init.len(),
            paths.len()
        )));
    }
    if args.to == 0 || args.to > paths.len() {
        return Err(InputError::Usage(format!(
            "--to {}: give the position of a contract on the command line, from 1 to {}",
            args.to,
            paths.len()
        )));
    }
    let mut contracts = Vec::new();
    let mut steps = Vec::new();
    for (index, path) in paths.iter().enumerate() {
        let (wasm, wat) = load_contract(Path::new(path))?;
        let init = match args.init.get(index) {
            // A module admission refuses is an outcome (a rejected
            // deploy); an admitted one without `init` would drop the
            // argument unseen.
            Some(_)
                if vm::admission::admit(&wasm, &vm::limits::Limits::default(), true)
                    .is_ok_and(|info| !info.has_init()) =>
            {
                return Err(InputError::Usage(format!(
                    "--init for contract {} ({path}): it exports no function `init`",
                    index + 1
                )));
            }
            Some(text) => vec![ArgPart::Bytes(hex_arg("--init", text)?)],
            None => Vec::new(),
        };
        contracts.push(ContractDecl {
            name: format!("contract{}", index + 1),
            wasm,
            wat,
            owner: Vec::new(),
            id: None,
            node: None,
            init_arg: init,
            init_gas: args.init_gas,
        });
        steps.push(Step {
            line: 0,
            kind: StepKind::Deploy { contract: index },
            deviations: Vec::new(),
            block: None,
            arg_text: None,
            returns: None,
        });
    }
    let input = match (&args.arg, &args.arg_utf8, &args.arg_file) {
        (Some(hex), _, _) => hex_arg("--arg", hex)?,
        (None, Some(text), _) => text.as_bytes().to_vec(),
        (None, None, Some(path)) => arg_file(path)?,
        (None, None, None) => Vec::new(),
    };
    steps.push(Step {
        line: 0,
        kind: StepKind::Call {
            contract: args.to - 1,
            function: function.clone(),
            arg: vec![ArgPart::Bytes(input)],
            gas: args.gas,
        },
        deviations: Vec::new(),
        block: None,
        arg_text: None,
        returns: None,
    });
    Ok(Scenario {
        path: PathBuf::from("(command line)"),
        name: "call".into(),
        description: String::new(),
        contracts,
        host_data: BTreeMap::new(),
        feeder: false,
        chain: None,
        builtin_queries: true,
        node_queries: false,
        step_timeout: None,
        steps,
    })
}

fn call(args: &CallArgs) -> Result<u8, InputError> {
    let scenario = call_scenario(args)?;
    let engines = parse_engines(&args.engines.engine)?;
    let vms = OurVms::new().map_err(|e| InputError::Setup(e.to_string()))?;
    let mut tested = tested(&engines, &vms, args.engines.step_timeout)?;
    let report = suite::run_scenario(&mut tested, &scenario, &Catalogue::default(), None);
    // A call has no snapshot: it compares only when two engines played it.
    let result = report.result();
    let compared = result != ScenarioResult::NotCompared;
    let agree = result == ScenarioResult::Agreed;
    if args.json {
        #[derive(Serialize)]
        struct Engine<'a> {
            engine: &'a str,
            steps: &'a [conformance::play::StepOutcome],
            #[serde(skip_serializing_if = "Option::is_none")]
            failure: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            not_applicable: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Report<'a> {
            engines: Vec<Engine<'a>>,
            differences: &'a [conformance::judge::Divergence],
            compared: bool,
            agree: bool,
        }
        let text = serde_json::to_string_pretty(&Report {
            engines: report
                .runs
                .iter()
                .map(|run| Engine {
                    engine: &run.engine,
                    steps: &run.steps,
                    failure: run.failure.as_ref().map(|f| f.error.to_string()),
                    not_applicable: run.not_applicable.as_deref(),
                })
                .collect(),
            differences: &report.judgement.divergences,
            compared,
            agree,
        })
        .map_err(|e| InputError::Setup(e.to_string()))?;
        println!("{text}");
    } else {
        print_runs(&scenario, &report);
        match result {
            ScenarioResult::Agreed => println!("== engines agree"),
            ScenarioResult::NotCompared => {
                println!("== NOT COMPARED: {}", report.not_compared_reason());
            }
            // Without a snapshot, nothing else than a difference is left.
            ScenarioResult::Broken
            | ScenarioResult::Diverged
            | ScenarioResult::SnapshotMismatch => {
                println!("== ENGINES DIFFER");
                print!("{}", suite::failure_report(&scenario, &report));
            }
        }
    }
    Ok(if agree { 0 } else { 1 })
}

/// Each engine's steps, or why the scenario does not apply to it.
fn print_runs(scenario: &Scenario, report: &suite::ScenarioReport) {
    for run in &report.runs {
        if let Some(why) = &run.not_applicable {
            println!("== {}: not applicable ({why})", run.engine);
            continue;
        }
        println!("== {}", run.engine);
        print!("{}", suite::render_run(scenario, run));
        if let Some(failure) = &run.failure {
            println!("ERROR {}", failure.error);
        }
    }
}

fn print_catalogue() -> Result<(), InputError> {
    let catalogue = catalogue()?;
    let files = scenario_files(&[])?;
    let mut uses = Vec::new();
    for path in &files {
        let scenario = load_scenario(path).map_err(InputError::Setup)?;
        for step in &scenario.steps {
            for id in &step.deviations {
                uses.push((id.clone(), scenario.name.clone()));
            }
        }
    }
    print!("{}", catalogue.markdown(&uses));
    Ok(())
}

fn instrument(path: &Path) -> Result<(), InputError> {
    let (wasm, _) = load_contract(path)?;
    let config = vm::VmConfig::default();
    let info = vm::admission::admit(&wasm, &config.limits, config.debug_imports)
        .map_err(|error| InputError::Usage(format!("module rejected: {error}")))?;
    let instrumented = vm::determinism::instrument(&wasm, &info)
        .map_err(|error| InputError::Usage(error.to_string()))?;
    let text = wasmprinter::print_bytes(&instrumented.wasm)
        .map_err(|error| InputError::Setup(error.to_string()))?;
    println!("{text}");
    Ok(())
}

/// One scenario in the JSON report of `run`.
#[derive(Serialize)]
struct ScenarioJson {
    scenario: String,
    steps: usize,
    passed: bool,
    errors: Vec<String>,
    divergences: Vec<conformance::judge::Divergence>,
    deviations: Vec<conformance::judge::Deviation>,
    unseen_deviations: Vec<conformance::judge::Unseen>,
    snapshot: &'static str,
}

/// Prints a line above the progress bar, or plainly when there is no bar.
fn say(bar: &indicatif::ProgressBar, line: String) {
    if bar.is_hidden() {
        println!("{line}");
    } else {
        bar.println(line);
    }
}

fn run(
    paths: &[PathBuf],
    engine_args: &EngineArgs,
    format: Format,
    snapshots: Snapshots,
    snapshot_dir: &Path,
) -> Result<u8, InputError> {
    let started = std::time::Instant::now();
    let files = scenario_files(paths)?;
    if files.is_empty() {
        return Err(InputError::Usage(format!(
            "no scenario files (*.toml) under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let engines = parse_engines(&engine_args.engine)?;
    let catalogue = catalogue()?;
    let vms = OurVms::new().map_err(|e| InputError::Setup(e.to_string()))?;
    let mut tested = tested(&engines, &vms, engine_args.step_timeout)?;
    let json = format == Format::Json;
    let bar = if json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(files.len() as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut summary = RunSummary::new(&engines);
    let mut lines = Vec::new();
    for path in &files {
        bar.set_message(path.display().to_string());
        let scenario = match load_scenario(path) {
            Ok(scenario) => scenario,
            Err(error) => {
                summary.unreadable();
                if !json {
                    say(&bar, format!("ERROR {error}"));
                }
                lines.push(ScenarioJson {
                    scenario: path.display().to_string(),
                    steps: 0,
                    passed: false,
                    errors: vec![error],
                    divergences: Vec::new(),
                    deviations: Vec::new(),
                    unseen_deviations: Vec::new(),
                    snapshot: "not_checked",
                });
                bar.inc(1);
                continue;
            }
        };
        let snapshot_dir = (snapshots != Snapshots::Skip).then_some(snapshot_dir);
        let mut report = suite::run_scenario(&mut tested, &scenario, &catalogue, snapshot_dir);
        if snapshots == Snapshots::Record
            && let (Some(dir), Some(rendered)) = (snapshot_dir, &report.rendered)
            && matches!(
                report.snapshot,
                SnapshotStatus::Missing | SnapshotStatus::Mismatch { .. }
            )
        {
            let path = suite::snapshot_path(dir, &scenario);
            suite::write_snapshot(&path, &scenario, rendered).map_err(|source| {
                InputError::Write {
                    path: path.display().to_string(),
                    source,
                }
            })?;
            if !json {
                say(&bar, format!("RECORDED {}", path.display()));
            }
            report.snapshot = SnapshotStatus::Match;
        }
        let scenario_passed = if snapshots == Snapshots::Skip {
            report.judged_clean()
        } else {
            report.passed()
        };
        let text = match summary.record(&report, scenario_passed) {
            ScenarioResult::Broken => Some(format!(
                "BROKEN {}\n{}",
                scenario.name,
                suite::failure_report(&scenario, &report)
            )),
            ScenarioResult::Diverged => Some(format!(
                "DIVERGE {}\n{}",
                scenario.name,
                suite::failure_report(&scenario, &report)
            )),
            ScenarioResult::Agreed => None,
            ScenarioResult::NotCompared => Some(format!(
                "NOT COMPARED {}: {}",
                scenario.name,
                report.not_compared_reason()
            )),
            ScenarioResult::SnapshotMismatch => Some(format!(
                "SNAPSHOT {} {}: record the agreed outcome with `run --snapshots record` (then review the file), or run without snapshots with `--snapshots skip`",
                scenario.name,
                report.snapshot.name()
            )),
        };
        if let Some(text) = text
            && !json
        {
            say(&bar, text);
        }
        let mut errors = report.problems.clone();
        errors.extend(report.failures());
        lines.push(ScenarioJson {
            scenario: scenario.name.clone(),
            steps: report.steps,
            passed: scenario_passed,
            errors,
            divergences: report.judgement.divergences.clone(),
            deviations: report.judgement.deviations.clone(),
            unseen_deviations: report.judgement.unseen.clone(),
            snapshot: report.snapshot.name(),
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    if json {
        let names: Vec<String> = engines.iter().map(EngineSpec::name).collect();
        let report = serde_json::json!({
            "engines": names,
            "scenarios": lines,
            "summary": summary.to_json(&catalogue, elapsed),
        });
        let text =
            serde_json::to_string_pretty(&report).map_err(|e| InputError::Setup(e.to_string()))?;
        println!("{text}");
    } else {
        print!("{}", summary.render(&catalogue, elapsed));
    }
    Ok(if summary.failed() == 0 { 0 } else { 1 })
}

fn show(path: &Path, engine_args: &EngineArgs) -> Result<u8, InputError> {
    let scenario = load_scenario(path).map_err(InputError::Usage)?;
    let engines = parse_engines(&engine_args.engine)?;
    let catalogue = catalogue()?;
    let vms = OurVms::new().map_err(|e| InputError::Setup(e.to_string()))?;
    let mut tested = tested(&engines, &vms, engine_args.step_timeout)?;
    let report = suite::run_scenario(
        &mut tested,
        &scenario,
        &catalogue,
        Some(&in_repository(SNAPSHOTS)),
    );
    print_runs(&scenario, &report);
    for deviation in &report.judgement.deviations {
        println!(
            "== step {}: {} differs as deviation `{}` explains: {}: {} (reference: {})",
            deviation.step,
            deviation.engine,
            deviation.id,
            deviation.field,
            deviation.found,
            deviation.expected
        );
    }
    if !report.problems.is_empty() {
        // The scenario is wrong, whatever the engines did.
        println!("== SCENARIO ERROR");
        for problem in &report.problems {
            println!("  {problem}");
        }
        return Ok(2);
    }
    let result = report.result();
    match (result, report.played().as_slice()) {
        (ScenarioResult::Broken | ScenarioResult::Diverged, _) => {
            println!("== ENGINES DIFFER");
            print!("{}", suite::failure_report(&scenario, &report));
            Ok(1)
        }
        (ScenarioResult::NotCompared, _) => {
            println!("== NOT COMPARED: {}", report.not_compared_reason());
            Ok(1)
        }
        // One engine: its outcome was compared with the snapshot alone.
        (ScenarioResult::Agreed, [only]) => {
            println!("== {only} matches the snapshot (no other engine played)");
            Ok(0)
        }
        (ScenarioResult::SnapshotMismatch, [only]) => {
            println!("== {only} DIFFERS FROM THE SNAPSHOT (no other engine played)");
            Ok(1)
        }
        (ScenarioResult::Agreed | ScenarioResult::SnapshotMismatch, _) => {
            println!("== engines agree (snapshot: {})", report.snapshot.name());
            Ok(0)
        }
    }
}

/// A step whose outcome differs between two releases.
#[derive(Serialize)]
struct ReleaseChange {
    scenario: String,
    step: usize,
    line: usize,
    field: String,
    from: String,
    to: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    from_detail: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    to_detail: String,
}

/// The two sides of a report: two releases, or two forks.
struct Sides {
    engines: Vec<EngineSpec>,
    forks: Option<[HardFork; 2]>,
}

impl Sides {
    fn name(&self, side: usize) -> String {
        match self.forks {
            Some(forks) => format!("{} at {}", self.engines[side].name(), forks[side].name()),
            None => self.engines[side].name(),
        }
    }
}

fn releases(
    paths: &[PathBuf],
    from: &str,
    to: &str,
    forks: Option<[HardFork; 2]>,
    format: Format,
    step_timeout: u64,
) -> Result<u8, InputError> {
    let engines = vec![
        EngineSpec::parse(from).map_err(|e| InputError::Usage(e.to_string()))?,
        EngineSpec::parse(to).map_err(|e| InputError::Usage(e.to_string()))?,
    ];
    if engines.iter().any(|engine| !engine.is_production()) {
        return Err(InputError::Usage(
            "--from and --to are production engines (piecrust-0.31, piecrust-0.32.2, piecrust@DIR, dusk-vm-1.7.0, dusk-vm@DIR)".into(),
        ));
    }
    match forks {
        None if engines[0] == engines[1] => {
            return Err(InputError::Usage(
                "--from and --to are two different engines, or give --from-fork and --to-fork"
                    .into(),
            ));
        }
        Some([a, b]) if a == b => {
            return Err(InputError::Usage(
                "--from-fork and --to-fork are two different forks".into(),
            ));
        }
        _ => {}
    }
    let sides = Sides {
        engines: engines.clone(),
        forks,
    };
    // Scenarios without a chain: a fork changes nothing there.
    let mut without_chain = 0;
    let files = scenario_files(paths)?;
    let vms = OurVms::new().map_err(|e| InputError::Setup(e.to_string()))?;
    let mut tested = tested(&engines, &vms, step_timeout)?;
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    // Scenarios one of the two engines cannot run: nothing compared.
    let mut not_compared: Vec<String> = Vec::new();
    let (mut scenarios, mut steps, mut changed_scenarios) = (0, 0, 0);
    for path in &files {
        let scenario = match load_scenario(path) {
            Ok(scenario) => scenario,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        let sided: Vec<Scenario> = match forks {
            None => vec![scenario.clone(), scenario.clone()],
            Some(forks) => match forks.map(|fork| scenario.at_fork(fork)) {
                [Some(a), Some(b)] => vec![a, b],
                _ => {
                    without_chain += 1;
                    continue;
                }
            },
        };
        scenarios += 1;
        let runs: Vec<_> = tested
            .iter_mut()
            .zip(&sided)
            .map(|(engine, scenario)| play(scenario, engine.driver.as_mut(), &engine.spec))
            .collect();
        if let Some(run) = runs.iter().find(|run| run.not_applicable.is_some()) {
            not_compared.push(format!(
                "{}: not applicable on {}: {}",
                scenario.name,
                run.engine,
                run.not_applicable.as_deref().unwrap_or_default()
            ));
            continue;
        }
        for run in &runs {
            if let Some(failure) = &run.failure {
                errors.push(format!(
                    "{}: step {}: {}",
                    scenario.name, failure.step, failure.error
                ));
            }
        }
        let before = changes.len();
        for (index, (a, b)) in runs[0].steps.iter().zip(&runs[1].steps).enumerate() {
            steps += 1;
            for difference in step_differences(a, b) {
                changes.push(ReleaseChange {
                    scenario: scenario.name.clone(),
                    step: index + 1,
                    line: scenario.steps[index].line,
                    field: difference.field,
                    from: difference.left,
                    to: difference.right,
                    from_detail: difference.left_detail,
                    to_detail: difference.right_detail,
                });
            }
        }
        if changes.len() > before {
            changed_scenarios += 1;
        }
    }
    // What the fuzzer recorded between the two releases (not between two
    // forks: its campaigns run no chain).
    let (recorded, record_errors) = match forks {
        None => conformance::abi_changes::between(
            &in_repository("corpus/abi-changes"),
            &sides.name(0),
            &sides.name(1),
        ),
        Some(_) => (Vec::new(), Vec::new()),
    };
    errors.extend(record_errors);
    if format == Format::Json {
        let report = serde_json::json!({
            "from": sides.name(0),
            "to": sides.name(1),
            "fuzz_records": recorded,
            "without_chain": without_chain,
            "scenarios": scenarios,
            "steps": steps,
            "changed_scenarios": changed_scenarios,
            "changes": changes,
            "not_compared": not_compared,
            "errors": errors,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| InputError::Setup(e.to_string()))?
        );
    } else {
        let mut last = String::new();
        for change in &changes {
            if change.scenario != last {
                println!("{}", change.scenario);
                last = change.scenario.clone();
            }
            let detail = |text: &str| {
                if text.is_empty() {
                    String::new()
                } else {
                    format!(" ({text})")
                }
            };
            println!(
                "  step {} (line {}) {}:\n    {}: {}{}\n    {}: {}{}",
                change.step,
                change.line,
                change.field,
                sides.name(0),
                change.from,
                detail(&change.from_detail),
                sides.name(1),
                change.to,
                detail(&change.to_detail)
            );
        }
        for record in &recorded {
            println!(
                "fuzzer record {} ({}):",
                record.directory.display(),
                record.step
            );
            for (field, from, to) in &record.fields {
                println!("  {field}:\n    {from}\n    {to}");
            }
        }
        for skipped in &not_compared {
            println!("NOT COMPARED {skipped}");
        }
        for error in &errors {
            println!("ERROR {error}");
        }
        if forks.is_some() {
            println!("{without_chain} scenarios without a chain not compared");
        }
        println!(
            "{} to {}: {scenarios} scenarios, {steps} steps compared, {changed_scenarios} scenarios changed ({} fields), {} scenarios not compared; {} changes the fuzzer recorded (corpus/abi-changes)",
            sides.name(0),
            sides.name(1),
            changes.len(),
            not_compared.len(),
            recorded.len()
        );
    }
    Ok(if errors.is_empty() { 0 } else { 2 })
}

fn main() -> ExitCode {
    // A host query's panic is an outcome, shown in the step, not on stderr.
    vm::query::keep_contained_panics_quiet();
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Call(args) => call(args),
        Command::Instrument { contract } => instrument(contract).map(|()| 0),
        Command::Catalogue => print_catalogue().map(|()| 0),
        Command::Run {
            paths,
            engines,
            format,
            snapshots,
            snapshot_dir,
        } => run(
            paths,
            engines,
            *format,
            *snapshots,
            &snapshot_dir
                .clone()
                .unwrap_or_else(|| in_repository(SNAPSHOTS)),
        ),
        Command::Show { scenario, engines } => show(scenario, engines),
        Command::Releases {
            paths,
            from,
            to,
            from_fork,
            to_fork,
            format,
            step_timeout,
        } => releases(
            paths,
            from,
            // A fork report compares one engine with itself unless told.
            to.as_deref().unwrap_or(if from_fork.is_some() {
                from
            } else {
                "piecrust-0.32.2"
            }),
            from_fork
                .zip(*to_fork)
                .map(|(a, b)| [a.hard_fork(), b.hard_fork()]),
            *format,
            *step_timeout,
        ),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
