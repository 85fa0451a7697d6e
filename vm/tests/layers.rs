//! The crate's layers (docs/architecture.md): each module of `vm` uses only
//! modules of lower layers, so that none needs one above it to be
//! understood. A new module gets a layer here, and an import that points up
//! fails this test with the file and the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every top-level module of `vm/src` and its layer, lowest first.
const LAYERS: &[(&str, u8)] = &[
    // Plain data and leaves.
    ("abi", 0),
    ("cache", 0),
    ("query", 0),
    ("failure", 1),
    ("features", 1),
    ("gas", 1),
    ("limits", 1),
    // What a module is: admitted, then rewritten for determinism.
    ("admission", 2),
    ("trace", 2),
    ("determinism", 3),
    // TestVms run rewritten modules for a host they know only by its trait.
    ("engine", 4),
    // Contract state over the engines' instances.
    ("state", 5),
    // The ABI's host: imports and call frames.
    ("host", 6),
    // Sessions deploy and call.
    ("session", 7),
    // Views of sessions: the runner protocol's outcome and the gas oracle.
    ("normalize", 8),
    ("oracle", 8),
];

fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file of `src` belongs to.
fn module_of(path: &Path) -> String {
    let relative = path.strip_prefix(source_dir()).expect("a file of src");
    let first = relative
        .components()
        .next()
        .expect("a path")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_string()
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// The modules of the crate `line` names as `crate::name`, outside
/// comments.
fn crate_paths(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    code.match_indices("crate::")
        .map(|(at, _)| {
            code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn every_module_has_a_layer() {
    let layers: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let lib = std::fs::read_to_string(source_dir().join("lib.rs")).expect("lib.rs");
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|line| {
            line.strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("mod "))
        })
        .map(|rest| rest.trim_end_matches(';'))
        .collect();
    let mut listed: Vec<&str> = layers.keys().copied().collect();
    let mut declared_sorted = declared.clone();
    declared_sorted.sort_unstable();
    listed.sort_unstable();
    assert_eq!(
        declared_sorted, listed,
        "lib.rs's modules and LAYERS differ"
    );
}

#[test]
fn no_module_uses_one_above_it() {
    let layers: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&source_dir(), &mut files);
    files.sort();
    let mut upward = Vec::new();
    for file in &files {
        let module = module_of(file);
        if module == "lib" {
            continue;
        }
        let own = layers[module.as_str()];
        let text = std::fs::read_to_string(file).expect("readable source");
        for (number, line) in text.lines().enumerate() {
            for used in crate_paths(line) {
                if used == module {
                    continue;
                }
                let Some(&layer) = layers.get(used.as_str()) else {
                    upward.push(format!(
                        "{}:{}: crate::{used} has no layer",
                        file.display(),
                        number + 1
                    ));
                    continue;
                };
                if layer >= own {
                    upward.push(format!(
                        "{}:{}: {module} (layer {own}) uses crate::{used} (layer {layer})",
                        file.display(),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that do not point down:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    // The parser the test above relies on: code, not comments.
    assert_eq!(crate_paths("use crate::host::HostState;"), ["host"]);
    assert_eq!(
        crate_paths("let x = crate::abi::ARGBUF_LEN; // crate::session"),
        ["abi"]
    );
    assert!(crate_paths("/// See [`crate::session`].").is_empty());
}
