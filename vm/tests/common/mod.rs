//! Helpers shared by the integration tests: run a contract on both engines
//! and on the native-fuel oracle, and insist they agree.

#![allow(dead_code)]

use vm::abi::ContractId;
use vm::oracle::{NativeFuelOracle, NativeOutcome};
use vm::session::Deployment;
use vm::trace::CallTree;
use vm::{CallReceipt, DeployOptions, Session, Vm, VmConfig, WasmiEngine, WasmtimeEngine};

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
    let mut both = Both::of(engines);
    let id = both.deploy(
        wasm,
        DeployOptions {
            gas_limit: 1_000_000,
            ..DeployOptions::default()
        },
    );
    both.call(id, function, arg, gas)
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

/// A session of each engine, driven in lockstep: every deploy and call runs
/// on both and must give the same answer.
pub(crate) struct Both<'vm> {
    pub wasmtime: Session<'vm, WasmtimeEngine>,
    pub wasmi: Session<'vm, WasmiEngine>,
}

impl<'vm> Both<'vm> {
    pub(crate) fn new(wasmtime: &'vm Vm<WasmtimeEngine>, wasmi: &'vm Vm<WasmiEngine>) -> Self {
        Both {
            wasmtime: wasmtime.session(),
            wasmi: wasmi.session(),
        }
    }

    /// Sessions of the test VMs.
    pub(crate) fn of(engines: &'vm TestVms) -> Self {
        Both::new(&engines.wasmtime, &engines.wasmi)
    }

    /// Deploys `wasm` on both; the id they give must be the same.
    pub(crate) fn deploy(&mut self, wasm: &[u8], options: DeployOptions) -> ContractId {
        let Deployment { id, .. } = self
            .wasmtime
            .deploy(wasm, options.clone())
            .expect("deploy on wasmtime");
        let Deployment { id: on_wasmi, .. } =
            self.wasmi.deploy(wasm, options).expect("deploy on wasmi");
        assert_eq!(id, on_wasmi, "the engines gave different ids");
        id
    }

    /// Calls `function` on both; the receipts must be identical.
    pub(crate) fn call(
        &mut self,
        id: ContractId,
        function: &str,
        arg: &[u8],
        gas: u64,
    ) -> CallReceipt {
        let a = self
            .wasmtime
            .call(&id, function, arg, gas)
            .expect("call on wasmtime");
        let b = self
            .wasmi
            .call(&id, function, arg, gas)
            .expect("call on wasmi");
        assert_eq!(a, b, "wasmtime and wasmi disagree on {function}");
        a
    }
}

/// The innermost frame on the first-child path of `tree`, and its depth
/// (the root is depth 1).
pub(crate) fn deepest_frame(tree: &CallTree) -> (usize, &CallTree) {
    let mut frame = tree;
    let mut depth = 1;
    while let Some(child) = frame.children.first() {
        frame = child;
        depth += 1;
    }
    (depth, frame)
}
