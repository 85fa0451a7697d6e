//! The one comparison of two engines' outcomes, used by the suite, the
//! command line and every fuzz oracle.
//!
//! Every field both outcomes expose is compared; a field one side does not
//! expose (`None`) is skipped, never counted as agreement by default
//! values. Failures compare by kind, not by the engines' wording, and a
//! failure of kind [`FailureKind::Unknown`] equals nothing.

use std::collections::BTreeSet;
use std::fmt::Debug;

use serde::Serialize;
use serde_json::Value;

use crate::bytes::short_hex;
use crate::outcome::{
    CallOutcome, CallResult, ContractId, DeployFailure, DeployOutcome, DeployResult, Event,
    FailureKind, Frame, MemoryState,
};

/// A field whose values differ: its path (`events[1].data`) and both
/// values as short, stable text; for failures also each engine's own
/// wording, which differs between engines and machines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub field: String,
    pub left: String,
    pub right: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub left_detail: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub right_detail: String,
}

struct Diffs {
    prefix: String,
    out: Vec<Difference>,
}

impl Diffs {
    fn new(prefix: &str) -> Self {
        Diffs {
            prefix: prefix.to_string(),
            out: Vec::new(),
        }
    }

    fn push(&mut self, field: &str, left: String, right: String) {
        self.push_detailed(field, left, right, String::new(), String::new());
    }

    fn push_detailed(
        &mut self,
        field: &str,
        left: String,
        right: String,
        left_detail: String,
        right_detail: String,
    ) {
        self.out.push(Difference {
            field: format!("{}{field}", self.prefix),
            left,
            right,
            left_detail,
            right_detail,
        });
    }

    fn value<T: PartialEq + Debug>(&mut self, field: &str, left: &T, right: &T) {
        if left != right {
            self.push(field, format!("{left:?}"), format!("{right:?}"));
        }
    }
}

/// Whether two failure kinds agree: equal, and neither unknown.
pub fn kinds_agree(left: &FailureKind, right: &FailureKind) -> bool {
    left == right && *left != FailureKind::Unknown
}

fn describe_result(result: &CallResult) -> String {
    match result {
        CallResult::Output(bytes) => format!("output {}", short_hex(bytes.as_slice())),
        CallResult::Failed(failure) => format!("failed: {}", failure.kind),
    }
}

fn result_detail(result: &CallResult) -> String {
    match result {
        CallResult::Output(_) => String::new(),
        CallResult::Failed(failure) => failure.detail.clone(),
    }
}

fn describe_event(event: Option<&Event>) -> String {
    match event {
        None => "absent".into(),
        Some(event) => format!(
            "{}.. {:?} {}{}",
            &event.source.to_string()[..8],
            event.topic,
            short_hex(event.data.as_slice()),
            if event.reverted { " (reverted)" } else { "" }
        ),
    }
}

fn list<T: PartialEq>(
    diffs: &mut Diffs,
    field: &str,
    left: &[T],
    right: &[T],
    describe: impl Fn(Option<&T>) -> String,
) {
    for index in 0..left.len().max(right.len()) {
        let (a, b) = (left.get(index), right.get(index));
        if a != b {
            diffs.push(&format!("{field}[{index}]"), describe(a), describe(b));
        }
    }
}

fn describe_frame(frame: Option<&Frame>) -> String {
    match frame {
        None => "absent".into(),
        Some(frame) => format!(
            "{}.. gas {}/{}",
            &frame.contract.to_string()[..8],
            frame.spent,
            frame.limit
        ),
    }
}

fn state(
    diffs: &mut Diffs,
    left: &std::collections::BTreeMap<ContractId, MemoryState>,
    right: &std::collections::BTreeMap<ContractId, MemoryState>,
) {
    let ids: BTreeSet<&ContractId> = left.keys().chain(right.keys()).collect();
    let describe = |memory: Option<&MemoryState>| match memory {
        None => "absent".to_string(),
        Some(memory) => format!(
            "{} bytes, digest {}",
            memory.len,
            &hex::encode(memory.digest.as_slice())[..16.min(2 * memory.digest.len())]
        ),
    };
    for id in ids {
        let (a, b) = (left.get(id), right.get(id));
        if a != b {
            diffs.push(
                &format!("state.{}", &id.to_string()[..8]),
                describe(a),
                describe(b),
            );
        }
    }
}

fn json(diffs: &mut Diffs, path: &str, left: &Value, right: &Value) {
    match (left, right) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let (x, y) = (a.get(key), b.get(key));
                let child = format!("{path}.{key}");
                match (x, y) {
                    (Some(x), Some(y)) => json(diffs, &child, x, y),
                    _ => diffs.push(&child, format!("{x:?}"), format!("{y:?}")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                json(diffs, &format!("{path}[{index}]"), x, y);
            }
        }
        _ if left != right => diffs.push(path, left.to_string(), right.to_string()),
        _ => {}
    }
}

fn calls(diffs: &mut Diffs, left: &CallOutcome, right: &CallOutcome) {
    match (&left.result, &right.result) {
        (CallResult::Output(a), CallResult::Output(b)) => {
            if a != b {
                diffs.push(
                    "result.output",
                    short_hex(a.as_slice()),
                    short_hex(b.as_slice()),
                );
            }
        }
        (CallResult::Failed(a), CallResult::Failed(b)) => {
            if !kinds_agree(&a.kind, &b.kind) {
                diffs.push_detailed(
                    "result.failure",
                    describe_result(&left.result),
                    describe_result(&right.result),
                    result_detail(&left.result),
                    result_detail(&right.result),
                );
            }
        }
        _ => diffs.push_detailed(
            "result",
            describe_result(&left.result),
            describe_result(&right.result),
            result_detail(&left.result),
            result_detail(&right.result),
        ),
    }
    diffs.value("gas_limit", &left.gas_limit, &right.gas_limit);
    if let (Some(a), Some(b)) = (left.gas_spent, right.gas_spent) {
        diffs.value("gas_spent", &a, &b);
    }
    if let (Some(a), Some(b)) = (&left.events, &right.events) {
        list(diffs, "events", a, b, describe_event);
    }
    list(diffs, "feed", &left.feed, &right.feed, |bytes| {
        bytes.map_or("absent".into(), |b| short_hex(b.as_slice()))
    });
    list(diffs, "debug", &left.debug, &right.debug, |message| {
        message.map_or("absent".into(), |m| format!("{m:?}"))
    });
    let omitted = |o: &Option<crate::Omitted>| {
        o.as_ref().map_or("nothing".into(), |o| {
            format!(
                "{} items, {} bytes, blake3 {}",
                o.items,
                o.bytes,
                short_hex(&o.digest.0[..8])
            )
        })
    };
    for (field, a, b) in [
        ("feed.omitted", &left.omitted.feed, &right.omitted.feed),
        ("debug.omitted", &left.omitted.debug, &right.omitted.debug),
    ] {
        if a != b {
            diffs.push(field, omitted(a), omitted(b));
        }
    }
    // Events past the kept prefix, where both sides expose events.
    if left.events.is_some()
        && right.events.is_some()
        && left.omitted.events != right.omitted.events
    {
        diffs.push(
            "events.omitted",
            omitted(&left.omitted.events),
            omitted(&right.omitted.events),
        );
    }
    if let (Some(a), Some(b)) = (&left.frames, &right.frames) {
        list(diffs, "frames", a, b, describe_frame);
    }
    state(diffs, &left.state, &right.state);
    if let (Some(a), Some(b)) = (&left.trace, &right.trace) {
        json(diffs, "trace", a, b);
    }
}

/// Every difference between two outcomes of the same call.
pub fn compare_calls(left: &CallOutcome, right: &CallOutcome) -> Vec<Difference> {
    let mut diffs = Diffs::new("");
    calls(&mut diffs, left, right);
    diffs.out
}

fn describe_deploy(result: &DeployResult) -> String {
    match result {
        DeployResult::Deployed(id) => format!("deployed {id}"),
        DeployResult::Failed(failure) => match failure {
            DeployFailure::InstantiationTrap { code, .. } => {
                format!("instantiation trap {code:?}")
            }
            DeployFailure::InitFailed { failure } => format!("init failed: {}", failure.kind),
            DeployFailure::GasBelowCharge { charge } => {
                format!("gas below the deploy charge of {charge}")
            }
            other => other.name().replace('_', " "),
        },
    }
}

fn deploy_detail(result: &DeployResult) -> String {
    match result {
        DeployResult::Deployed(_) => String::new(),
        DeployResult::Failed(failure) => match failure {
            DeployFailure::Rejected { message, .. }
            | DeployFailure::InstantiationTrap { message, .. }
            | DeployFailure::HostPanic { message } => message.clone(),
            DeployFailure::InitFailed { failure } => failure.detail.clone(),
            DeployFailure::DuplicateId
            | DeployFailure::GasBelowCharge { .. }
            | DeployFailure::Timeout => String::new(),
        },
    }
}

fn deploy_failures_agree(left: &DeployFailure, right: &DeployFailure) -> bool {
    match (left, right) {
        (DeployFailure::Rejected { .. }, DeployFailure::Rejected { .. }) => true,
        (
            DeployFailure::InstantiationTrap { code: a, .. },
            DeployFailure::InstantiationTrap { code: b, .. },
        ) => a == b,
        (DeployFailure::InitFailed { failure: a }, DeployFailure::InitFailed { failure: b }) => {
            kinds_agree(&a.kind, &b.kind)
        }
        (
            DeployFailure::GasBelowCharge { charge: a },
            DeployFailure::GasBelowCharge { charge: b },
        ) => a == b,
        (DeployFailure::DuplicateId, DeployFailure::DuplicateId)
        | (DeployFailure::HostPanic { .. }, DeployFailure::HostPanic { .. })
        | (DeployFailure::Timeout, DeployFailure::Timeout) => true,
        _ => false,
    }
}

/// Every difference between two outcomes of the same deploy.
pub fn compare_deploys(left: &DeployOutcome, right: &DeployOutcome) -> Vec<Difference> {
    let mut diffs = Diffs::new("");
    let agree = match (&left.result, &right.result) {
        (DeployResult::Deployed(a), DeployResult::Deployed(b)) => a == b,
        (DeployResult::Failed(a), DeployResult::Failed(b)) => deploy_failures_agree(a, b),
        _ => false,
    };
    if !agree {
        diffs.push_detailed(
            "result",
            describe_deploy(&left.result),
            describe_deploy(&right.result),
            deploy_detail(&left.result),
            deploy_detail(&right.result),
        );
    }
    if left.charged != right.charged {
        let charged = |charged: Option<u64>| match charged {
            Some(gas) => gas.to_string(),
            None => "nothing".to_string(),
        };
        diffs.push_detailed(
            "charged",
            charged(left.charged),
            charged(right.charged),
            String::new(),
            String::new(),
        );
    }
    if let (Some(a), Some(b)) = (&left.init, &right.init) {
        let mut init = Diffs::new("init.");
        calls(&mut init, a, b);
        diffs.out.extend(init.out);
    }
    state(&mut diffs, &left.state, &right.state);
    diffs.out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::Bytes;
    use crate::outcome::Failure;

    fn ok(output: &[u8], spent: Option<u64>) -> CallOutcome {
        CallOutcome {
            result: CallResult::Output(Bytes(output.to_vec())),
            gas_limit: 100,
            gas_spent: spent,
            events: Some(Vec::new()),
            feed: Vec::new(),
            debug: Vec::new(),
            omitted: Default::default(),
            frames: None,
            state: BTreeMap::new(),
            trace: None,
            grow_refused: false,
        }
    }

    fn failed(kind: FailureKind, message: &str) -> CallOutcome {
        CallOutcome {
            result: CallResult::Failed(Failure {
                kind,
                detail: message.into(),
                masked: None,
            }),
            ..ok(&[], None)
        }
    }

    #[test]
    fn equal_outcomes_have_no_differences() {
        assert!(compare_calls(&ok(b"x", Some(5)), &ok(b"x", Some(5))).is_empty());
    }

    #[test]
    fn unexposed_gas_is_skipped_but_exposed_gas_compared() {
        assert!(compare_calls(&ok(b"x", Some(5)), &ok(b"x", None)).is_empty());
        let diffs = compare_calls(&ok(b"x", Some(5)), &ok(b"x", Some(6)));
        assert_eq!(
            diffs,
            vec![Difference {
                field: "gas_spent".into(),
                left: "5".into(),
                right: "6".into(),
                left_detail: String::new(),
                right_detail: String::new(),
            }]
        );
    }

    #[test]
    fn failures_compare_by_kind_not_by_wording() {
        assert!(
            compare_calls(
                &failed(FailureKind::OutOfGas, "OutOfGas"),
                &failed(FailureKind::OutOfGas, "out of gas")
            )
            .is_empty()
        );
        let diffs = compare_calls(
            &failed(FailureKind::OutOfGas, "a"),
            &failed(FailureKind::MemoryAccess, "b"),
        );
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].field, "result.failure");
    }

    #[test]
    fn unknown_failures_never_agree() {
        let diffs = compare_calls(
            &failed(FailureKind::Unknown, "x"),
            &failed(FailureKind::Unknown, "x"),
        );
        assert_eq!(diffs.len(), 1);
    }

    #[test]
    fn an_extra_event_is_a_difference_at_its_index() {
        let mut with_event = ok(b"", Some(1));
        with_event.events = Some(vec![Event {
            source: ContractId([2; 32]),
            topic: "t".into(),
            data: Bytes(vec![1]),
            reverted: true,
        }]);
        let diffs = compare_calls(&ok(b"", Some(1)), &with_event);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].field, "events[0]");
        assert_eq!(diffs[0].left, "absent");
        assert_eq!(diffs[0].right, "02020202.. \"t\" 0x01 (reverted)");
    }

    #[test]
    fn deploy_rejections_agree_whatever_the_reason() {
        let rejected = |message: &str| DeployOutcome {
            result: DeployResult::Failed(DeployFailure::Rejected {
                message: message.into(),
                rule: None,
            }),
            init: None,
            state: BTreeMap::new(),
            charged: None,
        };
        assert!(compare_deploys(&rejected("a"), &rejected("b")).is_empty());
        let deployed = DeployOutcome {
            result: DeployResult::Deployed(ContractId([0; 32])),
            ..rejected("")
        };
        assert_eq!(compare_deploys(&rejected("a"), &deployed).len(), 1);
    }

    #[test]
    fn node_deploys_differ_in_their_charge_and_in_the_charge_they_miss() {
        let node = |result, charged| DeployOutcome {
            result,
            init: None,
            state: BTreeMap::new(),
            charged,
        };
        let deployed = || DeployResult::Deployed(ContractId([0; 32]));
        let below = |charge| DeployResult::Failed(DeployFailure::GasBelowCharge { charge });
        let diffs = compare_deploys(
            &node(deployed(), Some(5_000_000)),
            &node(deployed(), Some(5_000_100)),
        );
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].field, "charged");
        assert_eq!(
            (diffs[0].left.as_str(), diffs[0].right.as_str()),
            ("5000000", "5000100")
        );
        let diffs = compare_deploys(&node(deployed(), None), &node(deployed(), Some(1)));
        assert_eq!(diffs[0].right, "1");
        assert_eq!(diffs[0].left, "nothing");
        assert!(compare_deploys(&node(below(7), None), &node(below(7), None)).is_empty());
        let diffs = compare_deploys(&node(below(7), None), &node(below(8), None));
        assert_eq!(diffs[0].field, "result");
        assert_eq!(diffs[0].left, "gas below the deploy charge of 7");
    }
}
