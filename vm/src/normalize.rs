//! Our receipts in the runner protocol's normalized terms
//! ([`runner_protocol::outcome`]), so that our engines and production are
//! compared by one comparison.
//!
//! The mapping of every error to a failure kind is an explicit table: the
//! kinds are production's (piecrust's `Error`), and each of ours maps to the
//! kind production reports for the same event.

use std::collections::BTreeMap;

use runner_protocol::outcome::{CallResult, DeployResult};
use runner_protocol::{
    Bytes, CallOutcome, DeployFailure, DeployOutcome, Event, Failure, FailureKind, Frame,
    MemoryState, TrapCode, bounded_text,
};

use crate::abi::ContractId;
use crate::failure::{CallError, EngineError, HostError, Trap};
use crate::session::{CallReceipt, DeployError, Deployment};
use crate::trace::{CallTree, FrameOutcome};

/// A contract id in the protocol's terms.
pub fn protocol_id(id: &ContractId) -> runner_protocol::ContractId {
    runner_protocol::ContractId(id.0)
}

fn trap_kind(trap: &Trap) -> FailureKind {
    let code = match trap {
        Trap::Unreachable => TrapCode::Unreachable,
        Trap::MemoryOutOfBounds => TrapCode::MemoryOutOfBounds,
        Trap::TableOutOfBounds => TrapCode::TableOutOfBounds,
        Trap::IndirectCallToNull => TrapCode::IndirectCallToNull,
        Trap::BadSignature => TrapCode::BadSignature,
        Trap::IntegerDivisionByZero => TrapCode::IntegerDivisionByZero,
        Trap::IntegerOverflow => TrapCode::IntegerOverflow,
        Trap::BadConversionToInteger => TrapCode::BadConversionToInteger,
        Trap::StackExhausted => TrapCode::StackOverflow,
        Trap::OutOfGas => return FailureKind::OutOfGas,
        Trap::Host(error) => return host_kind(error),
    };
    FailureKind::Trap { code }
}

fn host_kind(error: &HostError) -> FailureKind {
    match error {
        HostError::Panic { message } => FailureKind::Panic {
            message: message.clone(),
        },
        HostError::OutOfGas => FailureKind::OutOfGas,
        HostError::MemoryRange { .. }
        | HostError::ArgbufLength { .. }
        | HostError::QueryOutputTooLong { .. } => FailureKind::MemoryAccess,
        HostError::InvalidUtf8 { .. } => FailureKind::InvalidUtf8,
        HostError::NoFeeder => FailureKind::MissingFeed,
        HostError::UnknownQuery { name } => FailureKind::MissingHostQuery {
            name: bounded_text(name.clone()),
        },
    }
}

/// The failure kind production reports for `error`.
pub fn failure_kind(error: &CallError) -> FailureKind {
    match error {
        CallError::Panic { message } => FailureKind::Panic {
            message: message.clone(),
        },
        CallError::OutOfGas => FailureKind::OutOfGas,
        CallError::Trap { trap } => trap_kind(trap),
        CallError::Host { error } => host_kind(error),
        CallError::DoesNotExist { .. } => FailureKind::DoesNotExist,
        CallError::MissingFunction { name } => FailureKind::MissingFunction {
            name: bounded_text(name.clone()),
        },
        CallError::InitNotCallable => FailureKind::InitNotCallable,
        // Refusals only a nested call meets; a caller sees them as a code.
        CallError::DepthExceeded { .. } => FailureKind::Unknown,
        // piecrust reports an input or output that does not fit the
        // argument buffer as a memory access out of bounds.
        CallError::InputTooLarge { .. } | CallError::OutputLength { .. } => {
            FailureKind::MemoryAccess
        }
        CallError::Timeout { .. } => FailureKind::Timeout,
    }
}

/// A call error as a protocol failure.
pub fn failure(error: &CallError) -> Failure {
    Failure {
        kind: failure_kind(error),
        // In process, not on a runner's line: the full text (reports
        // shorten long values themselves).
        detail: error.to_string(),
        masked: None,
    }
}

/// The frames of a call tree as production lists them: the frames that
/// succeeded (with all their ancestors), in pre-order, each with the gas it
/// spent itself.
pub fn frames(tree: &CallTree) -> Vec<Frame> {
    fn visit(tree: &CallTree, out: &mut Vec<Frame>) {
        if matches!(tree.outcome, FrameOutcome::Failed { .. }) {
            return;
        }
        let succeeded = tree
            .children
            .iter()
            .filter(|child| matches!(child.outcome, FrameOutcome::Output(_)));
        let children_spent: u64 = succeeded.map(|child| child.gas_spent).sum();
        out.push(Frame {
            contract: protocol_id(&tree.contract),
            limit: tree.gas_limit,
            spent: tree.gas_spent.saturating_sub(children_spent),
        });
        for child in &tree.children {
            visit(child, out);
        }
    }
    let mut out = Vec::new();
    visit(tree, &mut out);
    out
}

/// A receipt as a protocol outcome, with the state after it.
pub fn call_outcome(
    receipt: &CallReceipt,
    state: BTreeMap<runner_protocol::ContractId, MemoryState>,
) -> Result<CallOutcome, EngineError> {
    if let Err(error @ CallError::Timeout { .. }) = &receipt.result {
        return Ok(CallOutcome::timed_out(receipt.gas_limit, error.to_string()));
    }
    let trace = match &receipt.call_tree {
        Some(tree) => Some(serde_json::to_value(tree).map_err(|e| {
            EngineError::HostInvariant(format!("a call tree does not serialize: {e}"))
        })?),
        None => None,
    };
    Ok(CallOutcome {
        result: match &receipt.result {
            Ok(output) => CallResult::Output(Bytes(output.clone())),
            Err(error) => CallResult::Failed(Failure {
                masked: receipt
                    .masked
                    .as_ref()
                    .map(|masked| Box::new(failure_kind(masked))),
                ..failure(error)
            }),
        },
        gas_limit: receipt.gas_limit,
        gas_spent: Some(receipt.gas_spent),
        events: Some(
            receipt
                .events
                .iter()
                .map(|record| Event {
                    source: protocol_id(&record.event.source),
                    topic: record.event.topic.clone(),
                    data: Bytes(record.event.data.clone()),
                    reverted: record.reverted,
                })
                .collect(),
        ),
        feed: receipt.feed.iter().cloned().map(Bytes).collect(),
        debug: receipt.debug.clone(),
        omitted: receipt.omitted.clone(),
        // A tree past its frame bound cannot list every frame that
        // succeeded: the list is then not exposed.
        frames: match &receipt.call_tree {
            Some(tree) if tree.omitted_frames.is_some() => None,
            Some(tree) => Some(frames(tree)),
            None => Some(Vec::new()),
        },
        state,
        trace,
        grow_refused: receipt.grow_refused,
    })
}

/// A deploy's result as a protocol outcome, with the state after it. An
/// error of the engine itself (not the contract's doing) stays an error.
pub fn deploy_outcome(
    result: &Result<Deployment, DeployError>,
    state: BTreeMap<runner_protocol::ContractId, MemoryState>,
) -> Result<DeployOutcome, EngineError> {
    let with_state = |receipt: &CallReceipt| call_outcome(receipt, state.clone());
    let (result, init) = match result {
        Ok(deployment) => (
            DeployResult::Deployed(protocol_id(&deployment.id)),
            deployment.init.as_ref().map(with_state).transpose()?,
        ),
        Err(DeployError::InitFailed { receipt })
            if matches!(receipt.result, Err(CallError::Timeout { .. })) =>
        {
            return Ok(DeployOutcome::timed_out());
        }
        Err(error) => {
            let failure = match error {
                DeployError::Admission(admission) => DeployFailure::Rejected {
                    message: error.to_string(),
                    rule: Some(admission.rule()),
                },
                DeployError::Instrument(_) => DeployFailure::Rejected {
                    message: error.to_string(),
                    rule: Some("instrumentation".into()),
                },
                // An engine that cannot compile a module rejects it: the
                // comparison then shows which engine accepted it.
                // Reports name the engine already: its message alone.
                DeployError::Engine(EngineError::Compile { message, .. }) => {
                    DeployFailure::Rejected {
                        message: format!("compilation failed: {message}"),
                        rule: Some("engine_compile".into()),
                    }
                }
                DeployError::Engine(other) => return Err(other.clone()),
                DeployError::DuplicateId(_) => DeployFailure::DuplicateId,
                DeployError::InstantiationTrap { trap } => match trap_kind(trap) {
                    FailureKind::Trap { code } => DeployFailure::InstantiationTrap {
                        code,
                        message: error.to_string(),
                    },
                    _ => {
                        return Err(EngineError::HostInvariant(format!(
                            "instantiation ended with a non-trap: {trap}"
                        )));
                    }
                },
                DeployError::InitFailed { receipt } => match &receipt.result {
                    Err(call_error) => DeployFailure::InitFailed {
                        failure: failure(call_error),
                    },
                    Ok(_) => {
                        return Err(EngineError::HostInvariant(
                            "a failed init with a successful receipt".into(),
                        ));
                    }
                },
            };
            let init = match error {
                DeployError::InitFailed { receipt } => Some(with_state(receipt)?),
                _ => None,
            };
            (DeployResult::Failed(failure), init)
        }
    };
    Ok(DeployOutcome {
        result,
        init,
        state,
        charged: None,
    })
}
