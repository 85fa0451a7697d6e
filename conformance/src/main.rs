//! `conformance`: run Dusk contracts on the wasmtime reference VM and the
//! wasmi shadow interpreter and report whether they agree.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use conformance::scenario::Scenario;
use conformance::suite::{self, SnapshotStatus};
use serde::Serialize;
use vm::session::Deployment;
use vm::{
    CallError, CallReceipt, DeployError, DeployOptions, EngineKind, Vm, VmConfig, VmError,
    WasmiEngine, WasmtimeEngine,
};

#[derive(Parser)]
#[command(name = "conformance", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Deploy a contract and call one of its functions on the chosen engines.
    Call(CallArgs),
    /// Run scenarios on both engines, compare them and their snapshots,
    /// and summarize.
    Run {
        /// Scenario files or folders (default: corpus/scenarios).
        paths: Vec<PathBuf>,
        /// Run one engine only (no comparison; snapshots still checked).
        #[arg(long, value_enum, default_value_t = EngineChoice::Both)]
        engine: EngineChoice,
        /// Write a machine-readable report to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Print every step's outcome and call tree of one scenario.
    Show {
        scenario: PathBuf,
        #[arg(long, value_enum, default_value_t = EngineChoice::Both)]
        engine: EngineChoice,
    },
    /// Print the module the determinism pass gives the engines, as WAT.
    Instrument {
        /// The contract, as `.wat` or `.wasm`.
        contract: PathBuf,
    },
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
    #[arg(long, conflicts_with = "arg_utf8")]
    arg: Option<String>,
    /// Input bytes, as UTF-8 text.
    #[arg(long)]
    arg_utf8: Option<String>,
    /// Gas limit of the call.
    #[arg(long, default_value_t = 1_000_000)]
    gas: u64,
    /// Gas limit of `init` at deploy.
    #[arg(long, default_value_t = 1_000_000)]
    init_gas: u64,
    /// Which engines to run.
    #[arg(long, value_enum, default_value_t = EngineChoice::Both)]
    engine: EngineChoice,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineChoice {
    Wasmtime,
    Wasmi,
    Both,
}

/// Bad input: an unreadable file, invalid WAT, a rejected module.
#[derive(Debug, thiserror::Error)]
enum InputError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Wat(String),
    #[error("bad --arg: {0}")]
    Arg(String),
    #[error("{engine}: {error}")]
    Deploy {
        engine: EngineKind,
        error: DeployError,
    },
    #[error("{0}")]
    Vm(String),
}

fn load_contract(path: &Path) -> Result<Vec<u8>, InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::Read {
        path: path.display().to_string(),
        source,
    })?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    wat::parse_bytes(&bytes)
        .map(|wasm| wasm.into_owned())
        .map_err(|mut error| {
            error.set_path(path);
            InputError::Wat(error.to_string())
        })
}

/// One engine's outcome, as printed.
#[derive(Serialize, PartialEq, Eq)]
struct EngineReport {
    engine: EngineKind,
    /// Ids of the deployed contracts, in deploy order.
    contracts: Vec<String>,
    /// The called contract.
    contract: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_hex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<CallError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
    gas_limit: u64,
    gas_spent: u64,
    debug: Vec<String>,
    events: Vec<vm::trace::EventRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    call_tree: Option<vm::trace::CallTree>,
    state: std::collections::BTreeMap<String, String>,
}

impl EngineReport {
    fn new(
        engine: EngineKind,
        contracts: &[Deployment],
        called: &Deployment,
        receipt: CallReceipt,
    ) -> Self {
        let (output_hex, output_text, error, error_message) = match receipt.result {
            Ok(bytes) => (Some(hex::encode(&bytes)), printable(&bytes), None, None),
            Err(error) => {
                let message = error.to_string();
                (None, None, Some(error), Some(message))
            }
        };
        EngineReport {
            engine,
            contracts: contracts.iter().map(|d| d.id.to_string()).collect(),
            contract: called.id.to_string(),
            output_hex,
            output_text,
            error,
            error_message,
            gas_limit: receipt.gas_limit,
            gas_spent: receipt.gas_spent,
            debug: receipt.debug,
            events: receipt.events,
            call_tree: receipt.call_tree,
            state: receipt.state,
        }
    }

    /// Everything but the engine's name.
    fn same_outcome(&self, other: &EngineReport) -> bool {
        (
            &self.contract,
            &self.output_hex,
            &self.error,
            self.gas_spent,
            &self.debug,
            &self.events,
            &self.call_tree,
            &self.state,
        ) == (
            &other.contract,
            &other.output_hex,
            &other.error,
            other.gas_spent,
            &other.debug,
            &other.events,
            &other.call_tree,
            &other.state,
        )
    }

    fn print(&self) {
        println!("{}:", self.engine);
        match (&self.output_hex, &self.error_message) {
            (Some(hex), _) => {
                let text = self
                    .output_text
                    .as_ref()
                    .map(|text| format!(" ({text:?})"))
                    .unwrap_or_default();
                println!("  output: 0x{hex}{text}");
            }
            (None, Some(message)) => {
                let kind = self.error.as_ref().map_or("", |e| e.kind());
                println!("  error:  {kind}: {message}");
            }
            (None, None) => {}
        }
        println!("  gas:    {} of {}", self.gas_spent, self.gas_limit);
        for message in &self.debug {
            println!("  debug:  {message}");
        }
        if let Some(tree) = &self.call_tree {
            println!("  calls:");
            for line in tree.render().lines() {
                println!("    {line}");
            }
        }
    }
}

/// The bytes as text when they are printable UTF-8.
fn printable(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    (!text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_control() || c == '\n' || c == '\t'))
    .then(|| text.to_string())
}

fn run_on<E: vm::engine::Engine>(
    contracts: &[Vec<u8>],
    args: &CallArgs,
    function: &str,
    input: &[u8],
) -> Result<EngineReport, InputError> {
    let vm =
        Vm::<E>::new(VmConfig::default()).map_err(|error| InputError::Vm(error.to_string()))?;
    let mut session = vm.session();
    let mut deployments = Vec::new();
    for wasm in contracts {
        let options = DeployOptions {
            gas_limit: args.init_gas,
            ..DeployOptions::default()
        };
        let deployment = session
            .deploy(wasm, options)
            .map_err(|error| InputError::Deploy {
                engine: E::KIND,
                error,
            })?;
        deployments.push(deployment);
    }
    let called = deployments
        .get(args.to.wrapping_sub(1))
        .ok_or_else(|| {
            InputError::Arg(format!(
                "--to {}: there are {} contracts",
                args.to,
                contracts.len()
            ))
        })?
        .clone();
    let receipt = session
        .call(&called.id, function, input, args.gas)
        .map_err(|error: VmError| InputError::Vm(error.to_string()))?;
    Ok(EngineReport::new(E::KIND, &deployments, &called, receipt))
}

fn call(args: &CallArgs) -> Result<bool, InputError> {
    let (function, paths) = args
        .items
        .split_last()
        .ok_or_else(|| InputError::Arg("expected CONTRACT... FUNCTION".into()))?;
    let contracts = paths
        .iter()
        .map(|path| load_contract(Path::new(path)))
        .collect::<Result<Vec<_>, _>>()?;
    let input = match (&args.arg, &args.arg_utf8) {
        (Some(hex), _) => {
            let digits = hex.strip_prefix("0x").unwrap_or(hex);
            hex::decode(digits).map_err(|error| InputError::Arg(error.to_string()))?
        }
        (None, Some(text)) => text.as_bytes().to_vec(),
        (None, None) => Vec::new(),
    };
    let mut reports = Vec::new();
    if args.engine != EngineChoice::Wasmi {
        reports.push(run_on::<WasmtimeEngine>(
            &contracts, args, function, &input,
        )?);
    }
    if args.engine != EngineChoice::Wasmtime {
        reports.push(run_on::<WasmiEngine>(&contracts, args, function, &input)?);
    }
    let agree = reports
        .windows(2)
        .all(|pair| pair[0].same_outcome(&pair[1]));
    if args.json {
        #[derive(Serialize)]
        struct Report<'a> {
            engines: &'a [EngineReport],
            agree: bool,
        }
        let text = serde_json::to_string_pretty(&Report {
            engines: &reports,
            agree,
        })
        .map_err(|error| InputError::Vm(error.to_string()))?;
        println!("{text}");
    } else {
        if let Some(first) = reports.first() {
            for (index, id) in first.contracts.iter().enumerate() {
                let called = if *id == first.contract {
                    "  <- called"
                } else {
                    ""
                };
                println!("contract {} {id}{called}", index + 1);
            }
        }
        for report in &reports {
            report.print();
        }
        if reports.len() > 1 {
            println!(
                "{}",
                if agree {
                    "engines agree"
                } else {
                    "ENGINES DIVERGE"
                }
            );
        }
    }
    Ok(agree)
}

fn instrument(path: &Path) -> Result<(), InputError> {
    let wasm = load_contract(path)?;
    let config = VmConfig::default();
    let info =
        vm::admission::admit(&wasm, &config.limits, config.debug_imports).map_err(|error| {
            InputError::Deploy {
                engine: EngineKind::Wasmtime,
                error: error.into(),
            }
        })?;
    let instrumented =
        vm::determinism::instrument(&wasm, &info).map_err(|error| InputError::Deploy {
            engine: EngineKind::Wasmtime,
            error: error.into(),
        })?;
    let text = wasmprinter::print_bytes(&instrumented.wasm)
        .map_err(|error| InputError::Vm(error.to_string()))?;
    println!("{text}");
    Ok(())
}

const CORPUS: &str = "corpus";
const SNAPSHOTS: &str = "snapshots";

fn which(engine: EngineChoice) -> suite::Which {
    match engine {
        EngineChoice::Both => suite::Which::Both,
        EngineChoice::Wasmtime => suite::Which::Wasmtime,
        EngineChoice::Wasmi => suite::Which::Wasmi,
    }
}

fn load_scenario(path: &Path) -> Result<Scenario, String> {
    let corpus = Path::new(CORPUS);
    Scenario::load(path, corpus, &corpus.join("scenarios")).map_err(|e| e.to_string())
}

/// One scenario's line in the JSON report.
#[derive(Serialize)]
struct ScenarioJson {
    scenario: String,
    steps: usize,
    passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    divergences: Vec<conformance::diff::Divergence>,
    snapshot: &'static str,
}

/// Prints a line above the progress bar, or plainly when there is no bar
/// (not a terminal), where indicatif would drop it.
fn say(bar: &indicatif::ProgressBar, line: String) {
    if bar.is_hidden() {
        println!("{line}");
    } else {
        bar.println(line);
    }
}

fn run(paths: &[PathBuf], engine: EngineChoice, json: Option<&Path>) -> Result<u8, InputError> {
    let started = std::time::Instant::now();
    let roots = if paths.is_empty() {
        vec![PathBuf::from(CORPUS).join("scenarios")]
    } else {
        paths.to_vec()
    };
    let files = suite::find_scenarios(&roots).map_err(|source| InputError::Read {
        path: roots
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        source,
    })?;
    let engines = suite::Engines::new().map_err(InputError::Vm)?;
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (mut steps, mut agreeing, mut diverging, mut mismatched, mut broken, mut passed) =
        (0, 0, 0, 0, 0, 0);
    let mut lines = Vec::new();
    for path in &files {
        bar.set_message(path.display().to_string());
        let scenario = match load_scenario(path) {
            Ok(scenario) => scenario,
            Err(error) => {
                broken += 1;
                say(&bar, format!("ERROR {error}"));
                lines.push(ScenarioJson {
                    scenario: path.display().to_string(),
                    steps: 0,
                    passed: false,
                    error: Some(error),
                    divergences: Vec::new(),
                    snapshot: "not_checked",
                });
                bar.inc(1);
                continue;
            }
        };
        let report = suite::run_scenario(&engines, &scenario, which(engine), Path::new(SNAPSHOTS));
        steps += report.steps;
        let snapshot = match &report.snapshot {
            SnapshotStatus::Match => "match",
            SnapshotStatus::Mismatch { .. } => "mismatch",
            SnapshotStatus::Missing => "missing",
            SnapshotStatus::NotChecked => "not_checked",
        };
        if let Some(error) = report.error() {
            broken += 1;
            say(&bar, format!("ERROR {error}"));
        } else if !report.divergences.is_empty() {
            diverging += 1;
            say(
                &bar,
                format!(
                    "DIVERGE {}\n{}",
                    scenario.name,
                    suite::divergence_report(&scenario, &report.divergences)
                ),
            );
        } else {
            agreeing += 1;
            if report.snapshot != SnapshotStatus::Match {
                mismatched += 1;
                say(
                    &bar,
                    format!(
                        "SNAPSHOT {} {snapshot}: review with `cargo test -p conformance` and `cargo insta review`",
                        scenario.name
                    ),
                );
            }
        }
        if report.passed() {
            passed += 1;
        }
        lines.push(ScenarioJson {
            scenario: scenario.name.clone(),
            steps: report.steps,
            passed: report.passed(),
            error: report.error().map(ToString::to_string),
            divergences: report.divergences.clone(),
            snapshot,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    println!(
        "{} scenarios, {steps} steps: {agreeing} agree, {diverging} diverge, {mismatched} snapshot mismatches, {broken} broken ({elapsed:.2?})",
        files.len()
    );
    if let Some(json_path) = json {
        let report = serde_json::json!({
            "scenarios": lines,
            "summary": {
                "scenarios": files.len(),
                "steps": steps,
                "agreeing": agreeing,
                "diverging": diverging,
                "snapshot_mismatches": mismatched,
                "broken": broken,
                "seconds": elapsed.as_secs_f64(),
            },
        });
        let text =
            serde_json::to_string_pretty(&report).map_err(|e| InputError::Vm(e.to_string()))?;
        std::fs::write(json_path, text).map_err(|source| InputError::Read {
            path: json_path.display().to_string(),
            source,
        })?;
    }
    let failed = files.len() - passed;
    println!("conformance: {passed} passed, {failed} failed");
    Ok(if failed == 0 { 0 } else { 1 })
}

fn show(path: &Path, engine: EngineChoice) -> Result<u8, InputError> {
    let scenario = load_scenario(path).map_err(InputError::Vm)?;
    let engines = suite::Engines::new().map_err(InputError::Vm)?;
    let report = suite::run_scenario(&engines, &scenario, which(engine), Path::new(SNAPSHOTS));
    for (name, run) in [("wasmtime", &report.wasmtime), ("wasmi", &report.wasmi)] {
        match run {
            Some(Ok(outcomes)) => {
                println!("== {name}");
                print!("{}", conformance::report::render(&scenario, outcomes));
            }
            Some(Err(error)) => println!("== {name}\nERROR {error}"),
            None => {}
        }
    }
    if report.divergences.is_empty() {
        if report.wasmtime.is_some() && report.wasmi.is_some() {
            println!("== engines agree");
        }
        Ok(0)
    } else {
        println!("== ENGINES DIVERGE");
        print!(
            "{}",
            suite::divergence_report(&scenario, &report.divergences)
        );
        Ok(1)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Call(args) => call(args).map(|agree| if agree { 0 } else { 1 }),
        Command::Instrument { contract } => instrument(contract).map(|()| 0),
        Command::Run {
            paths,
            engine,
            json,
        } => run(paths, *engine, json.as_deref()),
        Command::Show { scenario, engine } => show(scenario, *engine),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
