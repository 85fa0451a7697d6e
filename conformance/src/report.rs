//! The agreed outcome of a scenario as readable text: what its snapshot
//! holds and what `conformance show` prints.

use std::fmt::Write;

use vm::CallReceipt;

use crate::scenario::{Scenario, StepKind, StepOutcome};

fn printable(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    (!text.is_empty() && text.chars().all(|c| !c.is_control() || c == '\n')).then_some(text)
}

fn bytes(bytes: &[u8]) -> String {
    let hex = vm::trace::short_hex(bytes);
    match printable(bytes) {
        Some(text) if text.len() <= 80 => format!("{hex} {text:?}"),
        _ => hex,
    }
}

fn receipt(out: &mut String, receipt: &CallReceipt, names: &[(String, String)]) {
    match &receipt.result {
        Ok(output) => writeln!(out, "  output: {}", bytes(output)),
        Err(error) => writeln!(out, "  error: {error}"),
    }
    .ok();
    writeln!(out, "  gas: {} of {}", receipt.gas_spent, receipt.gas_limit).ok();
    for message in &receipt.debug {
        writeln!(out, "  debug: {message:?}").ok();
    }
    for data in &receipt.feed {
        writeln!(out, "  feed: {}", bytes(data)).ok();
    }
    if let Some(tree) = &receipt.call_tree {
        writeln!(out, "  calls:").ok();
        let mut rendered = tree.render();
        for (id, name) in names {
            rendered = rendered.replace(&format!("{}..{}", &id[..8], &id[56..]), name);
        }
        for line in rendered.lines() {
            writeln!(out, "    {line}").ok();
        }
    }
    if !receipt.state.is_empty() {
        writeln!(out, "  state:").ok();
        for (id, digest) in &receipt.state {
            let name = names
                .iter()
                .find(|(known, _)| known == id)
                .map_or(id.as_str(), |(_, name)| name.as_str());
            writeln!(out, "    {name}: {}", &digest[..16]).ok();
        }
    }
}

/// Renders the outcomes of a scenario's steps.
pub fn render(scenario: &Scenario, outcomes: &[StepOutcome]) -> String {
    let mut out = String::new();
    if !scenario.description.is_empty() {
        writeln!(out, "# {}", scenario.description).ok();
    }
    let names: Vec<(String, String)> = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            StepOutcome::Deploy {
                contract,
                id: Some(id),
                ..
            } => Some((id.clone(), contract.clone())),
            _ => None,
        })
        .collect();
    for (index, (step, outcome)) in scenario.steps.iter().zip(outcomes).enumerate() {
        match (&step.kind, outcome) {
            (
                StepKind::Deploy { .. },
                StepOutcome::Deploy {
                    contract,
                    id,
                    init,
                    error,
                },
            ) => {
                writeln!(
                    out,
                    "step {} (line {}): deploy {contract}",
                    index + 1,
                    step.line
                )
                .ok();
                if let Some(id) = id {
                    writeln!(out, "  id: {id}").ok();
                }
                if let Some(error) = error {
                    writeln!(out, "  error: {error}").ok();
                }
                if let Some(init) = init {
                    writeln!(out, "  init:").ok();
                    let mut nested = String::new();
                    receipt(&mut nested, init, &names);
                    for line in nested.lines() {
                        writeln!(out, "  {line}").ok();
                    }
                }
            }
            (
                _,
                StepOutcome::Call {
                    contract,
                    function,
                    arg,
                    receipt: r,
                },
            ) => {
                writeln!(
                    out,
                    "step {} (line {}): call {contract}.{function}({}) gas {}",
                    index + 1,
                    step.line,
                    bytes(arg),
                    r.gas_limit
                )
                .ok();
                receipt(&mut out, r, &names);
            }
            _ => {
                writeln!(out, "step {}: outcome does not match the step", index + 1).ok();
            }
        }
    }
    out
}
