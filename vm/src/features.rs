//! The Wasm proposals: one table of which a contract may use and which the
//! determinism pass adds. Admission validates contracts with [`CONTRACT`];
//! both engines are configured from [`INSTRUMENTED`], with every other
//! proposal off; the fuzz generator derives its settings from [`CONTRACT`].

use wasmparser::WasmFeatures;

/// The proposals a contract may use: those both engines execute
/// deterministically and that current Rust toolchains emit for wasm32.
pub const CONTRACT: WasmFeatures = WasmFeatures::FLOATS
    .union(WasmFeatures::MUTABLE_GLOBAL)
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::SIMD)
    .union(WasmFeatures::MEMORY64);

/// What the determinism pass adds to a contract: a second memory, the
/// dirty-page map.
pub const INSTRUMENTATION: WasmFeatures = WasmFeatures::MULTI_MEMORY;

/// The proposals an instrumented module may use: what engines enable.
pub const INSTRUMENTED: WasmFeatures = CONTRACT.union(INSTRUMENTATION);

/// Proposals outside [`CONTRACT`], each with the name admission reports
/// when a module uses it.
pub const FORBIDDEN: &[(WasmFeatures, &str)] = &[
    (WasmFeatures::RELAXED_SIMD, "relaxed SIMD"),
    (WasmFeatures::THREADS, "threads (shared memory and atomics)"),
    (WasmFeatures::TAIL_CALL, "tail calls"),
    (WasmFeatures::MULTI_MEMORY, "multiple memories"),
    (WasmFeatures::EXCEPTIONS, "exception handling"),
    (WasmFeatures::LEGACY_EXCEPTIONS, "legacy exception handling"),
    (
        WasmFeatures::EXTENDED_CONST,
        "extended constant expressions",
    ),
    (
        WasmFeatures::FUNCTION_REFERENCES,
        "typed function references",
    ),
    (WasmFeatures::GC, "garbage collection"),
    (
        WasmFeatures::GC_TYPES,
        "reference types other than funcref (externref, GC types)",
    ),
    (WasmFeatures::CUSTOM_PAGE_SIZES, "custom page sizes"),
    (WasmFeatures::MEMORY_CONTROL, "memory control"),
    (WasmFeatures::STACK_SWITCHING, "stack switching"),
    (WasmFeatures::WIDE_ARITHMETIC, "wide arithmetic"),
    (
        WasmFeatures::SHARED_EVERYTHING_THREADS,
        "shared-everything threads",
    ),
    (WasmFeatures::CUSTOM_DESCRIPTORS, "custom descriptors"),
    (WasmFeatures::COMPACT_IMPORTS, "compact imports"),
];

/// Flags outside [`CONTRACT`] that admission refuses without naming them:
/// the component model (a component is refused before validation).
pub const UNNAMED: WasmFeatures = WasmFeatures::COMPONENT_MODEL
    .union(WasmFeatures::CM_VALUES)
    .union(WasmFeatures::CM_NESTED_NAMES)
    .union(WasmFeatures::CM_ASYNC)
    .union(WasmFeatures::CM_ASYNC_STACKFUL)
    .union(WasmFeatures::CM_MORE_ASYNC_BUILTINS)
    .union(WasmFeatures::CM_THREADING)
    .union(WasmFeatures::CM_ERROR_CONTEXT)
    .union(WasmFeatures::CM_FIXED_LENGTH_LISTS)
    .union(WasmFeatures::CM_GC)
    .union(WasmFeatures::CM_MAP)
    .union(WasmFeatures::CM64)
    .union(WasmFeatures::CM_IMPLEMENTS)
    .union(WasmFeatures::CM_CANON_NAMES);

/// Every proposal flag wasmparser defines, by name: what engine
/// configurations go through. Some include others (`REFERENCE_TYPES`
/// includes `CALL_INDIRECT_OVERLONG`, `BULK_MEMORY` includes
/// `BULK_MEMORY_OPT`): each is listed, overlapping or not.
pub fn proposals() -> impl Iterator<Item = (&'static str, WasmFeatures)> {
    <WasmFeatures as bitflags::Flags>::FLAGS
        .iter()
        .map(|flag| (flag.name(), *flag.value()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_proposal_is_allowed_forbidden_or_unnamed() {
        let forbidden = FORBIDDEN
            .iter()
            .fold(WasmFeatures::empty(), |all, &(flag, _)| all | flag);
        for (name, flag) in proposals() {
            let classes = [CONTRACT, forbidden, UNNAMED]
                .iter()
                .filter(|class| class.contains(flag))
                .count();
            assert_eq!(classes, 1, "{name} is in {classes} of the three classes");
        }
    }

    #[test]
    fn engines_go_through_every_proposal() {
        let names: Vec<&str> = proposals().map(|(name, _)| name).collect();
        for name in [
            "SIMD",
            "MEMORY64",
            "MULTI_MEMORY",
            "TAIL_CALL",
            "REFERENCE_TYPES",
            "CALL_INDIRECT_OVERLONG",
            "BULK_MEMORY",
            "BULK_MEMORY_OPT",
        ] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
        let covered = proposals().fold(WasmFeatures::empty(), |all, (_, flag)| all | flag);
        assert_eq!(covered, WasmFeatures::all());
        // The parts of an allowed proposal are allowed with it.
        assert!(CONTRACT.contains(WasmFeatures::CALL_INDIRECT_OVERLONG));
        assert!(CONTRACT.contains(WasmFeatures::BULK_MEMORY_OPT));
    }

    #[test]
    fn instrumentation_adds_only_what_contracts_may_not_use() {
        assert!(!CONTRACT.intersects(INSTRUMENTATION));
        assert_eq!(INSTRUMENTED, CONTRACT | WasmFeatures::MULTI_MEMORY);
    }
}
