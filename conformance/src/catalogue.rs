//! The deviation catalogue: every way production may differ from our
//! engines, reviewed, with the reason we differ. `corpus/deviations.toml`
//! holds it; scenario steps name the entries that explain what production
//! does at that step.
//!
//! ```toml
//! [[deviation]]
//! id = "stale-events"
//! category = "production-bug"
//! rule = "A failed top-level call's events belong to its own receipt"
//! production = "They appear, flagged reverted, in the next call's receipt"
//! ours = "They are in the failed call's receipt, flagged reverted"
//! why = "A receipt describes its own call; production leaks state across calls"
//! fields = ["events"]
//! engines = ["piecrust-0.32.2", "piecrust-0.31.0"]   # optional: all production engines
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Why we keep a behaviour production does not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Production is wrong: a bug we do not copy.
    ProductionBug,
    /// Production breaks the WebAssembly specification.
    WasmSpec,
    /// Production panics (its host thread dies).
    ProductionPanic,
    /// A rule both our engines need to compute the same thing.
    Determinism,
    /// A rule the project adds on purpose (stricter admission, bounds).
    ProjectRule,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::ProductionBug,
        Category::WasmSpec,
        Category::ProductionPanic,
        Category::Determinism,
        Category::ProjectRule,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::ProductionBug => "production-bug",
            Category::WasmSpec => "wasm-spec",
            Category::ProductionPanic => "production-panic",
            Category::Determinism => "determinism",
            Category::ProjectRule => "project-rule",
        }
    }
}

/// One reviewed difference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: String,
    pub category: Category,
    /// The ABI rule concerned.
    pub rule: String,
    /// What production does.
    pub production: String,
    /// What our engines do.
    pub ours: String,
    /// Why we differ.
    pub why: String,
    /// The outcome fields that may differ (prefixes of field paths such as
    /// `result`, `gas_spent`, `events`, `state`).
    pub fields: Vec<String>,
    /// The production engines it applies to; all of them when empty.
    #[serde(default)]
    pub engines: Vec<String>,
}

impl Entry {
    /// Whether the entry applies to the engine named `engine`.
    pub fn applies_to(&self, engine: &str) -> bool {
        self.engines.is_empty() || self.engines.iter().any(|e| e == engine)
    }

    /// Whether a difference in `field` is one this entry explains.
    pub fn covers(&self, field: &str) -> bool {
        self.fields.iter().any(|pattern| {
            pattern == "*"
                || field == pattern
                || field
                    .strip_prefix(pattern.as_str())
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    deviation: Vec<Entry>,
}

/// The catalogue.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    pub entries: Vec<Entry>,
}

/// Why the catalogue cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CatalogueError {
    pub path: String,
    pub message: String,
}

impl Catalogue {
    /// Loads and checks `path`: unique ids, at least one field each.
    pub fn load(path: &Path) -> Result<Self, CatalogueError> {
        let error = |message: String| CatalogueError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
        let file: File = toml::from_str(&text).map_err(|e| error(e.to_string()))?;
        let mut seen = std::collections::BTreeSet::new();
        for entry in &file.deviation {
            if !seen.insert(entry.id.clone()) {
                return Err(error(format!("deviation `{}` is listed twice", entry.id)));
            }
            if entry.fields.is_empty() {
                return Err(error(format!("deviation `{}` names no field", entry.id)));
            }
        }
        Ok(Catalogue {
            entries: file.deviation,
        })
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.id == id)
    }
}

impl Catalogue {
    /// The catalogue as a Markdown page (`docs/deviations.md` is this text),
    /// with the scenarios that show each entry, from `uses` (entry id,
    /// scenario name).
    pub fn markdown(&self, uses: &[(String, String)]) -> String {
        let mut out = String::from(
            "# Deviations from production\n\n\
             Generated by `cargo run -p conformance -- catalogue` from \
             `corpus/deviations.toml`; a test fails when this page is out of date.\n\n\
             Production (piecrust, inside the node's `dusk-vm`) defines the contract ABI. \
             Our engines follow it everywhere except in the entries below: where production \
             breaks the WebAssembly specification, is wrong in a way we do not copy, crashes, \
             or where the project adds a rule. A scenario step names the entries that explain \
             production's outcome there; any other difference fails the suite, and so does an \
             entry named where production does not differ.\n",
        );
        for category in Category::ALL {
            let entries: Vec<&Entry> = self
                .entries
                .iter()
                .filter(|entry| entry.category == category)
                .collect();
            if entries.is_empty() {
                continue;
            }
            out.push_str(&format!("\n## {}\n", category.name()));
            for entry in entries {
                out.push_str(&format!("\n### `{}`\n\n", entry.id));
                out.push_str(&format!("- **Rule**: {}\n", entry.rule));
                out.push_str(&format!("- **Production**: {}\n", entry.production));
                out.push_str(&format!("- **Ours**: {}\n", entry.ours));
                out.push_str(&format!("- **Why**: {}\n", entry.why));
                out.push_str(&format!("- **Fields**: {}\n", entry.fields.join(", ")));
                if !entry.engines.is_empty() {
                    out.push_str(&format!("- **Engines**: {}\n", entry.engines.join(", ")));
                }
                let mut scenarios: Vec<&str> = uses
                    .iter()
                    .filter(|(id, _)| *id == entry.id)
                    .map(|(_, scenario)| scenario.as_str())
                    .collect();
                scenarios.sort();
                scenarios.dedup();
                out.push_str(&format!(
                    "- **Scenarios**: {}\n",
                    scenarios
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(fields: &[&str]) -> Entry {
        Entry {
            id: "x".into(),
            category: Category::ProductionBug,
            rule: String::new(),
            production: String::new(),
            ours: String::new(),
            why: String::new(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
            engines: vec!["piecrust-0.31.0".into()],
        }
    }

    #[test]
    fn fields_match_as_path_prefixes() {
        let entry = entry(&["events", "result"]);
        assert!(entry.covers("events"));
        assert!(entry.covers("events[3]"));
        assert!(entry.covers("result.failure"));
        assert!(!entry.covers("eventsx"));
        assert!(!entry.covers("gas_spent"));
        assert!(!entry.covers("state.01020304"));
    }

    #[test]
    fn engines_scope_an_entry() {
        let entry = entry(&["*"]);
        assert!(entry.covers("anything.at[all]"));
        assert!(entry.applies_to("piecrust-0.31.0"));
        assert!(!entry.applies_to("piecrust-0.32.2"));
    }
}
