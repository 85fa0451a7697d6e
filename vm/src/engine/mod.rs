//! The engine abstraction and its two implementations.
//!
//! An [`Engine`] compiles instrumented modules; its [`Engine::Store`] holds
//! the instances of every contract of a session, so that a host function
//! running on behalf of one contract can call into any other (or itself)
//! through the same [`Runtime`] interface the session uses from outside.
//!
//! Engines know nothing of the host they run contracts for: a store holds
//! a host of any type implementing [`Host`], binds every import to
//! [`Host::dispatch`] and ends calls past [`Host::deadline`]. The ABI's
//! host (`crate::host`) is one such type, built on top of this module.
//! Everything engine-specific stays in [`wasmtime`] and [`wasmi`]; both map
//! their errors into the shared [`Trap`] and [`EngineError`] through explicit
//! tables, and an error neither table knows is an [`EngineError`], never a
//! trap.

/// Implements [`Instances`] and [`Runtime`] for a store or caller wrapper
/// of an engine module by delegating to that module's `rt_*` functions over
/// its context.
macro_rules! impl_runtime {
    ([$($generics:tt)*] $ty:ty, $ctx:ident => $expr:expr) => {
        impl<$($generics)*> Instances for $ty {
            fn memory(&mut self, instance: InstanceId) -> Result<&mut [u8], EngineError> {
                let $ctx = self;
                rt_memory($expr, instance)
            }
            fn grow_memory(
                &mut self,
                instance: InstanceId,
                pages: u64,
            ) -> Result<bool, EngineError> {
                let $ctx = self;
                rt_grow($expr, instance, pages)
            }
            fn dirty_map(&mut self, instance: InstanceId) -> Result<&mut [u8], EngineError> {
                let $ctx = self;
                rt_dirty($expr, instance)
            }
            fn vm_global(
                &mut self,
                instance: InstanceId,
                global: VmGlobal,
            ) -> Result<i64, EngineError> {
                let $ctx = self;
                rt_vm_global($expr, instance, global)
            }
            fn set_vm_global(
                &mut self,
                instance: InstanceId,
                global: VmGlobal,
                value: i64,
            ) -> Result<(), EngineError> {
                let $ctx = self;
                rt_set_vm_global($expr, instance, global, value)
            }
            fn state_global(
                &mut self,
                instance: InstanceId,
                index: u32,
            ) -> Result<Value, EngineError> {
                let $ctx = self;
                rt_state_global($expr, instance, index)
            }
            fn set_state_global(
                &mut self,
                instance: InstanceId,
                index: u32,
                value: Value,
            ) -> Result<(), EngineError> {
                let $ctx = self;
                rt_set_state_global($expr, instance, index, value)
            }
            fn reinstantiate(&mut self, instance: InstanceId) -> Result<(), EngineError> {
                let $ctx = self;
                rt_reinstantiate($expr, instance)
            }
        }

        impl<$($generics)*> Runtime<H> for $ty {
            fn call(
                &mut self,
                instance: InstanceId,
                name: &str,
                arg_len: u32,
            ) -> Result<i32, CallFailure> {
                let $ctx = self;
                rt_call($expr, instance, name, arg_len)
            }
            fn host(&mut self) -> &mut H {
                let $ctx = self;
                &mut ($expr).data_mut().host
            }
        }
    };
}

mod handles;
pub mod wasmi;
pub mod wasmtime;

use crate::determinism::stack::NATIVE_STACK_LIMIT;
use crate::determinism::{
    ABORT_EXPORT, FUEL_EXPORT, GROW_REFUSED_EXPORT, InstrumentedModule, SAVED_FUEL_EXPORT,
    STACK_EXPORT,
};
use std::time::Instant;

use crate::abi::HostImport;
use crate::failure::{CallFailure, EngineError, EngineKind, HostFailure};
use crate::limits::Limits;

/// Index of a contract instance in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(pub usize);

/// A Wasm value held by a contract global.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32` by its bits.
    F32(u32),
    /// An `f64` by its bits.
    F64(u64),
    /// A `v128` by its bits.
    V128(u128),
}

/// The VM's own globals in every instrumented instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmGlobal {
    /// The fuel variable.
    Fuel,
    /// The fuel as last stored for the runtime.
    SavedFuel,
    /// Logical stack in use.
    Stack,
    /// Abort reason of a VM-raised trap.
    Abort,
    /// How many `memory.grow` operations returned -1.
    GrowRefused,
}

impl VmGlobal {
    /// Every VM global, in the order of [`VmGlobal::index`].
    pub const ALL: [VmGlobal; 5] = [
        VmGlobal::Fuel,
        VmGlobal::SavedFuel,
        VmGlobal::Stack,
        VmGlobal::Abort,
        VmGlobal::GrowRefused,
    ];

    /// Its position in [`VmGlobal::ALL`].
    pub fn index(self) -> usize {
        match self {
            VmGlobal::Fuel => 0,
            VmGlobal::SavedFuel => 1,
            VmGlobal::Stack => 2,
            VmGlobal::Abort => 3,
            VmGlobal::GrowRefused => 4,
        }
    }

    /// The name the determinism pass exports it under.
    pub fn export_name(self) -> &'static str {
        match self {
            VmGlobal::Fuel => FUEL_EXPORT,
            VmGlobal::SavedFuel => SAVED_FUEL_EXPORT,
            VmGlobal::Stack => STACK_EXPORT,
            VmGlobal::Abort => ABORT_EXPORT,
            VmGlobal::GrowRefused => GROW_REFUSED_EXPORT,
        }
    }

    /// Whether it is an `i32` global (the others are `i64`).
    pub fn is_i32(self) -> bool {
        matches!(self, VmGlobal::Abort | VmGlobal::GrowRefused)
    }
}

/// Settings shared by both engines.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Native stack wasmtime may use for Wasm code, in bytes.
    pub native_stack_limit: usize,
    /// wasmtime only: keep instances, memories and tables in a pool of this
    /// many instances instead of mapping memory for each one. Instantiation
    /// then costs a fraction (no `mmap`, page faults or `munmap` per
    /// contract), which matters to fuzz campaigns that deploy thousands of
    /// contracts a second. Semantics are unchanged, but a session holding
    /// more instances than the pool (or a module with more tables than it)
    /// fails with [`EngineError::InstancePoolExhausted`]. `None` (the
    /// default, as production) maps memory per instance.
    pub instance_pool: Option<u32>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            native_stack_limit: NATIVE_STACK_LIMIT,
            instance_pool: None,
        }
    }
}

/// What an engine needs from the host its contracts import from.
pub trait Host: Sized + Send + 'static {
    /// Runs host import `import` for the instance `caller` with `args`
    /// (already checked against the import's signature by the engine),
    /// with access to every instance of the store, re-entrantly.
    fn dispatch(
        rt: &mut dyn Runtime<Self>,
        caller: InstanceId,
        import: HostImport,
        args: &[Value],
    ) -> Result<Option<Value>, HostFailure>;

    /// When the call in progress must end (its wall-clock limit): engines
    /// check it as they run and fail with [`EngineError::Timeout`] past it.
    fn deadline(&self) -> Option<Instant>;
}

/// The instances of a store, without its host: what state checkpoints and
/// rollbacks work on. Nothing reached through it runs contract code.
pub trait Instances {
    /// The contract's linear memory.
    fn memory(&mut self, instance: InstanceId) -> Result<&mut [u8], EngineError>;
    /// Grows the contract's memory by `pages`; `false` if it cannot.
    fn grow_memory(&mut self, instance: InstanceId, pages: u64) -> Result<bool, EngineError>;
    /// The contract's dirty-page map.
    fn dirty_map(&mut self, instance: InstanceId) -> Result<&mut [u8], EngineError>;
    /// One of the VM's globals of the instance.
    fn vm_global(&mut self, instance: InstanceId, global: VmGlobal) -> Result<i64, EngineError>;
    /// Sets one of the VM's globals of the instance.
    fn set_vm_global(
        &mut self,
        instance: InstanceId,
        global: VmGlobal,
        value: i64,
    ) -> Result<(), EngineError>;
    /// The contract's mutable global with this module index.
    fn state_global(&mut self, instance: InstanceId, index: u32) -> Result<Value, EngineError>;
    /// Sets the contract's mutable global with this module index.
    fn set_state_global(
        &mut self,
        instance: InstanceId,
        index: u32,
        value: Value,
    ) -> Result<(), EngineError>;
    /// Replaces the instance by a fresh one of the same module: the only way
    /// to take back memory growth, as neither engine shrinks memories.
    /// Instantiation runs no contract code (admission forbids a start
    /// function).
    fn reinstantiate(&mut self, instance: InstanceId) -> Result<(), EngineError>;
}

/// A store seen whole, host `H` included: from the session between calls,
/// and from host functions during a call (re-entrantly).
pub trait Runtime<H>: Instances {
    /// Calls the contract's export `name` with the argument length.
    fn call(&mut self, instance: InstanceId, name: &str, arg_len: u32) -> Result<i32, CallFailure>;
    /// The host of the store.
    fn host(&mut self) -> &mut H;
}

/// A store: the instances of one session on one engine, and its host.
pub trait Store<H: Host>: Runtime<H> {
    /// The engine's compiled module.
    type Module;

    /// Instantiates `module`, binding its imports to [`Host::dispatch`].
    /// Instantiation traps (a segment out of bounds) are the contract's.
    fn instantiate(&mut self, module: &Self::Module) -> Result<InstanceId, CallFailure>;
}

/// A Wasm engine.
pub trait Engine: Sized {
    /// Which engine this is.
    const KIND: EngineKind;
    /// A compiled instrumented module, shared by stores.
    type Module: Clone;
    /// A store of this engine with host `H`.
    type Store<H: Host>: Store<H, Module = Self::Module>;

    /// An engine for modules admitted under `limits` (the instance pool,
    /// where there is one, sizes its slots from them).
    fn new(config: &EngineConfig, limits: &Limits) -> Result<Self, EngineError>;

    /// Compiles an instrumented module.
    fn compile(&self, module: &InstrumentedModule) -> Result<Self::Module, EngineError>;

    /// A new, empty store with this host.
    fn new_store<H: Host>(&self, host: H) -> Self::Store<H>;
}
