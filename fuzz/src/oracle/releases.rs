//! The release-to-release oracle.

use runner_protocol::FailureKind;
use runner_protocol::outcome::CallResult;
use vm::normalize;

use super::{CASE_HOST_DATA, Divergence, Verdict, production_divergence, runner_failure};
use crate::generate::Case;
use crate::production::{Production, call_step, deploy_step};
use conformance::play::StepOutcome;

/// The release-to-release oracle: a case on two production engines (two
/// releases, or a local build against a release), every deploy and call
/// compared; any difference is a finding, for the ABI-change report.
pub fn releases(from: &mut Production, to: &mut Production, case: &Case) -> Verdict {
    // A runner whose process a trap left broken says so when the session
    // opens, and is replaced then; every other case reuses the processes.
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
