//! Running a call frame, the same way for top-level calls and for calls
//! contracts make through `c`: argument in, gas set, state checkpointed,
//! the export run, the failure classified, state committed or rolled back,
//! the frame traced.

use std::collections::BTreeSet;

use super::imports::write_memory;
use super::{Frame, HostState, with_journal};
use crate::abi::{ARGBUF_LEN, ContractId};
use crate::determinism::AbortCode;
use crate::engine::{InstanceId, Instances, Runtime, VmGlobal};
use crate::failure::{CallError, CallFailure, EngineError, HostError, HostFailure, Trap};
use crate::gas::GasCounter;
use crate::trace::{FrameOutcome, TracedBytes};

/// The contract-visible error of a failed execution. A failure while no gas
/// remains is out-of-gas, whatever raised it.
pub(crate) fn classify(trap: Trap, abort: Option<AbortCode>, remaining: u64) -> CallError {
    if remaining == 0 {
        return CallError::OutOfGas;
    }
    match (trap, abort) {
        (_, Some(AbortCode::OutOfGas)) | (Trap::OutOfGas, _) => CallError::OutOfGas,
        (_, Some(AbortCode::StackExhausted)) => CallError::Trap {
            trap: Trap::StackExhausted,
        },
        (Trap::Host(HostError::Panic { message }), None) => CallError::Panic { message },
        (Trap::Host(HostError::OutOfGas), None) => CallError::OutOfGas,
        (Trap::Host(error), None) => CallError::Host { error },
        (trap, None) => CallError::Trap { trap },
    }
}

/// A frame to run.
pub struct FrameRequest<'a> {
    /// The instance whose export runs.
    pub callee: InstanceId,
    /// The export.
    pub function: &'a str,
    /// The input, written to the callee's argument buffer.
    pub arg: &'a [u8],
    /// The frame's gas limit.
    pub gas_limit: u64,
    /// Logical stack already used by the frames below, in bytes.
    pub stack_base: i64,
    /// Whether a contract made the call (through `c`): the trace then
    /// records the code the caller sees on failure.
    pub nested: bool,
}

/// How a frame ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameResult {
    /// The output, or why there is none.
    pub result: Result<Vec<u8>, CallError>,
    /// Gas the frame spent.
    pub gas_spent: u64,
    /// For a frame that failed with `out_of_gas` because it failed
    /// otherwise while no gas remained, that failure (production reports it
    /// as `out_of_gas` too).
    pub masked: Option<CallError>,
}

/// The failure a frame with no gas left hides behind `out_of_gas`: a trap
/// of the contract's code or a host function's error, not a gas check.
fn masked_failure(trap: &Trap, abort: Option<AbortCode>, remaining: u64) -> Option<CallError> {
    if remaining != 0 {
        return None;
    }
    // What the frame would have been with gas left.
    match classify(trap.clone(), abort, u64::MAX) {
        CallError::OutOfGas => None,
        failure => Some(failure),
    }
}

/// Runs a frame: checkpoints state, calls the export, and commits or rolls
/// back. The callee must exist and export `function` (the caller checks).
pub fn run_frame(
    rt: &mut dyn Runtime<HostState>,
    request: FrameRequest,
) -> Result<FrameResult, EngineError> {
    let FrameRequest {
        callee,
        function,
        arg,
        gas_limit,
        stack_base,
        nested,
    } = request;
    let slot = rt
        .host()
        .contracts
        .get(callee.0)
        .cloned()
        .ok_or_else(|| EngineError::HostInvariant(format!("no contract slot {}", callee.0)))?;
    with_journal(rt, |journal, instances| journal.begin(instances))?;
    rt.host().trace.enter(slot.id, function, arg, gas_limit);
    rt.host().journal.enter(callee);

    write_memory(rt, callee, slot.argbuf_offset, arg).map_err(|failure| match failure {
        HostFailure::Engine(error) => error,
        HostFailure::Contract(error) => {
            EngineError::HostInvariant(format!("writing the input: {error}"))
        }
    })?;
    let (frame, gas) = Frame::new(callee, gas_limit);
    rt.set_vm_global(callee, VmGlobal::Fuel, gas.0)?;
    rt.set_vm_global(callee, VmGlobal::SavedFuel, gas.0)?;
    rt.set_vm_global(callee, VmGlobal::Stack, stack_base)?;
    rt.set_vm_global(callee, VmGlobal::Abort, 0)?;
    rt.host().frames.push(frame);
    let refused_before = rt.vm_global(callee, VmGlobal::GrowRefused)?;
    let arg_len = u32::try_from(arg.len()).map_err(|_| {
        EngineError::HostInvariant(format!("an input of {} bytes reached a frame", arg.len()))
    })?;
    let outcome = rt.call(callee, function, arg_len);
    let frame = rt.host().frames.pop().unwrap_or(frame);
    if rt.vm_global(callee, VmGlobal::GrowRefused)? != refused_before {
        rt.host().grow_refused = true;
    }

    let counter = GasCounter(rt.vm_global(callee, VmGlobal::SavedFuel)?);
    let remaining = frame.left(counter);
    let gas_spent = frame.spent(counter);
    let mut masked = None;
    let result = match outcome {
        Ok(len) => output(rt, callee, slot.argbuf_offset, len)?,
        Err(CallFailure::Engine(error)) => {
            // Leave the state as it was before the frame; the error goes on.
            let _ = finish_state(rt, false);
            return Err(error);
        }
        Err(CallFailure::Trap(trap)) => {
            let abort = AbortCode::from_global(rt.vm_global(callee, VmGlobal::Abort)?);
            masked = masked_failure(&trap, abort, remaining);
            Err(classify(trap, abort, remaining))
        }
    };
    finish_state(rt, result.is_ok())?;
    let outcome = match &result {
        Ok(output) => FrameOutcome::Output(TracedBytes::new(output)),
        Err(error) => FrameOutcome::Failed {
            code: nested.then(|| error.code().code()),
            error: error.clone(),
        },
    };
    rt.host().trace.exit(gas_spent, outcome);
    Ok(FrameResult {
        result,
        gas_spent,
        masked,
    })
}

/// The output of a call that returned `len`: that many bytes of the
/// argument buffer at `argbuf_offset`, or a failure if `len` is outside
/// `0..=65536`.
pub fn output(
    instances: &mut dyn Instances,
    instance: InstanceId,
    argbuf_offset: u64,
    len: i32,
) -> Result<Result<Vec<u8>, CallError>, EngineError> {
    let Some(len) = usize::try_from(len).ok().filter(|&len| len <= ARGBUF_LEN) else {
        return Ok(Err(CallError::OutputLength { len }));
    };
    let memory = instances.memory(instance)?;
    let bytes = usize::try_from(argbuf_offset)
        .ok()
        .and_then(|start| memory.get(start..start.checked_add(len)?))
        .ok_or_else(|| {
            EngineError::HostInvariant(format!(
                "the argument buffer at {argbuf_offset} is outside memory of {} bytes",
                memory.len()
            ))
        })?;
    Ok(Ok(bytes.to_vec()))
}

/// Commits or rolls back the frame's level; at top level, also replaces
/// contracts whose growth had to wait and puts every contract that ran back
/// to its initial globals.
fn finish_state(rt: &mut dyn Runtime<HostState>, success: bool) -> Result<(), EngineError> {
    let running: BTreeSet<usize> = rt
        .host()
        .frames
        .iter()
        .map(|frame| frame.instance.0)
        .collect();
    with_journal(rt, |journal, instances| {
        if success {
            journal.commit(instances)?;
        } else {
            journal.rollback(instances, &running)?;
        }
        if journal.depth() == 0 {
            journal.settle(instances)?;
            journal.reset_globals(instances)?;
        }
        Ok(())
    })
}

/// Records, in the trace, a nested call refused before it ran.
pub(crate) fn trace_refused(
    rt: &mut dyn Runtime<HostState>,
    contract: ContractId,
    function: &str,
    arg: &[u8],
    gas_limit: u64,
    error: &CallError,
) {
    let trace = &mut rt.host().trace;
    trace.enter(contract, function, arg, gas_limit);
    trace.exit(
        0,
        FrameOutcome::Failed {
            code: Some(error.code().code()),
            error: error.clone(),
        },
    );
}
