//! Oracles: each runs an input and returns a typed verdict.

use std::collections::BTreeMap;

use runner_protocol::outcome::CallResult;
use runner_protocol::{Bytes, CallOutcome, Difference, compare_calls, compare_deploys};
use serde::Serialize;
use vm::engine::{Engine, EngineError, Trap};
use vm::oracle::NativeFuelOracle;
use vm::{
    CallError, DeployError, DeployOptions, Vm, VmConfig, WasmiEngine, WasmtimeEngine, normalize,
};

use crate::generate::{self, Case};

/// Why an input was not judged. Every cause is counted by campaigns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscardCause {
    /// The bytes ran out before a case was generated.
    NotGenerated,
    /// Admission rejected the case's first contract on both engines.
    NotAContract,
    /// The gas oracle cannot judge stack exhaustion: native wasmtime has no
    /// logical stack limit.
    StackExhausted,
    /// The contract has bulk memory operations, `memory.grow` or accesses
    /// past its declared maximum, where wasmtime 48's native fuel differs
    /// from production's (`vm::oracle::applicable`); both engines were
    /// still compared with each other.
    NativeFuelInapplicable,
    /// The case needed more instances (or a module more tables) than the
    /// fuzz engines' wasmtime instance pool holds ([`Engines::new`]): a
    /// limit of this process, which the other engine does not have.
    InstancePoolExhausted,
}

/// Whether an engine error is the instance pool running out.
fn pool_exhausted(error: &EngineError) -> bool {
    matches!(error, EngineError::InstancePoolExhausted { .. })
}

fn deploy_pool_exhausted(result: &Result<vm::session::Deployment, DeployError>) -> bool {
    matches!(result, Err(DeployError::Engine(error)) if pool_exhausted(error))
}

fn call_pool_exhausted(result: &Result<vm::CallReceipt, vm::session::VmError>) -> bool {
    matches!(result, Err(vm::session::VmError::Engine(error)) if pool_exhausted(error))
}

/// A divergence: what differs, and a key that says whether a smaller input
/// shows the *same* divergence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    pub oracle: &'static str,
    /// The call (0-based, deploys first) where the outcomes differ.
    pub step: String,
    /// The differing fields with both values.
    pub fields: Vec<(String, String, String)>,
    /// The case contract the diverging step deployed or called.
    pub contract: Option<usize>,
}

impl Divergence {
    /// Identity of the divergence for minimization: the step and the field
    /// names, not the values.
    pub fn key(&self) -> String {
        let fields: Vec<&str> = self
            .fields
            .iter()
            .map(|(field, _, _)| field.as_str())
            .collect();
        format!("{}:{}:{}", self.oracle, self.step, fields.join(","))
    }
}

/// What an oracle concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Both sides did the same (succeeded, or failed the same way).
    Agree,
    Diverge(Divergence),
    Discard(DiscardCause),
}

/// A divergence from the one comparison's differences, if there are any.
fn divergence(
    oracle: &'static str,
    step: String,
    differences: Vec<Difference>,
) -> Option<Divergence> {
    (!differences.is_empty()).then(|| Divergence {
        oracle,
        step,
        fields: differences
            .into_iter()
            .map(|d| (d.field, d.left, d.right))
            .collect(),
        contract: None,
    })
}

/// An engine error: a VM bug, never equal to anything.
fn engine_error(oracle: &'static str, step: String, contract: usize, error: String) -> Verdict {
    Verdict::Diverge(Divergence {
        oracle,
        step,
        fields: vec![("engine error".into(), error.clone(), error)],
        contract: Some(contract),
    })
}

/// The outcome and gas of a call, and nothing else, in the protocol's
/// terms: what the gas oracle compares.
fn gas_view(result: &Result<Vec<u8>, CallError>, gas_limit: u64, gas_spent: u64) -> CallOutcome {
    CallOutcome {
        result: match result {
            Ok(output) => CallResult::Output(Bytes(output.clone())),
            Err(error) => CallResult::Failed(normalize::failure(error)),
        },
        gas_limit,
        gas_spent: Some(gas_spent),
        events: None,
        feed: Vec::new(),
        debug: Vec::new(),
        frames: None,
        state: BTreeMap::new(),
        trace: None,
    }
}

/// One session per engine, driven in lock step: every deploy and call runs
/// on both and is compared at once. Shared by `differential` and `scenario`
/// so that both judge a step by the same rules.
struct LockStep<'vm, A: Engine, B: Engine> {
    oracle: &'static str,
    a: vm::Session<'vm, A>,
    b: vm::Session<'vm, B>,
}

impl<'vm, A: Engine, B: Engine> LockStep<'vm, A, B> {
    fn new(oracle: &'static str, a: &'vm Vm<A>, b: &'vm Vm<B>) -> Self {
        LockStep {
            oracle,
            a: a.session(),
            b: b.session(),
        }
    }

    /// Deploys case contract `index` on both; `Ok(true)` when it deployed.
    /// A first contract that admission rejects on both sides is no contract
    /// at all: the input is discarded.
    fn deploy(&mut self, index: usize, wasm: &[u8]) -> Result<bool, Verdict> {
        let options = DeployOptions {
            id: Some(Case::id(index)),
            gas_limit: 1_000_000,
            ..DeployOptions::default()
        };
        let ra = self.a.deploy(wasm, options.clone());
        let rb = self.b.deploy(wasm, options);
        if deploy_pool_exhausted(&ra) || deploy_pool_exhausted(&rb) {
            return Err(Verdict::Discard(DiscardCause::InstancePoolExhausted));
        }
        if index == 0
            && matches!(
                (&ra, &rb),
                (
                    Err(DeployError::Admission(_)),
                    Err(DeployError::Admission(_))
                )
            )
        {
            return Err(Verdict::Discard(DiscardCause::NotAContract));
        }
        let step = format!("deploy {index}");
        let oa = normalize::deploy_outcome(&ra, self.a.memory_states());
        let ob = normalize::deploy_outcome(&rb, self.b.memory_states());
        let (oa, ob) = match (oa, ob) {
            (Ok(oa), Ok(ob)) => (oa, ob),
            (Err(error), _) | (_, Err(error)) => {
                return Err(engine_error(self.oracle, step, index, error.to_string()));
            }
        };
        if let Some(divergence) = divergence(self.oracle, step, compare_deploys(&oa, &ob)) {
            return Err(Verdict::Diverge(Divergence {
                contract: Some(index),
                ..divergence
            }));
        }
        Ok(ra.is_ok())
    }

    /// Calls `function` of case contract `contract` on both (step `index`).
    fn call(
        &mut self,
        index: usize,
        contract: usize,
        function: &str,
        arg: &[u8],
        gas: u64,
    ) -> Result<(), Verdict> {
        let id = Case::id(contract);
        let ra = self.a.call(&id, function, arg, gas);
        let rb = self.b.call(&id, function, arg, gas);
        if call_pool_exhausted(&ra) || call_pool_exhausted(&rb) {
            return Err(Verdict::Discard(DiscardCause::InstancePoolExhausted));
        }
        let step = format!("call {index}");
        let (ra, rb) = match (ra, rb) {
            (Ok(ra), Ok(rb)) => (ra, rb),
            (Err(error), _) | (_, Err(error)) => {
                return Err(engine_error(self.oracle, step, contract, error.to_string()));
            }
        };
        let oa = normalize::call_outcome(&ra, self.a.memory_states());
        let ob = normalize::call_outcome(&rb, self.b.memory_states());
        let (oa, ob) = match (oa, ob) {
            (Ok(oa), Ok(ob)) => (oa, ob),
            (Err(error), _) | (_, Err(error)) => {
                return Err(engine_error(self.oracle, step, contract, error.to_string()));
            }
        };
        if let Some(divergence) = divergence(self.oracle, step, compare_calls(&oa, &ob)) {
            return Err(Verdict::Diverge(Divergence {
                contract: Some(contract),
                ..divergence
            }));
        }
        Ok(())
    }
}

/// Runs a case on two engines, in one session each, and compares every
/// deploy and call.
pub fn differential<A: Engine, B: Engine>(a: &Vm<A>, b: &Vm<B>, case: &Case) -> Verdict {
    let mut pair = LockStep::new("differential", a, b);
    pair.a.setup();
    pair.b.setup();
    let mut deployed = Vec::with_capacity(case.contracts.len());
    for (index, wasm) in case.contracts.iter().enumerate() {
        match pair.deploy(index, wasm) {
            Ok(ok) => deployed.push(ok),
            Err(verdict) => return verdict,
        }
    }
    for (index, call) in case.calls.iter().enumerate() {
        if !deployed[call.contract] {
            continue;
        }
        if let Err(verdict) = pair.call(index, call.contract, call.function, &call.arg, call.gas) {
            return verdict;
        }
    }
    Verdict::Agree
}

/// The scenario oracle: arbitrary call sequences over known contracts
/// (`corpus/contracts/`), compared on both engines like `differential`.
pub fn scenario<A: Engine, B: Engine>(
    a: &Vm<A>,
    b: &Vm<B>,
    known: &[generate::KnownContract],
    case: &generate::KnownCase,
) -> Verdict {
    let mut pair = LockStep::new("scenario", a, b);
    for (index, &which) in case.contracts.iter().enumerate() {
        if let Err(verdict) = pair.deploy(index, &known[which].wasm) {
            return verdict;
        }
    }
    for (index, call) in case.calls.iter().enumerate() {
        if let Err(verdict) = pair.call(index, call.contract, &call.function, &call.arg, call.gas) {
            return verdict;
        }
    }
    Verdict::Agree
}

/// The handwritten contracts of `corpus/contracts/` with their exports.
/// A contract the VM does not admit is an error: the corpus is ours.
pub fn known_contracts(corpus: &std::path::Path) -> Result<Vec<generate::KnownContract>, String> {
    let mut files = Vec::new();
    let mut pending = vec![corpus.join("contracts")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "wat") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut known = Vec::new();
    for path in files {
        let wasm = wat::parse_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let info = vm::admission::admit(&wasm, &vm::admission::Limits::default(), true)
            .map_err(|e| format!("{}: not admitted: {e}", path.display()))?;
        let exports: Vec<String> = info.exports.into_iter().filter(|e| e != "init").collect();
        if !exports.is_empty() {
            known.push(generate::KnownContract { wasm, exports });
        }
    }
    Ok(known)
}

/// Host data and a feeder, so generated `hd` and `feed` calls succeed.
trait FeederSetup {
    fn setup(&mut self);
}

impl<E: Engine> FeederSetup for vm::Session<'_, E> {
    fn setup(&mut self) {
        self.attach_feeder();
        self.set_host_data("", vec![1, 2, 3]);
    }
}

/// The native-fuel gas oracle: every call of the case's first contract on
/// a fresh instance, on both engines and on wasmtime's native fuel; outcome
/// and gas must be equal.
pub fn gas(engines: &Engines, case: &Case) -> Verdict {
    gas_with(&engines.wasmtime, &engines.wasmi, &engines.native, case)
}

/// [`gas`] with any two engines.
pub fn gas_with<A: Engine, B: Engine>(
    a: &Vm<A>,
    b: &Vm<B>,
    native: &NativeFuelOracle,
    case: &Case,
) -> Verdict {
    let Some(wasm) = case.contracts.first() else {
        return Verdict::Discard(DiscardCause::NotGenerated);
    };
    // Prepared once here and cached for the deploys below (admission
    // included), instead of admitting the module separately.
    if let Err(DeployError::Admission(_)) = a.prepare(wasm) {
        return Verdict::Discard(DiscardCause::NotAContract);
    }
    let native_applies = vm::oracle::applicable(wasm);
    let mut stack_exhausted = false;
    for (index, call) in case.calls.iter().enumerate() {
        let mut sa = a.session();
        let mut sb = b.session();
        let deploy_a = sa.deploy(wasm, DeployOptions::default());
        let deploy_b = sb.deploy(wasm, DeployOptions::default());
        if deploy_pool_exhausted(&deploy_a) || deploy_pool_exhausted(&deploy_b) {
            return Verdict::Discard(DiscardCause::InstancePoolExhausted);
        }
        let Ok(deployment) = deploy_a else {
            // Instantiation traps: the differential oracle judges those.
            return if deploy_b.is_err() {
                Verdict::Agree
            } else {
                diverge_deploy()
            };
        };
        if deploy_b.is_err() {
            return diverge_deploy();
        }
        let ra = sa.call(&deployment.id, call.function, &call.arg, call.gas);
        let rb = sb.call(&deployment.id, call.function, &call.arg, call.gas);
        if call_pool_exhausted(&ra) || call_pool_exhausted(&rb) {
            return Verdict::Discard(DiscardCause::InstancePoolExhausted);
        }
        let step = format!("call {index}");
        let (ra, rb) = match (ra, rb) {
            (Ok(ra), Ok(rb)) => (ra, rb),
            (Err(error), _) | (_, Err(error)) => {
                return engine_error("gas", step, 0, error.to_string());
            }
        };
        let view = |r: &vm::CallReceipt| gas_view(&r.result, r.gas_limit, r.gas_spent);
        if let Some(divergence) =
            divergence("gas", step.clone(), compare_calls(&view(&ra), &view(&rb)))
        {
            return Verdict::Diverge(divergence);
        }
        if ra.result
            == Err(CallError::Trap {
                trap: Trap::StackExhausted,
            })
        {
            stack_exhausted = true;
            continue;
        }
        if !native_applies {
            continue;
        }
        let native = match native.call(wasm, call.function, &call.arg, call.gas) {
            Ok(native) => gas_view(&native.result, call.gas, native.gas_spent),
            Err(error) => {
                return Verdict::Diverge(Divergence {
                    oracle: "gas",
                    step,
                    fields: vec![("native".into(), String::new(), error.to_string())],
                    contract: Some(0),
                });
            }
        };
        if let Some(divergence) = divergence("gas", step, compare_calls(&view(&ra), &native)) {
            return Verdict::Diverge(divergence);
        }
    }
    if stack_exhausted {
        Verdict::Discard(DiscardCause::StackExhausted)
    } else if !native_applies {
        Verdict::Discard(DiscardCause::NativeFuelInapplicable)
    } else {
        Verdict::Agree
    }
}

fn diverge_deploy() -> Verdict {
    Verdict::Diverge(Divergence {
        oracle: "gas",
        step: "deploy".into(),
        fields: vec![("deploy".into(), String::new(), String::new())],
        contract: Some(0),
    })
}

/// The admission oracle: arbitrary bytes, or a generated contract with
/// bytes overwritten; admission never panics and both engines accept and
/// reject the same modules with the same error.
pub fn admission(engines: &Engines, bytes: &[u8]) -> Verdict {
    admission_with(&engines.wasmtime, &engines.wasmi, bytes)
}

/// [`admission`] with any two engines.
pub fn admission_with<A: Engine, B: Engine>(a: &Vm<A>, b: &Vm<B>, bytes: &[u8]) -> Verdict {
    let mut u = arbitrary::Unstructured::new(bytes);
    let wasm = match u.int_in_range(0..=2u8) {
        Err(_) => bytes.to_vec(),
        Ok(0) => u.take_rest().to_vec(),
        Ok(_) => {
            let Ok(mut wasm) = generate::contract(&mut u, false) else {
                return Verdict::Discard(DiscardCause::NotGenerated);
            };
            let edits = u.int_in_range(1..=4usize).unwrap_or(1);
            for _ in 0..edits {
                let (Ok(at), Ok(value)) = (u.int_in_range(0..=wasm.len() - 1), u.arbitrary::<u8>())
                else {
                    break;
                };
                wasm[at] = value;
            }
            wasm
        }
    };
    let mut sa = a.session();
    let mut sb = b.session();
    let (ra, rb) = (
        sa.deploy(&wasm, DeployOptions::default()),
        sb.deploy(&wasm, DeployOptions::default()),
    );
    if deploy_pool_exhausted(&ra) || deploy_pool_exhausted(&rb) {
        return Verdict::Discard(DiscardCause::InstancePoolExhausted);
    }
    let oa = normalize::deploy_outcome(&ra, sa.memory_states());
    let ob = normalize::deploy_outcome(&rb, sb.memory_states());
    match (oa, ob) {
        (Ok(oa), Ok(ob)) => {
            match divergence("admission", "deploy".into(), compare_deploys(&oa, &ob)) {
                Some(divergence) => Verdict::Diverge(divergence),
                None => Verdict::Agree,
            }
        }
        (Err(error), _) | (_, Err(error)) => {
            engine_error("admission", "deploy".into(), 0, error.to_string())
        }
    }
}

/// The engines and the native-fuel oracle, shared by a job's inputs.
pub struct Engines {
    pub config: VmConfig,
    pub wasmtime: Vm<WasmtimeEngine>,
    pub wasmi: Vm<WasmiEngine>,
    pub native: NativeFuelOracle,
}

/// Instances the fuzz engines' wasmtime pool holds. A generated case
/// deploys at most three contracts, and a failed frame that grew a memory
/// replaces that contract's instance (the old one stays until the session
/// ends); 256 is far above what cases use. Each slot reserves address
/// space for two memories of wasmtime's 4 GiB reservation: about 2 TiB of
/// address space per engine, of which only touched pages cost memory.
pub const INSTANCE_POOL: u32 = 256;

impl Engines {
    /// Both engines and the native-fuel oracle with the default VM
    /// configuration, wasmtime with an instance pool of [`INSTANCE_POOL`]
    /// (campaigns deploy thousands of contracts a second).
    pub fn new() -> Result<Self, String> {
        Self::with_module_cache(VmConfig::default().module_cache_capacity)
    }

    /// [`Engines::new`] keeping up to `capacity` prepared modules per engine.
    pub fn with_module_cache(capacity: usize) -> Result<Self, String> {
        let mut config = VmConfig::default();
        config.engine.instance_pool = Some(INSTANCE_POOL);
        config.module_cache_capacity = capacity;
        Ok(Engines {
            wasmtime: Vm::new(config.clone()).map_err(|e| e.to_string())?,
            wasmi: Vm::new(config.clone()).map_err(|e| e.to_string())?,
            native: NativeFuelOracle::new(config.clone()).map_err(|e| e.to_string())?,
            config,
        })
    }
}

/// Counts of verdicts, by kind and discard cause.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Tally {
    pub executions: u64,
    pub agreed: u64,
    pub diverged: u64,
    pub discarded: BTreeMap<DiscardCause, u64>,
}

impl Tally {
    pub fn record(&mut self, verdict: &Verdict) {
        self.executions += 1;
        match verdict {
            Verdict::Agree => self.agreed += 1,
            Verdict::Diverge(_) => self.diverged += 1,
            Verdict::Discard(cause) => *self.discarded.entry(*cause).or_default() += 1,
        }
    }

    pub fn discard_rate(&self) -> f64 {
        let discarded: u64 = self.discarded.values().sum();
        if self.executions == 0 {
            0.0
        } else {
            discarded as f64 / self.executions as f64
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        self.executions += other.executions;
        self.agreed += other.agreed;
        self.diverged += other.diverged;
        for (cause, count) in &other.discarded {
            *self.discarded.entry(*cause).or_default() += count;
        }
    }
}
