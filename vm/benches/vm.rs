//! The VM's figures: gas metering overhead on wasmtime, the cost of a
//! trivial call through the ABI on each engine, and the cost of preparing a
//! module (admission, determinism pass, compilation) per engine.
//!
//! Run with `cargo bench -p vm`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vm::engine::Engine;
use vm::oracle::NativeFuelOracle;
use vm::{DeployOptions, Vm, VmConfig, WasmiEngine, WasmtimeEngine};

/// Loops of integer and float arithmetic with memory traffic; the input is
/// the iteration count.
const COMPUTE: &str = r#"(module
  (memory (export "memory") 4)
  (global (export "A") i32 (i32.const 0))
  (func (export "compute") (param i32) (result i32)
    (local $i i32) (local $n i32) (local $acc i64) (local $f f64) (local $addr i32)
    i32.const 0 i32.load local.set $n
    f64.const 1 local.set $f
    (loop $l
      ;; integer arithmetic
      local.get $acc i64.const 6364136223846793005 i64.mul
      local.get $i i64.extend_i32_u i64.add
      i64.const 13 i64.rotl local.set $acc
      ;; float arithmetic
      local.get $f f64.const 0.5 f64.mul
      local.get $i f64.convert_i32_u f64.add
      f64.sqrt local.set $f
      ;; memory traffic over 128 KiB
      local.get $i i32.const 0x3fff i32.and i32.const 3 i32.shl
      i32.const 65536 i32.add local.tee $addr
      local.get $addr i64.load local.get $acc i64.xor
      i64.store
      local.get $i i32.const 1 i32.add local.tee $i
      local.get $n i32.lt_u br_if $l)
    i32.const 0 local.get $acc i64.store
    i32.const 8 local.get $f f64.store
    i32.const 16))"#;

/// Returns its input: argbuf in and out.
const ECHO: &str = r#"(module
  (memory (export "memory") 17)
  (global (export "A") i32 (i32.const 0))
  (func (export "echo") (param i32) (result i32) local.get 0))"#;

const ITERATIONS: u32 = 200_000;
const GAS: u64 = 1 << 40;

fn gas_overhead(c: &mut Criterion) {
    let wasm = wat::parse_str(COMPUTE).expect("compute contract");
    let arg = ITERATIONS.to_le_bytes();
    let vm = Vm::<WasmtimeEngine>::new(VmConfig::default()).expect("wasmtime");
    let mut session = vm.session();
    let id = session
        .deploy(&wasm, DeployOptions::default())
        .expect("deploys")
        .id;
    let oracle = NativeFuelOracle::new(VmConfig::default()).expect("oracle");
    let instrumented = session.call(&id, "compute", &arg, GAS).expect("runs");
    let native = oracle.call(&wasm, "compute", &arg, GAS).expect("runs");
    assert_eq!(
        (&instrumented.result, instrumented.gas_spent),
        (&native.result, native.gas_spent)
    );
    let mut group = c.benchmark_group("gas_overhead_wasmtime");
    group.sample_size(20);
    group.bench_function("instrumented", |b| {
        b.iter(|| {
            session
                .call(&id, "compute", black_box(&arg), GAS)
                .expect("runs")
        })
    });
    group.bench_function("native_fuel", |b| {
        b.iter(|| {
            oracle
                .call(&wasm, "compute", black_box(&arg), GAS)
                .expect("runs")
        })
    });
    // The oracle instantiates afresh for every call: its fixed cost, to
    // subtract from the line above.
    let no_iterations = 0u32.to_le_bytes();
    group.bench_function("native_fuel_fixed_cost", |b| {
        b.iter(|| {
            oracle
                .call(&wasm, "compute", black_box(&no_iterations), GAS)
                .expect("runs")
        })
    });
    group.finish();
}

/// Receipts with or without state digests: benchmarks report both.
fn digest_label(digests: bool) -> &'static str {
    if digests {
        "with_digests"
    } else {
        "no_digests"
    }
}

fn trivial_call<E: Engine>(c: &mut Criterion, name: &str) {
    let wasm = wat::parse_str(ECHO).expect("echo contract");
    let vm = Vm::<E>::new(VmConfig::default()).expect("engine");
    let mut session = vm.session();
    let id = session
        .deploy(&wasm, DeployOptions::default())
        .expect("deploys")
        .id;
    let input = [7u8; 32];
    for digests in [false, true] {
        session.set_state_digests(digests);
        let label = if digests {
            "with_digests"
        } else {
            "no_digests"
        };
        c.bench_function(&format!("trivial_call/{label}/{name}"), |b| {
            b.iter(|| {
                let receipt = session
                    .call(&id, "echo", black_box(&input), 1_000_000)
                    .expect("runs");
                black_box(receipt)
            })
        });
    }
}

fn trivial_calls(c: &mut Criterion) {
    trivial_call::<WasmtimeEngine>(c, "wasmtime");
    trivial_call::<WasmiEngine>(c, "wasmi");
}

/// A contract of about `bytes` bytes: many functions of arithmetic, loads,
/// stores, branches and calls.
fn module_of_size(bytes: usize) -> Vec<u8> {
    let function = |index: usize| {
        format!(
            r#"(func $f{index} (param $x i32) (result i32) (local $y i64)
                 local.get $x i32.const {index} i32.add i32.const 3 i32.mul
                 i32.const 0 i32.load i32.xor
                 if (result i32)
                   local.get $x i64.extend_i32_u i64.const 7 i64.mul local.set $y
                   i32.const 8 local.get $y i64.store
                   local.get $x i32.const 1 i32.shr_u
                 else
                   f32.const 1.5 local.get $x f32.convert_i32_s f32.mul
                   i32.trunc_sat_f32_s
                 end
                 (loop $l local.get $x i32.const 1 i32.sub local.tee $x br_if $l)
                 call $leaf)"#
        )
    };
    let mut functions = String::new();
    let mut count = 0;
    loop {
        let wat = format!(
            r#"(module
                 (memory (export "memory") 2)
                 (global (export "A") i32 (i32.const 0))
                 (func $leaf (param i32) (result i32) local.get 0)
                 {functions}
                 (func (export "main") (param i32) (result i32) local.get 0 call $leaf))"#
        );
        let wasm = wat::parse_str(&wat).expect("generated module");
        if wasm.len() >= bytes {
            return wasm;
        }
        functions.push_str(&function(count));
        count += 1;
    }
}

fn prepare<E: Engine>(c: &mut Criterion, name: &str, wasm: &[u8], label: &str) {
    let config = VmConfig::default();
    let engine = E::new(&config.engine, &config.limits).expect("engine");
    c.bench_function(&format!("prepare/{label}/{name}"), |b| {
        b.iter(|| {
            let info =
                vm::admission::admit(black_box(wasm), &config.limits, true).expect("admitted");
            let instrumented = vm::determinism::instrument(wasm, &info).expect("instrumented");
            black_box(engine.compile(&instrumented).expect("compiles"))
        })
    });
}

fn preparation(c: &mut Criterion) {
    for (label, size) in [("1KiB", 1024), ("100KiB", 100 * 1024)] {
        let wasm = module_of_size(size);
        eprintln!("{label} module: {} bytes", wasm.len());
        prepare::<WasmtimeEngine>(c, "wasmtime", &wasm, label);
        prepare::<WasmiEngine>(c, "wasmi", &wasm, label);
    }
}

const ACTOR: &str = include_str!("../../corpus/contracts/actors/actor32.wat");

/// A request for the actor's `call`.
fn request(callee: &vm::abi::ContractId, function: &str, arg: &[u8]) -> Vec<u8> {
    let mut bytes = callee.as_bytes().to_vec();
    bytes.extend_from_slice(&0i64.to_le_bytes());
    bytes.extend_from_slice(
        &u32::try_from(function.len())
            .expect("a short name")
            .to_le_bytes(),
    );
    bytes.extend_from_slice(function.as_bytes());
    bytes.extend_from_slice(arg);
    bytes
}

fn deploy_actor<E: Engine>(session: &mut vm::Session<'_, E>, n: u8) -> vm::abi::ContractId {
    let wasm = wat::parse_str(ACTOR).expect("actor");
    let options = DeployOptions {
        id: Some(vm::abi::ContractId([n; 32])),
        ..DeployOptions::default()
    };
    session.deploy(&wasm, options).expect("deploys").id
}

fn inter_contract<E: Engine>(c: &mut Criterion, name: &str) {
    let vm = Vm::<E>::new(VmConfig::default()).expect("engine");
    let mut session = vm.session();
    let a = deploy_actor(&mut session, 1);
    let b = deploy_actor(&mut session, 2);
    let round_trip = request(&b, "out32", &[]);
    for digests in [false, true] {
        session.set_state_digests(digests);
        let label = digest_label(digests);
        c.bench_function(&format!("round_trip_32_bytes/{label}/{name}"), |bench| {
            bench.iter(|| {
                session
                    .call(&a, "call", black_box(&round_trip), 10_000_000)
                    .expect("runs")
            })
        });
    }
    session.set_state_digests(false);
    let mut chain = request(&a, "echo", b"deep");
    for _ in 2..48 {
        chain = request(&a, "call", &chain);
    }
    let receipt = session.call(&a, "call", &chain, 1 << 40).expect("runs");
    assert!(receipt.result.is_ok());
    c.bench_function(&format!("chain_48_deep/{name}"), |bench| {
        bench.iter(|| {
            session
                .call(&a, "call", black_box(&chain), 1 << 40)
                .expect("runs")
        })
    });
}

fn inter_contract_calls(c: &mut Criterion) {
    inter_contract::<WasmtimeEngine>(c, "wasmtime");
    inter_contract::<WasmiEngine>(c, "wasmi");
}

/// A failing call that writes one page, in a memory of `pages` pages.
fn failing_write<E: Engine>(c: &mut Criterion, name: &str, pages: u32) {
    let wat = format!(
        r#"(module
            (memory (export "memory") {pages})
            (global (export "A") i32 (i32.const 0))
            (func (export "dirty_then_fail") (param i32) (result i32)
              i32.const 200000 i32.const 1 i32.store
              unreachable))"#
    );
    let wasm = wat::parse_str(&wat).expect("contract");
    let vm = Vm::<E>::new(VmConfig::default()).expect("engine");
    let mut session = vm.session();
    let id = session
        .deploy(&wasm, DeployOptions::default())
        .expect("deploys")
        .id;
    for digests in [false, true] {
        session.set_state_digests(digests);
        let label = digest_label(digests);
        let label = format!("failing_call_one_page/{label}/{}MiB/{name}", pages / 16);
        c.bench_function(&label, |bench| {
            bench.iter(|| {
                session
                    .call(&id, "dirty_then_fail", &[], 1_000_000)
                    .expect("runs")
            })
        });
    }
}

fn rollback_cost(c: &mut Criterion) {
    for pages in [16, 1024] {
        failing_write::<WasmtimeEngine>(c, "wasmtime", pages);
        failing_write::<WasmiEngine>(c, "wasmi", pages);
    }
}

criterion_group!(
    benches,
    gas_overhead,
    trivial_calls,
    preparation,
    inter_contract_calls,
    rollback_cost
);
criterion_main!(benches);
