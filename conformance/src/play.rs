//! Playing a scenario's steps on one engine through its driver.

use runner_protocol::queries::BuiltinQuery;
use runner_protocol::wire::{CallRequest, DeployRequest, SessionRequest};
use runner_protocol::{Bytes, CallOutcome, DeployOutcome};
use serde::Serialize;

use crate::driver::{Driver, DriverError};
use crate::scenario::{Scenario, StepKind};

/// What one step did on one engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "step")]
pub enum StepOutcome {
    Deploy {
        contract: String,
        outcome: DeployOutcome,
    },
    Call {
        contract: String,
        function: String,
        arg: Bytes,
        outcome: CallOutcome,
    },
}

/// A step the engine could not serve (its driver failed).
#[derive(Debug)]
pub struct StepFailure {
    /// 1-based step number; 0 for the session.
    pub step: usize,
    pub line: usize,
    pub error: DriverError,
}

/// One engine's run of a scenario: the steps it served, and why it
/// stopped early, if it did.
#[derive(Debug)]
pub struct EngineRun {
    pub engine: String,
    /// The release whose catalogue entries and snapshot lines apply.
    pub baseline: String,
    pub production: bool,
    pub steps: Vec<StepOutcome>,
    pub failure: Option<StepFailure>,
}

/// The session a scenario asks for.
pub fn session_request(scenario: &Scenario) -> SessionRequest {
    SessionRequest {
        host_data: scenario
            .host_data
            .iter()
            .map(|(name, data)| (name.clone(), Bytes(data.clone())))
            .collect(),
        feeder: scenario.feeder,
        queries: BuiltinQuery::ALL
            .iter()
            .map(|query| query.name().to_string())
            .collect(),
    }
}

/// Plays every step of `scenario` on `driver`.
pub fn play(scenario: &Scenario, driver: &mut dyn Driver, production: bool) -> EngineRun {
    let mut run = EngineRun {
        engine: driver.name(),
        baseline: driver.baseline(),
        production,
        steps: Vec::new(),
        failure: None,
    };
    driver.set_step_timeout(scenario.step_timeout);
    if let Err(error) = driver.open_session(&session_request(scenario)) {
        run.failure = Some(StepFailure {
            step: 0,
            line: 1,
            error,
        });
        return run;
    }
    for (index, step) in scenario.steps.iter().enumerate() {
        let outcome = match &step.kind {
            StepKind::Deploy { contract } => {
                let decl = &scenario.contracts[*contract];
                driver
                    .deploy(&DeployRequest {
                        bytecode: Bytes(decl.wasm.clone()),
                        owner: Bytes(decl.owner.clone()),
                        id: decl.id.map(|id| runner_protocol::ContractId(id.0)),
                        init_arg: Bytes(scenario.resolve(&decl.init_arg)),
                        gas: decl.init_gas,
                    })
                    .map(|outcome| StepOutcome::Deploy {
                        contract: decl.name.clone(),
                        outcome,
                    })
            }
            StepKind::Call {
                contract,
                function,
                arg,
                gas,
            } => {
                let decl = &scenario.contracts[*contract];
                let arg = scenario.resolve(arg);
                driver
                    .call(&CallRequest {
                        contract: runner_protocol::ContractId(decl.intended_id().0),
                        function: function.clone(),
                        arg: Bytes(arg.clone()),
                        gas: *gas,
                    })
                    .map(|outcome| StepOutcome::Call {
                        contract: decl.name.clone(),
                        function: function.clone(),
                        arg: Bytes(arg),
                        outcome,
                    })
            }
        };
        match outcome {
            Ok(outcome) => run.steps.push(outcome),
            Err(error) => {
                run.failure = Some(StepFailure {
                    step: index + 1,
                    line: step.line,
                    error,
                });
                break;
            }
        }
    }
    run
}
