//! A VM under test behind one interface: open a session, deploy, call,
//! read memory. Our engines implement it in process ([`in_process`]);
//! production is a runner process speaking the runner protocol
//! ([`process`]), built on first use ([`build`]).

pub mod build;
pub mod in_process;
pub mod process;

use std::path::{Path, PathBuf};
use std::time::Duration;

use runner_protocol::wire::{
    CallRequest, DeployRequest, MemoryRead, MemoryRequest, SessionRequest,
};
use runner_protocol::{CallOutcome, DeployOutcome};
use vm::{Vm, VmConfig, WasmiEngine, WasmtimeEngine};

use crate::engines::EngineSpec;

/// Why a VM under test could not serve a request. Never an outcome: the
/// step and the run fail.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("{engine}: cannot build its runner: {message}")]
    Build { engine: String, message: String },
    #[error("{engine}: cannot start its runner {binary}: {source}")]
    Spawn {
        engine: String,
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error("{engine}: the runner exited during {request}{status}{stderr}")]
    Crashed {
        engine: String,
        request: String,
        status: String,
        stderr: String,
    },
    #[error("{engine}: no answer to {request} within {limit:?}; the runner was stopped")]
    Timeout {
        engine: String,
        request: String,
        limit: Duration,
    },
    #[error("{engine}: the runner broke the protocol during {request}: {message}")]
    Protocol {
        engine: String,
        request: String,
        message: String,
    },
    #[error("{engine}: the runner refused {request}: {message}")]
    Refused {
        engine: String,
        request: String,
        message: String,
    },
    #[error("{engine}: {message}")]
    Engine { engine: String, message: String },
}

/// A VM under test.
pub trait Driver: Send {
    /// The engine's name, as reports use it.
    fn name(&self) -> String;
    /// The release whose catalogue entries and snapshot lines apply to this
    /// engine: its own name, or for a local piecrust checkout the release
    /// of the same minor version it stands in for.
    fn baseline(&self) -> String {
        self.name()
    }
    /// Sets the wall-clock limit of each step of the sessions opened from
    /// now on (`None`: the run's, [`DriverConfig::step_timeout`]). A step
    /// past it ends with the outcome `timeout`.
    fn set_step_timeout(&mut self, timeout: Option<Duration>);
    /// Drops the current session and opens a new one.
    fn open_session(&mut self, request: &SessionRequest) -> Result<(), DriverError>;
    fn deploy(&mut self, request: &DeployRequest) -> Result<DeployOutcome, DriverError>;
    fn call(&mut self, request: &CallRequest) -> Result<CallOutcome, DriverError>;
    /// Part of a contract's memory; `None` without such a contract.
    fn memory(&mut self, request: &MemoryRequest) -> Result<Option<MemoryRead>, DriverError>;
    /// Moves the session's chain to the block at `height`.
    fn block(&mut self, height: u64) -> Result<(), DriverError>;
}

/// Settings of the drivers of a run.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// The repository root (runners are built in `target/runners`).
    pub root: PathBuf,
    /// How long one step (a deploy or a call) may take on any engine: our
    /// engines abandon it, a runner process is stopped, and the step's
    /// outcome is `timeout`.
    pub step_timeout: Duration,
}

impl DriverConfig {
    pub fn new(root: &Path) -> Self {
        DriverConfig {
            root: root.to_path_buf(),
            step_timeout: vm::DEFAULT_TIME_LIMIT,
        }
    }
}

/// Our two VMs, with their module caches, shared by the scenarios of a run.
pub struct OurVms {
    pub wasmtime: Vm<WasmtimeEngine>,
    pub wasmi: Vm<WasmiEngine>,
}

impl OurVms {
    pub fn new() -> Result<Self, DriverError> {
        let config = VmConfig::default();
        let engine = |engine: &str, error: vm::failure::EngineError| DriverError::Engine {
            engine: engine.into(),
            message: error.to_string(),
        };
        Ok(OurVms {
            wasmtime: Vm::new(config.clone()).map_err(|e| engine("wasmtime", e))?,
            wasmi: Vm::new(config).map_err(|e| engine("wasmi", e))?,
        })
    }
}

/// The drivers of a run, one per engine, in the order given.
pub fn drivers<'vm>(
    engines: &[EngineSpec],
    vms: &'vm OurVms,
    config: &DriverConfig,
) -> Result<Vec<Box<dyn Driver + 'vm>>, DriverError> {
    let mut drivers: Vec<Box<dyn Driver + 'vm>> = Vec::new();
    for engine in engines {
        drivers.push(match engine {
            EngineSpec::Wasmtime => Box::new(in_process::InProcess::new(
                &vms.wasmtime,
                config.step_timeout,
            )),
            EngineSpec::Wasmi => {
                Box::new(in_process::InProcess::new(&vms.wasmi, config.step_timeout))
            }
            EngineSpec::Production(production) => {
                let (binary, baseline) =
                    build::runner_binary(production, &config.root, &engine.name())?;
                Box::new(process::RunnerProcess::new(
                    engine.name(),
                    baseline,
                    binary,
                    config.step_timeout,
                ))
            }
        });
    }
    Ok(drivers)
}
