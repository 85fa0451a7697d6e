//! Production (piecrust, through its runner process) as a third engine of
//! the oracles, and the deviation catalogue that explains where it may
//! differ from our engines.
//!
//! One runner process serves every case of a job, a session per case. It
//! is replaced after a panic of the VM, a crash or a timeout, and when the
//! runner answers a session with `broken` (a trap raised through SIGSEGV
//! left its memory library's lock held; see `segv-trap-crash`); a spare
//! process is ready by then.
//!
//! A request production does not answer within [`STEP_TIMEOUT`] is an
//! outcome, `timeout`, compared like any other: the process is stopped, and
//! every later request of the session has the same outcome.

use std::path::Path;
use std::time::Duration;

use conformance::catalogue::{Catalogue, History};
use conformance::driver::build::runner_binary;
use conformance::driver::process::{RunnerProcess, RunnerStats, RunnerTime};
use conformance::driver::{Driver, DriverError};
use conformance::engines::EngineSpec;
use conformance::play::StepOutcome;
use runner_protocol::queries::BuiltinQuery;
use runner_protocol::wire::{CallRequest, DeployRequest, SessionRequest};
use runner_protocol::{Bytes, CallOutcome, ContractId, DeployOutcome};

/// How long production may take to answer one request before the case is
/// a finding (a hang).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// A production engine for the oracles.
pub struct Production {
    name: String,
    baseline: String,
    runner: RunnerProcess,
    catalogue: Catalogue,
}

impl Production {
    /// The runner of `spec` (built when needed) and the catalogue, both
    /// from the repository at `root`.
    pub fn new(spec: &EngineSpec, root: &Path) -> Result<Self, String> {
        let EngineSpec::Production(production) = spec else {
            return Err(format!("{spec} is not a production engine"));
        };
        if !spec.offers_builtin_queries() {
            return Err(format!(
                "{spec} cannot be a fuzz engine: it lacks the built-in host queries generated contracts call"
            ));
        }
        let (binary, baseline) =
            runner_binary(production, root, &spec.name()).map_err(|e| e.to_string())?;
        let catalogue = Catalogue::load(&root.join("corpus").join("deviations.toml"))
            .map_err(|e| e.to_string())?;
        Ok(Production {
            name: spec.name(),
            runner: RunnerProcess::new(spec.name(), baseline.clone(), binary, STEP_TIMEOUT)
                .persistent(),
            baseline,
            catalogue,
        })
    }

    /// A production engine served by `runner` and judged with `catalogue`
    /// (tests give a fake runner).
    pub fn with_runner(runner: RunnerProcess, catalogue: Catalogue) -> Self {
        Production {
            name: runner.name(),
            baseline: runner.baseline(),
            runner: runner.persistent(),
            catalogue,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// What befell the runner so far: starts, host panics, timeouts.
    pub fn runner_stats(&self) -> RunnerStats {
        self.runner.stats()
    }

    /// Where the runner's time went so far, its current process's own times
    /// included (which ends that process; the next session starts another).
    pub fn collect_runner_time(&mut self) -> RunnerTime {
        self.runner.collect_times();
        self.runner.time()
    }

    /// Opens a session with `host_data`, a feeder or not, and every
    /// built-in query (as our sessions have them).
    pub fn session(
        &mut self,
        host_data: &[(&str, &[u8])],
        feeder: bool,
    ) -> Result<(), DriverError> {
        self.runner.open_session(&SessionRequest {
            host_data: host_data
                .iter()
                .map(|(name, data)| (name.to_string(), Bytes(data.to_vec())))
                .collect(),
            feeder,
            queries: BuiltinQuery::ALL
                .iter()
                .map(|query| query.name().to_string())
                .collect(),
            chain: None,
            node_queries: false,
        })
    }

    pub fn deploy(&mut self, wasm: &[u8], id: ContractId) -> Result<DeployOutcome, DriverError> {
        self.runner.deploy(&DeployRequest {
            bytecode: Bytes(wasm.to_vec()),
            owner: Bytes::default(),
            id: Some(id),
            init_arg: Bytes::default(),
            gas: 1_000_000,
            node: None,
        })
    }

    pub fn call(
        &mut self,
        contract: ContractId,
        function: &str,
        arg: &[u8],
        gas: u64,
    ) -> Result<CallOutcome, DriverError> {
        self.runner.call(&CallRequest {
            contract,
            function: function.to_string(),
            arg: Bytes(arg.to_vec()),
            gas,
        })
    }

    /// The catalogue entry whose signature the step shows, where our
    /// engines did `ours` and production `production` after `history`.
    pub fn explain(
        &self,
        ours: &StepOutcome,
        production: &StepOutcome,
        history: History,
    ) -> Option<String> {
        self.catalogue
            .entries
            .iter()
            .filter(|entry| entry.applies_to(&self.baseline))
            .find(|entry| entry.signature.matches(ours, production, history))
            .map(|entry| entry.id.clone())
    }
}

/// Whether production's side of a step was a panic of the VM (a crash of
/// its process included).
pub fn panicked(step: &StepOutcome) -> bool {
    use runner_protocol::outcome::{CallResult, DeployResult};
    use runner_protocol::{DeployFailure, FailureKind};
    match step {
        StepOutcome::Call { outcome, .. } => matches!(
            &outcome.result,
            CallResult::Failed(failure) if failure.kind == FailureKind::HostPanic
        ),
        StepOutcome::Deploy { outcome, .. } => match &outcome.result {
            DeployResult::Failed(DeployFailure::HostPanic { .. }) => true,
            DeployResult::Failed(DeployFailure::InitFailed { failure }) => {
                failure.kind == FailureKind::HostPanic
            }
            _ => false,
        },
    }
}

/// A deploy as a step outcome, for signatures.
pub fn deploy_step(outcome: DeployOutcome) -> StepOutcome {
    StepOutcome::Deploy {
        contract: String::new(),
        outcome,
    }
}

/// A call as a step outcome, for signatures.
pub fn call_step(function: &str, arg: &[u8], outcome: CallOutcome) -> StepOutcome {
    StepOutcome::Call {
        contract: String::new(),
        function: function.to_string(),
        arg: Bytes(arg.to_vec()),
        outcome,
    }
}
