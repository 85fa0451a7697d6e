//! A scenario's outcome as readable text: what its snapshot holds and what
//! `conformance show` prints. The reference engine's outcome, and under
//! each step the fields where a production engine differs as a catalogue
//! entry explains (`production ENGINE [ID] FIELD: ...`), so a snapshot
//! pins production's behaviour too.

use std::collections::BTreeMap;
use std::fmt::Write;

use runner_protocol::bytes::short_hex;
use runner_protocol::outcome::{CallResult, DeployResult};
use runner_protocol::{CallOutcome, ContractId, DeployFailure, MemoryState};
use vm::trace::{CallTree, FrameOutcome};

use crate::judge::Deviation;
use crate::play::StepOutcome;
use crate::scenario::Scenario;

/// The prefix of the lines that show production's side of a deviation.
pub const PRODUCTION_LINE: &str = "  production ";

fn printable(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    (!text.is_empty() && text.chars().all(|c| !c.is_control() || c == '\n')).then_some(text)
}

fn bytes(bytes: &[u8]) -> String {
    let hex = short_hex(bytes);
    match printable(bytes) {
        Some(text) if text.len() <= 80 => format!("{hex} {text:?}"),
        _ => hex,
    }
}

/// A debug message as reports show it: quoted whole up to 400 bytes, else
/// its start, its length and its digest.
fn debug_message(message: &str) -> String {
    shortened(message, |head| format!("{head:?}"))
}

/// `text` shown by `show`: whole up to 400 bytes, else its start (cut at a
/// character boundary), its length in bytes and the start of its blake3.
pub(crate) fn shortened(text: &str, show: impl Fn(&str) -> String) -> String {
    const SHOWN: usize = 400;
    if text.len() <= SHOWN {
        return show(text);
    }
    let mut end = SHOWN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}.. ({} bytes, blake3 {})",
        show(&text[..end]),
        text.len(),
        &blake3::hash(text.as_bytes()).to_hex()[..16]
    )
}

/// A function name as reports print it: as it is, or quoted with escapes
/// when it holds control characters (a contract may call a name of 64 KiB
/// of zero bytes).
fn printable_name(name: &str) -> String {
    if name.chars().any(char::is_control) {
        format!("{name:?}")
    } else {
        name.to_string()
    }
}

/// What an outcome left out past the retained bound.
fn omitted_items(omitted: &runner_protocol::Omitted) -> String {
    format!(
        "{} more, {} bytes, blake3 {}",
        omitted.items,
        omitted.bytes,
        hex::encode(&omitted.digest.0[..8])
    )
}

/// A decoded value as reports show it: as [`shortened`] cuts text.
fn shorten(text: &str) -> String {
    shortened(text, str::to_owned)
}

/// Contract names by id, for readable trees and state.
struct Names(BTreeMap<ContractId, String>);

impl Names {
    fn of(&self, id: &ContractId) -> String {
        self.0.get(id).cloned().unwrap_or_else(|| {
            let hex = id.to_string();
            format!("{}..{}", &hex[..8], &hex[56..])
        })
    }
}

fn tree(out: &mut String, base: &str, tree: &CallTree, depth: usize, names: &Names) {
    let indent = format!("{base}{}", "  ".repeat(depth));
    let outcome = match &tree.outcome {
        FrameOutcome::Output(bytes) => format!("ok {bytes}"),
        FrameOutcome::Failed {
            code: Some(code),
            error,
        } => format!("failed ({code}): {error}"),
        FrameOutcome::Failed { code: None, error } => format!("failed: {error}"),
    };
    writeln!(
        out,
        "{indent}{} {}({}) gas {}/{} -> {outcome}",
        names.of(&runner_protocol::ContractId(tree.contract.0)),
        printable_name(&tree.function),
        tree.arg,
        tree.gas_spent,
        tree.gas_limit,
    )
    .ok();
    for child in &tree.children {
        self::tree(out, base, child, depth + 1, names);
    }
}

fn state(out: &mut String, indent: &str, state: &BTreeMap<ContractId, MemoryState>, names: &Names) {
    if state.is_empty() {
        return;
    }
    writeln!(out, "{indent}state:").ok();
    let mut lines: Vec<String> = state
        .iter()
        .map(|(id, memory)| {
            format!(
                "{indent}  {}: {} bytes, {}",
                names.of(id),
                memory.len,
                &hex::encode(memory.digest.as_slice())[..16.min(2 * memory.digest.len())]
            )
        })
        .collect();
    lines.sort();
    for line in lines {
        writeln!(out, "{line}").ok();
    }
}

fn call(out: &mut String, indent: &str, outcome: &CallOutcome, names: &Names) {
    match &outcome.result {
        CallResult::Output(output) => writeln!(out, "{indent}output: {}", bytes(output.as_slice())),
        CallResult::Failed(failure) => writeln!(out, "{indent}error: {}", failure.detail),
    }
    .ok();
    match outcome.gas_spent {
        Some(spent) => writeln!(out, "{indent}gas: {spent} of {}", outcome.gas_limit),
        None => writeln!(out, "{indent}gas: ? of {}", outcome.gas_limit),
    }
    .ok();
    for message in &outcome.debug {
        writeln!(out, "{indent}debug: {}", debug_message(message)).ok();
    }
    if let Some(omitted) = &outcome.omitted.debug {
        writeln!(out, "{indent}debug omitted: {}", omitted_items(omitted)).ok();
    }
    for data in &outcome.feed {
        writeln!(out, "{indent}feed: {}", bytes(data.as_slice())).ok();
    }
    if let Some(omitted) = &outcome.omitted.feed {
        writeln!(out, "{indent}feed omitted: {}", omitted_items(omitted)).ok();
    }
    if let Some(events) = &outcome.events
        && !events.is_empty()
    {
        writeln!(out, "{indent}events:").ok();
        for event in events {
            writeln!(
                out,
                "{indent}  {} {:?} {}{}",
                names.of(&event.source),
                event.topic,
                short_hex(event.data.as_slice()),
                if event.reverted { " (reverted)" } else { "" }
            )
            .ok();
        }
    }
    if let Some(omitted) = &outcome.omitted.events {
        writeln!(out, "{indent}events omitted: {}", omitted_items(omitted)).ok();
    }
    let trace = outcome
        .trace
        .as_ref()
        .and_then(|value| serde_json::from_value::<CallTree>(value.clone()).ok());
    match (&trace, &outcome.frames) {
        (Some(root), _) => {
            writeln!(out, "{indent}calls:").ok();
            tree(out, &format!("{indent}  "), root, 0, names);
            if let Some(omitted) = &root.omitted_frames {
                writeln!(
                    out,
                    "{indent}  ... {} more frames, blake3 {}",
                    omitted.items,
                    &hex::encode(omitted.digest.as_slice())[..16]
                )
                .ok();
            }
        }
        (None, Some(frames)) if !frames.is_empty() => {
            writeln!(out, "{indent}frames:").ok();
            for frame in frames {
                writeln!(
                    out,
                    "{indent}  {} gas {}/{}",
                    names.of(&frame.contract),
                    frame.spent,
                    frame.limit
                )
                .ok();
            }
        }
        _ => {}
    }
    state(out, indent, &outcome.state, names);
}

fn deploy_error(failure: &DeployFailure) -> String {
    match failure {
        DeployFailure::Rejected { message, .. } => format!("rejected: {message}"),
        DeployFailure::InstantiationTrap { message, .. } => message.clone(),
        DeployFailure::InitFailed { failure } => format!("init failed: {}", failure.detail),
        DeployFailure::DuplicateId => "duplicate id".into(),
        DeployFailure::GasBelowCharge { charge } => {
            format!("gas limit below the deploy charge of {charge}")
        }
        DeployFailure::HostPanic { message } => format!("host panic: {message}"),
        DeployFailure::Timeout => "timeout".into(),
    }
}

/// ` (line N)`, for steps that come from a file.
fn line(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" (line {line})")
    }
}

/// Renders one engine's outcomes of a scenario, with the deviations seen at
/// each step.
pub fn render(scenario: &Scenario, steps: &[StepOutcome], deviations: &[Deviation]) -> String {
    let mut out = String::new();
    if !scenario.description.is_empty() {
        writeln!(out, "# {}", scenario.description).ok();
    }
    let names = Names(
        scenario
            .contracts
            .iter()
            .map(|decl| {
                (
                    runner_protocol::ContractId(decl.intended_id().0),
                    decl.name.clone(),
                )
            })
            .collect(),
    );
    for (index, (step, outcome)) in scenario.steps.iter().zip(steps).enumerate() {
        if let Some(height) = step.block {
            writeln!(out, "block {height}").ok();
        }
        match outcome {
            StepOutcome::Deploy { contract, outcome } => {
                writeln!(
                    out,
                    "step {}{}: deploy {contract}",
                    index + 1,
                    line(step.line)
                )
                .ok();
                match &outcome.result {
                    DeployResult::Deployed(id) => writeln!(out, "  id: {id}"),
                    DeployResult::Failed(failure) => {
                        writeln!(out, "  error: {}", deploy_error(failure))
                    }
                }
                .ok();
                if let Some(charged) = outcome.charged {
                    writeln!(out, "  charged: {charged}").ok();
                }
                if let Some(init) = &outcome.init {
                    writeln!(out, "  init:").ok();
                    call(&mut out, "    ", init, &names);
                } else {
                    state(&mut out, "  ", &outcome.state, &names);
                }
            }
            StepOutcome::Call {
                contract,
                function,
                arg,
                outcome,
            } => {
                match &step.arg_text {
                    Some(text) => writeln!(
                        out,
                        "step {}{}: call {contract}.{function}({text}) gas {}\n  arg: {}",
                        index + 1,
                        line(step.line),
                        outcome.gas_limit,
                        bytes(arg.as_slice()),
                    ),
                    None => writeln!(
                        out,
                        "step {}{}: call {contract}.{function}({}) gas {}",
                        index + 1,
                        line(step.line),
                        bytes(arg.as_slice()),
                        outcome.gas_limit
                    ),
                }
                .ok();
                call(&mut out, "  ", outcome, &names);
                if let (Some(type_name), CallResult::Output(output)) =
                    (&step.returns, &outcome.result)
                {
                    let decoded = crate::archived::decode_output(type_name, output.as_slice())
                        .unwrap_or_else(|e| format!("not an archived {type_name}: {e}"));
                    writeln!(out, "  returns: {}", shorten(&decoded)).ok();
                }
            }
        }
        let mut lines: Vec<String> = deviations
            .iter()
            .filter(|deviation| deviation.step == index + 1)
            .map(|deviation| {
                format!(
                    "{PRODUCTION_LINE}{} [{}] {}: {}",
                    deviation.engine, deviation.id, deviation.field, deviation.found
                )
            })
            .collect();
        lines.sort();
        for line in lines {
            writeln!(out, "{line}").ok();
        }
    }
    out
}

/// `text` without the production lines of engines not in `engines`: what
/// a snapshot says about a run that did not include every production
/// engine.
pub fn for_engines(text: &str, engines: &[String]) -> String {
    let mut kept = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(PRODUCTION_LINE) {
            let engine = rest.split(' ').next().unwrap_or_default();
            if !engines.iter().any(|e| e == engine) {
                continue;
            }
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}
