//! Receipts in the runner protocol's terms (`vm::normalize`), with absolute
//! values: what every comparison with production reads, so a mistake here
//! would be shared by both our engines.

use runner_protocol::outcome::{CallResult, DeployFailure, DeployResult, FailureKind, TrapCode};
use runner_protocol::{ContractId as ProtocolId, Omitted};
use vm::abi::ContractId;
use vm::normalize::{call_outcome, deploy_outcome, frames};
use vm::session::Deployment;
use vm::trace::{CallTree, FrameOutcome, TracedBytes};
use vm::{CallError, CallReceipt, DeployError, Trap};

fn tree(id: u8, spent: u64, ok: bool, children: Vec<CallTree>) -> CallTree {
    CallTree {
        contract: ContractId([id; 32]),
        function: "f".into(),
        arg: TracedBytes::new(&[]),
        gas_limit: 1_000,
        gas_spent: spent,
        outcome: if ok {
            FrameOutcome::Output(TracedBytes::new(&[]))
        } else {
            FrameOutcome::Failed {
                code: Some(-2),
                error: CallError::OutOfGas,
            }
        },
        events: Vec::new(),
        children,
        omitted_frames: None,
    }
}

fn receipt(result: Result<Vec<u8>, CallError>, call_tree: Option<CallTree>) -> CallReceipt {
    CallReceipt {
        result,
        gas_limit: 1_000,
        gas_spent: 100,
        events: Vec::new(),
        debug: Vec::new(),
        feed: Vec::new(),
        omitted: Default::default(),
        call_tree,
        state: Default::default(),
        masked: None,
        grow_refused: false,
    }
}

/// Production lists the frames that succeeded, in pre-order, each with
/// the gas it spent itself (its callees' that succeeded taken out).
#[test]
fn frames_are_the_successful_ones_with_their_own_gas() {
    let root = tree(
        1,
        100,
        true,
        vec![
            tree(2, 30, true, vec![tree(3, 10, true, Vec::new())]),
            tree(4, 20, false, vec![tree(5, 5, true, Vec::new())]),
        ],
    );
    let listed: Vec<(u8, u64)> = frames(&root)
        .iter()
        .map(|frame| (frame.contract.0[0], frame.spent))
        .collect();
    assert_eq!(listed, [(1, 70), (2, 20), (3, 10)]);
    assert!(frames(&tree(1, 5, false, Vec::new())).is_empty());
}

#[test]
fn a_call_outcome_carries_the_frames_unless_some_were_not_traced() {
    let outcome = call_outcome(
        &receipt(Ok(vec![1]), Some(tree(1, 100, true, Vec::new()))),
        Default::default(),
    )
    .expect("maps");
    assert_eq!(
        outcome.result,
        CallResult::Output(runner_protocol::Bytes(vec![1]))
    );
    assert_eq!(outcome.frames.map(|frames| frames.len()), Some(1));
    let mut past_the_bound = tree(1, 100, true, Vec::new());
    past_the_bound.omitted_frames = Some(Omitted {
        items: 1,
        bytes: 0,
        digest: runner_protocol::Bytes(vec![0; 32]),
    });
    let outcome = call_outcome(
        &receipt(Ok(vec![]), Some(past_the_bound)),
        Default::default(),
    )
    .expect("maps");
    assert_eq!(outcome.frames, None);
    let refused = call_outcome(&receipt(Ok(vec![]), None), Default::default()).expect("maps");
    assert_eq!(refused.frames, Some(Vec::new()));
}

#[test]
fn an_out_of_gas_failure_keeps_what_it_masked() {
    let mut failed = receipt(Err(CallError::OutOfGas), None);
    failed.masked = Some(CallError::Trap {
        trap: Trap::Unreachable,
    });
    let outcome = call_outcome(&failed, Default::default()).expect("maps");
    let CallResult::Failed(failure) = outcome.result else {
        panic!("a failure");
    };
    assert_eq!(failure.kind, FailureKind::OutOfGas);
    assert_eq!(
        failure.masked.as_deref(),
        Some(&FailureKind::Trap {
            code: TrapCode::Unreachable
        })
    );
}

#[test]
fn deploys_map_to_their_failures() {
    let state = Default::default;
    let deployed = deploy_outcome(
        &Ok(Deployment {
            id: ContractId([9; 32]),
            init: None,
        }),
        state(),
    )
    .expect("maps");
    assert_eq!(deployed.result, DeployResult::Deployed(ProtocolId([9; 32])));

    let trapped = deploy_outcome(
        &Err(DeployError::InstantiationTrap {
            trap: Trap::TableOutOfBounds,
        }),
        state(),
    )
    .expect("maps");
    assert_eq!(
        trapped.result,
        DeployResult::Failed(DeployFailure::InstantiationTrap {
            code: TrapCode::TableOutOfBounds,
            message: "instantiation trapped: table access out of bounds".into(),
        })
    );

    let init_failed = deploy_outcome(
        &Err(DeployError::InitFailed {
            receipt: Box::new(receipt(
                Err(CallError::Panic {
                    message: "no".into(),
                }),
                None,
            )),
        }),
        state(),
    )
    .expect("maps");
    let DeployResult::Failed(DeployFailure::InitFailed { failure }) = &init_failed.result else {
        panic!("init failed: {:?}", init_failed.result);
    };
    assert_eq!(
        failure.kind,
        FailureKind::Panic {
            message: "no".into()
        }
    );
    assert_eq!(init_failed.init.map(|init| init.gas_spent), Some(Some(100)));

    // Only an `init` that ran past its wall-clock limit is a timeout.
    let timed_out = deploy_outcome(
        &Err(DeployError::InitFailed {
            receipt: Box::new(receipt(
                Err(CallError::Timeout {
                    limit: std::time::Duration::from_secs(1),
                }),
                None,
            )),
        }),
        state(),
    )
    .expect("maps");
    assert_eq!(
        timed_out.result,
        DeployResult::Failed(DeployFailure::Timeout)
    );
}
