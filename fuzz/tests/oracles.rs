//! Each oracle can fail: wrapped around a deliberately wrong engine, it
//! reports a divergence, and around the real engines it does not.

use fuzz::faulty::{ExtraGas, Faulty, FlipNan, RejectsLargeModules};
use fuzz::generate::{Case, CaseCall};
use fuzz::oracle::{self, Engines, Verdict};
use vm::{Vm, VmConfig, WasmiEngine};

fn case(wat: &str, function: &'static str) -> Case {
    Case {
        contracts: vec![wat::parse_str(wat).expect("parses")],
        calls: vec![CaseCall {
            contract: 0,
            function,
            arg: vec![],
            gas: 100_000,
        }],
    }
}

const NAN: &str = r#"(module
    (memory (export "memory") 2)
    (global (export "A") i32 (i32.const 0))
    (func (export "f") (param i32) (result i32)
      i32.const 0 f32.const 0 f32.const 0 f32.div f32.store i32.const 4))"#;

fn diverges_on(verdict: Verdict, field: &str) {
    match verdict {
        Verdict::Diverge(divergence) => assert!(
            divergence.fields.iter().any(|(f, _, _)| f == field),
            "{divergence:?}"
        ),
        other => panic!("expected a divergence on {field}, got {other:?}"),
    }
}

#[test]
fn differential_finds_an_extra_gas_unit_and_a_flipped_nan_bit() {
    let engines = Engines::new().expect("engines");
    let case = case(NAN, "f");
    assert_eq!(
        oracle::differential(&engines.wasmtime, &engines.wasmi, &case),
        Verdict::Agree
    );
    let extra: Vm<Faulty<WasmiEngine, ExtraGas>> = Vm::new(VmConfig::default()).expect("vm");
    diverges_on(
        oracle::differential(&engines.wasmtime, &extra, &case),
        "gas_spent",
    );
    let flip: Vm<Faulty<WasmiEngine, FlipNan>> = Vm::new(VmConfig::default()).expect("vm");
    diverges_on(
        oracle::differential(&engines.wasmtime, &flip, &case),
        "result.output",
    );
}

#[test]
fn gas_oracle_finds_an_extra_gas_unit() {
    let engines = Engines::new().expect("engines");
    let case = case(NAN, "f");
    assert_eq!(oracle::gas(&engines, &case), Verdict::Agree);
    let extra: Vm<Faulty<WasmiEngine, ExtraGas>> = Vm::new(VmConfig::default()).expect("vm");
    diverges_on(
        oracle::gas_with(&engines.wasmtime, &extra, &engines.native, &case),
        "gas_spent",
    );
}

#[test]
fn admission_oracle_finds_an_engine_that_refuses_modules() {
    let engines = Engines::new().expect("engines");
    let mut bytes = vec![0u8];
    bytes.extend_from_slice(&wat::parse_str(NAN).expect("parses"));
    assert_eq!(oracle::admission(&engines, &bytes), Verdict::Agree);
    let refusing: Vm<RejectsLargeModules<WasmiEngine>> = Vm::new(VmConfig::default()).expect("vm");
    diverges_on(
        oracle::admission_with(&engines.wasmtime, &refusing, &bytes),
        "result",
    );
}

#[test]
fn scenario_oracle_runs_the_corpus_contracts_and_finds_an_extra_gas_unit() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    let known = oracle::known_contracts(&corpus).expect("corpus contracts load and are admitted");
    let counter = known
        .iter()
        .position(|k| k.exports.iter().any(|e| e == "increment"))
        .expect("the counter contract is among the known contracts");
    let case = fuzz::generate::KnownCase {
        contracts: vec![counter],
        calls: vec![fuzz::generate::KnownCall {
            contract: 0,
            function: "increment".into(),
            arg: vec![],
            gas: 100_000,
        }],
    };
    let engines = Engines::new().expect("engines");
    assert_eq!(
        oracle::scenario(&engines.wasmtime, &engines.wasmi, &known, &case),
        Verdict::Agree
    );
    let extra: Vm<Faulty<WasmiEngine, ExtraGas>> = Vm::new(VmConfig::default()).expect("vm");
    diverges_on(
        oracle::scenario(&engines.wasmtime, &extra, &known, &case),
        // The counter's `init` already spends one more.
        "init.gas_spent",
    );
}

#[test]
fn a_full_instance_pool_is_a_counted_discard_not_a_divergence() {
    let mut config = VmConfig::default();
    config.engine.instance_pool = Some(1);
    let pooled: Vm<vm::WasmtimeEngine> = Vm::new(config).expect("vm");
    let engines = Engines::new().expect("engines");
    let mut two = case(NAN, "f");
    two.contracts.push(two.contracts[0].clone());
    assert_eq!(
        oracle::differential(&engines.wasmtime, &engines.wasmi, &two),
        Verdict::Agree
    );
    assert_eq!(
        oracle::differential(&pooled, &engines.wasmi, &two),
        Verdict::Discard(oracle::DiscardCause::InstancePoolExhausted)
    );
}
