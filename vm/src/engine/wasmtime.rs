//! The reference engine: wasmtime with Cranelift.
//!
//! Also provides [`NativeFuelEngine`], wasmtime with its own fuel metering on
//! uninstrumented modules: the oracle the determinism pass is tested against.

use std::time::{Duration, Instant};

use wasmtime::{
    AsContextMut, Caller, Config, Extern, Func, FuncType, Global, Instance,
    InstanceAllocationStrategy, Memory, Module, OperatorCost, OptLevel, PoolConcurrencyLimitError,
    PoolingAllocationConfig, Store as WtStore, TypedFunc, Val, ValType,
};

use super::{
    Engine, EngineConfig, Host, InstanceId, Instances, Runtime, Store, Value, VmGlobal, handles,
};
use crate::abi::{self, HostImport};
use crate::determinism::InstrumentedModule;
use crate::failure::{CallFailure, EngineError, EngineKind, HostFailure, Trap};
use crate::features;
use crate::gas::{GasCounter, StoreClass};
use crate::limits::Limits;

const KIND: EngineKind = EngineKind::Wasmtime;

fn unknown(error: impl std::fmt::Display) -> EngineError {
    EngineError::Unknown {
        engine: KIND,
        message: format!("{error:#}"),
    }
}

/// Settings both wasmtime configurations share: the Wasm proposals of
/// [`features::INSTRUMENTED`], every other one off, and the native stack
/// limit.
fn base_config(config: &EngineConfig) -> Result<Config, EngineError> {
    let mut wt = Config::new();
    set_proposals(&mut wt, features::proposals(), features::INSTRUMENTED)?;
    wt.max_wasm_stack(config.native_stack_limit)
        // Traps are outcomes here, not bugs to debug: capturing a backtrace
        // for each would cost microseconds per failed call.
        .wasm_backtrace_max_frames(None)
        .cranelift_opt_level(OptLevel::Speed);
    Ok(wt)
}

/// Turns on the proposals of `enabled` and off every other one of
/// `proposals` (wasmparser's, by name). wasmtime reads modules with an older
/// wasmparser: the same flags by name, and none of those it does not know
/// may be on (the pinned versions know every name).
fn set_proposals<'a>(
    wt: &mut Config,
    proposals: impl Iterator<Item = (&'a str, wasmparser::WasmFeatures)>,
    enabled: wasmparser::WasmFeatures,
) -> Result<(), EngineError> {
    for (name, flag) in proposals {
        let enable = enabled.contains(flag);
        match wasmtime::WasmFeatures::from_name(name) {
            Some(theirs) => {
                wt.wasm_features(theirs, enable);
            }
            None if !enable => {}
            None => {
                return Err(EngineError::Config {
                    engine: KIND,
                    message: format!("wasmtime does not know the proposal {name}"),
                });
            }
        }
    }
    Ok(())
}

/// Memory and tables the pool keeps per slot, from the limits admission
/// enforces, so that every admitted contract fits. An instrumented module
/// has two memories (the contract's and the dirty-page map) and any number
/// of tables, up to the pool's total.
fn pool_config(instances: u32, limits: &Limits) -> PoolingAllocationConfig {
    let tables = instances.saturating_mul(POOL_TABLES_PER_INSTANCE);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(instances)
        .total_memories(instances.saturating_mul(2))
        .total_tables(tables)
        .max_memories_per_module(2)
        .max_tables_per_module(tables)
        .max_memory_size(
            usize::try_from(limits.max_memory_pages.saturating_mul(abi::WASM_PAGE))
                .unwrap_or(usize::MAX),
        )
        .table_elements(usize::try_from(limits.max_table_elements).unwrap_or(usize::MAX))
        // VM contexts of large modules (many functions or globals) fit;
        // it is address space, touched only as used.
        .max_core_instance_size(64 << 20)
        // Contract memories are small: reset them with `memset` and keep
        // the pages, instead of returning them to the kernel.
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10);
    pool
}

/// How often an engine's epoch advances: the granularity of wall-clock
/// limits. Compiled code checks the epoch at function entries and loop
/// headers, a load and a compare.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// An epoch deadline no call reaches (the engine's epoch advances 100 times
/// a second; `u64::MAX` itself would overflow wasmtime's addition).
const NO_DEADLINE: u64 = u64::MAX / 2;

/// Advances `engine`'s epoch every [`EPOCH_TICK`] until the engine is
/// dropped, from a thread that holds it only weakly.
fn start_epoch_ticker(engine: &wasmtime::Engine) -> Result<(), EngineError> {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("wasmtime-epoch".into())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map(|_| ())
        .map_err(|error| EngineError::Config {
            engine: KIND,
            message: format!("cannot start the epoch thread: {error}"),
        })
}

/// The epoch deadline, in ticks from `now`, of a call that must end by
/// `deadline`: 0 (the next check traps) once it has passed.
fn epoch_ticks(deadline: Option<Instant>, now: Instant) -> u64 {
    let Some(deadline) = deadline else {
        return NO_DEADLINE;
    };
    let left = deadline.saturating_duration_since(now);
    if left.is_zero() {
        return 0;
    }
    // One tick more than the time left: the ticker's phase is not the
    // call's, so the first tick may come at once.
    let ticks = left.as_nanos().div_ceil(EPOCH_TICK.as_nanos()) + 1;
    u64::try_from(ticks).unwrap_or(NO_DEADLINE).min(NO_DEADLINE)
}

/// Table slots in the pool per instance slot.
const POOL_TABLES_PER_INSTANCE: u32 = 2;

/// The reference engine.
pub struct WasmtimeEngine {
    engine: wasmtime::Engine,
    /// Tables the instance pool holds, when there is one.
    pool_tables: Option<u32>,
}

impl Engine for WasmtimeEngine {
    const KIND: EngineKind = KIND;
    type Module = WasmtimeModule;
    type Store<H: Host> = WasmtimeStore<H>;

    fn new(config: &EngineConfig, limits: &Limits) -> Result<Self, EngineError> {
        let mut wt = base_config(config)?;
        // The determinism pass canonicalizes NaNs itself, for both engines.
        // Epochs end calls past their wall-clock limit (`rt_call`).
        wt.cranelift_nan_canonicalization(false)
            .consume_fuel(false)
            .epoch_interruption(true);
        if let Some(instances) = config.instance_pool {
            wt.allocation_strategy(InstanceAllocationStrategy::Pooling(pool_config(
                instances, limits,
            )));
        }
        let engine = wasmtime::Engine::new(&wt).map_err(|error| EngineError::Config {
            engine: KIND,
            message: format!("{error:#}"),
        })?;
        start_epoch_ticker(&engine)?;
        Ok(WasmtimeEngine {
            engine,
            pool_tables: config
                .instance_pool
                .map(|instances| instances.saturating_mul(POOL_TABLES_PER_INSTANCE)),
        })
    }

    fn compile(&self, module: &InstrumentedModule) -> Result<WasmtimeModule, EngineError> {
        if let Some(pool_tables) = self.pool_tables {
            // wasmtime refuses such a module with an untyped compile error;
            // say what it is.
            let tables = defined_tables(&module.wasm);
            if tables > u64::from(pool_tables) {
                return Err(EngineError::InstancePoolExhausted {
                    engine: KIND,
                    message: format!("{tables} tables, the pool holds {pool_tables}"),
                });
            }
        }
        let compiled =
            Module::new(&self.engine, &module.wasm).map_err(|error| EngineError::Compile {
                engine: KIND,
                message: format!("{error:#}"),
            })?;
        Ok(WasmtimeModule {
            module: compiled,
            state_globals: module.state_globals.clone(),
            imports: module.imports.clone(),
            width: module.width,
        })
    }

    fn new_store<H: Host>(&self, host: H) -> WasmtimeStore<H> {
        let mut store = WtStore::new(
            &self.engine,
            StoreData {
                host,
                instances: Vec::new(),
            },
        );
        // A store's epoch deadline starts as "now"; calls set their own.
        store.set_epoch_deadline(NO_DEADLINE);
        WasmtimeStore { store }
    }
}

/// How many tables a module defines (its table section's count).
fn defined_tables(wasm: &[u8]) -> u64 {
    wasmparser::Parser::new(0)
        .parse_all(wasm)
        .find_map(|payload| match payload {
            Ok(wasmparser::Payload::TableSection(reader)) => Some(u64::from(reader.count())),
            _ => None,
        })
        .unwrap_or(0)
}

/// A compiled instrumented module.
#[derive(Clone)]
pub struct WasmtimeModule {
    module: Module,
    state_globals: Vec<u32>,
    imports: Vec<HostImport>,
    width: abi::PtrWidth,
}

/// Handles of one contract instance.
struct Handles {
    module: Module,
    imports: Vec<HostImport>,
    width: abi::PtrWidth,
    instance: handles::Handles<TypedFunc<i32, i32>, Memory, Global>,
    /// Whether this instance runs on wasmtime's native fuel.
    native_fuel: bool,
}

/// Store data: the host state and every instance's handles.
pub struct StoreData<H> {
    host: H,
    instances: Vec<Handles>,
}

/// A store of contract instances.
pub struct WasmtimeStore<H: 'static> {
    store: WtStore<StoreData<H>>,
}

/// Instantiates `module` for slot `slot`, with its host imports bound to
/// that slot.
#[allow(clippy::too_many_arguments)]
fn instantiate_at<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    slot: InstanceId,
    module: &Module,
    imports: &[HostImport],
    width: abi::PtrWidth,
    state_globals: &[u32],
    native_fuel: bool,
) -> Result<Handles, CallFailure> {
    let engine = ctx.as_context().engine().clone();
    let mut externs = Vec::with_capacity(imports.len());
    for &import in imports {
        externs.push(Extern::Func(host_function(
            &mut *ctx, &engine, slot, import, width,
        )));
    }
    let instantiate_error = |error: wasmtime::Error| {
        if error.is::<PoolConcurrencyLimitError>() {
            return CallFailure::Engine(EngineError::InstancePoolExhausted {
                engine: KIND,
                message: format!("{error:#}"),
            });
        }
        instantiate_failure(error)
    };
    // Instantiation may run code (wasmtime compiles initializers): it gets the
    // deadline of the call in progress, if any, and none otherwise.
    let deadline = ctx.as_context().data().host.deadline();
    ctx.as_context_mut()
        .set_epoch_deadline(epoch_ticks(deadline, Instant::now()));
    let instance = Instance::new(&mut *ctx, module, &externs).map_err(instantiate_error)?;
    let mut lookup = Lookup {
        ctx: &mut *ctx,
        instance,
        module,
    };
    let handles = handles::collect(&mut lookup, KIND, state_globals, !native_fuel)?;
    Ok(Handles {
        module: module.clone(),
        imports: imports.to_vec(),
        width,
        instance: handles,
        native_fuel,
    })
}

/// A new instance's exports, looked up in its store.
struct Lookup<'a, C> {
    ctx: &'a mut C,
    instance: Instance,
    module: &'a Module,
}

impl<H: Host, C: AsContextMut<Data = StoreData<H>>> handles::ExportLookup for Lookup<'_, C> {
    type Func = TypedFunc<i32, i32>;
    type Memory = Memory;
    type Global = Global;

    fn exports(&self) -> Vec<(String, handles::ExportKind)> {
        self.module
            .exports()
            .map(|export| {
                let kind = match export.ty() {
                    // Admission refuses every exported function of another
                    // signature than `(param i32) (result i32)`.
                    wasmtime::ExternType::Func(_) => handles::ExportKind::ContractFunction,
                    wasmtime::ExternType::Memory(_) => handles::ExportKind::Memory,
                    _ => handles::ExportKind::Other,
                };
                (export.name().to_string(), kind)
            })
            .collect()
    }

    fn func(&mut self, name: &str) -> Result<Self::Func, CallFailure> {
        self.instance
            .get_typed_func::<i32, i32>(&mut *self.ctx, name)
            .map_err(instantiate_failure)
    }

    fn memory(&mut self, name: &str) -> Option<Memory> {
        self.instance.get_memory(&mut *self.ctx, name)
    }

    fn global(&mut self, name: &str) -> Option<Global> {
        self.instance.get_global(&mut *self.ctx, name)
    }
}

impl<H: Host> Store<H> for WasmtimeStore<H> {
    type Module = WasmtimeModule;

    fn instantiate(&mut self, module: &WasmtimeModule) -> Result<InstanceId, CallFailure> {
        let slot = InstanceId(self.store.data().instances.len());
        let handles = instantiate_at(
            &mut self.store,
            slot,
            &module.module,
            &module.imports,
            module.width,
            &module.state_globals,
            false,
        )?;
        self.store.data_mut().instances.push(handles);
        Ok(slot)
    }
}

/// Replaces an instance by a fresh one of the same module.
fn rt_reinstantiate<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
) -> Result<(), EngineError> {
    let (module, imports, width, globals, native_fuel) = {
        let ctx = ctx.as_context_mut();
        let handles = handles_of(ctx.data(), instance)?;
        (
            handles.module.clone(),
            handles.imports.clone(),
            handles.width,
            handles
                .instance
                .state_globals
                .keys()
                .copied()
                .collect::<Vec<_>>(),
            handles.native_fuel,
        )
    };
    let fresh = instantiate_at(
        ctx,
        instance,
        &module,
        &imports,
        width,
        &globals,
        native_fuel,
    )
    .map_err(handles::reinstantiation_failed)?;
    ctx.as_context_mut().data_mut().instances[instance.0] = fresh;
    Ok(())
}

fn handles_of<H>(data: &StoreData<H>, instance: InstanceId) -> Result<&Handles, EngineError> {
    data.instances
        .get(instance.0)
        .ok_or_else(|| unknown(format!("no instance {}", instance.0)))
}

/// Binds a host import of instance `slot` to the dispatcher.
fn host_function<H: Host>(
    store: impl AsContextMut<Data = StoreData<H>>,
    engine: &wasmtime::Engine,
    slot: InstanceId,
    import: HostImport,
    width: abi::PtrWidth,
) -> Func {
    let signature = import.signature(width);
    let convert = |ty: &abi::ValType| match ty {
        abi::ValType::I32 => ValType::I32,
        abi::ValType::I64 => ValType::I64,
    };
    let ty = FuncType::new(
        engine,
        signature.params.iter().map(convert),
        signature.results.iter().map(convert),
    );
    Func::new(
        store,
        ty,
        move |mut caller: Caller<'_, StoreData<H>>, params: &[Val], results: &mut [Val]| {
            let args: Vec<Value> = params.iter().map(from_val).collect::<Result<_, _>>()?;
            let mut rt = CallerRuntime {
                caller: &mut caller,
            };
            match H::dispatch(&mut rt, slot, import, &args) {
                Ok(Some(value)) => {
                    if let Some(result) = results.first_mut() {
                        *result = to_val(value);
                    }
                    Ok(())
                }
                Ok(None) => Ok(()),
                Err(failure) => Err(wasmtime::Error::new(failure)),
            }
        },
    )
}

fn from_val(val: &Val) -> Result<Value, wasmtime::Error> {
    match val {
        Val::I32(v) => Ok(Value::I32(*v)),
        Val::I64(v) => Ok(Value::I64(*v)),
        Val::F32(v) => Ok(Value::F32(*v)),
        Val::F64(v) => Ok(Value::F64(*v)),
        Val::V128(v) => Ok(Value::V128(v.as_u128())),
        other => Err(wasmtime::Error::new(HostFailure::Engine(unknown(format!(
            "reference value {other:?} where a number was expected"
        ))))),
    }
}

fn to_val(value: Value) -> Val {
    match value {
        Value::I32(v) => Val::I32(v),
        Value::I64(v) => Val::I64(v),
        Value::F32(v) => Val::F32(v),
        Value::F64(v) => Val::F64(v),
        Value::V128(v) => Val::V128(v.into()),
    }
}

/// An instantiation error: what a call error would be, an unknown one
/// named as failed instantiation.
fn instantiate_failure(error: wasmtime::Error) -> CallFailure {
    handles::instantiation_failure(map_call_error(error), KIND)
}

/// The explicit mapping of wasmtime's errors.
fn map_call_error(error: wasmtime::Error) -> CallFailure {
    if let Some(failure) = error.downcast_ref::<HostFailure>() {
        return failure.clone().into();
    }
    let Some(trap) = error.downcast_ref::<wasmtime::Trap>() else {
        return CallFailure::Engine(unknown(error));
    };
    use wasmtime::Trap as T;
    CallFailure::Trap(match trap {
        T::UnreachableCodeReached => Trap::Unreachable,
        T::MemoryOutOfBounds => Trap::MemoryOutOfBounds,
        T::TableOutOfBounds => Trap::TableOutOfBounds,
        T::IndirectCallToNull => Trap::IndirectCallToNull,
        T::BadSignature => Trap::BadSignature,
        T::IntegerDivisionByZero => Trap::IntegerDivisionByZero,
        T::IntegerOverflow => Trap::IntegerOverflow,
        T::BadConversionToInteger => Trap::BadConversionToInteger,
        T::OutOfFuel => Trap::OutOfGas,
        T::StackOverflow => {
            return CallFailure::Engine(EngineError::NativeStackOverflow { engine: KIND });
        }
        T::Interrupt => return CallFailure::Engine(EngineError::Timeout { engine: KIND }),
        other => return CallFailure::Engine(unknown(format!("unexpected trap: {other}"))),
    })
}

/// The [`Runtime`] operations over any wasmtime store context.
fn rt_memory<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
) -> Result<&mut [u8], EngineError> {
    let memory = handles_of(ctx.as_context_mut().data(), instance)?
        .instance
        .memory;
    Ok(memory.data_mut(ctx))
}

fn rt_grow<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
    pages: u64,
) -> Result<bool, EngineError> {
    let memory = handles_of(ctx.as_context_mut().data(), instance)?
        .instance
        .memory;
    Ok(memory.grow(ctx, pages).is_ok())
}

fn rt_dirty<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
) -> Result<&mut [u8], EngineError> {
    match handles_of(ctx.as_context_mut().data(), instance)?
        .instance
        .dirty
    {
        Some(dirty) => Ok(dirty.data_mut(ctx)),
        // Uninstrumented (native fuel) instances track nothing.
        None => Ok(&mut []),
    }
}

/// The handle of a VM global, or `None` for an instance on native fuel,
/// which has none.
fn vm_global_handle<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
    global: VmGlobal,
) -> Result<Option<Global>, EngineError> {
    let ctx = ctx.as_context_mut();
    let handles = handles_of(ctx.data(), instance)?;
    if handles.native_fuel {
        return Ok(None);
    }
    handles
        .instance
        .instrumented_vm_global(global, KIND)
        .map(Some)
}

fn rt_vm_global<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
    global: VmGlobal,
) -> Result<i64, EngineError> {
    let Some(handle) = vm_global_handle(ctx, instance, global)? else {
        return match global {
            VmGlobal::Fuel | VmGlobal::SavedFuel => {
                let remaining = ctx.as_context_mut().get_fuel().map_err(unknown)?;
                Ok(GasCounter::with_limit(remaining).0)
            }
            VmGlobal::Stack | VmGlobal::Abort | VmGlobal::GrowRefused => Ok(0),
        };
    };
    let value = from_val(&handle.get(ctx)).map_err(unknown)?;
    handles::read_vm_global(global, value, KIND)
}

fn rt_set_vm_global<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
    global: VmGlobal,
    value: i64,
) -> Result<(), EngineError> {
    let Some(handle) = vm_global_handle(ctx, instance, global)? else {
        return match global {
            VmGlobal::Fuel | VmGlobal::SavedFuel => ctx
                .as_context_mut()
                .set_fuel(GasCounter(value).remaining())
                .map_err(unknown),
            VmGlobal::Stack | VmGlobal::Abort | VmGlobal::GrowRefused => Ok(()),
        };
    };
    let value = handles::vm_global_value(global, value, KIND)?;
    handle.set(ctx, to_val(value)).map_err(unknown)
}

fn state_global_handle<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
    index: u32,
) -> Result<Global, EngineError> {
    handles_of(ctx.as_context_mut().data(), instance)?
        .instance
        .state_global(index, KIND)
}

fn rt_state_global<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
    index: u32,
) -> Result<Value, EngineError> {
    let global = state_global_handle(ctx, instance, index)?;
    from_val(&global.get(ctx)).map_err(unknown)
}

fn rt_set_state_global<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
    index: u32,
    value: Value,
) -> Result<(), EngineError> {
    let global = state_global_handle(ctx, instance, index)?;
    global.set(ctx, to_val(value)).map_err(unknown)
}

fn rt_call<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
    name: &str,
    arg_len: u32,
) -> Result<i32, CallFailure> {
    let func = handles_of(ctx.as_context_mut().data(), instance)
        .map_err(CallFailure::Engine)?
        .instance
        .exports
        .get(name)
        .cloned()
        .ok_or_else(|| {
            CallFailure::Engine(EngineError::MissingExport {
                engine: KIND,
                export: name.to_string(),
            })
        })?;
    // Nested calls set the same absolute deadline again; wasmtime reloads
    // it when the caller's code resumes.
    let deadline = ctx.as_context().data().host.deadline();
    ctx.as_context_mut()
        .set_epoch_deadline(epoch_ticks(deadline, Instant::now()));
    func.call(ctx, arg_len.cast_signed())
        .map_err(map_call_error)
}

impl_runtime!([H: Host] WasmtimeStore<H>, this => &mut this.store);

/// The runtime seen from inside a host function.
struct CallerRuntime<'a, 'c, H: 'static> {
    caller: &'a mut Caller<'c, StoreData<H>>,
}

impl_runtime!([H: Host] CallerRuntime<'_, '_, H>, this => &mut *this.caller);

/// wasmtime with native fuel on an uninstrumented module and the reference
/// cost table: the oracle for gas.
pub struct NativeFuelEngine {
    engine: wasmtime::Engine,
}

/// The reference cost table as wasmtime's `OperatorCost`.
fn reference_operator_cost() -> OperatorCost {
    let mut cost = OperatorCost::new();
    let narrow = StoreClass::Narrow.cost();
    let wide = StoreClass::Wide.cost();
    let vector = StoreClass::Vector.cost();
    cost.I32Store = narrow;
    cost.F32Store = narrow;
    cost.I32Store8 = narrow;
    cost.I32Store16 = narrow;
    cost.I64Store = wide;
    cost.F64Store = wide;
    cost.I64Store8 = wide;
    cost.I64Store16 = wide;
    cost.I64Store32 = wide;
    cost.V128Store = vector;
    cost.V128Store8Lane = vector;
    cost.V128Store16Lane = vector;
    cost.V128Store32Lane = vector;
    cost.V128Store64Lane = vector;
    // Production's wasmtime (Dusk's fork of wasmtime 21) has no fuel that
    // grows with an operand: bulk operations cost their flat 1.
    let variable = &mut cost.variable;
    variable.memory_copy_per_byte = 0;
    variable.memory_fill_per_byte = 0;
    variable.memory_init_per_byte = 0;
    variable.memory_grow_per_page = 0;
    variable.table_copy_per_element = 0;
    variable.table_fill_per_element = 0;
    variable.table_init_per_element = 0;
    variable.table_grow_per_element = 0;
    cost
}

impl NativeFuelEngine {
    /// wasmtime configured for native fuel with the reference cost table.
    pub fn new(config: &EngineConfig) -> Result<Self, EngineError> {
        let mut wt = base_config(config)?;
        wt.consume_fuel(true)
            .operator_cost(reference_operator_cost())
            .cranelift_nan_canonicalization(true);
        let engine = wasmtime::Engine::new(&wt).map_err(|error| EngineError::Config {
            engine: KIND,
            message: format!("{error:#}"),
        })?;
        Ok(NativeFuelEngine { engine })
    }

    /// Compiles an uninstrumented module.
    pub fn compile(&self, wasm: &[u8]) -> Result<Module, EngineError> {
        Module::new(&self.engine, wasm).map_err(|error| EngineError::Compile {
            engine: KIND,
            message: format!("{error:#}"),
        })
    }

    /// A store holding one instance of an uninstrumented contract.
    pub fn instantiate<H: Host>(
        &self,
        module: &Module,
        imports: &[HostImport],
        width: abi::PtrWidth,
        host: H,
    ) -> Result<(WasmtimeStore<H>, InstanceId), CallFailure> {
        let mut store = WasmtimeStore {
            store: WtStore::new(
                &self.engine,
                StoreData {
                    host,
                    instances: Vec::new(),
                },
            ),
        };
        // Instantiation may run compiled initializers, which consume fuel
        // too; calls set their own limit.
        store
            .store
            .set_fuel(i64::MAX as u64)
            .map_err(|error| CallFailure::Engine(unknown(error)))?;
        let slot = InstanceId(0);
        let handles = instantiate_at(&mut store.store, slot, module, imports, width, &[], true)?;
        store.store.data_mut().instances.push(handles);
        Ok((store, slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_is_one_tick_more_than_the_time_left() {
        let now = Instant::now();
        let after = |millis: u64| Some(now + Duration::from_millis(millis));
        assert_eq!(epoch_ticks(None, now), NO_DEADLINE);
        assert_eq!(epoch_ticks(Some(now), now), 0);
        assert_eq!(epoch_ticks(Some(now), now + EPOCH_TICK), 0);
        assert_eq!(epoch_ticks(Some(now + Duration::from_nanos(1)), now), 2);
        assert_eq!(epoch_ticks(after(10), now), 2);
        assert_eq!(epoch_ticks(after(25), now), 4);
        assert_eq!(epoch_ticks(after(300), now), 31);
        assert_eq!(epoch_ticks(after(3_600_000), now), 360_001);
    }

    #[test]
    fn a_proposal_wasmtime_does_not_know_may_only_be_off() {
        let unknown = [("NOT_A_PROPOSAL", wasmparser::WasmFeatures::THREADS)];
        let mut config = Config::new();
        assert_eq!(
            set_proposals(&mut config, unknown.into_iter(), features::INSTRUMENTED),
            Ok(())
        );
        assert_eq!(
            set_proposals(
                &mut config,
                unknown.into_iter(),
                wasmparser::WasmFeatures::THREADS
            ),
            Err(EngineError::Config {
                engine: KIND,
                message: "wasmtime does not know the proposal NOT_A_PROPOSAL".into(),
            })
        );
    }
}
