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
fn call_prints_every_engine_and_agreement() {
    let out = conformance(&[
        "call",
        "corpus/contracts/wasm64-echo.wat",
        "echo",
        "--arg-utf8",
        "hello",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    for engine in ["== wasmtime", "== wasmi", "== piecrust-0.32.2"] {
        assert!(text.contains(engine), "{text}");
    }
    assert_eq!(
        text.matches("  output: 0x68656c6c6f \"hello\"\n").count(),
        3,
        "{text}"
    );
    assert!(text.contains("== engines agree"), "{text}");
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
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["agree"], true);
    let engines = json["engines"].as_array().expect("engines");
    let names: Vec<&str> = engines
        .iter()
        .map(|e| e["engine"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["wasmtime", "wasmi", "piecrust-0.32.2"]);
    for engine in engines {
        let call = &engine["steps"][1]["outcome"];
        assert_eq!(call["result"]["output"], "0700000000000000", "{engine}");
        assert_eq!(
            call["gas_spent"],
            engines[0]["steps"][1]["outcome"]["gas_spent"]
        );
    }
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
    let text = stdout(&out);
    // One engine agrees with nothing: the outcome is shown, nothing passes.
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("  error: panic: counter is broken\n"),
        "{text}"
    );
    assert!(
        text.contains("== wasmi") && !text.contains("wasmtime"),
        "{text}"
    );
    assert!(
        text.contains("== NOT COMPARED: only wasmi played it, with no snapshot to compare\n")
            && !text.contains("agree"),
        "{text}"
    );
}

#[test]
fn a_call_on_one_engine_is_not_agreement_in_json() {
    let out = conformance(&[
        "call",
        "corpus/contracts/counter.wat",
        "increment",
        "--engine",
        "wasmtime",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["compared"], false);
    assert_eq!(json["agree"], false);
    assert_eq!(json["engines"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_scenario_no_listed_engine_can_play_is_not_agreement() {
    // The node's queries: bare piecrust cannot play them.
    let scenario = "corpus/scenarios/node/queries/hash-aegis.toml";
    let out = conformance(&["show", scenario, "--engine", "piecrust"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("== piecrust-0.32.2: not applicable (a contract imports `hq`"),
        "{text}"
    );
    assert!(
        text.contains("== NOT COMPARED: no engine played it; piecrust-0.32.2: not applicable"),
        "{text}"
    );
    assert!(!text.contains("engines agree"), "{text}");

    // Beside an engine that plays it, the one that cannot says so, and
    // the snapshot is the comparison.
    let out = conformance(&["show", scenario, "--engine", "piecrust,wasmi"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("== piecrust-0.32.2: not applicable")
            && text.contains("== wasmi matches the snapshot (no other engine played)"),
        "{text}"
    );

    let out = conformance(&[
        "run",
        "corpus/scenarios/node/queries",
        "--engine",
        "piecrust",
        "--snapshots",
        "skip",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let summary = &json["summary"];
    assert_eq!(summary["agreeing"], 0, "{summary}");
    assert_eq!(summary["passed"], 0, "{summary}");
    assert_eq!(summary["not_compared"], summary["scenarios"], "{summary}");
    assert!(summary["scenarios"].as_u64().expect("count") > 0);
}

#[test]
fn one_engine_without_snapshots_compares_nothing() {
    let out = conformance(&[
        "run",
        "corpus/scenarios/numeric",
        "--engine",
        "wasmi",
        "--snapshots",
        "skip",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("NOT COMPARED ") && text.contains(" scenarios not compared: "),
        "{text}"
    );
    assert!(text.contains("conformance: 0 passed, "), "{text}");
}

#[test]
fn bad_input_exits_with_2_and_a_rejected_module_is_an_outcome() {
    let missing = conformance(&["call", "no/such/file.wat", "f"]);
    assert_eq!(missing.status.code(), Some(2));
    let bad_wat = temp_file("bad.wat", b"(module (func $oops");
    let invalid = conformance(&["call", bad_wat.to_str().expect("utf-8"), "f"]);
    assert_eq!(invalid.status.code(), Some(2));
    let bad_arg = conformance(&[
        "call",
        "corpus/contracts/counter.wat",
        "read",
        "--arg",
        "zz",
    ]);
    assert_eq!(bad_arg.status.code(), Some(2));
    // Every engine rejects this module: the engines agree on it.
    let rejected = temp_file("rejected.wat", b"(module (memory (export \"memory\") 1))");
    let out = conformance(&["call", rejected.to_str().expect("utf-8"), "f"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(
            "error: rejected: module rejected: does not export the argument buffer global `A`"
        ),
        "{text}"
    );
    assert!(text.contains("error: rejected: Invalid global"), "{text}");
}

#[test]
fn call_takes_an_init_argument() {
    let contract = temp_file(
        "init.wat",
        br#"(module
  (memory (export "memory") 2)
  (global (export "A") i32 (i32.const 0))
  (func (export "init") (param i32) (result i32)
    i32.const 100 i32.const 0 i32.load8_u i32.store8 i32.const 0)
  (func (export "read") (param i32) (result i32)
    i32.const 0 i32.const 100 i32.load8_u i32.store8 i32.const 1))"#,
    );
    let out = conformance(&[
        "call",
        contract.to_str().expect("utf-8"),
        "read",
        "--init",
        "2a",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text.matches("  output: 0x2a \"*\"\n").count(), 3, "{text}");
}

#[test]
fn run_checks_every_scenario_against_its_snapshot() {
    let out = conformance(&["run", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let scenarios = json["scenarios"].as_array().expect("scenarios");
    assert!(scenarios.len() >= 160, "{}", scenarios.len());
    assert!(
        scenarios
            .iter()
            .all(|s| s["passed"] == true && s["snapshot"] == "match")
    );
    assert_eq!(json["summary"]["diverging"], 0);
    assert_eq!(json["summary"]["broken"], 0);
    assert_eq!(json["engines"][2], "piecrust-0.32.2");
    let engines = json["summary"]["engines"].as_array().expect("tallies");
    assert_eq!(engines[1]["diverging"], 0);
    assert!(engines[2]["explained"].as_u64().expect("count") > 0);
}

#[test]
fn run_on_one_engine_and_a_subset() {
    let out = conformance(&["run", "corpus/scenarios/numeric", "--engine", "wasmi"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(" scenarios, ") && text.contains("0 diverge"),
        "{text}"
    );
}

#[test]
fn run_fails_without_a_snapshot_and_names_broken_files() {
    let dir = std::env::temp_dir().join(format!("conformance-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let fresh = dir.join("fresh.toml");
    std::fs::write(
        &fresh,
        "[contract.a]\nwat = \'\'\'(module (memory (export \"memory\") 1) (global (export \"A\") i32 (i32.const 0)) (func (export \"f\") (param i32) (result i32) i32.const 0))\'\'\'\n\n[[step]]\ndeploy = \"a\"\n\n[[step]]\ncall = \"a\"\nfunction = \"f\"\n",
    )
    .expect("writes");
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "[[step]]\ncall = \"nobody\"\nfunction = \"f\"\n").expect("writes");
    let out = conformance(&["run", dir.to_str().expect("utf-8")]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("SNAPSHOT fresh.toml missing") || text.contains("fresh.toml"),
        "{text}"
    );
    assert!(
        text.contains("broken.toml:1: no contract named `nobody`"),
        "{text}"
    );
    assert!(text.contains("1 snapshot mismatches, 1 broken"), "{text}");
}

#[test]
fn show_prints_every_engine() {
    let out = conformance(&["show", "corpus/scenarios/calls/round-trip.toml"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for engine in ["== wasmtime", "== wasmi", "== piecrust-0.32.2"] {
        assert!(text.contains(engine), "{text}");
    }
    assert!(text.contains("b out32(0x) gas"), "{text}");
    assert!(text.contains("== engines agree"), "{text}");
}

#[test]
fn call_deploys_several_contracts_and_prints_the_call_tree() {
    let first = conformance(&["call", "corpus/contracts/wasm64-echo.wat", "echo"]);
    let echo_id = stdout(&first)
        .lines()
        .find_map(|line| line.strip_prefix("  id: "))
        .map(str::to_string)
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
    let wasmtime = &json["engines"][0]["steps"];
    assert_eq!(
        wasmtime[1]["outcome"]["result"]["deployed"],
        echo_id.as_str()
    );
    let call = &wasmtime[2]["outcome"];
    assert_eq!(call["result"]["output"], "020000006869");
    let child = &call["trace"]["children"][0];
    assert_eq!(child["contract"], echo_id.as_str());
    assert_eq!(child["function"], "echo");
    assert_eq!(child["outcome"]["output"], "6869");
    // Production lists the frames that succeeded, caller first.
    let frames = json["engines"][2]["steps"][2]["outcome"]["frames"]
        .as_array()
        .expect("frames");
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1]["contract"], echo_id.as_str());
    let text = conformance(&[
        "call",
        "corpus/contracts/actors/actor32.wat",
        "corpus/contracts/wasm64-echo.wat",
        "call",
        "--arg",
        &request,
    ]);
    assert!(
        stdout(&text).contains("contract2 echo(0x6869) gas 2/"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn run_records_skips_and_then_checks_a_snapshot_of_ones_own() {
    let dir = std::env::temp_dir().join(format!("conformance-record-{}", std::process::id()));
    let snapshots = dir.join("snapshots");
    std::fs::create_dir_all(&dir).expect("dir");
    let mine = dir.join("mine.toml");
    std::fs::write(
        &mine,
        "[contract.a]\nfile = \"counter.wat\"\n\n[[step]]\ndeploy = \"a\"\n\n[[step]]\ncall = \"a\"\nfunction = \"increment\"\narg = \"u32:7\"\n",
    )
    .expect("writes");
    let run = |mode: &str| {
        let out = conformance(&[
            "run",
            mine.to_str().expect("utf-8"),
            "--engine",
            "wasmtime,wasmi",
            "--snapshot-dir",
            snapshots.to_str().expect("utf-8"),
            "--snapshots",
            mode,
        ]);
        (out.status.code(), stdout(&out))
    };
    let (code, text) = run("check");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("`run --snapshots record`"), "{text}");
    let (code, text) = run("skip");
    assert_eq!(code, Some(0), "{text}");
    assert!(!snapshots.exists(), "skip writes nothing");
    let (code, text) = run("record");
    assert_eq!(code, Some(0), "{text}");
    let files: Vec<_> = std::fs::read_dir(&snapshots)
        .expect("snapshot folder")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].to_string_lossy().ends_with("__mine.snap"),
        "{files:?}"
    );
    let recorded = std::fs::read_to_string(&files[0]).expect("recorded");
    assert!(
        recorded.contains("call a.increment(0x07000000)"),
        "{recorded}"
    );
    let (code, text) = run("check");
    assert_eq!(code, Some(0), "{text}");
    // A recorded snapshot holds: an outcome that changes is a mismatch.
    std::fs::write(
        &mine,
        std::fs::read_to_string(&mine)
            .expect("reads")
            .replace("u32:7", "u32:8"),
    )
    .expect("writes");
    let (code, text) = run("check");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("mismatch"), "{text}");
}

#[test]
fn call_reads_a_long_argument_from_a_file() {
    let fits = temp_file("fits.bin", &[7; 65_536]);
    let out = conformance(&[
        "call",
        "corpus/contracts/host.wat",
        "echo",
        "--arg-file",
        fits.to_str().expect("utf-8"),
        "--engine",
        "wasmtime,wasmi",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("(65536 bytes, blake3 "), "{text}");
    let past = temp_file("past.bin", &[7; 65_537]);
    let out = conformance(&[
        "call",
        "corpus/contracts/host.wat",
        "echo",
        "--arg-file",
        past.to_str().expect("utf-8"),
        "--engine",
        "wasmtime,wasmi",
    ]);
    let text = stdout(&out);
    assert!(
        text.contains("error: input of 65537 bytes does not fit the 65536-byte argument buffer"),
        "{text}"
    );
    let huge = temp_file("huge.bin", &vec![0; (1 << 20) + 1]);
    let out = conformance(&[
        "call",
        "corpus/contracts/host.wat",
        "echo",
        "--arg-file",
        huge.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than 1048576 bytes"));
}

#[test]
fn a_contained_query_panic_is_an_outcome_and_prints_nothing_else() {
    // The node's poseidon_hash of no scalars panics (query-panic-contained).
    let out = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args([
            "show",
            "corpus/scenarios/node/queries/poseidon-hash-aegis.toml",
            "--engine",
            "wasmtime,wasmi",
        ])
        .env("RUST_BACKTRACE", "1")
        .current_dir(repo())
        .output()
        .expect("runs");
    let text = stdout(&out);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{errors}");
    assert!(text.contains("host query panicked"), "{text}");
    assert!(
        !errors.contains("panicked") && !errors.contains("stack backtrace"),
        "{errors}"
    );
}

#[test]
fn a_fork_report_compares_the_from_engine_with_itself_unless_told() {
    let releases = |extra: &[&str]| {
        let mut args = vec![
            "releases",
            "corpus/scenarios/node/queries/hash-aegis.toml",
            "--from",
            "dusk-vm",
            "--from-fork",
            "pre-fork",
            "--to-fork",
            "aegis",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let out = conformance(&args);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        (json["from"].clone(), json["to"].clone())
    };
    assert_eq!(
        releases(&[]),
        (
            serde_json::json!("dusk-vm-1.7.0 at pre_fork"),
            serde_json::json!("dusk-vm-1.7.0 at aegis")
        )
    );
    assert_eq!(
        releases(&["--to", "piecrust-0.31"]).1,
        serde_json::json!("piecrust-0.31.0 at aegis")
    );
}
