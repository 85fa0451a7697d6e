//! The committed Rust contracts (`contracts/wasm/`) are what their sources
//! build to: `contracts/build.sh --check` rebuilds every one with the
//! pinned toolchain and flags and compares the bytes.

use std::path::Path;
use std::process::Command;

#[test]
fn committed_modules_match_their_sources() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = repository.join("target").join("contracts");
    let output = Command::new("bash")
        .arg(repository.join("contracts").join("build.sh"))
        .arg("--check")
        .env("CONTRACTS_TARGET_DIR", &target)
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "contracts/build.sh --check failed (needs the wasm32-unknown-unknown target of the \
         toolchain in contracts/rust-toolchain.toml):\n{stderr}"
    );
    let committed = std::fs::read_dir(repository.join("contracts").join("wasm"))
        .expect("contracts/wasm exists")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        })
        .count();
    assert!(committed >= 10, "only {committed} contracts are committed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.trim(),
        format!("{committed} contracts match their sources"),
        "every committed module is checked"
    );
}
