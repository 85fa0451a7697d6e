//! wasmtime with an instance pool (`EngineConfig::instance_pool`): the same
//! receipts as without, and a typed error when the pool runs out.

use vm::admission;
use vm::failure::EngineError;
use vm::limits::Limits;
use vm::{DeployError, DeployOptions, Vm, VmConfig, WasmtimeEngine};

fn pooled(instances: u32) -> Vm<WasmtimeEngine> {
    let mut config = VmConfig::default();
    config.engine.instance_pool = Some(instances);
    Vm::new(config).expect("a pooled engine")
}

fn contracts() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/contracts");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("corpus/contracts") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|ext| ext == "wat") {
            let wasm = wat::parse_file(&path).expect("parses");
            found.push((path.display().to_string(), wasm));
        }
    }
    found.sort();
    found
}

const GROW_AND_FAIL: &str = r#"(module
    (memory (export "memory") 1 4)
    (global (export "A") i32 (i32.const 0))
    (func (export "grow") (param i32) (result i32)
      (drop (memory.grow (i32.const 2)))
      (i32.store (i32.const 70000) (i32.const 7))
      (if (local.get 0) (then unreachable))
      (i32.const 8)))"#;

#[test]
fn pooled_wasmtime_gives_the_same_receipts() {
    let plain: Vm<WasmtimeEngine> = Vm::new(VmConfig::default()).expect("engine");
    let pooled = pooled(64);
    let mut contracts = contracts();
    contracts.push((
        "grow".into(),
        wat::parse_str(GROW_AND_FAIL).expect("parses"),
    ));
    let options = DeployOptions {
        gas_limit: 1_000_000,
        ..DeployOptions::default()
    };
    let mut calls = 0;
    for (name, wasm) in &contracts {
        let info = admission::admit(wasm, &Limits::default(), true).expect("admitted");
        let (mut a, mut b) = (plain.session(), pooled.session());
        let da = a.deploy(wasm, options.clone()).expect("deploys");
        let db = b.deploy(wasm, options.clone()).expect("deploys");
        assert_eq!(da.init, db.init, "{name}: init");
        for function in info.exports.iter().filter(|export| *export != "init") {
            for (arg, gas) in [
                (&[][..], 100_000),
                (&[1, 2, 3, 4][..], 50),
                (&[9; 40][..], 1_000_000),
            ] {
                let ra = a.call(&da.id, function, arg, gas).expect("runs");
                let rb = b.call(&db.id, function, arg, gas).expect("runs");
                assert_eq!(ra, rb, "{name}: {function}");
                calls += 1;
            }
        }
    }
    assert!(calls > 30, "only {calls} calls");
}

#[test]
fn a_session_needing_more_instances_than_the_pool_gets_a_typed_error() {
    let vm = pooled(2);
    let wasm = wat::parse_str(GROW_AND_FAIL).expect("parses");
    let mut session = vm.session();
    let deploy = |session: &mut vm::Session<'_, WasmtimeEngine>, id: u8| {
        session.deploy(
            &wasm,
            DeployOptions {
                id: Some(vm::abi::ContractId([id; 32])),
                ..DeployOptions::default()
            },
        )
    };
    deploy(&mut session, 1).expect("fits");
    deploy(&mut session, 2).expect("fits");
    let third = deploy(&mut session, 3);
    assert!(
        matches!(
            third,
            Err(DeployError::Engine(
                EngineError::InstancePoolExhausted { .. }
            ))
        ),
        "{third:?}"
    );
}

/// A module of `tables` one-element tables whose export calls through the
/// last of them.
fn with_tables(tables: usize) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (memory (export "memory") 1)
            (global (export "A") i32 (i32.const 0))
            {}
            (table $last 1 funcref)
            (type $seven (func (result i32)))
            (func $seven (result i32) (i32.const 7))
            (elem (table $last) (i32.const 0) func $seven)
            (func (export "f") (param i32) (result i32)
              (i32.store (i32.const 0) (call_indirect $last (type $seven) (i32.const 0)))
              (i32.const 4)))"#,
        "(table 1 funcref) ".repeat(tables - 1)
    ))
    .expect("parses")
}

#[test]
fn a_module_with_more_tables_than_the_pool_gets_a_typed_error() {
    // A pool of one instance holds two tables: a module with two runs, one
    // with three is refused before wasmtime sees it.
    let vm = pooled(1);
    let mut session = vm.session();
    let deployment = session
        .deploy(&with_tables(2), DeployOptions::default())
        .expect("two tables fit");
    let receipt = session
        .call(&deployment.id, "f", &[], 1_000)
        .expect("a call");
    assert_eq!(receipt.result, Ok(vec![7, 0, 0, 0]));

    let result = vm
        .session()
        .deploy(&with_tables(3), DeployOptions::default());
    assert_eq!(
        result.map(|deployment| deployment.id),
        Err(DeployError::Engine(EngineError::InstancePoolExhausted {
            engine: vm::EngineKind::Wasmtime,
            message: "3 tables, the pool holds 2".into(),
        }))
    );
}
