//! The lock-step oracles: a case's deploys and calls on both our engines
//! (and production), one session each, every step compared at once.

use runner_protocol::{CallOutcome, compare_calls, compare_deploys};
use vm::engine::Engine;
use vm::{DeployError, DeployOptions, Vm, normalize};

use super::{
    CASE_HOST_DATA, DiscardCause, Divergence, Verdict, call_pool_exhausted, deploy_pool_exhausted,
    divergence, engine_error, production_divergence, runner_failure,
};
use crate::generate::{self, Case};
use crate::phases::{Phase, timed};
use crate::production::{Production, call_step, deploy_step, panicked};
use conformance::catalogue::History;
use conformance::play::StepOutcome;

/// Production beside our engines in a lock-step session.
struct ProductionSide<'p> {
    production: &'p mut Production,
    /// What production did earlier in this case, for signatures.
    history: History,
    /// The catalogue entry that explained a difference, and whether
    /// production panicked there: production is not compared after it (its
    /// state legitimately differs from then on).
    explained: Option<(String, bool)>,
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
            Some((deviation, production_panicked)) => Verdict::Explained {
                deviation,
                production_panicked,
            },
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
        // A trap raised through SIGSEGV that left production's process
        // broken is the runner's to tell, when the next case opens its
        // session (`Response::Broken`): nothing to guess here.
        side.history = history.after(&ours, &theirs);
        let differences = conformance::judge::step_differences(&ours, &theirs);
        if differences.is_empty() {
            return Ok(());
        }
        if let Some(id) = side.production.explain(&ours, &theirs, history) {
            side.explained = Some((id, panicked(&theirs)));
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
        let (ra, rb) = timed(Phase::OurEngines, || {
            (
                self.a.deploy(wasm, options.clone()),
                self.b.deploy(wasm, options),
            )
        });
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
        let (oa, ob) = timed(Phase::OurDigests, || {
            (
                normalize::deploy_outcome(&ra, self.a.memory_states()),
                normalize::deploy_outcome(&rb, self.b.memory_states()),
            )
        });
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
        let (ra, rb) = timed(Phase::OurEngines, || {
            (
                self.a.call(&id, function, arg, gas),
                self.b.call(&id, function, arg, gas),
            )
        });
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
            let (oa, ob) = timed(Phase::OurDigests, || {
                (
                    normalize::call_outcome(&ra, self.a.memory_states()),
                    normalize::call_outcome(&rb, self.b.memory_states()),
                )
            });
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
