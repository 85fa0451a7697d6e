//! Playing a scenario's steps on one engine through its driver.

use runner_protocol::queries::BuiltinQuery;
use runner_protocol::wire::{CallRequest, DeployRequest, SessionRequest};
use runner_protocol::{Bytes, CallOutcome, DeployOutcome};
use serde::Serialize;

use crate::driver::{Driver, DriverError};
use crate::engines::EngineSpec;
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
    /// Why the scenario was not run on this engine, where it was not: the
    /// run has no steps, and nothing is compared.
    pub not_applicable: Option<String>,
}

/// Why a scenario does not apply to an engine that lacks the built-in
/// host queries.
pub const NEEDS_BUILTIN_QUERIES: &str =
    "a contract imports `hq`, and the engine does not offer the built-in host queries";

/// Why a scenario does not apply to an engine that lacks the node's host
/// queries.
pub const NEEDS_NODE_QUERIES: &str =
    "a contract imports `hq`, and the engine does not offer the node's host queries";

/// Why a scenario does not apply to an engine that deploys only as a
/// piecrust session does.
pub const NEEDS_NODE_DEPLOYS: &str =
    "a contract is deployed as the node deploys (`nonce`), and the engine is not the node";

/// The session a scenario asks for; `builtin_queries` is whether it
/// offers the built-in host queries, `node_queries` the node's.
pub fn session_request(
    scenario: &Scenario,
    builtin_queries: bool,
    node_queries: bool,
) -> SessionRequest {
    SessionRequest {
        host_data: scenario
            .host_data
            .iter()
            .map(|(name, data)| (name.clone(), Bytes(data.clone())))
            .collect(),
        feeder: scenario.feeder,
        queries: BuiltinQuery::ALL
            .iter()
            .filter(|_| builtin_queries)
            .map(|query| query.name().to_string())
            .collect(),
        chain: scenario.chain,
        node_queries,
    }
}

/// Plays every step of `scenario` on `driver`, the engine `spec`; a
/// scenario needing what the engine lacks is not played.
pub fn play(scenario: &Scenario, driver: &mut dyn Driver, spec: &EngineSpec) -> EngineRun {
    // The built-in queries are offered where the scenario wants them and
    // the engine has them; a scenario whose contracts could call them (it
    // imports `hq`) does not apply to an engine without them.
    let builtin_queries = scenario.builtin_queries && spec.offers_builtin_queries();
    let node_queries = scenario.node_queries && spec.offers_node_queries();
    let mut run = EngineRun {
        engine: driver.name(),
        baseline: driver.baseline(),
        production: spec.is_production(),
        steps: Vec::new(),
        failure: None,
        not_applicable: None,
    };
    if scenario.imports_host_queries() {
        if scenario.builtin_queries && !builtin_queries {
            run.not_applicable = Some(NEEDS_BUILTIN_QUERIES.to_string());
            return run;
        }
        if scenario.node_queries && !node_queries {
            run.not_applicable = Some(NEEDS_NODE_QUERIES.to_string());
            return run;
        }
    }
    if scenario.contracts.iter().any(|c| c.node.is_some()) && !spec.offers_node_deploys() {
        run.not_applicable = Some(NEEDS_NODE_DEPLOYS.to_string());
        return run;
    }
    driver.set_step_timeout(scenario.step_timeout);
    if let Err(error) =
        driver.open_session(&session_request(scenario, builtin_queries, node_queries))
    {
        run.failure = Some(StepFailure {
            step: 0,
            line: 1,
            error,
        });
        return run;
    }
    for (index, step) in scenario.steps.iter().enumerate() {
        if let Some(height) = step.block
            && let Err(error) = driver.block(height)
        {
            run.failure = Some(StepFailure {
                step: index + 1,
                line: step.line,
                error,
            });
            break;
        }
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
                        node: decl.node,
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
