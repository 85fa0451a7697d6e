//! The stable campaign runner: the oracles driven by a seeded generator on
//! several threads, without libFuzzer, with findings saved, minimized.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arbitrary::Unstructured;
use serde::Serialize;
use vm::limits::Limits;
use vm::{Vm, VmConfig, WasmiEngine};

use crate::faulty::{ArgbufBound, ExtraGas, Faulty, FlipNan, OutputBound};
use crate::generate::{self, Case, CaseInput, Generator};
use crate::oracle::{self, DiscardCause, Divergence, Engines, Tally, Verdict};
use crate::production::Production;
use conformance::driver::process::RunnerStats;
use conformance::engines::EngineSpec;

/// Which oracle a campaign drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Differential,
    Gas,
    Admission,
    /// Arbitrary call sequences over the contracts of `corpus/contracts/`.
    Scenario,
    /// Generated cases on two production engines (`--production` and
    /// `--against`): every difference between them.
    Releases,
}

/// A deliberately wrong shadow engine, to measure how fast an oracle finds
/// a known bug: one per promise the oracles must check, limits included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultChoice {
    /// Every call charges one more gas unit.
    ExtraGas,
    /// A canonical `f32` NaN in an output has a payload bit flipped.
    FlipNan,
    /// Memory stops growing one page short of the VM's cap (4,095 pages).
    PageCap,
    /// A table of the largest admitted size (65,536 elements) is refused.
    TableCap,
    /// A `c` that would open the 48th frame is refused.
    CallDepth,
    /// The logical stack is 1 KiB short.
    LogicalStack,
    /// An output of exactly 65,536 bytes is taken for one past the bound.
    OutputBound,
    /// A call in which an import read the whole 65,536-byte argument
    /// buffer (`c`, `emit`, `feed`, `hdebug`) charges one more gas unit.
    ArgbufBound,
}

impl FaultChoice {
    /// The limits of a wrong shadow VM whose fault is a limit off by a
    /// little; `None` for faults of the engine itself.
    pub fn limits(self) -> Option<Limits> {
        let limits = Limits::default();
        match self {
            FaultChoice::PageCap => Some(Limits {
                max_memory_pages: limits.max_memory_pages - 1,
                ..limits
            }),
            FaultChoice::TableCap => Some(Limits {
                max_table_elements: limits.max_table_elements - 1,
                ..limits
            }),
            FaultChoice::CallDepth => Some(Limits {
                max_call_depth: limits.max_call_depth - 1,
                ..limits
            }),
            FaultChoice::LogicalStack => Some(Limits {
                stack_budget: limits.stack_budget - 1024,
                ..limits
            }),
            FaultChoice::ExtraGas
            | FaultChoice::FlipNan
            | FaultChoice::OutputBound
            | FaultChoice::ArgbufBound => None,
        }
    }
}

/// Where the known contracts are: a `corpus/` next to the executable (how
/// ClusterFuzzLite ships them, see `.clusterfuzzlite/build.sh`), else the
/// repository's, so that binaries run from anywhere find them.
fn corpus_root() -> PathBuf {
    let shipped = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("corpus")))
        .filter(|dir| dir.join("contracts").is_dir());
    shipped.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus"))
}

/// Generated contracts a judge keeps by seed; more than a campaign's pool
/// holds, fewer than the VM's module cache.
const GENERATED_CONTRACTS_KEPT: usize = 256;

/// wasmi modules a judge's engines compile before they are replaced:
/// wasmi 1.1.0 keeps every compiled function until its engine is dropped
/// (about 3.4 KiB per generated contract, measured), so a campaign that
/// never replaced them would grow by gigabytes a day. 4,096 modules is
/// about 14 MiB; rebuilding costs milliseconds.
const RENEW_ENGINES_AFTER: u64 = 4_096;

/// The engine compared with wasmtime: wasmi, or a deliberately wrong
/// wasmi.
enum Shadow {
    Correct,
    ExtraGas(Vm<Faulty<WasmiEngine, ExtraGas>>),
    FlipNan(Vm<Faulty<WasmiEngine, FlipNan>>),
    OutputBound(Vm<Faulty<WasmiEngine, OutputBound>>),
    ArgbufBound(Vm<Faulty<WasmiEngine, ArgbufBound>>),
    /// wasmi under wrong limits ([`FaultChoice::limits`]).
    Limits(Vm<WasmiEngine>),
}

/// Runs `$body` with `$b` bound to the shadow VM of `$vms`.
macro_rules! with_shadow {
    ($vms:expr, $b:ident => $body:expr) => {
        match &$vms.shadow {
            Shadow::Correct => {
                let $b = &$vms.engines.wasmi;
                $body
            }
            Shadow::ExtraGas($b) => $body,
            Shadow::FlipNan($b) => $body,
            Shadow::OutputBound($b) => $body,
            Shadow::ArgbufBound($b) => $body,
            Shadow::Limits($b) => $body,
        }
    };
}

/// The engines a judge runs inputs on.
struct JudgeEngines {
    engines: Engines,
    shadow: Shadow,
}

impl JudgeEngines {
    fn new(fault: Option<FaultChoice>) -> Result<Self, String> {
        let engines = Engines::new()?;
        let config = engines.config.clone();
        let error = |e: vm::failure::EngineError| e.to_string();
        let shadow = match fault {
            None => Shadow::Correct,
            Some(FaultChoice::ExtraGas) => Shadow::ExtraGas(Vm::new(config).map_err(error)?),
            Some(FaultChoice::FlipNan) => Shadow::FlipNan(Vm::new(config).map_err(error)?),
            Some(FaultChoice::OutputBound) => Shadow::OutputBound(Vm::new(config).map_err(error)?),
            Some(FaultChoice::ArgbufBound) => Shadow::ArgbufBound(Vm::new(config).map_err(error)?),
            Some(
                fault @ (FaultChoice::PageCap
                | FaultChoice::TableCap
                | FaultChoice::CallDepth
                | FaultChoice::LogicalStack),
            ) => {
                let limits = fault.limits().unwrap_or_default();
                Shadow::Limits(Vm::new(VmConfig { limits, ..config }).map_err(error)?)
            }
        };
        Ok(JudgeEngines { engines, shadow })
    }

    /// Modules compiled on the wasmi engines.
    fn wasmi_modules_compiled(&self) -> u64 {
        let shadow = match &self.shadow {
            Shadow::Correct => 0,
            _ => with_shadow!(self, b => b.modules_compiled()),
        };
        self.engines.wasmi.modules_compiled() + shadow
    }
}

/// What a job needs to judge inputs.
pub struct Judge {
    target: Target,
    fault: Option<FaultChoice>,
    vms: JudgeEngines,
    /// Production beside our engines (three-way), or none (two-way); for
    /// `releases`, the newer release.
    production: Option<Production>,
    /// For `releases`, the older release.
    against: Option<Production>,
    /// [`RENEW_ENGINES_AFTER`], smaller in tests.
    renew_after: u64,
    generator: Generator,
    known: Vec<generate::KnownContract>,
}

impl Judge {
    /// A judge of `target` inputs, with a deliberately wrong shadow engine
    /// when `fault` says, and `production` as a third engine (its runner is
    /// built when needed).
    pub fn new(
        target: Target,
        fault: Option<FaultChoice>,
        production: Option<&EngineSpec>,
    ) -> Result<Self, String> {
        Self::with_against(target, fault, production, None)
    }

    /// [`Judge::new`], with the older release for `releases`.
    pub fn with_against(
        target: Target,
        fault: Option<FaultChoice>,
        production: Option<&EngineSpec>,
        against: Option<&EngineSpec>,
    ) -> Result<Self, String> {
        let root = conformance::repository_root();
        let against = match (target, against) {
            (Target::Releases, Some(spec)) => Some(Production::new(spec, &root)?),
            (Target::Releases, None) => {
                return Err("`releases` needs --against, the older release".into());
            }
            _ => None,
        };
        if target == Target::Releases && production.is_none() {
            return Err("`releases` needs --production, the newer release".into());
        }
        let known = if target == Target::Scenario {
            oracle::known_contracts(&corpus_root())?
        } else {
            Vec::new()
        };
        let production = match (target, production) {
            (Target::Admission, _) | (_, None) => None,
            (_, Some(spec)) => Some(Production::new(spec, &root)?),
        };
        Ok(Judge {
            target,
            fault,
            known,
            production,
            against,
            vms: JudgeEngines::new(fault)?,
            renew_after: RENEW_ENGINES_AFTER,
            generator: Generator::new(GENERATED_CONTRACTS_KEPT),
        })
    }

    /// The production engine, if the judge has one.
    pub fn production(&self) -> Option<&str> {
        self.production.as_ref().map(Production::name)
    }

    /// What befell the judge's production runners so far.
    pub fn runner_stats(&self) -> RunnerStats {
        let mut stats = RunnerStats::default();
        for production in self.production.iter().chain(self.against.iter()) {
            stats.merge(&production.runner_stats());
        }
        stats
    }

    /// Judges a generated case.
    pub fn case(&mut self, case: &Case) -> Verdict {
        let vms = &self.vms;
        let production = self.production.as_mut();
        match self.target {
            Target::Gas => with_shadow!(vms, b => oracle::gas_with(
                &vms.engines.wasmtime,
                b,
                &vms.engines.native,
                production,
                case,
            )),
            Target::Releases => match (self.against.as_mut(), production) {
                (Some(from), Some(to)) => oracle::releases(from, to, case),
                _ => Verdict::Discard(DiscardCause::NotGenerated),
            },
            _ => with_shadow!(vms, b => {
                oracle::differential(&vms.engines.wasmtime, b, production, case)
            }),
        }
    }

    /// What an input of the `scenario` target runs, for people reading a
    /// finding: the known contracts deployed and the calls.
    pub fn describe(&self, bytes: &[u8]) -> Option<serde_json::Value> {
        if self.target != Target::Scenario {
            return None;
        }
        let case = generate::case_over(&mut Unstructured::new(bytes), &self.known).ok()?;
        let contracts: Vec<&str> = case
            .contracts
            .iter()
            .map(|&which| self.known[which].name.as_str())
            .collect();
        let calls: Vec<serde_json::Value> = case
            .calls
            .iter()
            .map(|call| {
                serde_json::json!({
                    "contract": call.contract,
                    "function": call.function,
                    "arg": hex::encode(&call.arg),
                    "gas": call.gas,
                })
            })
            .collect();
        Some(serde_json::json!({ "contracts": contracts, "calls": calls }))
    }

    /// Judges raw fuzzer bytes. Fails only when the engines, renewed now
    /// and then (see [`RENEW_ENGINES_AFTER`]), cannot be built again.
    /// Runs a `scenario` case as `finding.json` records it: contracts by
    /// name, calls with their contract's position, function, hex argument
    /// and gas.
    fn recorded_case(&mut self, case: &serde_json::Value) -> Result<Verdict, String> {
        let bad = |what: &str| format!("finding.json: bad case ({what})");
        let contracts = case["contracts"]
            .as_array()
            .ok_or_else(|| bad("contracts"))?
            .iter()
            .map(|name| {
                let name = name.as_str().ok_or_else(|| bad("a contract name"))?;
                self.known
                    .iter()
                    .position(|known| known.name == name)
                    .ok_or_else(|| format!("finding.json: no contract {name} in corpus/contracts"))
            })
            .collect::<Result<Vec<usize>, String>>()?;
        let calls = case["calls"]
            .as_array()
            .ok_or_else(|| bad("calls"))?
            .iter()
            .map(|call| {
                Ok(generate::KnownCall {
                    contract: call["contract"].as_u64().ok_or_else(|| bad("contract"))? as usize,
                    function: call["function"]
                        .as_str()
                        .ok_or_else(|| bad("function"))?
                        .to_string(),
                    arg: hex::decode(call["arg"].as_str().ok_or_else(|| bad("arg"))?)
                        .map_err(|e| bad(&e.to_string()))?,
                    gas: call["gas"].as_u64().ok_or_else(|| bad("gas"))?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if calls.iter().any(|call| call.contract >= contracts.len()) {
            return Err(bad("a call to a contract the case does not deploy"));
        }
        let case = generate::KnownCase { contracts, calls };
        let vms = &self.vms;
        Ok(with_shadow!(vms, b => oracle::scenario(
            &vms.engines.wasmtime,
            b,
            self.production.as_mut(),
            &self.known,
            &case,
        )))
    }

    pub fn input(&mut self, bytes: &[u8]) -> Result<Verdict, String> {
        if self.vms.wasmi_modules_compiled() >= self.renew_after {
            self.vms = JudgeEngines::new(self.fault)?;
        }
        let vms = &self.vms;
        Ok(match self.target {
            Target::Admission => {
                with_shadow!(vms, b => oracle::admission_with(&vms.engines.wasmtime, b, bytes))
            }
            Target::Scenario => {
                match generate::case_over(&mut Unstructured::new(bytes), &self.known) {
                    Ok(case) => with_shadow!(vms, b => oracle::scenario(
                        &vms.engines.wasmtime,
                        b,
                        self.production.as_mut(),
                        &self.known,
                        &case,
                    )),
                    Err(_) => Verdict::Discard(DiscardCause::NotGenerated),
                }
            }
            Target::Differential | Target::Gas | Target::Releases => {
                match self.generator.case(bytes) {
                    Ok(case) => self.case(&case),
                    Err(_) => Verdict::Discard(DiscardCause::NotGenerated),
                }
            }
        })
    }
}

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

/// How campaigns of the `differential` and `gas` targets reuse generated
/// contracts. A new contract costs milliseconds (wasm-smith, admission,
/// instrumentation, Cranelift and wasmi compilation); a case over compiled
/// contracts costs a fraction of that. So a job keeps a pool of contract
/// seeds, builds each case from one to three of them plus new calls, and
/// brings in a new seed every `fresh_every` executions, replacing the
/// oldest; the case it arrives in always uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Reuse {
    /// Seeds in a job's pool; 0 makes every contract of every case new.
    pub pool: usize,
    /// Executions between two new seeds.
    pub fresh_every: u64,
}

impl Reuse {
    /// What campaigns use unless told otherwise.
    pub const DEFAULT: Reuse = Reuse {
        pool: 16,
        fresh_every: 8,
    };

    /// Every contract of every case new (no pool).
    pub const NONE: Reuse = Reuse {
        pool: 0,
        fresh_every: 1,
    };
}

/// A saved finding.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub directory: PathBuf,
    pub divergence: Divergence,
    pub seconds_to_find: f64,
    pub input_size: usize,
    pub minimized_size: Option<u64>,
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

/// A small, seedable generator of input bytes (splitmix64).
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Between `min` and `max` random bytes.
    fn bytes(&mut self, min: usize, max: usize) -> Vec<u8> {
        let len = min + (self.next() % (max - min + 1) as u64) as usize;
        let mut bytes = Vec::with_capacity(len + 8);
        while bytes.len() < len {
            bytes.extend_from_slice(&self.next().to_le_bytes());
        }
        bytes.truncate(len);
        bytes
    }
}

/// Where a job's inputs come from: random bytes, or for the targets made of
/// generated contracts, [`CaseInput`]s framed from contract seeds (see
/// [`Reuse`]) and random call bytes.
struct Inputs {
    framed: bool,
    bytes: Bytes,
    reuse: Reuse,
    pool: Vec<Vec<u8>>,
    /// The pool slot the next new seed replaces (the oldest).
    oldest: usize,
    made: u64,
    new_contracts: u64,
}

impl Inputs {
    fn new(target: Target, reuse: Reuse, seed: u64) -> Self {
        Inputs {
            framed: matches!(
                target,
                Target::Differential | Target::Gas | Target::Releases
            ),
            bytes: Bytes(seed),
            reuse,
            pool: Vec::new(),
            oldest: 0,
            made: 0,
            new_contracts: 0,
        }
    }

    fn new_seed(&mut self) -> Vec<u8> {
        self.new_contracts += 1;
        self.bytes.bytes(256, 4_096)
    }

    fn next(&mut self) -> Vec<u8> {
        if !self.framed {
            return self.bytes.bytes(256, 8_447);
        }
        self.made += 1;
        let count = 1 + (self.bytes.next() % 3) as usize;
        let mut seeds = Vec::with_capacity(count);
        if self.reuse.pool == 0 {
            for _ in 0..count {
                seeds.push(self.new_seed());
            }
        } else {
            let mut arrived = None;
            if self.pool.len() < self.reuse.pool {
                let seed = self.new_seed();
                self.pool.push(seed);
                arrived = Some(self.pool.len() - 1);
            } else if self.made.is_multiple_of(self.reuse.fresh_every.max(1)) {
                let seed = self.new_seed();
                self.pool[self.oldest] = seed;
                arrived = Some(self.oldest);
                self.oldest = (self.oldest + 1) % self.pool.len();
            }
            let newcomer_at = (self.bytes.next() % count as u64) as usize;
            for at in 0..count {
                let slot = match arrived {
                    Some(slot) if at == newcomer_at => slot,
                    _ => (self.bytes.next() % self.pool.len() as u64) as usize,
                };
                seeds.push(self.pool[slot].clone());
            }
        }
        let calls = self.bytes.bytes(16, 512);
        let seeds: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
        // The seeds are at most 4,096 bytes and one to three: this encodes.
        CaseInput::encode(&seeds, &calls).unwrap_or_default()
    }
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

/// Saves a finding: the raw input, the divergence, the contract of the
/// diverging step minimized while it shows the same divergence, its WAT,
/// and how to replay.
fn save(
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
    let repro = format!(
        "cargo run --release -p fuzz -- replay --target {target}{fault} --production {production} {}\n",
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

/// The diverging step's contract, shrunk while the case still shows a
/// divergence with the same key (not just any failure).
/// How long a finding's contract is minimized at most.
const MINIMIZE_FOR: Duration = Duration::from_secs(60);

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

/// Writes `count` seed inputs for `target` into `dir`: generated inputs
/// the oracle judges `Agree` (discarded ones teach libFuzzer nothing), named
/// by their hash so reruns do not duplicate them. Returns how many of the
/// generated inputs were tried.
pub fn seeds(target: Target, count: usize, seed: u64, dir: &Path) -> Result<usize, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Seeds are judged by our two engines: libFuzzer's inputs need no
    // runner to be read.
    let mut judge = Judge::new(target, None, None)?;
    let mut inputs = Inputs::new(target, Reuse::NONE, seed);
    let (mut kept, mut tried) = (0, 0);
    // Bounded: a generator that never yields an agreeing input is a bug to
    // report, not a loop to wait on.
    while kept < count && tried < count * 100 {
        tried += 1;
        let input = inputs.next();
        match judge.input(&input)? {
            Verdict::Agree | Verdict::Explained { .. } => {
                let name = blake3::hash(&input).to_hex();
                let path = dir.join(format!("{}.bin", &name[..16]));
                std::fs::write(&path, &input).map_err(|e| format!("{}: {e}", path.display()))?;
                kept += 1;
            }
            Verdict::Diverge(divergence) => {
                return Err(format!(
                    "a seed candidate diverges ({}); run a campaign with --seed {seed}",
                    divergence.key()
                ));
            }
            Verdict::Discard(_) => {}
        }
    }
    if kept < count {
        return Err(format!("only {kept} of {tried} inputs agreed"));
    }
    Ok(tried)
}

/// Replays a saved input: its verdict now, with `production` as a third
/// engine or without.
///
/// A `scenario` input picks contracts by their place in the list of
/// `corpus/contracts/`, which a new contract shifts; so where the input has
/// a `finding.json` beside it with the `case` it ran (contract names and
/// calls), that case is replayed instead.
pub fn replay(
    target: Target,
    fault: Option<FaultChoice>,
    production: Option<&EngineSpec>,
    input: &Path,
) -> Result<Verdict, String> {
    let bytes = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let mut judge = Judge::new(target, fault, production)?;
    let recorded = input
        .parent()
        .map(|dir| dir.join("finding.json"))
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|text| serde_json::from_slice::<serde_json::Value>(&text).ok())
        .and_then(|json| json.get("case").cloned());
    match recorded {
        Some(case) if target == Target::Scenario => judge.recorded_case(&case),
        _ => judge.input(&bytes),
    }
}

/// What a saved input runs ([`Judge::describe`]), for `scenario`.
pub fn describe(target: Target, input: &Path) -> Result<Option<serde_json::Value>, String> {
    let bytes = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    Ok(Judge::new(target, None, None)?.describe(&bytes))
}

/// Seconds the same cases took bare (deploy and call on both engines,
/// nothing compared) and through the differential oracle.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Overhead {
    pub cases: usize,
    /// Each pass on new engines: compilation, instantiation and calls.
    pub cold_bare: f64,
    pub cold_oracle: f64,
    /// Both passes again with every module compiled: instantiation and
    /// calls only, where the oracle's share is largest.
    pub warm_bare: f64,
    pub warm_oracle: f64,
}

/// Times the same generated cases bare and through the oracle, cold and
/// warm (see [`Overhead`]), in one run.
pub fn overhead(cases: usize, seed: u64) -> Result<Overhead, String> {
    let mut inputs = Inputs::new(Target::Differential, Reuse::NONE, seed);
    let mut generated = Vec::new();
    while generated.len() < cases {
        if let Ok(case) = generate::case(&inputs.next()) {
            generated.push(case);
        }
    }
    let time = |run: &dyn Fn()| {
        let started = Instant::now();
        run();
        started.elapsed().as_secs_f64()
    };
    // Every contract stays cached once compiled.
    let capacity = 3 * cases;
    let bare_engines = Engines::with_module_cache(capacity)?;
    let bare_pass = || {
        for case in &generated {
            bare(&bare_engines.wasmtime, case);
            bare(&bare_engines.wasmi, case);
        }
    };
    let oracle_engines = Engines::with_module_cache(capacity)?;
    let oracle_pass = || {
        for case in &generated {
            std::hint::black_box(oracle::differential(
                &oracle_engines.wasmtime,
                &oracle_engines.wasmi,
                None,
                case,
            ));
        }
    };
    let cold_bare = time(&bare_pass);
    let cold_oracle = time(&oracle_pass);
    Ok(Overhead {
        cases: generated.len(),
        cold_bare,
        cold_oracle,
        warm_bare: time(&bare_pass),
        warm_oracle: time(&oracle_pass),
    })
}

/// A case's deploys and calls on one engine, with nothing compared.
fn bare<E: vm::engine::Engine>(vm: &Vm<E>, case: &Case) {
    let mut session = vm.session();
    session.attach_feeder();
    session.set_host_data("", vec![1, 2, 3]);
    for (index, wasm) in case.contracts.iter().enumerate() {
        let options = vm::DeployOptions {
            id: Some(Case::id(index)),
            gas_limit: 1_000_000,
            ..vm::DeployOptions::default()
        };
        let _ = std::hint::black_box(session.deploy(wasm, options));
    }
    for call in &case.calls {
        let _ = std::hint::black_box(session.call(
            &Case::id(call.contract),
            call.function,
            &call.arg,
            call.gas,
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn seeds_of(inputs: &mut Inputs, count: usize) -> Vec<Vec<Vec<u8>>> {
        (0..count)
            .map(|_| {
                let input = inputs.next();
                CaseInput::parse(&input)
                    .seeds()
                    .map(<[u8]>::to_vec)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_pool_brings_in_a_new_seed_every_so_often_and_uses_it_at_once() {
        let reuse = Reuse {
            pool: 4,
            fresh_every: 10,
        };
        let mut inputs = Inputs::new(Target::Differential, reuse, 1);
        let cases = seeds_of(&mut inputs, 200);
        let mut seen = HashSet::new();
        for seeds in &cases {
            // Each input brings in at most one seed not seen before.
            let new: HashSet<&Vec<u8>> =
                seeds.iter().filter(|seed| !seen.contains(*seed)).collect();
            assert!(new.len() <= 1, "{} new seeds in one input", new.len());
            seen.extend(seeds.iter().cloned());
        }
        // Four to fill the pool, then one every ten inputs.
        assert_eq!(inputs.new_contracts, 4 + 200 / 10);
        assert_eq!(seen.len() as u64, inputs.new_contracts);
    }

    #[test]
    fn without_a_pool_every_contract_is_new() {
        let mut inputs = Inputs::new(Target::Gas, Reuse::NONE, 2);
        let cases = seeds_of(&mut inputs, 50);
        let all: Vec<&Vec<u8>> = cases.iter().flatten().collect();
        let distinct: HashSet<&Vec<u8>> = all.iter().copied().collect();
        assert_eq!(distinct.len(), all.len());
        assert_eq!(inputs.new_contracts, all.len() as u64);
    }

    #[test]
    fn engines_are_replaced_after_enough_wasmi_compilations() {
        let mut judge = Judge::new(Target::Differential, None, None).expect("judge");
        judge.renew_after = 4;
        let mut inputs = Inputs::new(Target::Differential, Reuse::NONE, 4);
        let mut counts = Vec::new();
        for _ in 0..8 {
            let verdict = judge.input(&inputs.next()).expect("judged");
            assert!(!matches!(verdict, Verdict::Diverge(_)), "{verdict:?}");
            counts.push(judge.vms.wasmi_modules_compiled());
        }
        // Up to three new contracts per input, counted from the last renewal.
        assert!(counts.iter().all(|&count| count < 4 + 3), "{counts:?}");
        assert!(
            counts.windows(2).any(|pair| pair[1] < pair[0]),
            "never renewed: {counts:?}"
        );
    }

    #[test]
    fn other_targets_get_raw_bytes() {
        let mut inputs = Inputs::new(Target::Admission, Reuse::DEFAULT, 3);
        let input = inputs.next();
        assert!(input.len() >= 256);
        assert_eq!(inputs.new_contracts, 0);
    }
}
