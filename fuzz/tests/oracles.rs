//! Each oracle can fail: wrapped around a deliberately wrong engine, it
//! reports a divergence, and around the real engines it does not.

use fuzz::engines::OurEngines;
use fuzz::faulty::{ExtraGas, Faulty, FlipNan, RejectsLargeModules};
use fuzz::generate::{Case, CaseCall};
use fuzz::oracle::{self, Verdict};
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

/// The two values of `field` in the divergence `verdict` must be.
fn diverges_on(verdict: Verdict, field: &str) -> (String, String) {
    match verdict {
        Verdict::Diverge(divergence) => divergence
            .fields
            .iter()
            .find(|(f, _, _)| f == field)
            .map(|(_, left, right)| (left.clone(), right.clone()))
            .unwrap_or_else(|| panic!("no difference in {field}: {divergence:?}")),
        other => panic!("expected a divergence on {field}, got {other:?}"),
    }
}

#[test]
fn differential_finds_an_extra_gas_unit_and_a_flipped_nan_bit() {
    let engines = OurEngines::new().expect("engines");
    let case = case(NAN, "f");
    assert_eq!(
        oracle::differential(&engines.wasmtime, &engines.wasmi, None, &case),
        Verdict::Agree
    );
    let extra: Vm<Faulty<WasmiEngine, ExtraGas>> = Vm::new(VmConfig::default()).expect("vm");
    assert_eq!(
        diverges_on(
            oracle::differential(&engines.wasmtime, &extra, None, &case),
            "gas_spent",
        ),
        ("22".to_string(), "23".to_string())
    );
    let flip: Vm<Faulty<WasmiEngine, FlipNan>> = Vm::new(VmConfig::default()).expect("vm");
    // The canonical f32 NaN, 0x7fc00000, and the same with a payload bit.
    assert_eq!(
        diverges_on(
            oracle::differential(&engines.wasmtime, &flip, None, &case),
            "result.output",
        ),
        ("0x0000c07f".to_string(), "0x0100c07f".to_string())
    );
}

#[test]
fn gas_oracle_finds_an_extra_gas_unit() {
    let engines = OurEngines::new().expect("engines");
    let case = case(NAN, "f");
    assert_eq!(oracle::gas(&engines, None, &case), Verdict::Agree);
    let extra: Vm<Faulty<WasmiEngine, ExtraGas>> = Vm::new(VmConfig::default()).expect("vm");
    // The call costs 22 gas (the function's entry, 4 constants and a
    // division at 1 each, an f32 store at 4 per byte), the wrong engine 23.
    assert_eq!(
        diverges_on(
            oracle::gas_with(&engines.wasmtime, &extra, &engines.native, None, &case),
            "gas_spent",
        ),
        ("22".to_string(), "23".to_string())
    );
}

#[test]
fn admission_oracle_finds_an_engine_that_refuses_modules() {
    let engines = OurEngines::new().expect("engines");
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
    let known =
        fuzz::corpus::known_contracts(&corpus).expect("corpus contracts load and are admitted");
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
    let engines = OurEngines::new().expect("engines");
    assert_eq!(
        oracle::scenario(&engines.wasmtime, &engines.wasmi, None, &known, &case),
        Verdict::Agree
    );
    let extra: Vm<Faulty<WasmiEngine, ExtraGas>> = Vm::new(VmConfig::default()).expect("vm");
    diverges_on(
        oracle::scenario(&engines.wasmtime, &extra, None, &known, &case),
        // The counter's `init` already spends one more.
        "init.gas_spent",
    );
}

#[test]
fn a_full_instance_pool_is_a_counted_discard_not_a_divergence() {
    let mut config = VmConfig::default();
    config.engine.instance_pool = Some(1);
    let pooled: Vm<vm::WasmtimeEngine> = Vm::new(config).expect("vm");
    let engines = OurEngines::new().expect("engines");
    let mut two = case(NAN, "f");
    two.contracts.push(two.contracts[0].clone());
    assert_eq!(
        oracle::differential(&engines.wasmtime, &engines.wasmi, None, &two),
        Verdict::Agree
    );
    assert_eq!(
        oracle::differential(&pooled, &engines.wasmi, None, &two),
        Verdict::Discard(oracle::DiscardCause::InstancePoolExhausted)
    );
}

/// Production, built on first use, with the repository's catalogue.
fn production() -> fuzz::production::Production {
    let spec = conformance::engines::EngineSpec::parse("piecrust-0.32.2").expect("engine");
    fuzz::production::Production::new(&spec, &conformance::repository_root())
        .expect("the piecrust runner builds and starts")
}

#[test]
fn three_way_the_oracles_agree_with_production() {
    let engines = OurEngines::new().expect("engines");
    let mut production = production();
    let case = case(NAN, "f");
    assert_eq!(
        oracle::differential(
            &engines.wasmtime,
            &engines.wasmi,
            Some(&mut production),
            &case
        ),
        Verdict::Agree
    );
    assert_eq!(
        oracle::gas(&engines, Some(&mut production), &case),
        Verdict::Agree
    );
}

#[test]
fn three_way_a_catalogued_difference_is_explained_and_ends_the_comparison() {
    let engines = OurEngines::new().expect("engines");
    let mut production = production();
    // A load one page past the end of memory: ours traps, production reads
    // its reservation; the store after it differs too, but production is no
    // longer compared.
    let oob = case(
        r#"(module
            (memory (export "memory") 2)
            (global (export "A") i32 (i32.const 0))
            (func (export "f") (param i32) (result i32)
              i32.const 0 i32.const 140000 i32.load i32.store i32.const 4))"#,
        "f",
    );
    let mut twice = oob.clone();
    twice.calls.push(twice.calls[0].clone());
    assert_eq!(
        oracle::differential(
            &engines.wasmtime,
            &engines.wasmi,
            Some(&mut production),
            &twice
        ),
        Verdict::Explained {
            deviation: "oob-access-within-reservation".into(),
            production_panicked: false,
        }
    );
    // The gas oracle judges each call on a fresh deploy: the same entry.
    assert_eq!(
        oracle::gas(&engines, Some(&mut production), &oob),
        Verdict::Explained {
            deviation: "oob-access-within-reservation".into(),
            production_panicked: false,
        }
    );
}

#[test]
fn three_way_a_production_that_differs_unexplained_is_a_divergence() {
    // A fake production that deploys anything and answers every call with
    // an empty output after spending 7.
    let dir = std::env::temp_dir().join(format!("fuzz-fake-runner-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let script = dir.join("runner");
    let id = "00".repeat(32);
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
while read -r line; do
  case "$line" in
    *'"op":"hello"'*) echo '{{"hello":{{"protocol":{protocol},"engine":"fake","version":"0"}}}}' ;;
    *'"op":"session"'*) echo '{{"session":{{}}}}' ;;
    *'"op":"deploy"'*) echo '{{"deploy":{{"result":{{"deployed":"{id}"}},"init":null,"state":{{}}}}}}' ;;
    *'"op":"call"'*) echo '{{"call":{{"result":{{"output":""}},"gas_limit":100000,"gas_spent":7,"events":[],"feed":[],"debug":[],"frames":null,"state":{{}}}}}}' ;;
    *) exit 0 ;;
  esac
done
"#,
            protocol = runner_protocol::wire::PROTOCOL_VERSION
        ),
    )
    .expect("writes");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let runner = conformance::driver::process::RunnerProcess::new(
        "fake-production".into(),
        "piecrust-0.32.2".into(),
        script,
        std::time::Duration::from_secs(10),
    );
    let catalogue = conformance::catalogue::Catalogue::load(
        &conformance::repository_root().join("corpus/deviations.toml"),
    )
    .expect("catalogue");
    let mut fake = fuzz::production::Production::with_runner(runner, catalogue);
    let engines = OurEngines::new().expect("engines");
    let verdict = oracle::differential(
        &engines.wasmtime,
        &engines.wasmi,
        Some(&mut fake),
        &case(NAN, "f"),
    );
    match verdict {
        Verdict::Diverge(divergence) => {
            let fields: Vec<&str> = divergence
                .fields
                .iter()
                .map(|(f, _, _)| f.as_str())
                .collect();
            assert_eq!(divergence.step, "deploy 0");
            assert!(
                fields.contains(&"fake-production: state.00000000"),
                "{fields:?}"
            );
        }
        other => panic!("expected a divergence from the fake production, got {other:?}"),
    }
}
