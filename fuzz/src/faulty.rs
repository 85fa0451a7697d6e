//! Deliberately wrong engines, to prove the oracles find what they claim
//! to: each wraps a correct engine and breaks one promise after every
//! top-level call. (Wrong limits need no wrapper: see
//! [`FaultChoice::limits`].)

use std::marker::PhantomData;

use serde::Serialize;
use vm::abi::{ARGBUF_LEN, ARGBUF_LEN_I32};
use vm::determinism::InstrumentedModule;
use vm::engine::{
    Engine, EngineConfig, Host, InstanceId, Instances, Runtime, Store, Value, VmGlobal,
};
use vm::failure::{CallFailure, EngineError, EngineKind};
use vm::host::HostState;
use vm::limits::Limits;

/// What a wrong engine gets wrong.
pub trait Fault: 'static {
    const NAME: &'static str;
    /// Runs after a successful top-level call returned `len` (the output
    /// length, not yet checked against the argument buffer); returns the
    /// length the engine reports.
    fn after_call<H: Host>(
        store: &mut dyn Runtime<H>,
        instance: InstanceId,
        len: i32,
    ) -> Result<i32, EngineError>;
}

/// The ABI's host state of a store: faults read what the call did there.
/// A store with another host is refused, never guessed at.
fn host_state<H: Host>(store: &mut dyn Runtime<H>) -> Result<&mut HostState, EngineError> {
    (store.host() as &mut dyn std::any::Any)
        .downcast_mut::<HostState>()
        .ok_or_else(|| {
            EngineError::HostInvariant("a faulty engine runs under the ABI's host only".into())
        })
}

/// Charges one more gas unit than the call spent.
fn charge_one_more(store: &mut dyn Instances, instance: InstanceId) -> Result<(), EngineError> {
    let saved = store.vm_global(instance, VmGlobal::SavedFuel)?;
    if saved < 0 {
        store.set_vm_global(instance, VmGlobal::SavedFuel, saved + 1)?;
    }
    Ok(())
}

/// Charges one more gas unit than it should.
pub struct ExtraGas;

impl Fault for ExtraGas {
    const NAME: &'static str = "extra-gas";
    fn after_call<H: Host>(
        store: &mut dyn Runtime<H>,
        instance: InstanceId,
        len: i32,
    ) -> Result<i32, EngineError> {
        charge_one_more(store, instance)?;
        Ok(len)
    }
}

/// Takes an output that fills the argument buffer exactly (65,536 bytes)
/// for one past it: an off-by-one in the output bound.
pub struct OutputBound;

impl Fault for OutputBound {
    const NAME: &'static str = "output-bound";
    fn after_call<H: Host>(
        _store: &mut dyn Runtime<H>,
        _instance: InstanceId,
        len: i32,
    ) -> Result<i32, EngineError> {
        Ok(if len == ARGBUF_LEN_I32 { len + 1 } else { len })
    }
}

/// Charges one more gas unit for a call in which an import read the whole
/// argument buffer (65,536 bytes): an event's data (`emit`), fed data
/// (`feed`), a debug message (`hdebug`) or a nested call's argument (`c`).
pub struct ArgbufBound;

impl Fault for ArgbufBound {
    const NAME: &'static str = "argbuf-bound";
    fn after_call<H: Host>(
        store: &mut dyn Runtime<H>,
        instance: InstanceId,
        len: i32,
    ) -> Result<i32, EngineError> {
        let host = host_state(store)?;
        let full = |bytes: &[u8]| bytes.len() == ARGBUF_LEN;
        let read_whole_buffer = host.events().iter().any(|record| full(&record.event.data))
            || host
                .fed()
                .is_some_and(|fed| fed.iter().any(|data| full(data)))
            || host
                .debug_messages()
                .iter()
                .any(|message| full(message.as_bytes()))
            // The top-level call's own argument is the embedder's, not read
            // through an import.
            || host
                .frame_args()
                .skip(1)
                .any(|arg| arg.len() == ARGBUF_LEN as u64);
        if read_whole_buffer {
            charge_one_more(store, instance)?;
        }
        Ok(len)
    }
}

/// Flips the lowest payload bit of a canonical `f32` NaN in the output.
pub struct FlipNan;

impl Fault for FlipNan {
    const NAME: &'static str = "flip-nan";
    fn after_call<H: Host>(
        store: &mut dyn Runtime<H>,
        instance: InstanceId,
        len: i32,
    ) -> Result<i32, EngineError> {
        let offset = host_state(store)?
            .contract(instance)
            .map_or(Some(0), |slot| usize::try_from(slot.argbuf_offset).ok())
            .unwrap_or(usize::MAX);
        let memory = store.memory(instance)?;
        let end = offset
            .saturating_add(usize::try_from(len).unwrap_or(0))
            .min(memory.len());
        let output = &mut memory[offset.min(end)..end];
        if let Some(at) = output
            .windows(4)
            .position(|w| w == [0x00, 0x00, 0xc0, 0x7f])
        {
            output[at] ^= 1;
        }
        Ok(len)
    }
}

/// An engine `E` that gets `F` wrong.
pub struct Faulty<E, F> {
    inner: E,
    fault: PhantomData<F>,
}

/// The store of a [`Faulty`] engine.
pub struct FaultyStore<S, F> {
    inner: S,
    fault: PhantomData<F>,
}

impl<E: Engine, F: Fault> Engine for Faulty<E, F> {
    const KIND: EngineKind = E::KIND;
    type Module = E::Module;
    type Store<H: Host> = FaultyStore<E::Store<H>, F>;

    fn new(config: &EngineConfig, limits: &Limits) -> Result<Self, EngineError> {
        Ok(Faulty {
            inner: E::new(config, limits)?,
            fault: PhantomData,
        })
    }

    fn compile(&self, module: &InstrumentedModule) -> Result<Self::Module, EngineError> {
        self.inner.compile(module)
    }

    fn new_store<H: Host>(&self, host: H) -> Self::Store<H> {
        FaultyStore {
            inner: self.inner.new_store(host),
            fault: PhantomData,
        }
    }
}

impl<H: Host, S: Store<H>, F: Fault> Store<H> for FaultyStore<S, F> {
    type Module = S::Module;

    fn instantiate(&mut self, module: &Self::Module) -> Result<InstanceId, CallFailure> {
        self.inner.instantiate(module)
    }
}

impl<S: Instances, F: Fault> Instances for FaultyStore<S, F> {
    fn memory(&mut self, instance: InstanceId) -> Result<&mut [u8], EngineError> {
        self.inner.memory(instance)
    }
    fn grow_memory(&mut self, instance: InstanceId, pages: u64) -> Result<bool, EngineError> {
        self.inner.grow_memory(instance, pages)
    }
    fn dirty_map(&mut self, instance: InstanceId) -> Result<&mut [u8], EngineError> {
        self.inner.dirty_map(instance)
    }
    fn vm_global(&mut self, instance: InstanceId, global: VmGlobal) -> Result<i64, EngineError> {
        self.inner.vm_global(instance, global)
    }
    fn set_vm_global(
        &mut self,
        instance: InstanceId,
        global: VmGlobal,
        value: i64,
    ) -> Result<(), EngineError> {
        self.inner.set_vm_global(instance, global, value)
    }
    fn state_global(&mut self, instance: InstanceId, index: u32) -> Result<Value, EngineError> {
        self.inner.state_global(instance, index)
    }
    fn set_state_global(
        &mut self,
        instance: InstanceId,
        index: u32,
        value: Value,
    ) -> Result<(), EngineError> {
        self.inner.set_state_global(instance, index, value)
    }
    fn reinstantiate(&mut self, instance: InstanceId) -> Result<(), EngineError> {
        self.inner.reinstantiate(instance)
    }
}

impl<H: Host, S: Runtime<H>, F: Fault> Runtime<H> for FaultyStore<S, F> {
    fn call(&mut self, instance: InstanceId, name: &str, arg_len: u32) -> Result<i32, CallFailure> {
        let len = self.inner.call(instance, name, arg_len)?;
        F::after_call(&mut self.inner, instance, len).map_err(CallFailure::Engine)
    }
    fn host(&mut self) -> &mut H {
        self.inner.host()
    }
}

/// An engine that fails to compile every instrumented module over 100 bytes
/// (every real contract): wrong admission, as the admission oracle must notice.
pub struct RejectsLargeModules<E>(E);

impl<E: Engine> Engine for RejectsLargeModules<E> {
    const KIND: EngineKind = E::KIND;
    type Module = E::Module;
    type Store<H: Host> = E::Store<H>;

    fn new(config: &EngineConfig, limits: &Limits) -> Result<Self, EngineError> {
        Ok(RejectsLargeModules(E::new(config, limits)?))
    }

    fn compile(&self, module: &InstrumentedModule) -> Result<Self::Module, EngineError> {
        if module.wasm.len() > 100 {
            return Err(EngineError::Compile {
                engine: E::KIND,
                message: "deliberately refused".into(),
            });
        }
        self.0.compile(module)
    }

    fn new_store<H: Host>(&self, host: H) -> Self::Store<H> {
        self.0.new_store(host)
    }
}

/// A deliberately wrong shadow engine, to measure how fast an oracle finds
/// a known bug: one per promise the oracles must check, limits included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultChoice {
    /// Every call charges one more gas unit.
    ExtraGas,
    /// A canonical `f32` NaN in an output has a payload bit flipped.
    FlipNan,
    /// Memory stops growing one page short of the VM's cap (4,095 pages).
    PageCap,
    /// A table of the largest admitted size (65,536 elements) is refused.
    TableCap,
    /// A `c` that would open the 48th frame is refused.
    CallDepth,
    /// The logical stack is 1 KiB short.
    LogicalStack,
    /// An output of exactly 65,536 bytes is taken for one past the bound.
    OutputBound,
    /// A call in which an import read the whole 65,536-byte argument
    /// buffer (`c`, `emit`, `feed`, `hdebug`) charges one more gas unit.
    ArgbufBound,
}

impl FaultChoice {
    /// The limits of a wrong shadow VM whose fault is a limit off by a
    /// little; `None` for faults of the engine itself.
    pub fn limits(self) -> Option<Limits> {
        let limits = Limits::default();
        match self {
            FaultChoice::PageCap => Some(Limits {
                max_memory_pages: limits.max_memory_pages - 1,
                ..limits
            }),
            FaultChoice::TableCap => Some(Limits {
                max_table_elements: limits.max_table_elements - 1,
                ..limits
            }),
            FaultChoice::CallDepth => Some(Limits {
                max_call_depth: limits.max_call_depth - 1,
                ..limits
            }),
            FaultChoice::LogicalStack => Some(Limits {
                stack_budget: limits.stack_budget - 1024,
                ..limits
            }),
            FaultChoice::ExtraGas
            | FaultChoice::FlipNan
            | FaultChoice::OutputBound
            | FaultChoice::ArgbufBound => None,
        }
    }
}
