//! Bad scenario files get an error naming the file and line; the step after
//! a failed deploy is an error too, and other scenarios are unaffected.

use std::path::{Path, PathBuf};

use conformance::scenario::Scenario;
use conformance::suite::{self, Which};

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scenario-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writes");
    path
}

fn load(name: &str, text: &str) -> Result<Scenario, String> {
    let path = write(name, text);
    let corpus = conformance::repository_root().join("corpus");
    Scenario::load(&path, &corpus, path.parent().expect("dir")).map_err(|e| e.to_string())
}

const CONTRACT: &str = r#"
[contract.a]
wat = '''(module (memory (export "memory") 2) (global (export "A") i32 (i32.const 0))
  (func (export "f") (param i32) (result i32) i32.const 0))'''
"#;

fn expect_error(name: &str, text: &str, line: usize, words: &str) {
    let error = load(name, text).expect_err("should be rejected");
    assert!(error.contains(&format!("{name}:{line}:")), "{error}");
    assert!(error.contains(words), "{error}");
}

#[test]
fn a_missing_contract_is_named_with_its_line() {
    let text = format!(
        "{CONTRACT}\n[[step]]\ndeploy = \"a\"\n\n[[step]]\ncall = \"b\"\nfunction = \"f\"\n"
    );
    expect_error("missing.toml", &text, 9, "no contract named `b`");
}

#[test]
fn a_missing_file_is_named() {
    let text = "[contract.a]\nfile = \"no/such.wat\"\n\n[[step]]\ndeploy = \"a\"\n";
    expect_error("file.toml", text, 1, "cannot read");
}

#[test]
fn malformed_wat_is_reported() {
    let text = "[contract.a]\nwat = \"(module (func\"\n\n[[step]]\ndeploy = \"a\"\n";
    expect_error("wat.toml", text, 1, "invalid WAT");
}

#[test]
fn a_bad_argument_literal_is_reported() {
    let text = format!(
        "{CONTRACT}\n[[step]]\ndeploy = \"a\"\n\n[[step]]\ncall = \"a\"\nfunction = \"f\"\narg = \"u32:-1\"\n"
    );
    expect_error("literal.toml", &text, 9, "out of range");
    let text = format!(
        "{CONTRACT}\n[[step]]\ndeploy = \"a\"\n\n[[step]]\ncall = \"a\"\nfunction = \"f\"\narg = \"0xzz\"\n"
    );
    expect_error("hex.toml", &text, 9, "bad hex");
}

#[test]
fn toml_syntax_errors_have_lines() {
    expect_error("syntax.toml", "[[step]]\ndeploy = \n", 2, "");
    expect_error(
        "unknown.toml",
        "[[step]]\ndeply = \"a\"\n",
        2,
        "unknown field",
    );
}

#[test]
fn calls_before_deploys_are_refused() {
    let text = format!("{CONTRACT}\n[[step]]\ncall = \"a\"\nfunction = \"f\"\n");
    expect_error("order.toml", &text, 6, "before its deploy step");
}

#[test]
fn a_step_after_a_failed_deploy_is_an_error_and_others_still_run() {
    let bad = r#"
[contract.a]
wat = '''(module (memory (export "memory") 2))'''

[[step]]
deploy = "a"

[[step]]
call = "a"
function = "f"
"#;
    let scenario = load("after-failed.toml", bad).expect("loads");
    let engines = suite::Engines::new().expect("engines");
    let report = suite::run_scenario(&engines, &scenario, Which::Both, Path::new("/nonexistent"));
    let error = report
        .error()
        .expect("the call step cannot run")
        .to_string();
    assert!(error.contains("after-failed.toml:8:"), "{error}");
    assert!(error.contains("failed to deploy"), "{error}");
    // Another scenario runs fine with the same engines.
    let good = format!(
        "{CONTRACT}\n[[step]]\ndeploy = \"a\"\n\n[[step]]\ncall = \"a\"\nfunction = \"f\"\n"
    );
    let scenario = load("fine.toml", &good).expect("loads");
    let report = suite::run_scenario(&engines, &scenario, Which::Both, Path::new("/nonexistent"));
    assert!(report.error().is_none());
    assert!(report.divergences.is_empty());
}
