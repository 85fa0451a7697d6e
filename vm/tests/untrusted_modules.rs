//! Untrusted modules never panic the host: arbitrary bytes and wasm-smith
//! modules using any feature get a typed answer, the same on both engines.

mod common;

use common::TestVms;
use proptest::prelude::*;
use vm::admission::{AdmissionError, admit};
use vm::limits::Limits;
use vm::{DeployError, DeployOptions};

fn any_feature_config() -> wasm_smith::Config {
    wasm_smith::Config {
        max_funcs: 6,
        max_instructions: 80,
        max_memories: 2,
        max_tables: 2,
        max_imports: 4,
        max_exports: 6,
        ..wasm_smith::Config::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_get_a_typed_answer(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        // Without the magic number, bytes are no module at all.
        prop_assume!(!bytes.starts_with(b"\0asm"));
        prop_assert!(
            matches!(admit(&bytes, &Limits::default(), true), Err(AdmissionError::Malformed(_))),
            "{:?}",
            admit(&bytes, &Limits::default(), true)
        );
        // With a header, whatever wasmparser refuses, admission refuses as
        // not a module or an invalid one; nothing else is admitted.
        let mut with_header = b"\0asm\x01\0\0\0".to_vec();
        with_header.extend_from_slice(&bytes);
        let validates = wasmparser::Validator::new_with_features(vm::features::CONTRACT)
            .validate_all(&with_header)
            .is_ok();
        match admit(&with_header, &Limits::default(), true) {
            Ok(_) => prop_assert!(validates, "admitted a module wasmparser refuses"),
            Err(AdmissionError::Malformed(_) | AdmissionError::Invalid(_)) => {}
            Err(other) => prop_assert!(validates, "{other} for a module wasmparser refuses"),
        }
    }

    #[test]
    fn any_module_gets_the_same_answer_on_both_engines(bytes in proptest::collection::vec(any::<u8>(), 16..1024)) {
        // wasm-smith modules with any feature are almost never contracts
        // (no exported memory and argument buffer, forbidden features): what
        // is compared is the typed rejection, and its rule must be one of
        // admission's, never an engine's failure. Generated *contracts*
        // deploying alike are `fuzz/tests/generate.rs`'s.
        let mut u = arbitrary::Unstructured::new(&bytes);
        let Ok(module) = wasm_smith::Module::new(any_feature_config(), &mut u) else {
            return Ok(());
        };
        let wasm = module.to_bytes();
        let engines = TestVms::new();
        let mut a = engines.wasmtime.session();
        let mut b = engines.wasmi.session();
        let deployed = a.deploy(&wasm, DeployOptions::default()).map(|d| d.id);
        let shadow = b.deploy(&wasm, DeployOptions::default()).map(|d| d.id);
        if let Err(error) = &deployed {
            prop_assert!(
                matches!(error, DeployError::Admission(_) | DeployError::InstantiationTrap { .. }),
                "{error}"
            );
        }
        prop_assert_eq!(deployed, shadow);
    }
}

#[test]
fn mutated_contracts_get_a_typed_answer() {
    let wasm = wat::parse_str(
        r#"(module
            (import "env" "limit" (func (result i64)))
            (memory (export "memory") 2)
            (global (export "A") i32 (i32.const 0))
            (func (export "f") (param i32) (result i32)
              i32.const 0 i32.load i32.const 1 i32.add))"#,
    )
    .expect("parses");
    let engines = TestVms::new();
    // Every single-byte change of a valid contract.
    for position in 0..wasm.len() {
        for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
            let mut mutated = wasm.clone();
            mutated[position] = value;
            let mut a = engines.wasmtime.session();
            let mut b = engines.wasmi.session();
            let deployed = a.deploy(&mutated, DeployOptions::default()).map(|d| d.id);
            let shadow = b.deploy(&mutated, DeployOptions::default()).map(|d| d.id);
            assert_eq!(deployed, shadow, "byte {position} set to {value:#x}");
        }
    }
}
