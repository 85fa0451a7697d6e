//! Oracles: each runs an input and returns a typed verdict.

use std::collections::BTreeMap;

use runner_protocol::FailureKind;
use runner_protocol::outcome::CallResult;
use runner_protocol::{Bytes, CallOutcome, Difference, compare_calls, compare_deploys};
use serde::Serialize;
use vm::engine::Engine;
use vm::failure::{EngineError, Trap};
use vm::oracle::NativeFuelOracle;
use vm::{
    CallError, DeployError, DeployOptions, Vm, VmConfig, WasmiEngine, WasmtimeEngine, normalize,
};

use crate::generate::{self, Case};
use crate::production::{Production, call_step, deploy_step};
use conformance::catalogue::History;
use conformance::driver::process::RunnerStats;
use conformance::play::StepOutcome;

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

    /// What kind of difference this is, for telling a new finding from
    /// another case of one already saved: the oracle, the fields that
    /// differ, and for the result fields the outcome on each side without
    /// its detail (`failed: host_panic`), not which step or the values.
    pub fn signature(&self) -> String {
        let mut fields: Vec<String> = self
            .fields
            .iter()
            .map(|(field, left, right)| {
                // A field may be named after the engines compared
                // ("piecrust-0.31.0 -> piecrust-0.32.2: result.failure").
                let (engines, name) = match field.rsplit_once(": ") {
                    Some((engines, name)) => (format!("{engines}: "), name),
                    None => (String::new(), field.as_str()),
                };
                if name.starts_with("result") {
                    let kind =
                        |value: &str| value.split(" (").next().unwrap_or_default().to_owned();
                    format!("{engines}{name}={}/{}", kind(left), kind(right))
                } else {
                    format!("{engines}{}", name.split('.').next().unwrap_or_default())
                }
            })
            .collect();
        fields.sort();
        fields.dedup();
        format!("{}:{}", self.oracle, fields.join(","))
    }

    /// [`Divergence::key`] for people: at most the first six fields.
    pub fn summary(&self) -> String {
        const SHOWN: usize = 6;
        let mut fields: Vec<&str> = self
            .fields
            .iter()
            .take(SHOWN)
            .map(|(field, _, _)| field.as_str())
            .collect();
        let more = self.fields.len().saturating_sub(SHOWN);
        let more = format!("and {more} more");
        if self.fields.len() > SHOWN {
            fields.push(&more);
        }
        format!("{}:{}:{}", self.oracle, self.step, fields.join(","))
    }
}

/// What an oracle concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Both sides did the same (succeeded, or failed the same way).
    Agree,
    /// Our engines agreed; production differed at a step as the catalogue
    /// entry `deviation` explains, and was not compared after it.
    Explained {
        deviation: String,
    },
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
        omitted: Default::default(),
        frames: None,
        state: BTreeMap::new(),
        trace: None,
        grow_refused: false,
    }
}

/// Production beside our engines in a lock-step session.
struct ProductionSide<'p> {
    production: &'p mut Production,
    /// What production did earlier in this case, for signatures.
    history: History,
    /// The catalogue entry that explained a difference: production is not
    /// compared after it (its state legitimately differs from then on).
    explained: Option<String>,
}

/// One session per engine, driven in lock step: every deploy and call runs
/// on both our engines (and production, when given) and is compared at
/// once. Shared by `differential` and `scenario` so that both judge a step
/// by the same rules.
struct LockStep<'vm, 'p, A: Engine, B: Engine> {
    oracle: &'static str,
    a: vm::Session<'vm, A>,
    b: vm::Session<'vm, B>,
    production: Option<ProductionSide<'p>>,
}

/// Whether a frame of our call tree (nested ones included) failed in a way
/// production may have raised through SIGSEGV: a memory or table trap, an
/// indirect call to a null entry, a stack overflow, or out of gas (which may
/// hide any of them).
fn may_have_segv_trapped(step: &StepOutcome) -> bool {
    fn risky(error: &serde_json::Value) -> bool {
        match error.get("kind").and_then(serde_json::Value::as_str) {
            Some("out_of_gas") => true,
            Some("trap") => matches!(
                error
                    .get("trap")
                    .and_then(|trap| trap.get("kind"))
                    .and_then(serde_json::Value::as_str),
                Some(
                    "memory_out_of_bounds"
                        | "table_out_of_bounds"
                        | "indirect_call_to_null"
                        | "stack_exhausted"
                )
            ),
            _ => false,
        }
    }
    fn frame(tree: &serde_json::Value) -> bool {
        tree.get("outcome")
            .and_then(|outcome| outcome.get("failed"))
            .and_then(|failed| failed.get("error"))
            .is_some_and(risky)
            || tree
                .get("children")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|children| children.iter().any(frame))
    }
    match step {
        StepOutcome::Call { outcome, .. } => outcome.trace.as_ref().is_some_and(frame),
        StepOutcome::Deploy { outcome, .. } => outcome
            .init
            .as_ref()
            .and_then(|init| init.trace.as_ref())
            .is_some_and(frame),
    }
}

/// A failure of production's runner (not an outcome): a finding, so that
/// its input is kept.
fn runner_failure(
    oracle: &'static str,
    step: String,
    contract: usize,
    name: &str,
    error: String,
) -> Verdict {
    Verdict::Diverge(Divergence {
        oracle,
        step,
        fields: vec![(format!("{name}: runner"), String::new(), error)],
        contract: Some(contract),
    })
}

impl<'vm, 'p, A: Engine, B: Engine> LockStep<'vm, 'p, A, B> {
    /// Sessions on both engines and production, with `host_data` and a
    /// feeder or not on each.
    fn new(
        oracle: &'static str,
        a: &'vm Vm<A>,
        b: &'vm Vm<B>,
        production: Option<&'p mut Production>,
        host_data: &[(&str, &[u8])],
        feeder: bool,
    ) -> Result<Self, Verdict> {
        let mut pair = LockStep {
            oracle,
            a: a.session(),
            b: b.session(),
            production: None,
        };
        for (name, data) in host_data {
            pair.a.set_host_data(name, data.to_vec());
            pair.b.set_host_data(name, data.to_vec());
        }
        if feeder {
            pair.a.attach_feeder();
            pair.b.attach_feeder();
        }
        if let Some(production) = production {
            if let Err(error) = production.session(host_data, feeder) {
                let name = production.name().to_string();
                return Err(runner_failure(
                    oracle,
                    "session".into(),
                    0,
                    &name,
                    error.to_string(),
                ));
            }
            pair.production = Some(ProductionSide {
                production,
                history: History::default(),
                explained: None,
            });
        }
        Ok(pair)
    }

    /// The verdict of a case every step of which agreed.
    fn verdict(self) -> Verdict {
        match self.production.and_then(|side| side.explained) {
            Some(deviation) => Verdict::Explained { deviation },
            None => Verdict::Agree,
        }
    }

    /// Production's side of a step: compared with ours, a difference either
    /// explained by the catalogue (production is not compared after it) or
    /// a divergence.
    fn production_step(
        &mut self,
        step: String,
        contract: usize,
        ours: StepOutcome,
        run: impl FnOnce(&mut Production) -> Result<StepOutcome, conformance::driver::DriverError>,
    ) -> Result<(), Verdict> {
        let oracle = self.oracle;
        let Some(side) = self.production.as_mut() else {
            return Ok(());
        };
        if side.explained.is_some() {
            return Ok(());
        }
        let name = side.production.name().to_string();
        let theirs = match run(side.production) {
            Ok(theirs) => theirs,
            Err(error) => {
                return Err(runner_failure(
                    oracle,
                    step,
                    contract,
                    &name,
                    error.to_string(),
                ));
            }
        };
        let history = side.history;
        side.history = history.after(&ours, &theirs);
        if side.history.segv_trap || may_have_segv_trapped(&ours) {
            // A trap raised through SIGSEGV anywhere, nested calls included
            // (where production shows no failure), leaves production's
            // process broken: its session would deadlock when dropped. The
            // next case gets a fresh process.
            side.production.mark_broken();
        }
        let differences = conformance::judge::step_differences(&ours, &theirs);
        if differences.is_empty() {
            return Ok(());
        }
        if let Some(id) = side.production.explain(&ours, &theirs, history) {
            side.explained = Some(id);
            return Ok(());
        }
        match production_divergence(oracle, &step, &name, differences) {
            Verdict::Diverge(divergence) => Err(Verdict::Diverge(Divergence {
                contract: Some(contract),
                ..divergence
            })),
            other => Err(other),
        }
    }

    /// Deploys case contract `index` on every engine; `Ok(true)` when ours
    /// deployed it. A first contract that admission rejects on both our
    /// engines is no contract at all: the input is discarded.
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
        if let Some(divergence) = divergence(self.oracle, step.clone(), compare_deploys(&oa, &ob)) {
            return Err(Verdict::Diverge(Divergence {
                contract: Some(index),
                ..divergence
            }));
        }
        let id = normalize::protocol_id(&Case::id(index));
        self.production_step(step, index, deploy_step(oa), |production| {
            production.deploy(wasm, id).map(deploy_step)
        })?;
        Ok(ra.is_ok())
    }

    /// Calls `function` of case contract `contract` on every engine (step
    /// `index`).
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
        // Equal receipts (state digests included) need no field-by-field
        // comparison; only a difference, or production, needs the
        // normalized outcomes.
        if ra != rb || self.production.is_some() {
            let oa = normalize::call_outcome(&ra, self.a.memory_states());
            let ob = normalize::call_outcome(&rb, self.b.memory_states());
            let (oa, ob) = match (oa, ob) {
                (Ok(oa), Ok(ob)) => (oa, ob),
                (Err(error), _) | (_, Err(error)) => {
                    return Err(engine_error(self.oracle, step, contract, error.to_string()));
                }
            };
            if let Some(divergence) = divergence(self.oracle, step.clone(), compare_calls(&oa, &ob))
            {
                return Err(Verdict::Diverge(Divergence {
                    contract: Some(contract),
                    ..divergence
                }));
            }
            if ra != rb {
                // Receipts differ in something the outcome leaves out.
                return Err(engine_error(
                    self.oracle,
                    step,
                    contract,
                    format!("receipts differ outside the outcome: {ra:?} / {rb:?}"),
                ));
            }
            return self.production_call(step, contract, &id, function, arg, gas, oa);
        }
        Ok(())
    }

    /// Production's side of a call whose outcome on ours was `ours`.
    #[allow(clippy::too_many_arguments)]
    fn production_call(
        &mut self,
        step: String,
        contract: usize,
        id: &vm::abi::ContractId,
        function: &str,
        arg: &[u8],
        gas: u64,
        oa: CallOutcome,
    ) -> Result<(), Verdict> {
        let protocol_id = normalize::protocol_id(id);
        self.production_step(step, contract, call_step(function, arg, oa), |production| {
            production
                .call(protocol_id, function, arg, gas)
                .map(|outcome| call_step(function, arg, outcome))
        })
    }
}

/// The host data of a differential case's sessions, so that generated `hd`
/// calls find something.
const CASE_HOST_DATA: &[(&str, &[u8])] = &[("", &[1, 2, 3])];

/// Runs a case on our two engines (and production, when given), in one
/// session each, and compares every deploy and call.
pub fn differential<A: Engine, B: Engine>(
    a: &Vm<A>,
    b: &Vm<B>,
    production: Option<&mut Production>,
    case: &Case,
) -> Verdict {
    let mut pair = match LockStep::new("differential", a, b, production, CASE_HOST_DATA, true) {
        Ok(pair) => pair,
        Err(verdict) => return verdict,
    };
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
    pair.verdict()
}

/// The scenario oracle: arbitrary call sequences over known contracts
/// (`corpus/contracts/`), compared on every engine like `differential`.
pub fn scenario<A: Engine, B: Engine>(
    a: &Vm<A>,
    b: &Vm<B>,
    production: Option<&mut Production>,
    known: &[generate::KnownContract],
    case: &generate::KnownCase,
) -> Verdict {
    let mut pair = match LockStep::new("scenario", a, b, production, &[], true) {
        Ok(pair) => pair,
        Err(verdict) => return verdict,
    };
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
    pair.verdict()
}

/// The release-to-release oracle: a case on two production engines (two
/// releases, or a local build against a release), every deploy and call
/// compared; any difference is a finding, for the ABI-change report.
pub fn releases(from: &mut Production, to: &mut Production, case: &Case) -> Verdict {
    // Production shows no nested failures, so it cannot be told whether a
    // trap came through SIGSEGV and broke the process: every case gets
    // fresh processes.
    from.mark_broken();
    to.mark_broken();
    let step_of = |index: usize| format!("deploy {index}");
    for production in [&mut *from, &mut *to] {
        if let Err(error) = production.session(CASE_HOST_DATA, true) {
            let name = production.name().to_string();
            return runner_failure("releases", "session".into(), 0, &name, error.to_string());
        }
    }
    let label = format!("{} -> {}", from.name(), to.name());
    let compare = |step: String, contract: usize, a: StepOutcome, b: StepOutcome| {
        let differences = conformance::judge::step_differences(&a, &b);
        if differences.is_empty() {
            Ok(())
        } else {
            match production_divergence("releases", &step, &label, differences) {
                Verdict::Diverge(divergence) => Err(Verdict::Diverge(Divergence {
                    contract: Some(contract),
                    ..divergence
                })),
                other => Err(other),
            }
        }
    };
    let mut deployed = Vec::new();
    for (index, wasm) in case.contracts.iter().enumerate() {
        let id = normalize::protocol_id(&Case::id(index));
        let (a, b) = match (from.deploy(wasm, id), to.deploy(wasm, id)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(error), _) | (_, Err(error)) => {
                return runner_failure(
                    "releases",
                    step_of(index),
                    index,
                    &label,
                    error.to_string(),
                );
            }
        };
        deployed.push(matches!(
            a.result,
            runner_protocol::outcome::DeployResult::Deployed(_)
        ));
        if let Err(verdict) = compare(step_of(index), index, deploy_step(a), deploy_step(b)) {
            return verdict;
        }
    }
    for (index, call) in case.calls.iter().enumerate() {
        if !deployed[call.contract] {
            continue;
        }
        let id = normalize::protocol_id(&Case::id(call.contract));
        let step = format!("call {index}");
        let (a, b) = match (
            from.call(id, call.function, &call.arg, call.gas),
            to.call(id, call.function, &call.arg, call.gas),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(error), _) | (_, Err(error)) => {
                return runner_failure("releases", step, call.contract, &label, error.to_string());
            }
        };
        let crashed = [&a, &b].into_iter().any(|outcome| {
            matches!(&outcome.result, CallResult::Failed(failure) if failure.kind == FailureKind::HostPanic)
        });
        if let Err(verdict) = compare(
            step,
            call.contract,
            call_step(call.function, &call.arg, a),
            call_step(call.function, &call.arg, b),
        ) {
            return verdict;
        }
        if crashed {
            // Both crashed alike: nothing more of the case can run.
            break;
        }
    }
    Verdict::Agree
}

/// Contracts at and past our engines' own limits (hundreds of KiB of WAT,
/// some refused by admission): scenarios use them, cases do not.
pub const ENGINE_LIMIT_CONTRACTS: &str = "engine-limits";

/// The handwritten contracts of `corpus/contracts/` with their exports,
/// those of [`ENGINE_LIMIT_CONTRACTS`] left out. A contract the VM does
/// not admit is an error: the corpus is ours.
pub fn known_contracts(corpus: &std::path::Path) -> Result<Vec<generate::KnownContract>, String> {
    let mut files = Vec::new();
    let mut pending = vec![corpus.join("contracts")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir()
                && path.file_name() == Some(std::ffi::OsStr::new(ENGINE_LIMIT_CONTRACTS))
            {
                continue;
            }
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
        let info = vm::admission::admit(&wasm, &vm::limits::Limits::default(), true)
            .map_err(|e| format!("{}: not admitted: {e}", path.display()))?;
        let exports: Vec<String> = info.exports.into_iter().filter(|e| e != "init").collect();
        if !exports.is_empty() {
            let name = path
                .strip_prefix(corpus.join("contracts"))
                .unwrap_or(&path)
                .display()
                .to_string();
            known.push(generate::KnownContract {
                name,
                wasm,
                exports,
            });
        }
    }
    Ok(known)
}

/// The gas oracle: every call of the case's first contract on a fresh
/// instance, on both our engines, whose outcome and gas must be equal, and
/// held to production's gas (the authority: Dusk's fork of wasmtime 21) for
/// every call and gas limit, completed or not, where production is given.
/// wasmtime 48's native fuel is a second opinion where it places fuel as
/// production does ([`vm::oracle::applicable`]).
pub fn gas(engines: &Engines, production: Option<&mut Production>, case: &Case) -> Verdict {
    gas_with(
        &engines.wasmtime,
        &engines.wasmi,
        &engines.native,
        production,
        case,
    )
}

/// Production's outcome and gas of one call on a fresh deploy, compared with
/// ours; `Ok(Some(id))` when they differ as catalogue entry `id` explains.
fn production_gas(
    production: &mut Production,
    wasm: &[u8],
    ours_deploy: runner_protocol::DeployOutcome,
    ours: CallOutcome,
    call: &generate::CaseCall,
    step: &str,
) -> Result<Option<String>, Verdict> {
    let name = production.name().to_string();
    let failed = |error: conformance::driver::DriverError| {
        runner_failure("gas", step.to_string(), 0, &name, error.to_string())
    };
    production.session(&[], false).map_err(failed)?;
    let id = match &ours_deploy.result {
        runner_protocol::outcome::DeployResult::Deployed(id) => *id,
        runner_protocol::outcome::DeployResult::Failed(_) => return Ok(None),
    };
    let theirs = production.deploy(wasm, id).map_err(failed)?;
    let (ours_step, theirs_step) = (deploy_step(ours_deploy), deploy_step(theirs));
    let differences = conformance::judge::step_differences(&ours_step, &theirs_step);
    if !differences.is_empty() {
        return match production.explain(&ours_step, &theirs_step, History::default()) {
            Some(deviation) => Ok(Some(deviation)),
            None => Err(production_divergence("gas", step, &name, differences)),
        };
    }
    let theirs = production
        .call(id, call.function, &call.arg, call.gas)
        .map_err(failed)?;
    let view = |outcome: &CallOutcome| CallOutcome {
        events: None,
        feed: Vec::new(),
        debug: Vec::new(),
        omitted: Default::default(),
        frames: None,
        state: BTreeMap::new(),
        trace: None,
        grow_refused: false,
        ..outcome.clone()
    };
    let differences = compare_calls(&view(&ours), &view(&theirs));
    if differences.is_empty() {
        return Ok(None);
    }
    let (ours_step, theirs_step) = (
        call_step(call.function, &call.arg, ours),
        call_step(call.function, &call.arg, theirs),
    );
    match production.explain(&ours_step, &theirs_step, History::default()) {
        Some(deviation) => Ok(Some(deviation)),
        None => Err(production_divergence("gas", step, &name, differences)),
    }
}

/// A difference from production nothing explains.
fn production_divergence(
    oracle: &'static str,
    step: &str,
    name: &str,
    differences: Vec<Difference>,
) -> Verdict {
    let detailed = |value: String, detail: String| {
        if detail.is_empty() {
            value
        } else {
            format!("{value} ({detail})")
        }
    };
    Verdict::Diverge(Divergence {
        oracle,
        step: step.to_string(),
        fields: differences
            .into_iter()
            .map(|d| {
                (
                    format!("{name}: {}", d.field),
                    detailed(d.left, d.left_detail),
                    detailed(d.right, d.right_detail),
                )
            })
            .collect(),
        contract: Some(0),
    })
}

/// [`gas`] with any two engines.
pub fn gas_with<A: Engine, B: Engine>(
    a: &Vm<A>,
    b: &Vm<B>,
    native: &NativeFuelOracle,
    mut production: Option<&mut Production>,
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
    let mut explained = None;
    for (index, call) in case.calls.iter().enumerate() {
        let mut sa = a.session();
        let mut sb = b.session();
        let deploy_a = sa.deploy(wasm, DeployOptions::default());
        let deploy_b = sb.deploy(wasm, DeployOptions::default());
        if deploy_pool_exhausted(&deploy_a) || deploy_pool_exhausted(&deploy_b) {
            return Verdict::Discard(DiscardCause::InstancePoolExhausted);
        }
        let ours_deploy = match normalize::deploy_outcome(&deploy_a, sa.memory_states()) {
            Ok(outcome) => outcome,
            Err(error) => return engine_error("gas", "deploy".into(), 0, error.to_string()),
        };
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
        if let Some(production) = production.as_deref_mut() {
            let ours = match normalize::call_outcome(&ra, sa.memory_states()) {
                Ok(outcome) => outcome,
                Err(error) => return engine_error("gas", step, 0, error.to_string()),
            };
            match production_gas(production, wasm, ours_deploy, ours, call, &step) {
                Ok(Some(deviation)) => {
                    explained.get_or_insert(deviation);
                }
                Ok(None) => {}
                Err(verdict) => return verdict,
            }
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
    match (explained, production.is_some()) {
        (Some(deviation), _) => Verdict::Explained { deviation },
        // Production judged every call.
        (None, true) => Verdict::Agree,
        (None, false) if stack_exhausted => Verdict::Discard(DiscardCause::StackExhausted),
        (None, false) if !native_applies => Verdict::Discard(DiscardCause::NativeFuelInapplicable),
        (None, false) => Verdict::Agree,
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
    /// Cases where production differed as a catalogue entry explains, by
    /// entry (counted in `agreed` too: our engines agreed).
    pub explained: BTreeMap<String, u64>,
    /// What befell the production runners (minimization's runs included).
    pub runners: RunnerStats,
}

impl Tally {
    pub fn record(&mut self, verdict: &Verdict) {
        self.executions += 1;
        match verdict {
            Verdict::Agree => self.agreed += 1,
            Verdict::Explained { deviation } => {
                self.agreed += 1;
                *self.explained.entry(deviation.clone()).or_default() += 1;
            }
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
        for (deviation, count) in &other.explained {
            *self.explained.entry(deviation.clone()).or_default() += count;
        }
        self.runners.merge(&other.runners);
    }
}

#[cfg(test)]
mod signature_tests {
    use super::Divergence;

    fn divergence(step: &str, fields: &[(&str, &str, &str)]) -> Divergence {
        Divergence {
            oracle: "releases",
            step: step.into(),
            fields: fields
                .iter()
                .map(|(f, l, r)| (f.to_string(), l.to_string(), r.to_string()))
                .collect(),
            contract: Some(0),
        }
    }

    #[test]
    fn the_same_kind_of_difference_at_another_step_has_one_signature() {
        let first = divergence(
            "call 3",
            &[
                (
                    "result.failure",
                    "failed: host_panic (index 65537)",
                    "failed: memory_access (offset 0)",
                ),
                (
                    "state.9cc49a16",
                    "131072 bytes, digest 01",
                    "131072 bytes, digest 02",
                ),
            ],
        );
        let again = divergence(
            "call 7",
            &[
                (
                    "state.12345678",
                    "65536 bytes, digest 03",
                    "65536 bytes, digest 04",
                ),
                (
                    "result.failure",
                    "failed: host_panic (index 70000)",
                    "failed: memory_access (offset 9)",
                ),
            ],
        );
        assert_eq!(first.signature(), again.signature());
        assert_eq!(
            first.signature(),
            "releases:result.failure=failed: host_panic/failed: memory_access,state"
        );
        let other = divergence(
            "call 3",
            &[(
                "result.failure",
                "failed: host_panic (x)",
                "failed: out_of_gas (y)",
            )],
        );
        assert_ne!(first.signature(), other.signature());
        let named = divergence(
            "call 1",
            &[(
                "piecrust-0.31.0 -> piecrust-0.32.2: state.00000000",
                "1 bytes, digest 01",
                "1 bytes, digest 02",
            )],
        );
        assert_eq!(
            named.signature(),
            "releases:piecrust-0.31.0 -> piecrust-0.32.2: state"
        );
    }
}
