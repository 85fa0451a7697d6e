//! The shadow engine: the wasmi interpreter.

use std::time::Instant;

use wasmi::{
    AsContextMut, Caller, CompilationMode, Config, Extern, ExternType, Func, FuncType, Global,
    Instance, Memory, Module, Store as WiStore, TrapCode, TypedFunc, TypedResumableCall, Val,
    ValType,
};

use super::{
    Engine, EngineConfig, Host, InstanceId, Instances, Runtime, Store, Value, VmGlobal, handles,
};
use crate::abi::{self, HostImport};
use crate::determinism::InstrumentedModule;
use crate::failure::{CallFailure, EngineError, EngineKind, HostFailure, Trap};
use crate::features;

const KIND: EngineKind = EngineKind::Wasmi;

/// wasmi's own limits, far above the logical stack budget so that the
/// determinism pass's limit always fires first.
const MAX_RECURSION_DEPTH: usize = 1 << 20;
const MAX_VALUE_STACK_BYTES: usize = 256 << 20;

/// wasmi fuel a call gets at a time: when it runs out, the call looks at
/// the clock and resumes or ends past its deadline. At wasmi's speed here
/// (some 10^8 instructions a second) a slice lasts about 10 ms. wasmi's
/// fuel only paces these checks: gas is the determinism pass's.
const FUEL_SLICE: u64 = 1 << 20;

fn unknown(error: impl std::fmt::Display) -> EngineError {
    EngineError::Unknown {
        engine: KIND,
        message: error.to_string(),
    }
}

impl wasmi::errors::HostError for HostFailure {}

/// Turns a proposal on or off by its wasmparser name. wasmi implements no
/// proposal it has no setter for, so those are off already; turning one on
/// is a configuration error.
fn enable_proposal(config: &mut Config, name: &str, enable: bool) -> Result<(), EngineError> {
    match name {
        "MUTABLE_GLOBAL" => config.wasm_mutable_global(enable),
        "SATURATING_FLOAT_TO_INT" => config.wasm_saturating_float_to_int(enable),
        "SIGN_EXTENSION" => config.wasm_sign_extension(enable),
        "REFERENCE_TYPES" => config.wasm_reference_types(enable),
        // Parts of reference types and bulk memory, which wasmi's
        // setters for those cover.
        "CALL_INDIRECT_OVERLONG" | "BULK_MEMORY_OPT" => config,
        "MULTI_VALUE" => config.wasm_multi_value(enable),
        "BULK_MEMORY" => config.wasm_bulk_memory(enable),
        "SIMD" => config.wasm_simd(enable),
        "RELAXED_SIMD" => config.wasm_relaxed_simd(enable),
        "TAIL_CALL" => config.wasm_tail_call(enable),
        "FLOATS" => config.floats(enable),
        "MULTI_MEMORY" => config.wasm_multi_memory(enable),
        "MEMORY64" => config.wasm_memory64(enable),
        "EXTENDED_CONST" => config.wasm_extended_const(enable),
        "CUSTOM_PAGE_SIZES" => config.wasm_custom_page_sizes(enable),
        "WIDE_ARITHMETIC" => config.wasm_wide_arithmetic(enable),
        _ if !enable => config,
        _ => {
            return Err(EngineError::Config {
                engine: KIND,
                message: format!("wasmi does not implement the proposal {name}"),
            });
        }
    };
    Ok(())
}

/// The shadow engine.
pub struct WasmiEngine {
    engine: wasmi::Engine,
}

impl Engine for WasmiEngine {
    const KIND: EngineKind = KIND;
    type Module = WasmiModule;
    type Store<H: Host> = WasmiStore<H>;

    fn new(_config: &EngineConfig, _limits: &crate::limits::Limits) -> Result<Self, EngineError> {
        let mut config = Config::default();
        for (name, flag) in features::proposals() {
            enable_proposal(&mut config, name, features::INSTRUMENTED.contains(flag))?;
        }
        config
            // Fuel paces the wall-clock checks of `rt_call`.
            .consume_fuel(true)
            .compilation_mode(CompilationMode::Eager)
            .set_max_recursion_depth(MAX_RECURSION_DEPTH)
            .set_max_stack_height(MAX_VALUE_STACK_BYTES);
        Ok(WasmiEngine {
            engine: wasmi::Engine::new(&config),
        })
    }

    fn compile(&self, module: &InstrumentedModule) -> Result<WasmiModule, EngineError> {
        let compiled =
            Module::new(&self.engine, &module.wasm).map_err(|error| EngineError::Compile {
                engine: KIND,
                message: error.to_string(),
            })?;
        Ok(WasmiModule {
            module: compiled,
            state_globals: module.state_globals.clone(),
            imports: module.imports.clone(),
            width: module.width,
        })
    }

    fn new_store<H: Host>(&self, host: H) -> WasmiStore<H> {
        let mut store = WiStore::new(
            &self.engine,
            StoreData {
                host,
                instances: Vec::new(),
            },
        );
        // Cannot fail: the engine consumes fuel. Calls refill it anyway.
        let _ = store.set_fuel(FUEL_SLICE);
        WasmiStore { store }
    }
}

/// A compiled instrumented module.
#[derive(Clone)]
pub struct WasmiModule {
    module: Module,
    state_globals: Vec<u32>,
    imports: Vec<HostImport>,
    width: abi::PtrWidth,
}

/// Handles of one contract instance.
struct Handles {
    module: WasmiModule,
    instance: handles::Handles<TypedFunc<i32, i32>, Memory, Global>,
}

/// Store data: the host state and every instance's handles.
pub struct StoreData<H> {
    host: H,
    instances: Vec<Handles>,
}

/// A store of contract instances.
pub struct WasmiStore<H: 'static> {
    store: WiStore<StoreData<H>>,
}

/// Instantiates `module` for slot `slot`, with its host imports bound to
/// that slot.
fn instantiate_at<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    slot: InstanceId,
    module: &WasmiModule,
) -> Result<Handles, CallFailure> {
    let mut externs = Vec::with_capacity(module.imports.len());
    for &import in &module.imports {
        externs.push(Extern::Func(host_function(
            &mut *ctx,
            slot,
            import,
            module.width,
        )));
    }
    let instantiate_error = |error: wasmi::Error| match map_call_error(&error) {
        CallFailure::Engine(EngineError::Unknown { message, .. }) => {
            CallFailure::Engine(EngineError::Instantiate {
                engine: KIND,
                message,
            })
        }
        other => other,
    };
    let instance = Instance::new(&mut *ctx, &module.module, &externs).map_err(instantiate_error)?;
    let mut lookup = Lookup {
        ctx: &mut *ctx,
        instance,
        module: &module.module,
    };
    let handles = handles::collect(&mut lookup, KIND, &module.state_globals, true)
        .map_err(|failure| handles::instantiation_failure(failure, KIND))?;
    Ok(Handles {
        module: module.clone(),
        instance: handles,
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
                    ExternType::Func(_) => handles::ExportKind::ContractFunction,
                    ExternType::Memory(_) => handles::ExportKind::Memory,
                    _ => handles::ExportKind::Other,
                };
                (export.name().to_string(), kind)
            })
            .collect()
    }

    fn func(&mut self, name: &str) -> Result<Self::Func, CallFailure> {
        self.instance
            .get_typed_func::<i32, i32>(&*self.ctx, name)
            .map_err(|error| map_call_error(&error))
    }

    fn memory(&mut self, name: &str) -> Option<Memory> {
        self.instance.get_memory(&*self.ctx, name)
    }

    fn global(&mut self, name: &str) -> Option<Global> {
        self.instance.get_global(&*self.ctx, name)
    }
}

impl<H: Host> Store<H> for WasmiStore<H> {
    type Module = WasmiModule;

    fn instantiate(&mut self, module: &WasmiModule) -> Result<InstanceId, CallFailure> {
        let slot = InstanceId(self.store.data().instances.len());
        let handles = instantiate_at(&mut self.store, slot, module)?;
        self.store.data_mut().instances.push(handles);
        Ok(slot)
    }
}

/// Replaces an instance by a fresh one of the same module.
fn rt_reinstantiate<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
) -> Result<(), EngineError> {
    let module = handles_of(ctx.as_context_mut().data(), instance)?
        .module
        .clone();
    let fresh = instantiate_at(ctx, instance, &module).map_err(handles::reinstantiation_failed)?;
    ctx.as_context_mut().data_mut().instances[instance.0] = fresh;
    Ok(())
}

fn handles_of<H>(data: &StoreData<H>, instance: InstanceId) -> Result<&Handles, EngineError> {
    data.instances
        .get(instance.0)
        .ok_or_else(|| unknown(format!("no instance {}", instance.0)))
}

fn host_function<H: Host>(
    store: impl AsContextMut<Data = StoreData<H>>,
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
                Err(failure) => Err(wasmi::Error::host(failure)),
            }
        },
    )
}

fn from_val(val: &Val) -> Result<Value, wasmi::Error> {
    match val {
        Val::I32(v) => Ok(Value::I32(*v)),
        Val::I64(v) => Ok(Value::I64(*v)),
        Val::F32(v) => Ok(Value::F32(v.to_bits())),
        Val::F64(v) => Ok(Value::F64(v.to_bits())),
        Val::V128(v) => Ok(Value::V128(v.as_u128())),
        other => Err(wasmi::Error::host(HostFailure::Engine(unknown(format!(
            "reference value {other:?} where a number was expected"
        ))))),
    }
}

fn to_val(value: Value) -> Val {
    match value {
        Value::I32(v) => Val::I32(v),
        Value::I64(v) => Val::I64(v),
        Value::F32(v) => Val::F32(wasmi::F32::from_bits(v)),
        Value::F64(v) => Val::F64(wasmi::F64::from_bits(v)),
        Value::V128(v) => Val::V128(v.into()),
    }
}

/// The explicit mapping of wasmi's errors.
fn map_call_error(error: &wasmi::Error) -> CallFailure {
    if let Some(failure) = error.downcast_ref::<HostFailure>() {
        return failure.clone().into();
    }
    // Instantiation reports an element segment that does not fit as an
    // error with no trap code, where wasmtime and the specification trap.
    // (A data segment that does not fit has one: `MemoryOutOfBounds`.)
    use wasmi::errors::{ErrorKind, InstantiationError};
    if let ErrorKind::Instantiation(InstantiationError::ElementSegmentDoesNotFit { .. }) =
        error.kind()
    {
        return CallFailure::Trap(Trap::TableOutOfBounds);
    }
    let Some(code) = error.as_trap_code() else {
        return CallFailure::Engine(unknown(error));
    };
    CallFailure::Trap(match code {
        TrapCode::UnreachableCodeReached => Trap::Unreachable,
        TrapCode::MemoryOutOfBounds => Trap::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds => Trap::TableOutOfBounds,
        TrapCode::IndirectCallToNull => Trap::IndirectCallToNull,
        TrapCode::BadSignature => Trap::BadSignature,
        TrapCode::IntegerDivisionByZero => Trap::IntegerDivisionByZero,
        TrapCode::IntegerOverflow => Trap::IntegerOverflow,
        TrapCode::BadConversionToInteger => Trap::BadConversionToInteger,
        TrapCode::OutOfFuel => Trap::OutOfGas,
        TrapCode::StackOverflow => {
            return CallFailure::Engine(EngineError::NativeStackOverflow { engine: KIND });
        }
        TrapCode::GrowthOperationLimited => {
            return CallFailure::Engine(unknown(format!("resource exhausted: {code}")));
        }
    })
}

fn rt_memory<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
) -> Result<&mut [u8], EngineError> {
    let memory = handles_of(ctx.as_context_mut().data(), instance)?
        .instance
        .memory;
    Ok(memory.data_mut(ctx.as_context_mut()))
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
    let dirty = handles_of(ctx.as_context_mut().data(), instance)?
        .instance
        .dirty
        .ok_or_else(|| unknown("no dirty-page map"))?;
    Ok(dirty.data_mut(ctx.as_context_mut()))
}

fn rt_vm_global<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
    global: VmGlobal,
) -> Result<i64, EngineError> {
    let handle = handles_of(ctx.as_context_mut().data(), instance)?
        .instance
        .instrumented_vm_global(global, KIND)?;
    let value = from_val(&handle.get(ctx.as_context_mut())).map_err(unknown)?;
    handles::read_vm_global(global, value, KIND)
}

fn rt_set_vm_global<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
    global: VmGlobal,
    value: i64,
) -> Result<(), EngineError> {
    let handle = handles_of(ctx.as_context_mut().data(), instance)?
        .instance
        .instrumented_vm_global(global, KIND)?;
    let value = handles::vm_global_value(global, value, KIND)?;
    handle.set(ctx, to_val(value)).map_err(unknown)
}

fn rt_state_global<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
    index: u32,
) -> Result<Value, EngineError> {
    let handle = handles_of(ctx.as_context_mut().data(), instance)?
        .instance
        .state_global(index, KIND)?;
    from_val(&handle.get(ctx.as_context_mut())).map_err(unknown)
}

fn rt_set_state_global<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    instance: InstanceId,
    index: u32,
    value: Value,
) -> Result<(), EngineError> {
    let handle = handles_of(ctx.as_context_mut().data(), instance)?
        .instance
        .state_global(index, KIND)?;
    handle.set(ctx, to_val(value)).map_err(unknown)
}

/// Gives the store `fuel` for the next slice of a call.
fn refuel<H: Host>(
    ctx: &mut impl AsContextMut<Data = StoreData<H>>,
    fuel: u64,
) -> Result<(), CallFailure> {
    ctx.as_context_mut()
        .set_fuel(fuel)
        .map_err(|error| CallFailure::Engine(unknown(error)))
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
    let deadline = ctx.as_context_mut().data().host.deadline();
    refuel(ctx, FUEL_SLICE)?;
    let mut call = func
        .call_resumable(&mut *ctx, arg_len.cast_signed())
        .map_err(|error| map_call_error(&error))?;
    loop {
        call = match call {
            TypedResumableCall::Finished(result) => return Ok(result),
            TypedResumableCall::HostTrap(trap) => return Err(map_call_error(trap.host_error())),
            TypedResumableCall::OutOfFuel(paused) => {
                if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                    return Err(CallFailure::Engine(EngineError::Timeout { engine: KIND }));
                }
                let fuel = FUEL_SLICE.max(paused.required_fuel());
                refuel(ctx, fuel)?;
                paused
                    .resume(&mut *ctx)
                    .map_err(|error| map_call_error(&error))?
            }
        };
    }
}

impl_runtime!([H: Host] WasmiStore<H>, this => &mut this.store);

/// The runtime seen from inside a host function.
struct CallerRuntime<'a, 'c, H: 'static> {
    caller: &'a mut Caller<'c, StoreData<H>>,
}

impl_runtime!([H: Host] CallerRuntime<'_, '_, H>, this => &mut *this.caller);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proposal_wasmi_does_not_implement_may_only_be_off() {
        let mut config = Config::default();
        assert_eq!(enable_proposal(&mut config, "THREADS", false), Ok(()));
        assert_eq!(
            enable_proposal(&mut config, "THREADS", true),
            Err(EngineError::Config {
                engine: KIND,
                message: "wasmi does not implement the proposal THREADS".into(),
            })
        );
    }
}
