//! The admission oracle.

use runner_protocol::compare_deploys;
use vm::engine::Engine;
use vm::{DeployOptions, Vm, normalize};

use super::{DiscardCause, Verdict, deploy_pool_exhausted, divergence, engine_error};
use crate::engines::OurEngines;
use crate::generate::{self};
use crate::phases::{Phase, timed};

/// The admission oracle: arbitrary bytes, or a generated contract with
/// bytes overwritten; admission never panics and both engines accept and
/// reject the same modules with the same error.
pub fn admission(engines: &OurEngines, bytes: &[u8]) -> Verdict {
    admission_with(&engines.wasmtime, &engines.wasmi, bytes)
}

/// [`admission`] with any two engines.
pub fn admission_with<A: Engine, B: Engine>(a: &Vm<A>, b: &Vm<B>, bytes: &[u8]) -> Verdict {
    let mut u = arbitrary::Unstructured::new(bytes);
    let wasm = match u.int_in_range(0..=2u8) {
        Err(_) => bytes.to_vec(),
        Ok(0) => u.take_rest().to_vec(),
        Ok(_) => {
            let Ok(mut wasm) = generate::contract(&mut u, false) else {
                return Verdict::Discard(DiscardCause::NotGenerated);
            };
            let edits = u.int_in_range(1..=4usize).unwrap_or(1);
            for _ in 0..edits {
                let (Ok(at), Ok(value)) = (u.int_in_range(0..=wasm.len() - 1), u.arbitrary::<u8>())
                else {
                    break;
                };
                wasm[at] = value;
            }
            wasm
        }
    };
    let mut sa = a.session();
    let mut sb = b.session();
    let (ra, rb) = timed(Phase::OurEngines, || {
        (
            sa.deploy(&wasm, DeployOptions::default()),
            sb.deploy(&wasm, DeployOptions::default()),
        )
    });
    if deploy_pool_exhausted(&ra) || deploy_pool_exhausted(&rb) {
        return Verdict::Discard(DiscardCause::InstancePoolExhausted);
    }
    let (oa, ob) = timed(Phase::OurDigests, || {
        (
            normalize::deploy_outcome(&ra, sa.memory_states()),
            normalize::deploy_outcome(&rb, sb.memory_states()),
        )
    });
    match (oa, ob) {
        (Ok(oa), Ok(ob)) => {
            match divergence("admission", "deploy".into(), compare_deploys(&oa, &ob)) {
                Some(divergence) => Verdict::Diverge(divergence),
                None => Verdict::Agree,
            }
        }
        (Err(error), _) | (_, Err(error)) => {
            engine_error("admission", "deploy".into(), 0, error.to_string())
        }
    }
}
