//! Field-by-field comparison of two engines' step outcomes.

use serde_json::Value;

use crate::scenario::StepOutcome;

/// A field whose values differ between the engines.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Divergence {
    /// 1-based step number.
    pub step: usize,
    /// The field, as a path such as `receipt.call_tree.children[0].gas_spent`.
    pub field: String,
    pub wasmtime: String,
    pub wasmi: String,
}

/// Every differing field of two JSON values, as (path, first, second).
pub fn diff_values(a: &Value, b: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    walk(0, String::new(), a, b, &mut out);
    out.into_iter()
        .map(|d| (d.field, d.wasmtime, d.wasmi))
        .collect()
}

/// Every differing field of two runs of the same steps.
pub fn diff(wasmtime: &[StepOutcome], wasmi: &[StepOutcome]) -> Vec<Divergence> {
    let mut divergences = Vec::new();
    for (index, (a, b)) in wasmtime.iter().zip(wasmi).enumerate() {
        let a = serde_json::to_value(a).unwrap_or(Value::Null);
        let b = serde_json::to_value(b).unwrap_or(Value::Null);
        walk(index + 1, String::new(), &a, &b, &mut divergences);
    }
    if wasmtime.len() != wasmi.len() {
        divergences.push(Divergence {
            step: wasmtime.len().min(wasmi.len()) + 1,
            field: "steps run".into(),
            wasmtime: wasmtime.len().to_string(),
            wasmi: wasmi.len().to_string(),
        });
    }
    divergences
}

fn walk(step: usize, path: String, a: &Value, b: &Value, out: &mut Vec<Divergence>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(
                    step,
                    child,
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                walk(step, format!("{path}[{i}]"), p, q, out);
            }
        }
        _ if a != b => out.push(Divergence {
            step,
            field: path,
            wasmtime: a.to_string(),
            wasmi: b.to_string(),
        }),
        _ => {}
    }
}
