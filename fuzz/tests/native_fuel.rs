//! The determinism pass against wasmtime's native fuel, on wasm-smith
//! contracts: the instrumented module validates, and for every call and gas
//! limit tried, both engines' outcome and gas equal the native fuel's on the
//! uninstrumented module.

use arbitrary::Unstructured;
use fuzz::generate;
use fuzz::oracle::Engines;
use proptest::prelude::*;
use vm::admission::{self, Limits};
use vm::engine::Trap;
use vm::{CallError, DeployOptions};

const GAS_LIMITS: [u64; 10] = [0, 1, 2, 3, 7, 20, 64, 300, 5_000, 200_000];

fn check_contract(engines: &Engines, wasm: &[u8], extra_limit: u64) -> Result<(), TestCaseError> {
    let info = admission::admit(wasm, &Limits::default(), true);
    prop_assume!(info.is_ok(), "not a contract: {:?}", info.err());
    let info = info.expect("assumed");
    let instrumented =
        vm::determinism::instrument(wasm, &info).expect("admitted modules instrument");
    let mut features = admission::allowed_features();
    features |= wasmparser::WasmFeatures::MULTI_MEMORY;
    wasmparser::Validator::new_with_features(features)
        .validate_all(&instrumented.wasm)
        .expect("the instrumented module validates");

    for function in generate::FUNCTIONS {
        for gas in GAS_LIMITS.iter().copied().chain([extra_limit]) {
            let mut wt = engines.wasmtime.session();
            let mut wi = engines.wasmi.session();
            let options = DeployOptions::default();
            let deployed = wt.deploy(wasm, options.clone());
            let shadow = wi.deploy(wasm, options);
            prop_assert_eq!(deployed.as_ref().err(), shadow.as_ref().err());
            let Ok(deployed) = deployed else {
                // Both refuse the module (a segment out of bounds): nothing to call.
                let refused_by_trap =
                    matches!(deployed, Err(vm::DeployError::InstantiationTrap { .. }));
                prop_assert!(refused_by_trap, "deploy failed: {:?}", deployed.err());
                return Ok(());
            };
            let id = deployed.id;
            let a = wt
                .call(&id, function, &[1, 2, 3], gas)
                .expect("wasmtime call");
            let b = wi.call(&id, function, &[1, 2, 3], gas).expect("wasmi call");
            if a != b {
                dump(wasm);
            }
            prop_assert_eq!(&a, &b, "engines disagree on {} with gas {}", function, gas);
            if a.result
                == Err(CallError::Trap {
                    trap: Trap::StackExhausted,
                })
            {
                // Native wasmtime has no logical stack limit to compare with.
                continue;
            }
            if !vm::oracle::applicable(wasm) {
                // wasmtime 48 places gas differently from production here
                // (bulk memory, memory.grow, accesses past the maximum).
                if std::env::var_os("NATIVE_FUEL_STATS").is_some() {
                    eprintln!("STAT inapplicable");
                }
                continue;
            }
            let native = engines
                .native
                .call(wasm, function, &[1, 2, 3], gas)
                .expect("oracle");
            if std::env::var_os("NATIVE_FUEL_STATS").is_some() {
                eprintln!(
                    "STAT {} {}",
                    a.result
                        .as_ref()
                        .map_or_else(|e| e.kind().to_string(), |_| "ok".into()),
                    a.gas_spent
                );
            }
            if (&a.result, a.gas_spent) != (&native.result, native.gas_spent) {
                dump(wasm);
            }
            prop_assert_eq!(
                (&a.result, a.gas_spent),
                (&native.result, native.gas_spent),
                "instrumented vs native fuel on {} with gas {}",
                function,
                gas
            );
        }
    }
    Ok(())
}

/// Writes a failing contract's text where `NATIVE_FUEL_DUMP` says.
fn dump(wasm: &[u8]) {
    if let Some(path) = std::env::var_os("NATIVE_FUEL_DUMP") {
        let text = wasmprinter::print_bytes(wasm).unwrap_or_default();
        let _ = std::fs::write(path, text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("NATIVE_FUEL_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(96),
        max_global_rejects: 100_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn wasm32_contracts_meter_like_native_fuel(
        bytes in proptest::collection::vec(any::<u8>(), 64..2048),
        extra in 0u64..2_000,
    ) {
        let engines = Engines::new().expect("engines");
        let wasm = generate::contract(&mut Unstructured::new(&bytes), false);
        prop_assume!(wasm.is_ok());
        check_contract(&engines, &wasm.expect("assumed"), extra)?;
    }

    #[test]
    fn wasm64_contracts_meter_like_native_fuel(
        bytes in proptest::collection::vec(any::<u8>(), 64..2048),
        extra in 0u64..2_000,
    ) {
        let engines = Engines::new().expect("engines");
        let wasm = generate::contract(&mut Unstructured::new(&bytes), true);
        prop_assume!(wasm.is_ok());
        check_contract(&engines, &wasm.expect("assumed"), extra)?;
    }
}
