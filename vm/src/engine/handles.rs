//! What both adapters keep of an instance, and how they find it: the
//! engine-neutral half of instantiation. An adapter says how to look an
//! export up in its engine ([`ExportLookup`]); which exports an
//! instrumented contract must have, and what each is for, is written here
//! once.

use std::collections::HashMap;

use super::{Value, VmGlobal};
use crate::determinism::{DIRTY_EXPORT, state_global_export};
use crate::failure::{CallFailure, EngineError, EngineKind};

/// What an export is, as far as instantiation cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExportKind {
    /// An exported function: callable, since admission lets only those of
    /// the export signature, `(i32) -> i32`, through.
    ContractFunction,
    /// A linear memory.
    Memory,
    /// Anything else (globals, tables).
    Other,
}

/// An engine's view of one new instance's exports.
pub(crate) trait ExportLookup {
    /// A typed handle of a contract function.
    type Func;
    /// A memory handle.
    type Memory;
    /// A global handle.
    type Global;

    /// Every export of the module, by name, with its kind.
    fn exports(&self) -> Vec<(String, ExportKind)>;
    /// The contract function `name`.
    fn func(&mut self, name: &str) -> Result<Self::Func, CallFailure>;
    /// The memory `name`, if the instance exports one so named.
    fn memory(&mut self, name: &str) -> Option<Self::Memory>;
    /// The global `name`, if the instance exports one so named.
    fn global(&mut self, name: &str) -> Option<Self::Global>;
}

/// The handles of one instance, whatever the engine.
pub(crate) struct Handles<F, M, G> {
    /// The contract's memory.
    pub memory: M,
    /// The dirty-page map; `None` for an uninstrumented module.
    pub dirty: Option<M>,
    /// The VM's globals, by [`VmGlobal::index`]; empty for an
    /// uninstrumented module.
    pub vm_globals: Vec<G>,
    /// The contract's mutable globals, by module index.
    pub state_globals: HashMap<u32, G>,
    /// The contract's callable functions, by name.
    pub exports: HashMap<String, F>,
}

impl<F, M, G: Copy> Handles<F, M, G> {
    /// The handle of a VM global, if the instance is instrumented.
    pub(crate) fn vm_global(&self, global: VmGlobal) -> Option<G> {
        self.vm_globals.get(global.index()).copied()
    }

    /// The handle of a VM global of an instrumented instance.
    pub(crate) fn instrumented_vm_global(
        &self,
        global: VmGlobal,
        engine: EngineKind,
    ) -> Result<G, EngineError> {
        self.vm_global(global).ok_or_else(|| EngineError::Unknown {
            engine,
            message: format!("VM global {global:?} missing"),
        })
    }

    /// The handle of the contract's mutable global `index`.
    pub(crate) fn state_global(&self, index: u32, engine: EngineKind) -> Result<G, EngineError> {
        self.state_globals
            .get(&index)
            .copied()
            .ok_or_else(|| EngineError::Unknown {
                engine,
                message: format!("no state global {index}"),
            })
    }
}

/// What a VM global holds, as the runtime reads it: an `i64`, from the
/// `i32` or `i64` the global is ([`VmGlobal::is_i32`]).
pub(crate) fn read_vm_global(
    global: VmGlobal,
    value: Value,
    engine: EngineKind,
) -> Result<i64, EngineError> {
    match (global.is_i32(), value) {
        (true, Value::I32(value)) => Ok(i64::from(value)),
        (false, Value::I64(value)) => Ok(value),
        (_, other) => Err(EngineError::Unknown {
            engine,
            message: format!("VM global {global:?} holds {other:?}"),
        }),
    }
}

/// The value a VM global gets when the runtime sets it to `value`.
pub(crate) fn vm_global_value(
    global: VmGlobal,
    value: i64,
    engine: EngineKind,
) -> Result<Value, EngineError> {
    if !global.is_i32() {
        return Ok(Value::I64(value));
    }
    i32::try_from(value)
        .map(Value::I32)
        .map_err(|_| EngineError::Unknown {
            engine,
            message: format!("{value} set on the i32 VM global {global:?}"),
        })
}

/// The handles an [`ExportLookup`] finds.
pub(crate) type LookedUp<L> =
    Handles<<L as ExportLookup>::Func, <L as ExportLookup>::Memory, <L as ExportLookup>::Global>;

/// Finds an instance's handles. An instrumented module must export the
/// dirty-page map and every VM global; `state_globals` are the module
/// indices of the contract's mutable globals the determinism pass exported.
pub(crate) fn collect<L: ExportLookup>(
    lookup: &mut L,
    engine: EngineKind,
    state_globals: &[u32],
    instrumented: bool,
) -> Result<LookedUp<L>, CallFailure> {
    let missing = |export: &str| {
        CallFailure::Engine(EngineError::MissingExport {
            engine,
            export: export.to_string(),
        })
    };
    let mut exports = HashMap::new();
    let mut memory = None;
    for (name, kind) in lookup.exports() {
        match kind {
            ExportKind::ContractFunction => {
                let func = lookup.func(&name)?;
                exports.insert(name, func);
            }
            ExportKind::Memory if name != DIRTY_EXPORT => memory = lookup.memory(&name),
            ExportKind::Memory | ExportKind::Other => {}
        }
    }
    let memory = memory.ok_or_else(|| missing("memory"))?;
    let (dirty, vm_globals) = if instrumented {
        let mut vm_globals = Vec::with_capacity(VmGlobal::ALL.len());
        for global in VmGlobal::ALL {
            let name = global.export_name();
            vm_globals.push(lookup.global(name).ok_or_else(|| missing(name))?);
        }
        let dirty = lookup
            .memory(DIRTY_EXPORT)
            .ok_or_else(|| missing(DIRTY_EXPORT))?;
        (Some(dirty), vm_globals)
    } else {
        (None, Vec::new())
    };
    let mut globals = HashMap::new();
    for &index in state_globals {
        let name = state_global_export(index);
        let global = lookup.global(&name).ok_or_else(|| missing(&name))?;
        globals.insert(index, global);
    }
    Ok(Handles {
        memory,
        dirty,
        vm_globals,
        state_globals: globals,
        exports,
    })
}

/// An instantiation that failed, named as such when the engine's error is
/// not one of the mapped ones.
pub(crate) fn instantiation_failure(failure: CallFailure, engine: EngineKind) -> CallFailure {
    match failure {
        CallFailure::Engine(EngineError::Unknown { message, .. }) => {
            CallFailure::Engine(EngineError::Instantiate { engine, message })
        }
        other => other,
    }
}

/// A module that instantiated once and fails to instantiate again: a VM
/// bug, never the contract's outcome.
pub(crate) fn reinstantiation_failed(failure: CallFailure) -> EngineError {
    match failure {
        CallFailure::Engine(error) => error,
        CallFailure::Trap(trap) => {
            EngineError::HostInvariant(format!("instantiating a second time trapped: {trap}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instance whose exports are listed in `exports`; memories and
    /// globals are numbered by name.
    struct Fake {
        exports: Vec<(String, ExportKind)>,
        missing: &'static str,
    }

    impl ExportLookup for Fake {
        type Func = String;
        type Memory = &'static str;
        type Global = usize;

        fn exports(&self) -> Vec<(String, ExportKind)> {
            self.exports.clone()
        }
        fn func(&mut self, name: &str) -> Result<String, CallFailure> {
            Ok(name.to_string())
        }
        fn memory(&mut self, name: &str) -> Option<&'static str> {
            match name {
                "memory" => Some("contract memory"),
                DIRTY_EXPORT => Some("dirty map"),
                _ => None,
            }
        }
        /// VM globals by their index, state global `i` as `100 + i`.
        fn global(&mut self, name: &str) -> Option<usize> {
            if name == self.missing {
                return None;
            }
            VmGlobal::ALL
                .iter()
                .position(|global| global.export_name() == name)
                .or_else(|| {
                    (0..10)
                        .find(|&i| state_global_export(i) == name)
                        .map(|i| 100 + i as usize)
                })
        }
    }

    fn exports(names: &[(&str, ExportKind)]) -> Vec<(String, ExportKind)> {
        names
            .iter()
            .map(|(name, kind)| (name.to_string(), *kind))
            .collect()
    }

    #[test]
    fn the_contract_memory_is_the_one_that_is_not_the_dirty_map() {
        // The dirty map listed after the contract's memory, and before it.
        for order in [
            [
                ("memory", ExportKind::Memory),
                (DIRTY_EXPORT, ExportKind::Memory),
            ],
            [
                (DIRTY_EXPORT, ExportKind::Memory),
                ("memory", ExportKind::Memory),
            ],
        ] {
            let mut lookup = Fake {
                exports: exports(&order),
                missing: "",
            };
            let handles = collect(&mut lookup, EngineKind::Wasmi, &[3], true)
                .unwrap_or_else(|_| panic!("collects"));
            assert_eq!(handles.memory, "contract memory");
            assert_eq!(handles.dirty, Some("dirty map"));
            assert_eq!(handles.vm_global(VmGlobal::Abort), Some(3));
            assert_eq!(handles.vm_global(VmGlobal::Fuel), Some(0));
            assert_eq!(handles.state_global(3, EngineKind::Wasmi).ok(), Some(103));
            assert!(handles.state_global(4, EngineKind::Wasmi).is_err());
        }
    }

    #[test]
    fn an_instrumented_instance_without_a_vm_global_is_refused() {
        let mut lookup = Fake {
            exports: exports(&[
                ("f", ExportKind::ContractFunction),
                ("memory", ExportKind::Memory),
            ]),
            missing: VmGlobal::Stack.export_name(),
        };
        let Err(CallFailure::Engine(EngineError::MissingExport { export, .. })) =
            collect(&mut lookup, EngineKind::Wasmtime, &[], true)
        else {
            panic!("refused");
        };
        assert_eq!(export, VmGlobal::Stack.export_name());
        // Uninstrumented (native fuel): no VM globals, no dirty map.
        let handles = collect(&mut lookup, EngineKind::Wasmtime, &[], false)
            .unwrap_or_else(|_| panic!("collects"));
        assert!(handles.dirty.is_none() && handles.vm_globals.is_empty());
        assert_eq!(handles.exports.get("f").map(String::as_str), Some("f"));
    }

    #[test]
    fn vm_globals_keep_their_types() {
        let kind = EngineKind::Wasmi;
        assert_eq!(vm_global_value(VmGlobal::Abort, 2, kind), Ok(Value::I32(2)));
        assert_eq!(
            vm_global_value(VmGlobal::Fuel, -5, kind),
            Ok(Value::I64(-5))
        );
        assert!(vm_global_value(VmGlobal::GrowRefused, 1 << 40, kind).is_err());
        assert_eq!(
            read_vm_global(VmGlobal::Abort, Value::I32(-1), kind),
            Ok(-1)
        );
        assert_eq!(read_vm_global(VmGlobal::Stack, Value::I64(7), kind), Ok(7));
        assert!(read_vm_global(VmGlobal::Stack, Value::I32(7), kind).is_err());
    }
}
