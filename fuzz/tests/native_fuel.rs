//! The determinism pass held to production's gas, on wasm-smith contracts:
//! the instrumented module validates, and for every export, call and gas
//! limit tried (completed or not), both our engines' outcome and gas equal
//! production's (piecrust 0.32.2, Dusk's fork of wasmtime 21), or differ as
//! a deviation-catalogue entry explains. This is the `gas` oracle
//! (`fuzz::oracle::gas`) over proptest inputs.
//!
//! wasmtime 48's native fuel stays as a second opinion inside the oracle,
//! where it places fuel as production does (`vm::oracle::applicable`): it
//! is the only check of the gas a *failed* call spent before it failed,
//! since piecrust gives no receipt, and so no gas, for a failed call.
//!
//! `NATIVE_FUEL_CASES` sets the cases per width (96 by default).

use std::cell::RefCell;

use arbitrary::Unstructured;
use fuzz::engines::OurEngines;
use fuzz::generate::{self, Case, CaseCall};
use fuzz::oracle::{self, DiscardCause, Verdict};
use fuzz::production::Production;
use proptest::prelude::*;
use vm::admission;
use vm::limits::Limits;

const GAS_LIMITS: [u64; 10] = [0, 1, 2, 3, 7, 20, 64, 300, 5_000, 200_000];

thread_local! {
    /// One production runner per test thread, reused across cases.
    static PRODUCTION: RefCell<Option<Production>> = const { RefCell::new(None) };
}

/// Every export with every gas limit (and `extra_limit`), each on a fresh
/// deploy.
fn calls(extra_limit: u64) -> Vec<CaseCall> {
    generate::FUNCTIONS
        .iter()
        .flat_map(|&function| {
            GAS_LIMITS
                .iter()
                .copied()
                .chain([extra_limit])
                .map(move |gas| CaseCall {
                    contract: 0,
                    function,
                    arg: vec![1, 2, 3],
                    gas,
                })
        })
        .collect()
}

fn check_contract(
    engines: &OurEngines,
    wasm: &[u8],
    extra_limit: u64,
) -> Result<(), TestCaseError> {
    let info = admission::admit(wasm, &Limits::default(), true);
    prop_assume!(info.is_ok(), "not a contract: {:?}", info.err());
    let info = info.expect("assumed");
    let instrumented =
        vm::determinism::instrument(wasm, &info).expect("admitted modules instrument");
    wasmparser::Validator::new_with_features(vm::features::INSTRUMENTED)
        .validate_all(&instrumented.wasm)
        .expect("the instrumented module validates");

    let case = Case {
        contracts: vec![wasm.to_vec()],
        calls: calls(extra_limit),
    };
    let verdict = PRODUCTION.with(|cell| {
        let mut cell = cell.borrow_mut();
        let production = cell.get_or_insert_with(|| {
            let spec = conformance::engines::EngineSpec::parse("piecrust-0.32.2").expect("engine");
            Production::new(&spec, &conformance::repository_root())
                .expect("the piecrust runner builds and starts")
        });
        oracle::gas(engines, Some(production), &case)
    });
    match verdict {
        Verdict::Agree | Verdict::Explained { .. } => Ok(()),
        Verdict::Discard(DiscardCause::NotAContract) => Err(TestCaseError::reject("not admitted")),
        other => {
            dump(wasm);
            Err(TestCaseError::fail(format!("{other:?}")))
        }
    }
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
    fn wasm32_contracts_meter_like_production(
        bytes in proptest::collection::vec(any::<u8>(), 64..2048),
        extra in 0u64..2_000,
    ) {
        let engines = OurEngines::new().expect("engines");
        let wasm = generate::contract(&mut Unstructured::new(&bytes), false);
        prop_assume!(wasm.is_ok());
        check_contract(&engines, &wasm.expect("assumed"), extra)?;
    }

    #[test]
    fn wasm64_contracts_meter_like_production(
        bytes in proptest::collection::vec(any::<u8>(), 64..2048),
        extra in 0u64..2_000,
    ) {
        let engines = OurEngines::new().expect("engines");
        let wasm = generate::contract(&mut Unstructured::new(&bytes), true);
        prop_assume!(wasm.is_ok());
        check_contract(&engines, &wasm.expect("assumed"), extra)?;
    }
}
