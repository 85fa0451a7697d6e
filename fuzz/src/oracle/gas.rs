//! The gas oracle.

use std::collections::BTreeMap;

use runner_protocol::outcome::CallResult;
use runner_protocol::{Bytes, CallOutcome, compare_calls};
use vm::engine::Engine;
use vm::failure::Trap;
use vm::oracle::NativeFuelOracle;
use vm::{CallError, DeployError, DeployOptions, Vm, normalize};

use super::{
    DiscardCause, Divergence, Verdict, call_pool_exhausted, deploy_pool_exhausted, divergence,
    engine_error, production_divergence, runner_failure,
};
use crate::engines::OurEngines;
use crate::generate::{self, Case};
use crate::phases::{Phase, timed};
use crate::production::{Production, call_step, deploy_step, panicked};
use conformance::catalogue::History;

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

/// The gas oracle: every call of the case's first contract on a fresh
/// instance, on both our engines, whose outcome and gas must be equal, and
/// held to production's gas (the authority: Dusk's fork of wasmtime 21) for
/// every call and gas limit, completed or not, where production is given.
/// wasmtime 48's native fuel is a second opinion where it places fuel as
/// production does ([`vm::oracle::applicable`]).
pub fn gas(engines: &OurEngines, production: Option<&mut Production>, case: &Case) -> Verdict {
    gas_with(
        &engines.wasmtime,
        &engines.wasmi,
        &engines.native,
        production,
        case,
    )
}

/// Production's outcome and gas of one call on a fresh deploy, compared with
/// ours; `Ok(Some((id, panicked)))` when they differ as catalogue entry `id`
/// explains, `panicked` when production's side was a host panic.
fn production_gas(
    production: &mut Production,
    wasm: &[u8],
    ours_deploy: runner_protocol::DeployOutcome,
    ours: CallOutcome,
    call: &generate::CaseCall,
    step: &str,
) -> Result<Option<(String, bool)>, Verdict> {
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
            Some(deviation) => Ok(Some((deviation, panicked(&theirs_step)))),
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
        Some(deviation) => Ok(Some((deviation, panicked(&theirs_step)))),
        None => Err(production_divergence("gas", step, &name, differences)),
    }
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
        let (deploy_a, deploy_b) = timed(Phase::OurEngines, || {
            (
                sa.deploy(wasm, DeployOptions::default()),
                sb.deploy(wasm, DeployOptions::default()),
            )
        });
        if deploy_pool_exhausted(&deploy_a) || deploy_pool_exhausted(&deploy_b) {
            return Verdict::Discard(DiscardCause::InstancePoolExhausted);
        }
        let ours_deploy = match timed(Phase::OurDigests, || {
            normalize::deploy_outcome(&deploy_a, sa.memory_states())
        }) {
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
        let (ra, rb) = timed(Phase::OurEngines, || {
            (
                sa.call(&deployment.id, call.function, &call.arg, call.gas),
                sb.call(&deployment.id, call.function, &call.arg, call.gas),
            )
        });
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
            let ours = match timed(Phase::OurDigests, || {
                normalize::call_outcome(&ra, sa.memory_states())
            }) {
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
        let native = match timed(Phase::OurEngines, || {
            native.call(wasm, call.function, &call.arg, call.gas)
        }) {
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
        (Some((deviation, production_panicked)), _) => Verdict::Explained {
            deviation,
            production_panicked,
        },
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
