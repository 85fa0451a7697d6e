//! Deploying contracts and calling them: the engine-generic session.
//!
//! A [`Vm`] owns an engine and a cache of prepared modules (admitted,
//! instrumented and compiled once per bytecode). A [`Session`] holds
//! deployed contracts and their state in one store of that engine, with the
//! host data, host queries and feeder the embedder set.

use runner_protocol::{Omissions, Retainer};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use runner_protocol::MemoryState;
use serde::{Deserialize, Serialize};

use crate::abi::{ARGBUF_LEN, ContractId, INIT_EXPORT};
use crate::admission::{self, AdmissionError, ModuleInfo};
use crate::cache::BytecodeCache;
use crate::determinism::{self, InstrumentError, InstrumentedModule};
use crate::engine::{Engine, EngineConfig, InstanceId, Runtime, Store};
use crate::failure::{CallError, CallFailure, EngineError, EngineKind, Trap};
use crate::host::frame::{self, FrameRequest};
use crate::host::{ContractSlot, HostState};
use crate::limits::Limits;
use crate::query::{HostQuery, builtin_queries};
use crate::state::ContractState;
use crate::trace::{CallTree, EventRecord};

/// Settings of a VM, the same for both engines of a comparison.
#[derive(Clone, Debug)]
pub struct VmConfig {
    /// The limits every contract is held to.
    pub limits: Limits,
    /// Whether contracts may import `hdebug`.
    pub debug_imports: bool,
    /// The engines' own settings.
    pub engine: EngineConfig,
    /// How many prepared modules a [`Vm`] keeps (least recently used ones
    /// go first); bounds a long fuzz campaign's memory.
    pub module_cache_capacity: usize,
    /// The wall-clock limit of each top-level call (and of each `init`) of
    /// its sessions, unless a session sets its own
    /// ([`Session::set_time_limit`]). A call past it ends as
    /// [`CallError::Timeout`]. `None`: gas alone ends calls, and a gas
    /// limit of `u64::MAX` on a loop never ends.
    pub time_limit: Option<Duration>,
}

/// The default wall-clock limit of a call: far above what any call of the
/// suite takes (the slowest spends about a second), far below "forever".
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(60);

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig {
            limits: Limits::default(),
            debug_imports: true,
            engine: EngineConfig::default(),
            module_cache_capacity: 512,
            time_limit: Some(DEFAULT_TIME_LIMIT),
        }
    }
}

/// The result of a top-level call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallReceipt {
    /// Output bytes, or why there are none.
    pub result: Result<Vec<u8>, CallError>,
    /// The call's gas limit.
    pub gas_limit: u64,
    /// Gas the call spent.
    pub gas_spent: u64,
    /// The events of the call, in order, up to the bounds of
    /// [`runner_protocol::retained`]; those of failed frames (or of a
    /// failed call) are flagged reverted.
    pub events: Vec<EventRecord>,
    /// Debug messages, kept even when the call fails.
    pub debug: Vec<String>,
    /// Data fed to the feeder during the call (kept when the call fails:
    /// it has left the VM).
    pub feed: Vec<Vec<u8>>,
    /// What `debug`, `feed` and `events` left out past
    /// [`runner_protocol::RETAINED_ITEMS`] items or
    /// [`runner_protocol::RETAINED_BYTES`] bytes.
    #[serde(default, skip_serializing_if = "Omissions::is_empty")]
    pub omitted: Omissions,
    /// The frames the call made, up to [`crate::trace::TRACED_FRAMES`];
    /// absent when it was refused before running.
    pub call_tree: Option<CallTree>,
    /// A digest of every deployed contract's state after the call, by id.
    pub state: BTreeMap<String, String>,
    /// For a call that failed with `out_of_gas` because it failed otherwise
    /// while no gas remained (a trap, a host function's error), that failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked: Option<CallError>,
    /// Whether a `memory.grow` returned -1 during the call (production
    /// grows up to its reservation instead).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub grow_refused: bool,
}

/// Why a deploy failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeployError {
    #[error("module rejected: {0}")]
    /// Admission refused the module.
    Admission(#[from] AdmissionError),
    #[error(transparent)]
    /// The determinism pass could not rewrite an admitted module.
    Instrument(#[from] InstrumentError),
    #[error(transparent)]
    /// The engine failed.
    Engine(#[from] EngineError),
    #[error("a contract with id {0} is already deployed")]
    /// The id is taken by a deployed contract.
    DuplicateId(ContractId),
    #[error("instantiation trapped: {trap}")]
    /// Instantiation trapped (a segment out of bounds).
    InstantiationTrap {
        /// The trap.
        trap: Trap,
    },
    #[error("init failed: {}", .receipt.result.as_ref().err().map_or_else(String::new, ToString::to_string))]
    /// `init` failed: the contract is not deployed.
    InitFailed {
        /// The receipt of `init`.
        receipt: Box<CallReceipt>,
    },
}

/// Why a call could not be made or completed by the VM itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VmError {
    #[error("no contract with id {0}")]
    /// No live contract has the id.
    UnknownContract(ContractId),
    #[error(transparent)]
    /// The engine failed.
    Engine(#[from] EngineError),
}

/// How to deploy a contract.
#[derive(Clone, Debug, Default)]
pub struct DeployOptions {
    /// The owner the contract reports (`owner`).
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
    /// Its id.
    pub id: ContractId,
    /// The receipt of `init`, if the contract has one.
    pub init: Option<CallReceipt>,
}

/// A module ready to instantiate on one engine.
pub struct Prepared<M> {
    /// What admission found.
    pub info: ModuleInfo,
    /// The rewritten module.
    pub instrumented: InstrumentedModule,
    /// The engine's compiled module.
    pub compiled: M,
}

/// An engine with a cache of prepared modules.
pub struct Vm<E: Engine> {
    engine: E,
    config: VmConfig,
    cache: BytecodeCache<Prepared<E::Module>>,
    compiled: AtomicU64,
}

impl<E: Engine> Vm<E> {
    /// A VM on engine `E` with `config`.
    pub fn new(config: VmConfig) -> Result<Self, EngineError> {
        Ok(Vm {
            engine: E::new(&config.engine, &config.limits)?,
            cache: BytecodeCache::new(config.module_cache_capacity),
            config,
            compiled: AtomicU64::new(0),
        })
    }

    /// Which engine it runs on.
    pub fn kind(&self) -> EngineKind {
        E::KIND
    }

    /// Its settings.
    pub fn config(&self) -> &VmConfig {
        &self.config
    }

    /// Admits, instruments and compiles `bytecode`, once per bytecode.
    pub fn prepare(&self, bytecode: &[u8]) -> Result<Arc<Prepared<E::Module>>, DeployError> {
        self.cache.get_or_try_insert(bytecode, || {
            let info = admission::admit(bytecode, &self.config.limits, self.config.debug_imports)?;
            let instrumented = determinism::instrument(bytecode, &info)?;
            let compiled = self.engine.compile(&instrumented)?;
            self.compiled.fetch_add(1, Ordering::Relaxed);
            Ok(Prepared {
                info,
                instrumented,
                compiled,
            })
        })
    }

    /// How many modules this VM has compiled (cache misses that compiled).
    /// wasmi 1.1.0 keeps every function it compiled until its engine is
    /// dropped, a few KiB per module: an embedder that compiles new modules
    /// for hours (a fuzz campaign) replaces its `Vm<WasmiEngine>` now and
    /// then, going by this count.
    pub fn modules_compiled(&self) -> u64 {
        self.compiled.load(Ordering::Relaxed)
    }

    /// A new session with no contracts, no host data, the built-in host
    /// queries (`hash`, `echo`, `priced`, `panics`) and no feeder.
    pub fn session(&self) -> Session<'_, E> {
        let host = HostState::new(builtin_queries(), self.config.limits);
        Session {
            vm: self,
            store: self.engine.new_store(host),
            digests: true,
            time_limit: self.config.time_limit,
        }
    }
}

/// Deployed contracts and their state on one engine.
pub struct Session<'vm, E: Engine> {
    vm: &'vm Vm<E>,
    store: E::Store<HostState>,
    digests: bool,
    time_limit: Option<Duration>,
}

impl<E: Engine> Session<'_, E> {
    /// Sets the host data `name` that contracts read with `hd`.
    pub fn set_host_data(&mut self, name: &str, data: Vec<u8>) {
        self.store.host().host_data.insert(name.to_string(), data);
    }

    /// Registers a host query that contracts run with `hq`.
    pub fn register_query(&mut self, name: &str, query: Arc<dyn HostQuery>) {
        self.store.host().queries.insert(name.to_string(), query);
    }

    /// Keeps only the built-in host queries named (of `hash`, `echo`,
    /// `priced`, `panics`), as a runner protocol session asks.
    pub fn keep_builtin_queries(&mut self, names: &[String]) -> Result<(), String> {
        if let Some(unknown) = names
            .iter()
            .find(|name| crate::query::BuiltinQuery::from_name(name).is_none())
        {
            return Err(format!("no built-in host query named `{unknown}`"));
        }
        self.store
            .host()
            .queries
            .retain(|name, _| names.iter().any(|kept| kept == name));
        Ok(())
    }

    /// Sets the wall-clock limit of each later call and `init` of this
    /// session (see [`VmConfig::time_limit`]).
    pub fn set_time_limit(&mut self, limit: Option<Duration>) {
        self.time_limit = limit;
    }

    /// Attaches a feeder that collects what contracts `feed`.
    pub fn attach_feeder(&mut self) {
        self.store.host().feeder = Some(Retainer::default());
    }

    /// Ids of the deployed contracts, in deploy order.
    pub fn contract_ids(&mut self) -> Vec<ContractId> {
        self.store
            .host()
            .contracts
            .iter()
            .filter(|slot| slot.live)
            .map(|slot| slot.id)
            .collect()
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
        if self.store.host().live_contract(&id).is_some() {
            return Err(DeployError::DuplicateId(id));
        }
        let prepared = self.vm.prepare(bytecode)?;
        let functions: Arc<[String]> = prepared.info.exports.clone().into();
        let expected = InstanceId(self.store.host().contracts.len());
        self.store.host().contracts.push(ContractSlot {
            id,
            owner: options.owner,
            argbuf_offset: prepared.info.argbuf_offset,
            width: prepared.info.memory.width,
            functions,
            live: false,
        });
        let instance = match self.store.instantiate(&prepared.compiled) {
            Ok(instance) => instance,
            Err(failure) => {
                self.store.host().contracts.pop();
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
        let state = ContractState::capture(
            &mut self.store,
            instance,
            &prepared.instrumented.state_globals,
            prepared.info.initialized.as_deref(),
        )?;
        self.store.host().add_contract_state(state);
        let init = if prepared.info.has_init() {
            // Production deploys without a feeder: `feed` in `init` fails.
            let feeder = self.store.host().feeder.take();
            let receipt = self.run(instance, INIT_EXPORT, &options.init_arg, options.gas_limit);
            self.store.host().feeder = feeder;
            let receipt = receipt?;
            if receipt.result.is_err() {
                // The instance stays in the store, unreachable: not live.
                return Err(DeployError::InitFailed {
                    receipt: Box::new(receipt),
                });
            }
            Some(receipt)
        } else {
            None
        };
        self.store.host().contracts[instance.0].live = true;
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
        let host = self.store.host();
        let instance = host
            .live_contract(id)
            .ok_or(VmError::UnknownContract(*id))?;
        let refused = if function == INIT_EXPORT {
            Some(CallError::InitNotCallable)
        } else if !host.contracts[instance.0]
            .functions
            .iter()
            .any(|f| f == function)
        {
            Some(CallError::MissingFunction {
                name: function.to_string(),
            })
        } else {
            None
        };
        if let Some(error) = refused {
            return Ok(self.refused(error, gas_limit));
        }
        Ok(self.run(instance, function, arg, gas_limit)?)
    }

    /// The checkpointed memory of contract `id`.
    pub fn committed_memory(&mut self, id: &ContractId) -> Option<Vec<u8>> {
        let host = self.store.host();
        let instance = host.live_contract(id)?;
        host.contract_state(instance)
            .map(|state| state.memory().to_vec())
    }

    /// A digest of contract `id`'s state, its memory.
    pub fn state_digest(&mut self, id: &ContractId) -> Option<[u8; 32]> {
        let host = self.store.host();
        let instance = host.live_contract(id)?;
        host.contract_state(instance).map(ContractState::digest)
    }

    /// Every deployed contract's checkpointed memory: length and digest, by
    /// id, in the runner protocol's terms.
    pub fn memory_states(&mut self) -> BTreeMap<runner_protocol::ContractId, MemoryState> {
        self.store
            .host()
            .live_states()
            .map(|(slot, state)| (runner_protocol::ContractId(slot.id.0), state.memory_state()))
            .collect()
    }

    /// Whether receipts carry a digest of every contract's state (on by
    /// default). Computing them costs time in proportion to the pages
    /// written since the last receipt and to the number of contracts.
    pub fn set_state_digests(&mut self, enabled: bool) {
        self.digests = enabled;
    }

    fn refused(&mut self, error: CallError, gas_limit: u64) -> CallReceipt {
        CallReceipt {
            result: Err(error),
            gas_limit,
            gas_spent: 0,
            events: Vec::new(),
            debug: Vec::new(),
            feed: Vec::new(),
            omitted: Omissions::default(),
            call_tree: None,
            state: self.state_digests(),
            masked: None,
            grow_refused: false,
        }
    }

    fn run(
        &mut self,
        instance: InstanceId,
        function: &str,
        arg: &[u8],
        gas_limit: u64,
    ) -> Result<CallReceipt, EngineError> {
        if arg.len() > ARGBUF_LEN {
            return Ok(self.refused(CallError::InputTooLarge { len: arg.len() }, gas_limit));
        }
        self.store.host().grow_refused = false;
        self.store.host().deadline = self.time_limit.map(|limit| Instant::now() + limit);
        let frame = frame::run_frame(
            &mut self.store,
            FrameRequest {
                callee: instance,
                function,
                arg,
                gas_limit,
                stack_base: 0,
                nested: false,
            },
        );
        let host = self.store.host();
        host.deadline = None;
        let (call_tree, events, events_omitted) = host.trace.finish();
        let (debug, debug_omitted) = host.debug_messages.take();
        // Fed data has left the VM when it was fed, as in production: a
        // failure afterwards does not take it back.
        let (feed, feed_omitted) = host.feeder.as_mut().map(Retainer::take).unwrap_or_default();
        let frame = match frame {
            Err(EngineError::Timeout { .. }) => {
                // Abandoned and rolled back: nothing of it is kept, as
                // nothing of a timed-out call is seen of production.
                let limit = self.time_limit.unwrap_or_default();
                return Ok(self.refused(CallError::Timeout { limit }, gas_limit));
            }
            frame => frame?,
        };
        Ok(CallReceipt {
            result: frame.result,
            gas_limit,
            gas_spent: frame.gas_spent,
            events,
            debug,
            feed,
            omitted: Omissions {
                debug: debug_omitted,
                feed: feed_omitted,
                events: events_omitted,
            },
            call_tree,
            state: self.state_digests(),
            masked: frame.masked,
            grow_refused: std::mem::take(&mut self.store.host().grow_refused),
        })
    }

    fn state_digests(&mut self) -> BTreeMap<String, String> {
        if !self.digests {
            return BTreeMap::new();
        }
        self.store
            .host()
            .live_states()
            .map(|(slot, state)| (slot.id.to_string(), hex::encode(state.digest())))
            .collect()
    }
}
