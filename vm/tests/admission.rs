//! Admission: every module-shape rule has its typed error, for 32- and
//! 64-bit contracts, and both engines see exactly the admitted modules.

use vm::abi::PtrWidth;
use vm::admission::{AdmissionError, admit};
use vm::limits::Limits;

fn admit_wat(wat: &str) -> Result<vm::admission::ModuleInfo, AdmissionError> {
    admit(
        &wat::parse_str(wat).expect("test WAT parses"),
        &Limits::default(),
        true,
    )
}

fn rejected(wat: &str) -> AdmissionError {
    admit_wat(wat).expect_err("should be rejected")
}

const OK32: &str = r#"(module
    (import "env" "limit" (func (result i64)))
    (import "env" "owner" (func (param i32) (result i32)))
    (memory (export "memory") 2)
    (global (export "A") i32 (i32.const 0))
    (global (export "__heap_base") i32 (i32.const 1024))
    (func (export "init") (param i32) (result i32) i32.const 0)
    (func (export "f") (param i32) (result i32) i32.const 0))"#;

const OK64: &str = r#"(module
    (import "env" "c" (func (param i64 i64 i32 i32 i64) (result i32)))
    (memory (export "memory") i64 2)
    (global (export "A") i64 (i64.const 65536))
    (func (export "f") (param i32) (result i32) i32.const 0))"#;

#[test]
fn well_formed_contracts_are_admitted() {
    let info = admit_wat(OK32).expect("32-bit contract");
    assert_eq!(info.memory.width, PtrWidth::Wasm32);
    assert_eq!(info.argbuf_offset, 0);
    assert!(info.has_init());
    assert_eq!(info.exports, ["init", "f"]);
    let info = admit_wat(OK64).expect("64-bit contract");
    assert_eq!(info.memory.width, PtrWidth::Wasm64);
    assert_eq!(info.argbuf_offset, 65536);
}

#[test]
fn malformed_and_invalid_bytes() {
    let limits = Limits::default();
    assert!(matches!(
        admit(b"not wasm", &limits, true),
        Err(AdmissionError::Malformed(_))
    ));
    assert!(matches!(
        admit(b"\0asm\x01\0\0\0\x01", &limits, true),
        Err(AdmissionError::Malformed(_))
    ));
    assert!(matches!(
        rejected(r#"(module (func (result i32) i64.const 0))"#),
        AdmissionError::Invalid(_)
    ));
}

#[test]
fn forbidden_features_are_named() {
    let cases = [
        (
            r#"(module (memory 1 1 shared))"#,
            "threads (shared memory and atomics)",
        ),
        (
            r#"(module (func (param v128) (result v128) local.get 0 local.get 0 local.get 0 f32x4.relaxed_madd))"#,
            "relaxed SIMD",
        ),
        (r#"(module (func return_call 0))"#, "tail calls"),
        (r#"(module (memory 1) (memory 1))"#, "multiple memories"),
        (
            r#"(module (global i32 (i32.add (i32.const 1) (i32.const 2))))"#,
            "extended constant expressions",
        ),
        (
            r#"(module (table 1 externref))"#,
            "reference types other than funcref (externref, GC types)",
        ),
    ];
    for (wat, feature) in cases {
        assert_eq!(
            rejected(wat),
            AdmissionError::FeatureNotAllowed { feature },
            "{wat}"
        );
    }
}

#[test]
fn memory_rules() {
    assert_eq!(
        rejected(r#"(module (global (export "A") i32 (i32.const 0)))"#),
        AdmissionError::NoMemory
    );
    assert_eq!(
        rejected(r#"(module (memory 2) (global (export "A") i32 (i32.const 0)))"#),
        AdmissionError::MemoryNotExported
    );
    assert_eq!(
        rejected(
            r#"(module (memory (export "memory") 5000) (global (export "A") i32 (i32.const 0)))"#
        ),
        AdmissionError::MemoryTooLarge {
            pages: 5000,
            limit: 4096
        }
    );
    assert!(matches!(
        rejected(r#"(module (import "env" "memory" (memory 1)))"#),
        AdmissionError::NoMemory | AdmissionError::ImportNotFunction { .. }
    ));
}

#[test]
fn argument_buffer_rules() {
    let with_a = |global: &str, pages: u32| {
        format!(r#"(module (memory (export "memory") {pages}) {global})"#)
    };
    assert_eq!(rejected(&with_a("", 2)), AdmissionError::ArgbufMissing);
    assert_eq!(
        rejected(
            r#"(module (memory (export "memory") 2) (func (export "A") (param i32) (result i32) i32.const 0))"#
        ),
        AdmissionError::ArgbufNotGlobal { kind: "function" }
    );
    assert_eq!(
        rejected(&with_a(
            r#"(global (export "A") (mut i32) (i32.const 0))"#,
            2
        )),
        AdmissionError::ArgbufMutable
    );
    assert!(matches!(
        rejected(&with_a(r#"(global (export "A") i64 (i64.const 0))"#, 2)),
        AdmissionError::ArgbufType { .. }
    ));
    assert_eq!(
        rejected(&with_a(r#"(global (export "A") i32 (i32.const 65537))"#, 2)),
        AdmissionError::ArgbufOutOfBounds {
            offset: 65537,
            memory_bytes: 131072
        }
    );
    // Exactly at the end is fine.
    assert!(admit_wat(&with_a(r#"(global (export "A") i32 (i32.const 65536))"#, 2)).is_ok());
    // A negative i32 is a huge unsigned offset.
    assert!(matches!(
        rejected(&with_a(r#"(global (export "A") i32 (i32.const -1))"#, 2)),
        AdmissionError::ArgbufOutOfBounds {
            offset: 0xffff_ffff,
            ..
        }
    ));
    // Initializers referring to other module globals need the GC proposal.
    assert_eq!(
        rejected(&with_a(
            r#"(global $g i32 (i32.const 0)) (global (export "A") i32 (global.get $g))"#,
            2
        )),
        AdmissionError::FeatureNotAllowed {
            feature: "garbage collection"
        }
    );
}

fn contract_with(items: &str) -> String {
    format!(
        r#"(module {items} (memory (export "memory") 2) (global (export "A") i32 (i32.const 0)))"#
    )
}

#[test]
fn export_rules() {
    assert_eq!(
        rejected(&contract_with(
            r#"(func (export "f") (result i32) i32.const 0)"#
        )),
        AdmissionError::ExportSignature {
            name: "f".into(),
            found: "() -> (i32)".into()
        }
    );
    assert_eq!(
        rejected(&contract_with(
            r#"(func (export "init") (param i64) (result i32) i32.const 0)"#
        )),
        AdmissionError::ExportSignature {
            name: "init".into(),
            found: "(i64) -> (i32)".into()
        }
    );
    assert_eq!(
        rejected(&contract_with(
            r#"(func (export "__dusk_fuel") (param i32) (result i32) i32.const 0)"#
        )),
        AdmissionError::ReservedName {
            name: "__dusk_fuel".into()
        }
    );
    assert_eq!(
        rejected(&contract_with(r#"(func $s) (start $s)"#)),
        AdmissionError::StartFunction
    );
}

#[test]
fn import_rules() {
    assert_eq!(
        rejected(&contract_with(r#"(import "wasi" "fd_write" (func))"#)),
        AdmissionError::ImportModule {
            module: "wasi".into(),
            name: "fd_write".into()
        }
    );
    assert_eq!(
        rejected(&contract_with(r#"(import "env" "abort" (func))"#)),
        AdmissionError::UnknownImport {
            name: "abort".into()
        }
    );
    assert!(matches!(
        rejected(&contract_with(r#"(import "env" "g" (global i32))"#)),
        AdmissionError::ImportNotFunction {
            kind: "a global",
            ..
        }
    ));
    // A 32-bit contract importing the 64-bit signature of `owner`.
    assert!(matches!(
        rejected(&contract_with(
            r#"(import "env" "owner" (func (param i64) (result i32)))"#
        )),
        AdmissionError::ImportSignature {
            width: PtrWidth::Wasm32,
            ..
        }
    ));
    // And a 64-bit contract importing the 32-bit one.
    let wrong64 = r#"(module
        (import "env" "hd" (func (param i32 i32) (result i32)))
        (memory (export "memory") i64 2)
        (global (export "A") i64 (i64.const 0)))"#;
    assert!(matches!(
        rejected(wrong64),
        AdmissionError::ImportSignature {
            width: PtrWidth::Wasm64,
            ..
        }
    ));
    let debug = contract_with(r#"(import "env" "hdebug" (func (param i32)))"#);
    let wasm = wat::parse_str(&debug).expect("parses");
    assert_eq!(
        admit(&wasm, &Limits::default(), false).map(|_| ()),
        Err(AdmissionError::DebugImportDisabled)
    );
    assert!(admit(&wasm, &Limits::default(), true).is_ok());
}

#[test]
fn state_rules() {
    assert!(matches!(
        rejected(&contract_with(
            r#"(table 1 funcref) (func (export "f") (param i32) (result i32) i32.const 0 ref.null func table.set 0 i32.const 0)"#
        )),
        AdmissionError::InstructionNotAllowed {
            instruction: "table.set",
            ..
        }
    ));
    assert!(matches!(
        rejected(&contract_with(r#"(data "x") (func data.drop 0)"#)),
        AdmissionError::InstructionNotAllowed {
            instruction: "data.drop",
            ..
        }
    ));
    assert!(matches!(
        rejected(&contract_with(r#"(global (mut funcref) (ref.null func))"#)),
        AdmissionError::MutableReferenceGlobal { .. }
    ));
    assert!(matches!(
        rejected(&contract_with(r#"(table 100000 funcref)"#)),
        AdmissionError::TableTooLarge {
            elements: 100000,
            ..
        }
    ));
    let locals = format!("(func (local {}))", "i32 ".repeat(10_001));
    assert!(matches!(
        rejected(&contract_with(&locals)),
        AdmissionError::TooManyLocals { count: 10_001, .. }
    ));
}

#[test]
fn messages_speak_to_contract_authors() {
    let error = rejected(&contract_with(
        r#"(func (export "f") (result i32) i32.const 0)"#,
    ));
    assert_eq!(
        error.to_string(),
        "exported function `f` has type () -> (i32); exported functions must be (i32) -> (i32)"
    );
}

/// A contract with a function holding `height` values on its operand stack
/// beside 10,000 locals, and one with a `br_table` of `targets` targets.
fn deep_and_wide(height: usize, targets: usize) -> String {
    contract_with(&format!(
        "(func (param i32) (local {}) {} unreachable)
         (func (param i32) (block (br_table {} (local.get 0))))",
        "i64 ".repeat(9_999),
        "i32.const 1 ".repeat(height),
        "0 ".repeat(targets + 1)
    ))
}

#[test]
fn engine_limits_bound_operand_stacks_and_branch_tables() {
    let limits = Limits::default();
    assert_eq!(
        (limits.max_operand_stack, limits.max_br_table_targets),
        (22_000, 65_520)
    );
    for (height, targets) in [(21_999, 65_519), (22_000, 65_520)] {
        admit_wat(&deep_and_wide(height, targets)).expect("at the limits");
    }
    assert_eq!(
        rejected(&deep_and_wide(22_001, 1)),
        AdmissionError::OperandStackTooDeep {
            function: 0,
            height: 22_001,
            limit: 22_000
        }
    );
    assert_eq!(
        rejected(&deep_and_wide(1, 65_521)),
        AdmissionError::BrTableTooLarge {
            function: 1,
            targets: 65_521,
            limit: 65_520
        }
    );
    assert_eq!(
        rejected(&deep_and_wide(1, 65_521)).rule(),
        "br_table_too_large"
    );
    assert_eq!(
        rejected(&deep_and_wide(22_001, 1)).to_string(),
        "function 0 holds 22001 values on its operand stack, more than the VM's limit of 22000"
    );
}

/// A contract exporting its one function `count - 2` times, beside its
/// memory and argument buffer.
fn exporting(count: usize) -> String {
    let names: String = (0..count - 2)
        .map(|i| format!("(export \"e{i}\" (func 0))"))
        .collect();
    format!(
        r#"(module (func (param i32) (result i32) i32.const 0) {names}
            (memory (export "memory") 2) (global (export "A") i32 (i32.const 0)))"#
    )
}

#[test]
fn exports_are_bounded_as_production_bounds_them() {
    // Production (piecrust 0.32.2 and 0.31.0, through their runners)
    // deploys 100,000 exports and refuses 100,001: "exports count exceeds
    // limit of 100000".
    assert_eq!(Limits::default().max_exports, 100_000);
    let info = admit_wat(&exporting(100_000)).expect("at the limit");
    assert_eq!(info.exports.len(), 99_998);
    assert_eq!(
        rejected(&exporting(100_001)),
        AdmissionError::TooManyExports {
            count: 100_001,
            limit: 100_000
        }
    );
    assert_eq!(rejected(&exporting(100_001)).rule(), "too_many_exports");
}
