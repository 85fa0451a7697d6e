//! The handwritten contracts of `corpus/contracts/`, which the `scenario`
//! target calls.

use std::path::{Path, PathBuf};

use crate::generate;

/// Where the known contracts are: a `corpus/` next to the executable (how
/// ClusterFuzzLite ships them, see `.clusterfuzzlite/build.sh`), else the
/// repository's, so that binaries run from anywhere find them.
pub fn corpus_root() -> PathBuf {
    let shipped = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("corpus")))
        .filter(|dir| dir.join("contracts").is_dir());
    shipped.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus"))
}

/// Contracts at and past our engines' own limits (hundreds of KiB of WAT,
/// some refused by admission): scenarios use them, cases do not.
pub const ENGINE_LIMIT_CONTRACTS: &str = "engine-limits";

/// The handwritten contracts of `corpus/contracts/` with their exports,
/// those of [`ENGINE_LIMIT_CONTRACTS`] left out. A contract the VM does
/// not admit is an error: the corpus is ours.
pub fn known_contracts(corpus: &std::path::Path) -> Result<Vec<generate::KnownContract>, String> {
    let mut files = Vec::new();
    let mut pending = vec![corpus.join("contracts")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir()
                && path.file_name() == Some(std::ffi::OsStr::new(ENGINE_LIMIT_CONTRACTS))
            {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "wat") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut known = Vec::new();
    for path in files {
        let wasm = wat::parse_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let info = vm::admission::admit(&wasm, &vm::limits::Limits::default(), true)
            .map_err(|e| format!("{}: not admitted: {e}", path.display()))?;
        let exports: Vec<String> = info.exports.into_iter().filter(|e| e != "init").collect();
        if !exports.is_empty() {
            let name = path
                .strip_prefix(corpus.join("contracts"))
                .unwrap_or(&path)
                .display()
                .to_string();
            known.push(generate::KnownContract {
                name,
                wasm,
                exports,
            });
        }
    }
    Ok(known)
}
