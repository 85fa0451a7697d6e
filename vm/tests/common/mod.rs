//! Helpers shared by the integration tests: run a contract on both engines
//! and on the native-fuel oracle, and insist they agree.

#![allow(dead_code)]

use vm::oracle::{NativeFuelOracle, NativeOutcome};
use vm::session::Deployment;
use vm::{CallReceipt, DeployOptions, Vm, VmConfig, WasmiEngine, WasmtimeEngine};

/// Both engines and the oracle, built once per test binary thread.
pub(crate) struct TestVms {
    pub wasmtime: Vm<WasmtimeEngine>,
    pub wasmi: Vm<WasmiEngine>,
    pub oracle: NativeFuelOracle,
}

impl TestVms {
    pub(crate) fn new() -> Self {
        TestVms {
            wasmtime: Vm::new(VmConfig::default()).expect("wasmtime"),
            wasmi: Vm::new(VmConfig::default()).expect("wasmi"),
            oracle: NativeFuelOracle::new(VmConfig::default()).expect("oracle"),
        }
    }
}

pub(crate) fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("test WAT parses")
}

/// Deploys `wat` on both engines (no init) and makes one call on each,
/// asserting the receipts are identical. Returns the receipt.
pub(crate) fn call_both(wat: &str, function: &str, arg: &[u8], gas: u64) -> CallReceipt {
    let engines = TestVms::new();
    call_both_with(&engines, &wasm(wat), function, arg, gas)
}

pub(crate) fn call_both_with(
    engines: &TestVms,
    wasm: &[u8],
    function: &str,
    arg: &[u8],
    gas: u64,
) -> CallReceipt {
    let options = DeployOptions {
        gas_limit: 1_000_000,
        ..DeployOptions::default()
    };
    let mut wt = engines.wasmtime.session();
    let Deployment { id, .. } = wt
        .deploy(wasm, options.clone())
        .expect("deploy on wasmtime");
    let mut wi = engines.wasmi.session();
    wi.deploy(wasm, options).expect("deploy on wasmi");
    let a = wt.call(&id, function, arg, gas).expect("call on wasmtime");
    let b = wi.call(&id, function, arg, gas).expect("call on wasmi");
    assert_eq!(a, b, "wasmtime and wasmi disagree on {function}");
    a
}

/// Like [`call_both`], and also checks the outcome class and gas against
/// wasmtime's native fuel on the uninstrumented module.
pub(crate) fn call_checked(
    engines: &TestVms,
    wasm: &[u8],
    function: &str,
    arg: &[u8],
    gas: u64,
) -> CallReceipt {
    let receipt = call_both_with(engines, wasm, function, arg, gas);
    if !vm::oracle::applicable(wasm) {
        // wasmtime 48 places gas differently from production here.
        return receipt;
    }
    let native: NativeOutcome = engines
        .oracle
        .call(wasm, function, arg, gas)
        .expect("oracle");
    assert_eq!(
        (receipt.result.is_ok(), receipt.gas_spent),
        (native.result.is_ok(), native.gas_spent),
        "instrumented {:?} vs native {:?} for {function} with gas {gas}",
        receipt.result,
        native.result
    );
    assert_eq!(
        receipt.result, native.result,
        "result differs from native fuel"
    );
    receipt
}

/// A 32-bit contract with a 2-page memory and the argument buffer at 0.
pub(crate) fn contract(body: &str) -> String {
    format!(
        r#"(module
            (memory (export "memory") 2)
            (global (export "A") i32 (i32.const 0))
            {body})"#
    )
}

/// Runs `expr` (leaving one value of type `ty` on the stack) on both
/// engines, stores it at the argument buffer and returns its bytes.
pub(crate) fn eval(ty: &str, expr: &str) -> Result<Vec<u8>, vm::CallError> {
    let (store, size) = match ty {
        "i32" => ("i32.store", 4),
        "i64" => ("i64.store", 8),
        "f32" => ("f32.store", 4),
        "f64" => ("f64.store", 8),
        "v128" => ("v128.store", 16),
        other => panic!("type {other}"),
    };
    let wat = contract(&format!(
        r#"(func (export "f") (param i32) (result i32)
             i32.const 0 {expr} {store}
             i32.const {size})"#
    ));
    call_both(&wat, "f", &[], 1_000_000).result
}

/// One contract deployed (default options) in a session of each engine,
/// called on both with the same gas; each call insists they agree.
pub(crate) struct DeployedOnBoth<'vm> {
    wasmtime: vm::Session<'vm, WasmtimeEngine>,
    wasmi: vm::Session<'vm, WasmiEngine>,
    id: vm::abi::ContractId,
}

impl<'vm> DeployedOnBoth<'vm> {
    pub(crate) fn new(
        wasmtime: &'vm Vm<WasmtimeEngine>,
        wasmi: &'vm Vm<WasmiEngine>,
        wasm: &[u8],
    ) -> Self {
        let mut sessions = (wasmtime.session(), wasmi.session());
        let Deployment { id, .. } = sessions
            .0
            .deploy(wasm, DeployOptions::default())
            .expect("deploy on wasmtime");
        sessions
            .1
            .deploy(wasm, DeployOptions::default())
            .expect("deploy on wasmi");
        DeployedOnBoth {
            wasmtime: sessions.0,
            wasmi: sessions.1,
            id,
        }
    }

    /// Calls `function` with no argument and 100,000 gas on both engines.
    pub(crate) fn call(&mut self, function: &str) -> Result<Vec<u8>, vm::CallError> {
        let a = self
            .wasmtime
            .call(&self.id, function, &[], 100_000)
            .expect("call on wasmtime");
        let b = self
            .wasmi
            .call(&self.id, function, &[], 100_000)
            .expect("call on wasmi");
        assert_eq!(a, b, "{function}");
        a.result
    }
}
