//! The `conformance` command line, end to end.

use std::path::PathBuf;
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn conformance(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("conformance-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("writes");
    path
}

#[test]
fn call_prints_both_engines_and_agreement() {
    let out = conformance(&[
        "call",
        "corpus/contracts/wasm64-echo.wat",
        "echo",
        "--arg-utf8",
        "hello",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("wasmtime:\n  output: 0x68656c6c6f (\"hello\")"),
        "{text}"
    );
    assert!(text.contains("wasmi:\n  output: 0x68656c6c6f"), "{text}");
    assert!(text.contains("engines agree"), "{text}");
}

#[test]
fn call_json_has_an_entry_per_engine() {
    let out = conformance(&[
        "call",
        "corpus/contracts/counter.wat",
        "increment",
        "--arg",
        "0x07000000",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["agree"], true);
    let engines = json["engines"].as_array().expect("engines");
    assert_eq!(engines.len(), 2);
    assert_eq!(engines[0]["engine"], "wasmtime");
    assert_eq!(engines[1]["engine"], "wasmi");
    assert_eq!(engines[0]["output_hex"], "0700000000000000");
    assert_eq!(engines[0]["gas_spent"], engines[1]["gas_spent"]);
}

#[test]
fn call_reports_errors_and_gas_on_one_engine() {
    let out = conformance(&[
        "call",
        "corpus/contracts/counter.wat",
        "increment_then_panic",
        "--arg",
        "01000000",
        "--engine",
        "wasmi",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("error:  panic: panic: counter is broken"),
        "{text}"
    );
    assert!(!text.contains("wasmtime"), "{text}");
}

#[test]
fn bad_input_exits_with_2() {
    let missing = conformance(&["call", "no/such/file.wat", "f"]);
    assert_eq!(missing.status.code(), Some(2));
    let bad_wat = temp_file("bad.wat", b"(module (func $oops");
    let invalid = conformance(&["call", bad_wat.to_str().expect("utf-8"), "f"]);
    assert_eq!(invalid.status.code(), Some(2));
    let rejected = temp_file("rejected.wat", b"(module (memory (export \"memory\") 1))");
    let out = conformance(&["call", rejected.to_str().expect("utf-8"), "f"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not export the argument buffer global `A`"),
        "{stderr}"
    );
    let bad_arg = conformance(&[
        "call",
        "corpus/contracts/counter.wat",
        "read",
        "--arg",
        "zz",
    ]);
    assert_eq!(bad_arg.status.code(), Some(2));
}

#[test]
fn run_checks_every_corpus_contract() {
    let out = conformance(&["run"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("0 diverge, 0 unexpected, 0 files broken"),
        "{text}"
    );
}

#[test]
fn run_fails_on_an_unmet_expectation() {
    let wrong = temp_file(
        "wrong.wat",
        b";; call: f\n;; expect: ok 01\n(module (memory (export \"memory\") 1) (global (export \"A\") i32 (i32.const 0)) (func (export \"f\") (param i32) (result i32) i32.const 0))",
    );
    let out = conformance(&["run", wrong.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("1 unexpected"));
}

#[test]
fn call_deploys_several_contracts_and_prints_the_call_tree() {
    let first = conformance(&["call", "corpus/contracts/wasm64-echo.wat", "echo"]);
    let echo_id = stdout(&first)
        .lines()
        .find_map(|line| line.strip_prefix("contract 1 "))
        .map(|rest| rest.split_whitespace().next().expect("id").to_string())
        .expect("the id is printed");
    let request = format!("{echo_id}0000000000000000040000006563686f6869");
    let out = conformance(&[
        "call",
        "corpus/contracts/actors/actor32.wat",
        "corpus/contracts/wasm64-echo.wat",
        "call",
        "--arg",
        &request,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["agree"], true);
    let wasmtime = &json["engines"][0];
    assert_eq!(wasmtime["contracts"].as_array().expect("ids").len(), 2);
    assert_eq!(wasmtime["contracts"][1], echo_id.as_str());
    assert_eq!(wasmtime["output_hex"], "020000006869");
    let child = &wasmtime["call_tree"]["children"][0];
    assert_eq!(child["contract"], echo_id.as_str());
    assert_eq!(child["function"], "echo");
    assert_eq!(child["outcome"]["output"], "6869");
    let text = conformance(&[
        "call",
        "corpus/contracts/actors/actor32.wat",
        "corpus/contracts/wasm64-echo.wat",
        "call",
        "--arg",
        &request,
    ]);
    assert!(
        stdout(&text).contains("echo(0x6869) gas 2/"),
        "{}",
        stdout(&text)
    );
}
