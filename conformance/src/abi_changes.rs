//! The differences between two production releases that the fuzzer
//! recorded (`corpus/abi-changes/<name>/finding.json`, written by `fuzz
//! campaign --target releases`), listed beside the release report's own.
//! Each is an ABI change found on a generated contract, minimized, with
//! its input and a replay command in its folder.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The part of a record the report reads.
#[derive(Deserialize)]
struct Record {
    target: String,
    /// The newer release.
    production: String,
    /// The older release.
    against: Option<String>,
    finding: RecordedFinding,
}

#[derive(Deserialize)]
struct RecordedFinding {
    divergence: RecordedDivergence,
}

#[derive(Deserialize)]
struct RecordedDivergence {
    step: String,
    fields: Vec<(String, String, String)>,
}

/// One recorded change between the two releases of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AbiChange {
    /// The record's folder.
    pub directory: PathBuf,
    /// The step of the generated case where the releases differ.
    pub step: String,
    /// The differing fields, with the older and the newer release's values.
    pub fields: Vec<(String, String, String)>,
}

/// The records under `root` of changes from `from` to `to` (engine names
/// as reports give them), by folder name; a record that cannot be read is
/// an error naming it, and the others are still listed.
pub fn between(root: &Path, from: &str, to: &str) -> (Vec<AbiChange>, Vec<String>) {
    let (mut changes, mut errors) = (Vec::new(), Vec::new());
    let Ok(entries) = std::fs::read_dir(root) else {
        // No records at all.
        return (changes, errors);
    };
    let mut folders: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join("finding.json").is_file())
        .collect();
    folders.sort();
    for directory in folders {
        let file = directory.join("finding.json");
        let record = std::fs::read(&file)
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).map_err(|e| e.to_string()));
        match record {
            Ok(record) if record.target != "releases" => errors.push(format!(
                "{}: a `{}` finding among the release records",
                file.display(),
                record.target
            )),
            Ok(record) => {
                if record.against.as_deref() == Some(from) && record.production == to {
                    changes.push(AbiChange {
                        directory,
                        step: record.finding.divergence.step,
                        fields: record.finding.divergence.fields,
                    });
                }
            }
            Err(error) => errors.push(format!("{}: {error}", file.display())),
        }
    }
    (changes, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_the_two_releases_are_listed_and_bad_ones_named() {
        let root = std::env::temp_dir().join(format!("abi-changes-{}", std::process::id()));
        let write = |name: &str, text: &str| {
            let dir = root.join(name);
            std::fs::create_dir_all(&dir).expect("dir");
            std::fs::write(dir.join("finding.json"), text).expect("writes");
        };
        let record = |against: &str, production: &str| {
            format!(
                r#"{{"target":"releases","production":"{production}","against":"{against}","finding":{{"divergence":{{"oracle":"releases","step":"call 2","fields":[["a -> b: result","x","y"]],"contract":0}}}}}}"#
            )
        };
        write("releases-1", &record("piecrust-0.31.0", "piecrust-0.32.2"));
        write("releases-2", &record("piecrust-0.32.2", "piecrust-0.31.0"));
        write("releases-3", "not json");
        let (changes, errors) = between(&root, "piecrust-0.31.0", "piecrust-0.32.2");
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(
            changes,
            [AbiChange {
                directory: root.join("releases-1"),
                step: "call 2".into(),
                fields: vec![("a -> b: result".into(), "x".into(), "y".into())],
            }]
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("releases-3"), "{errors:?}");
        assert_eq!(
            between(Path::new("/nonexistent"), "a", "b"),
            (Vec::new(), Vec::new())
        );
    }
}
