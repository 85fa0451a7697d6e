//! A second opinion on gas: a call on wasmtime 48's native fuel,
//! uninstrumented.
//!
//! Production's gas is the fuel of Dusk's fork of wasmtime 21, which the
//! determinism pass reproduces. wasmtime 48's own fuel, configured with the
//! same cost table and no per-unit costs, charges every operator the same
//! and checks at the same function entries and loop headers, but also
//! checks after a bulk memory operation or `memory.grow` whose size is not
//! a compile-time constant, and traps statically on accesses past a
//! memory's declared maximum. On modules without those ([`applicable`]) it
//! is an independent implementation of production's fuel placement, which
//! tests and fuzzers hold the pass to; production itself is the oracle for
//! the rest.

use std::sync::Arc;

use crate::abi::{ARGBUF_LEN, ARGBUF_LEN_U32};
use crate::admission::{self, AdmissionError, ModuleInfo};
use crate::cache::BytecodeCache;
use crate::engine::wasmtime::NativeFuelEngine;
use crate::engine::{Instances, Runtime, VmGlobal};
use crate::failure::{CallError, CallFailure, EngineError};
use crate::gas::GasCounter;
use crate::host::frame::{classify, output};
use crate::host::{self, ContractSlot, Frame, HostState};
use crate::session::VmConfig;

/// What the oracle saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeOutcome {
    /// The output, or why there is none.
    pub result: Result<Vec<u8>, CallError>,
    /// Gas native fuel counted.
    pub gas_spent: u64,
}

/// Why the oracle could not run a call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OracleError {
    #[error(transparent)]
    /// The module is not a contract.
    Admission(#[from] AdmissionError),
    #[error(transparent)]
    /// wasmtime failed.
    Engine(#[from] EngineError),
    #[error("instantiation trapped: {0}")]
    /// Instantiation trapped (a segment out of bounds).
    InstantiationTrap(crate::failure::Trap),
}

/// Whether wasmtime 48's native fuel places gas where production's does for
/// this module: no `memory.copy`, `memory.fill`, `memory.init` or
/// `memory.grow`, and no access whose static offset and size pass the
/// memory's declared maximum. Bytes that do not parse are not applicable.
pub fn applicable(wasm: &[u8]) -> bool {
    use wasmparser::{Operator, Parser, Payload};
    let mut max_bytes: Option<u64> = None;
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else {
            return false;
        };
        match payload {
            Payload::MemorySection(reader) => {
                for memory in reader.into_iter().flatten() {
                    max_bytes = memory
                        .maximum
                        .map(|pages| pages.saturating_mul(crate::abi::WASM_PAGE));
                }
            }
            Payload::CodeSectionEntry(body) => {
                let Ok(reader) = body.get_operators_reader() else {
                    return false;
                };
                for op in reader {
                    let Ok(op) = op else {
                        return false;
                    };
                    match op {
                        Operator::MemoryCopy { .. }
                        | Operator::MemoryFill { .. }
                        | Operator::MemoryInit { .. }
                        | Operator::MemoryGrow { .. } => return false,
                        _ => {}
                    }
                    if let (Some(max), Some((memarg, size))) =
                        (max_bytes, crate::determinism::memory_access(&op))
                        && memarg.offset.saturating_add(size) > max
                    {
                        return false;
                    }
                }
            }
            _ => {}
        }
    }
    true
}

/// wasmtime with native fuel, with a cache of compiled modules.
pub struct NativeFuelOracle {
    engine: NativeFuelEngine,
    config: VmConfig,
    cache: BytecodeCache<(ModuleInfo, wasmtime::Module)>,
}

impl NativeFuelOracle {
    /// An oracle with `config`'s limits and engine settings.
    pub fn new(config: VmConfig) -> Result<Self, EngineError> {
        let mut engine_config = config.engine.clone();
        engine_config.native_stack_limit = crate::determinism::stack::ORACLE_NATIVE_STACK_LIMIT;
        Ok(NativeFuelOracle {
            engine: NativeFuelEngine::new(&engine_config)?,
            cache: BytecodeCache::new(config.module_cache_capacity),
            config,
        })
    }

    fn prepare(&self, wasm: &[u8]) -> Result<Arc<(ModuleInfo, wasmtime::Module)>, OracleError> {
        self.cache.get_or_try_insert(wasm, || {
            let info = admission::admit(wasm, &self.config.limits, self.config.debug_imports)?;
            let module = self.engine.compile(wasm)?;
            Ok((info, module))
        })
    }

    /// Instantiates `wasm` afresh and calls `function` with `arg`.
    ///
    /// `init` is not run: the oracle measures one call on the module's
    /// initial state.
    pub fn call(
        &self,
        wasm: &[u8],
        function: &str,
        arg: &[u8],
        gas_limit: u64,
    ) -> Result<NativeOutcome, OracleError> {
        let prepared = self.prepare(wasm)?;
        let (info, module) = (&prepared.0, &prepared.1);
        let mut state = HostState::default();
        state.contracts.push(ContractSlot {
            id: crate::abi::ContractId::from_bytecode(wasm),
            owner: Vec::new(),
            argbuf_offset: info.argbuf_offset,
            width: info.memory.width,
            functions: info.exports.clone().into(),
            live: true,
        });
        let (mut store, instance) = self
            .engine
            .instantiate(module, &info.imports, info.memory.width, state)
            .map_err(|failure| match failure {
                CallFailure::Trap(trap) => OracleError::InstantiationTrap(trap),
                CallFailure::Engine(error) => OracleError::Engine(error),
            })?;
        let arg = &arg[..arg.len().min(ARGBUF_LEN)];
        host::imports::write_memory(&mut store, instance, info.argbuf_offset, arg).map_err(
            |failure| EngineError::HostInvariant(format!("writing the oracle's input: {failure}")),
        )?;
        store.set_vm_global(
            instance,
            VmGlobal::Fuel,
            GasCounter::with_limit(gas_limit).0,
        )?;
        store.host().frames.push(Frame::new(instance, gas_limit).0);
        // At most the argument buffer's length (cut above).
        let arg_len = u32::try_from(arg.len()).unwrap_or(ARGBUF_LEN_U32);
        let outcome = store.call(instance, function, arg_len);
        let remaining = GasCounter(store.vm_global(instance, VmGlobal::Fuel)?).remaining();
        let result = match outcome {
            Ok(len) => output(&mut store, instance, info.argbuf_offset, len)?,
            Err(CallFailure::Engine(error)) => return Err(error.into()),
            Err(CallFailure::Trap(trap)) => Err(classify(trap, None, remaining)),
        };
        Ok(NativeOutcome {
            result,
            gas_spent: gas_limit.saturating_sub(remaining),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::applicable;

    fn module(memory: &str, body: &str) -> Vec<u8> {
        wat::parse_str(format!(
            "(module (memory {memory}) (data \"x\") (func (param i32) {body}))"
        ))
        .expect("test WAT parses")
    }

    #[test]
    fn native_fuel_applies_where_it_places_gas_as_production() {
        assert!(applicable(&module("1 1", "local.get 0 drop")));
        for bulk in [
            "i32.const 0 i32.const 0 i32.const 1 memory.copy",
            "i32.const 0 i32.const 0 i32.const 1 memory.fill",
            "i32.const 0 i32.const 0 i32.const 1 memory.init 0",
            "i32.const 1 memory.grow drop",
        ] {
            assert!(!applicable(&module("1 1", bulk)), "{bulk}");
        }
        // An access whose static offset and size end exactly at the
        // declared maximum is inside it; one byte further is not.
        let load = |offset: u32| format!("i32.const 0 i32.load offset={offset} drop");
        assert!(applicable(&module("1 1", &load(65_532))));
        assert!(!applicable(&module("1 1", &load(65_533))));
        // Without a declared maximum, no static offset passes it.
        assert!(applicable(&module("1", &load(65_533))));
        assert!(!applicable(b"\0asm\x01\0\0\0\x05"));
    }
}
