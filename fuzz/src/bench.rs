//! What the differential oracle costs over running the same cases bare.

use std::time::Instant;

use serde::Serialize;
use vm::Vm;

use crate::engines::OurEngines;
use crate::generate::{self, Case};
use crate::inputs::{Inputs, Reuse};
use crate::judge::Target;
use crate::oracle::{self};

/// Seconds the same cases took bare (deploy and call on both engines,
/// nothing compared) and through the differential oracle.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Overhead {
    pub cases: usize,
    /// Each pass on new engines: compilation, instantiation and calls.
    pub cold_bare: f64,
    pub cold_oracle: f64,
    /// Both passes again with every module compiled: instantiation and
    /// calls only, where the oracle's share is largest.
    pub warm_bare: f64,
    pub warm_oracle: f64,
}

/// Times the same generated cases bare and through the oracle, cold and
/// warm (see [`Overhead`]), in one run.
pub fn overhead(cases: usize, seed: u64) -> Result<Overhead, String> {
    let mut inputs = Inputs::new(Target::Differential, Reuse::NONE, seed);
    let mut generated = Vec::new();
    while generated.len() < cases {
        if let Ok(case) = generate::case(&inputs.next()) {
            generated.push(case);
        }
    }
    let time = |run: &dyn Fn()| {
        let started = Instant::now();
        run();
        started.elapsed().as_secs_f64()
    };
    // Every contract stays cached once compiled.
    let capacity = 3 * cases;
    let bare_engines = OurEngines::with_module_cache(capacity)?;
    let bare_pass = || {
        for case in &generated {
            bare(&bare_engines.wasmtime, case);
            bare(&bare_engines.wasmi, case);
        }
    };
    let oracle_engines = OurEngines::with_module_cache(capacity)?;
    let oracle_pass = || {
        for case in &generated {
            std::hint::black_box(oracle::differential(
                &oracle_engines.wasmtime,
                &oracle_engines.wasmi,
                None,
                case,
            ));
        }
    };
    let cold_bare = time(&bare_pass);
    let cold_oracle = time(&oracle_pass);
    Ok(Overhead {
        cases: generated.len(),
        cold_bare,
        cold_oracle,
        warm_bare: time(&bare_pass),
        warm_oracle: time(&oracle_pass),
    })
}

/// A case's deploys and calls on one engine, with nothing compared.
fn bare<E: vm::engine::Engine>(vm: &Vm<E>, case: &Case) {
    let mut session = vm.session();
    session.attach_feeder();
    session.set_host_data("", vec![1, 2, 3]);
    for (index, wasm) in case.contracts.iter().enumerate() {
        let options = vm::DeployOptions {
            id: Some(Case::id(index)),
            gas_limit: 1_000_000,
            ..vm::DeployOptions::default()
        };
        let _ = std::hint::black_box(session.deploy(wasm, options));
    }
    for call in &case.calls {
        let _ = std::hint::black_box(session.call(
            &Case::id(call.contract),
            call.function,
            &call.arg,
            call.gas,
        ));
    }
}
