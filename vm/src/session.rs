//! Deploying contracts and calling them: the engine-generic executor.
//!
//! A [`Vm`] owns an engine and a cache of prepared modules (admitted,
//! instrumented and compiled once per bytecode). A [`Session`] holds
//! deployed contracts and their state in one store of that engine.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::abi::{ARGBUF_LEN, ContractId, INIT_EXPORT};
use crate::admission::{self, AdmissionError, Limits, ModuleInfo};
use crate::cache::BytecodeCache;
use crate::determinism::{self, AbortCode, InstrumentError, InstrumentedModule};
use crate::engine::{
    CallFailure, Engine, EngineConfig, EngineError, EngineKind, InstanceId, Runtime, Store, Trap,
    VmGlobal,
};
use crate::gas::GasCounter;
use crate::host::{self, ContractSlot, Event, Frame, HostError, HostFailure, HostState};
use crate::state::CommittedState;

/// Settings of a VM, the same for both engines of a comparison.
#[derive(Clone, Debug)]
pub struct VmConfig {
    pub limits: Limits,
    /// Whether contracts may import `hdebug`.
    pub debug_imports: bool,
    pub engine: EngineConfig,
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig {
            limits: Limits::default(),
            debug_imports: true,
            engine: EngineConfig::default(),
        }
    }
}

/// Why a call did not produce output. What a contract author sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CallError {
    #[error("panic: {message}")]
    Panic { message: String },
    #[error("out of gas")]
    OutOfGas,
    #[error("trap: {trap}")]
    Trap { trap: Trap },
    #[error("host function failed: {error}")]
    Host { error: HostError },
    #[error("the contract has no exported function `{name}`")]
    MissingFunction { name: String },
    #[error("`init` runs only at deploy")]
    InitNotCallable,
    #[error("input of {len} bytes does not fit the 65536-byte argument buffer")]
    InputTooLarge { len: usize },
    #[error("the contract returned output length {len}, outside 0..=65536")]
    OutputLength { len: i32 },
}

impl CallError {
    /// A short name of the error's kind, stable across versions.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Panic { .. } => "panic",
            CallError::OutOfGas => "out_of_gas",
            CallError::Trap { .. } => "trap",
            CallError::Host { .. } => "host",
            CallError::MissingFunction { .. } => "missing_function",
            CallError::InitNotCallable => "init_not_callable",
            CallError::InputTooLarge { .. } => "input_too_large",
            CallError::OutputLength { .. } => "output_length",
        }
    }
}

/// The result of a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallReceipt {
    /// Output bytes, or why there are none.
    pub result: Result<Vec<u8>, CallError>,
    pub gas_limit: u64,
    pub gas_spent: u64,
    /// Events emitted by a successful call.
    pub events: Vec<Event>,
    /// Debug messages, kept even when the call fails.
    pub debug: Vec<String>,
    /// Data fed to the feeder by a successful call.
    pub feed: Vec<Vec<u8>>,
}

/// Why a deploy failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeployError {
    #[error("module rejected: {0}")]
    Admission(#[from] AdmissionError),
    #[error(transparent)]
    Instrument(#[from] InstrumentError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("a contract with id {0} is already deployed")]
    DuplicateId(ContractId),
    #[error("instantiation trapped: {trap}")]
    InstantiationTrap { trap: Trap },
    #[error("init failed: {}", .receipt.result.as_ref().err().map_or_else(String::new, ToString::to_string))]
    InitFailed { receipt: Box<CallReceipt> },
}

/// Why a call could not be made or completed by the VM itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VmError {
    #[error("no contract with id {0}")]
    UnknownContract(ContractId),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// How to deploy a contract.
#[derive(Clone, Debug, Default)]
pub struct DeployOptions {
    pub owner: Vec<u8>,
    /// The contract id; the blake3 hash of the bytecode when absent.
    pub id: Option<ContractId>,
    /// Argument of `init`.
    pub init_arg: Vec<u8>,
    /// Gas limit of `init`.
    pub gas_limit: u64,
}

/// A deployed contract.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub id: ContractId,
    /// The receipt of `init`, if the contract has one.
    pub init: Option<CallReceipt>,
}

/// A module ready to instantiate on one engine.
pub struct Prepared<M> {
    pub info: ModuleInfo,
    pub instrumented: InstrumentedModule,
    pub compiled: M,
}

/// An engine with a cache of prepared modules.
pub struct Vm<E: Engine> {
    engine: E,
    config: VmConfig,
    cache: BytecodeCache<Prepared<E::Module>>,
}

impl<E: Engine> Vm<E> {
    pub fn new(config: VmConfig) -> Result<Self, EngineError> {
        Ok(Vm {
            engine: E::new(&config.engine)?,
            config,
            cache: BytecodeCache::default(),
        })
    }

    pub fn kind(&self) -> EngineKind {
        E::KIND
    }

    pub fn config(&self) -> &VmConfig {
        &self.config
    }

    /// Admits, instruments and compiles `bytecode`, once per bytecode.
    pub fn prepare(&self, bytecode: &[u8]) -> Result<Arc<Prepared<E::Module>>, DeployError> {
        self.cache.get_or_try_insert(bytecode, || {
            let info = admission::admit(bytecode, &self.config.limits, self.config.debug_imports)?;
            let instrumented = determinism::instrument(bytecode, &info)?;
            let compiled = self.engine.compile(&instrumented)?;
            Ok(Prepared {
                info,
                instrumented,
                compiled,
            })
        })
    }

    /// A new session with no contracts.
    pub fn session(&self) -> Session<'_, E> {
        Session {
            vm: self,
            store: self.engine.new_store(HostState::default()),
            contracts: Vec::new(),
        }
    }
}

struct Deployed<M> {
    id: ContractId,
    instance: InstanceId,
    prepared: Arc<Prepared<M>>,
    committed: CommittedState,
}

/// Deployed contracts and their state on one engine.
pub struct Session<'vm, E: Engine> {
    vm: &'vm Vm<E>,
    store: E::Store,
    contracts: Vec<Deployed<E::Module>>,
}

impl<E: Engine> Session<'_, E> {
    /// Sets the host data `name` the contracts read with `hd`.
    pub fn set_host_data(&mut self, name: &str, data: Vec<u8>) {
        self.store.host().host_data.insert(name.to_string(), data);
    }

    /// Attaches a feeder that collects what contracts `feed`.
    pub fn attach_feeder(&mut self) {
        self.store.host().feeder = Some(Vec::new());
    }

    /// Ids of the deployed contracts, in deploy order.
    pub fn contract_ids(&self) -> Vec<ContractId> {
        self.contracts.iter().map(|c| c.id).collect()
    }

    /// Deploys a contract: admission, instrumentation, compilation (cached),
    /// instantiation and `init`. A failing `init` aborts the deploy.
    pub fn deploy(
        &mut self,
        bytecode: &[u8],
        options: DeployOptions,
    ) -> Result<Deployment, DeployError> {
        let id = options
            .id
            .unwrap_or_else(|| ContractId::from_bytecode(bytecode));
        if self.contracts.iter().any(|c| c.id == id) {
            return Err(DeployError::DuplicateId(id));
        }
        let prepared = self.vm.prepare(bytecode)?;
        let expected = InstanceId(self.store.host().contracts.len());
        self.store.host().contracts.push(ContractSlot {
            id,
            owner: options.owner,
            argbuf_offset: prepared.info.argbuf_offset,
            width: prepared.info.memory.width,
        });
        let instance = match self.store.instantiate(&prepared.compiled) {
            Ok(instance) => instance,
            Err(failure) => {
                // The slot stays, unreachable: no deployed contract maps to it.
                self.store.host().contracts[expected.0].id = ContractId([0; 32]);
                return Err(match failure {
                    CallFailure::Trap(trap) => DeployError::InstantiationTrap { trap },
                    CallFailure::Engine(error) => DeployError::Engine(error),
                });
            }
        };
        if instance != expected {
            return Err(EngineError::HostInvariant(format!(
                "instance {} does not match contract slot {}",
                instance.0, expected.0
            ))
            .into());
        }
        let committed = CommittedState::capture(
            &mut self.store,
            instance,
            &prepared.instrumented.state_globals,
        )?;
        let mut deployed = Deployed {
            id,
            instance,
            prepared,
            committed,
        };
        let init = if deployed.prepared.info.has_init() {
            let receipt = self.execute(
                &mut deployed,
                INIT_EXPORT,
                &options.init_arg,
                options.gas_limit,
            )?;
            if receipt.result.is_err() {
                // The instance stays in the store, unreachable: no id maps to it.
                self.store.host().contracts[instance.0].id = ContractId([0; 32]);
                return Err(DeployError::InitFailed {
                    receipt: Box::new(receipt),
                });
            }
            Some(receipt)
        } else {
            None
        };
        self.contracts.push(deployed);
        Ok(Deployment { id, init })
    }

    /// Calls `function` of contract `id` with `arg` and `gas_limit`.
    pub fn call(
        &mut self,
        id: &ContractId,
        function: &str,
        arg: &[u8],
        gas_limit: u64,
    ) -> Result<CallReceipt, VmError> {
        let index = self
            .contracts
            .iter()
            .position(|c| c.id == *id)
            .ok_or(VmError::UnknownContract(*id))?;
        let refused = if function == INIT_EXPORT {
            Some(CallError::InitNotCallable)
        } else if !self.contracts[index]
            .prepared
            .info
            .exports_function(function)
        {
            Some(CallError::MissingFunction {
                name: function.to_string(),
            })
        } else {
            None
        };
        if let Some(error) = refused {
            return Ok(CallReceipt {
                result: Err(error),
                gas_limit,
                gas_spent: 0,
                events: Vec::new(),
                debug: Vec::new(),
                feed: Vec::new(),
            });
        }
        // Take the contract out while it runs so the store can be borrowed.
        let mut deployed = self.contracts.swap_remove(index);
        let receipt = self.execute(&mut deployed, function, arg, gas_limit);
        self.contracts.push(deployed);
        let last = self.contracts.len() - 1;
        self.contracts.swap(index, last);
        Ok(receipt?)
    }

    /// The committed memory of contract `id`.
    pub fn committed_memory(&self, id: &ContractId) -> Option<&[u8]> {
        self.contracts
            .iter()
            .find(|c| c.id == *id)
            .map(|c| c.committed.memory())
    }

    /// A digest of contract `id`'s committed state: memory and globals.
    pub fn state_digest(&self, id: &ContractId) -> Option<[u8; 32]> {
        self.contracts
            .iter()
            .find(|c| c.id == *id)
            .map(|c| c.committed.digest())
    }

    fn execute(
        &mut self,
        deployed: &mut Deployed<E::Module>,
        function: &str,
        arg: &[u8],
        gas_limit: u64,
    ) -> Result<CallReceipt, EngineError> {
        let mut receipt = CallReceipt {
            result: Ok(Vec::new()),
            gas_limit,
            gas_spent: 0,
            events: Vec::new(),
            debug: Vec::new(),
            feed: Vec::new(),
        };
        if arg.len() > ARGBUF_LEN {
            receipt.result = Err(CallError::InputTooLarge { len: arg.len() });
            return Ok(receipt);
        }
        let instance = deployed.instance;
        let argbuf = deployed.prepared.info.argbuf_offset;
        let store = &mut self.store;
        host::write_memory(store, instance, argbuf, arg).map_err(host_failure_to_engine)?;
        let gas = GasCounter::with_limit(gas_limit);
        store.set_vm_global(instance, VmGlobal::Fuel, gas.0)?;
        store.set_vm_global(instance, VmGlobal::SavedFuel, gas.0)?;
        store.set_vm_global(instance, VmGlobal::Stack, 0)?;
        store.set_vm_global(instance, VmGlobal::Abort, 0)?;
        store.host().frames.push(Frame {
            instance,
            limit: gas_limit,
        });
        let outcome = store.call(instance, function, arg.len() as u32);
        store.host().frames.pop();

        let remaining = GasCounter(store.vm_global(instance, VmGlobal::SavedFuel)?).remaining();
        receipt.gas_spent = gas_limit.saturating_sub(remaining);
        let host_state = store.host();
        let events = std::mem::take(&mut host_state.events);
        receipt.debug = std::mem::take(&mut host_state.debug_messages);
        let feed = host_state
            .feeder
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default();

        let result = match outcome {
            Ok(len) if (0..=ARGBUF_LEN as i32).contains(&len) => {
                let start = argbuf as usize;
                Ok(store.memory(instance)?[start..start + len as usize].to_vec())
            }
            Ok(len) => Err(CallError::OutputLength { len }),
            Err(CallFailure::Engine(error)) => {
                deployed.committed.rollback(store, instance)?;
                return Err(error);
            }
            Err(CallFailure::Trap(trap)) => {
                let abort =
                    AbortCode::from_global(store.vm_global(instance, VmGlobal::Abort)? as i32);
                Err(classify(trap, abort, remaining))
            }
        };
        match &result {
            Ok(_) => {
                deployed.committed.commit(store, instance)?;
                receipt.events = events;
                receipt.feed = feed;
            }
            Err(_) => {
                deployed.committed.rollback(store, instance)?;
            }
        }
        receipt.result = result;
        Ok(receipt)
    }
}

fn host_failure_to_engine(failure: HostFailure) -> EngineError {
    match failure {
        HostFailure::Engine(error) => error,
        HostFailure::Contract(error) => {
            EngineError::HostInvariant(format!("writing the input: {error}"))
        }
    }
}

/// The contract-visible error of a failed execution. A trap while no gas
/// remains is out-of-gas, whatever raised it.
pub(crate) fn classify(trap: Trap, abort: Option<AbortCode>, remaining: u64) -> CallError {
    if remaining == 0 {
        return CallError::OutOfGas;
    }
    match (trap, abort) {
        (_, Some(AbortCode::OutOfGas)) | (Trap::OutOfGas, _) => CallError::OutOfGas,
        (_, Some(AbortCode::StackExhausted)) => CallError::Trap {
            trap: Trap::StackExhausted,
        },
        (Trap::Host(HostError::Panic { message }), None) => CallError::Panic { message },
        (Trap::Host(HostError::OutOfGas), None) => CallError::OutOfGas,
        (Trap::Host(error), None) => CallError::Host { error },
        (trap, None) => CallError::Trap { trap },
    }
}
