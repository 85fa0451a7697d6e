//! Hostile input through the command line, as a user who means harm (or
//! makes mistakes) would give it: each case runs the `conformance` binary
//! and checks its exit code and what it says. Bad input exits 2 with a
//! reason that names the place; a module an engine refuses is an outcome
//! (exit 0 when the engines agree on it); runtime abuse ends with bounded
//! outcomes the engines agree on.

use std::path::PathBuf;
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("conformance-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn file(name: &str, contents: &[u8]) -> String {
    let path = dir().join(name);
    std::fs::write(&path, contents).expect("writes");
    path.to_str().expect("utf-8").to_string()
}

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// Runs `args` and insists on the exit code and every needle.
fn expect(args: &[&str], code: i32, needles: &[&str]) {
    let (status, text) = run(args);
    assert_eq!(status, Some(code), "{args:?}:\n{text}");
    for needle in needles {
        assert!(text.contains(needle), "{args:?}: no {needle:?} in:\n{text}");
    }
    assert!(!text.contains("panicked"), "{args:?}:\n{text}");
}

/// Writes a scenario file `name` and runs `show` on our engines, insisting
/// as [`expect`] does.
fn show_scenario(name: &str, text: &[u8], code: i32, needles: &[&str]) {
    let path = file(name, text);
    expect(&["show", &path, "--engine", OURS], code, needles);
}

const OURS: &str = "wasmtime,wasmi";
const COUNTER: &str = "corpus/contracts/counter.wat";

/// A scenario of one inline contract (`body`, imports first, then its
/// memory and argument buffer) and one call of `f` with `gas`, after
/// `session`.
fn scenario(name: &str, session: &str, body: &str, arg: &str, gas: &str) -> String {
    file(
        name,
        format!(
            "{session}\n[contract.a]\nwat = '''(module\n{body}\n(memory (export \"memory\") 2) (global (export \"A\") i32 (i32.const 0)))'''\n\n[[step]]\ndeploy = \"a\"\n\n[[step]]\ncall = \"a\"\nfunction = \"f\"\narg = \"{arg}\"\ngas = {gas}\n"
        )
        .as_bytes(),
    )
}

// --- the command line ---

#[test]
fn call_without_a_function() {
    expect(&["call", COUNTER], 2, &["CONTRACT... FUNCTION"]);
}

#[test]
fn call_to_a_position_that_is_not_there() {
    for to in ["0", "2"] {
        expect(
            &["call", COUNTER, "increment", "--to", to, "--engine", OURS],
            2,
            &[&format!(
                "--to {to}: give the position of a contract on the command line, from 1 to 1"
            )],
        );
    }
}

#[test]
fn call_with_an_argument_that_is_not_hex() {
    expect(
        &[
            "call",
            COUNTER,
            "increment",
            "--arg",
            "zz",
            "--engine",
            OURS,
        ],
        2,
        &["--arg"],
    );
}

#[test]
fn call_with_a_missing_argument_file() {
    expect(
        &[
            "call",
            COUNTER,
            "increment",
            "--arg-file",
            "/no/such/file",
            "--engine",
            OURS,
        ],
        2,
        &["/no/such/file"],
    );
}

#[test]
fn call_with_an_argument_file_past_a_mebibyte() {
    let big = file("big.bin", &vec![1u8; (1 << 20) + 1]);
    expect(
        &[
            "call",
            COUNTER,
            "increment",
            "--arg-file",
            &big,
            "--engine",
            OURS,
        ],
        2,
        &["larger than 1048576 bytes"],
    );
}

#[test]
fn call_on_an_engine_that_does_not_exist() {
    expect(
        &["call", COUNTER, "increment", "--engine", "wasm3"],
        2,
        &["wasm3"],
    );
}

#[test]
fn call_with_a_gas_limit_that_is_not_a_number() {
    expect(
        &["call", COUNTER, "increment", "--gas", "lots"],
        2,
        &["--gas"],
    );
}

#[test]
fn call_with_more_init_arguments_than_contracts() {
    expect(
        &[
            "call",
            COUNTER,
            "increment",
            "--init",
            "00",
            "--init",
            "00",
            "--engine",
            OURS,
        ],
        2,
        &["2 --init arguments for 1 contracts"],
    );
}

#[test]
fn call_on_an_endless_file() {
    expect(
        &["call", "/dev/zero", "f", "--engine", OURS],
        2,
        &["larger than 16777216 bytes"],
    );
}

#[test]
fn call_on_a_folder() {
    let folder = dir();
    expect(
        &[
            "call",
            folder.to_str().expect("utf-8"),
            "f",
            "--engine",
            OURS,
        ],
        2,
        &["cannot read"],
    );
}

#[test]
fn run_on_a_file_that_is_not_a_scenario() {
    let notes = file("notes.txt", b"hello");
    expect(
        &["run", &notes],
        2,
        &["notes.txt: not a scenario file (.toml)"],
    );
}

#[test]
fn run_on_a_folder_without_scenarios() {
    let empty = dir().join("empty");
    std::fs::create_dir_all(&empty).expect("dir");
    expect(
        &["run", empty.to_str().expect("utf-8"), "--engine", OURS],
        2,
        &["no scenario files (.toml) under"],
    );
}

#[test]
fn run_on_a_path_that_does_not_exist() {
    expect(
        &["run", "/no/such/scenarios", "--engine", OURS],
        2,
        &["No such file or directory"],
    );
}

#[test]
fn show_without_a_scenario_and_with_help() {
    expect(&["show"], 2, &["<SCENARIO>"]);
    expect(
        &["show", "--help"],
        0,
        &["Usage: conformance show [OPTIONS] <SCENARIO>"],
    );
    expect(
        &["call", "--help"],
        0,
        &["Usage: conformance call [OPTIONS] CONTRACT... FUNCTION"],
    );
}

#[test]
fn a_scenario_shown_from_another_folder_finds_its_contracts() {
    let (status, text) = {
        let out = Command::new(env!("CARGO_BIN_EXE_conformance"))
            .args([
                "show",
                repo()
                    .join("corpus/scenarios/contracts/counter.toml")
                    .to_str()
                    .expect("utf-8"),
                "--engine",
                OURS,
            ])
            .current_dir(std::env::temp_dir())
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(status, Some(0), "{text}");
    assert!(
        text.contains("== engines agree (snapshot: match)"),
        "{text}"
    );
}

// --- scenario files ---

#[test]
fn a_scenario_that_is_not_toml() {
    show_scenario(
        "syntax.toml",
        b"[contract.a\nwat = 1\n",
        2,
        &["syntax.toml:1:"],
    );
}

#[test]
fn a_scenario_nested_past_the_parser_s_depth() {
    show_scenario(
        "deep.toml",
        format!("x = {}", "[".repeat(200)).as_bytes(),
        2,
        &["deep.toml:1:", "recursion"],
    );
}

#[test]
fn a_scenario_with_an_unknown_field() {
    show_scenario(
        "unknown.toml",
        b"[contract.a]\nwat = '(module)'\ncolour = 1\n\n[[step]]\ndeploy = \"a\"\n",
        2,
        &["unknown.toml:", "colour"],
    );
}

#[test]
fn a_contract_file_outside_the_corpus() {
    for (name, target) in [
        ("up.toml", "../../../../etc/passwd"),
        ("absolute.toml", "/etc/passwd"),
    ] {
        let path = file(
            name,
            format!("[contract.a]\nfile = \"{target}\"\n\n[[step]]\ndeploy = \"a\"\n").as_bytes(),
        );
        let (status, text) = run(&["show", &path, "--engine", OURS]);
        assert_eq!(status, Some(2), "{text}");
        assert!(text.contains(&format!("{name}:1: contract `a`")), "{text}");
        assert!(!text.contains("root:"), "the file was read: {text}");
    }
}

#[test]
fn host_data_and_an_owner_past_the_argument_buffer() {
    let long = format!("zeros:{}", 65_537);
    show_scenario("hd.toml", format!("[session]\nhost_data = {{ k = \"{long}\" }}\n\n[contract.a]\nwat = '(module)'\n\n[[step]]\ndeploy = \"a\"\n").as_bytes(), 2, &["hd.toml:2: host data `k` of 65537 bytes does not fit"]);
    show_scenario(
        "owner.toml",
        format!("[contract.a]\nwat = '(module)'\nowner = \"{long}\"\n\n[[step]]\ndeploy = \"a\"\n")
            .as_bytes(),
        2,
        &["owner.toml:", "65537"],
    );
}

#[test]
fn inline_wat_errors_point_at_the_line_in_the_scenario() {
    show_scenario("wat.toml", b"description = \"x\"\n\n[contract.a]\nwat = '''\n(module\n  (memory 1)\n  (func (export \"f\") (param i32) (result i32)\n     i32.const 0 i32.bogus))\n'''\n\n[[step]]\ndeploy = \"a\"\n", 2, &[
            "wat.toml:8: contract `a`: invalid WAT",
            "wat.toml:8:18",
            "i32.const 0 i32.bogus",
        ]);
}

#[test]
fn a_step_timeout_of_zero() {
    let path = scenario(
        "zero-timeout.toml",
        "[session]\nstep_timeout = 0",
        "",
        "0x",
        "1000",
    );
    expect(
        &["show", &path, "--engine", OURS],
        2,
        &["zero-timeout.toml:2: step_timeout = 0: seconds between 0 (excluded) and 3600"],
    );
}

#[test]
fn a_call_before_its_deploy() {
    show_scenario("early.toml", b"[contract.a]\nwat = '(module)'\n\n[[step]]\ncall = \"a\"\nfunction = \"f\"\n\n[[step]]\ndeploy = \"a\"\n", 2, &["early.toml:4:"]);
}

// --- modules: a refusal is an outcome the engines agree on ---

#[test]
fn bytes_that_do_not_start_as_a_module() {
    let path = file(
        "magic.toml",
        b"[contract.a]\nwasm = \"0x0161736d01000000\"\n\n[[step]]\ndeploy = \"a\"\n",
    );
    let (status, text) = run(&["show", &path, "--engine", OURS]);
    assert_eq!(status, Some(0), "{text}");
    assert!(
        text.contains("it starts with 01 61 73 6d, not with 00 61 73 6d (\\0asm)"),
        "{text}"
    );
    assert!(!text.contains("expected=["), "{text}");
    show_scenario(
        "empty.toml",
        b"[contract.a]\nwasm = \"\"\n\n[[step]]\ndeploy = \"a\"\n",
        0,
        &["it starts with nothing (0 bytes)"],
    );
}

#[test]
fn a_module_without_memory_and_one_past_the_page_cap() {
    show_scenario("modules.toml", b"[contract.none]\nwat = '(module)'\n[contract.big]\nwat = '(module (memory 4097))'\n\n[[step]]\ndeploy = \"none\"\n\n[[step]]\ndeploy = \"big\"\n", 0, &["rejected", "== engines agree"]);
}

// --- runtime abuse: bounded outcomes, the same on both engines ---

#[test]
fn a_loop_given_all_the_gas_there_is_ends_at_the_wall_clock_limit() {
    let path = scenario(
        "forever.toml",
        "[session]\nstep_timeout = 0.3",
        "(func (export \"f\") (param i32) (result i32) (loop $l (br $l)) i32.const 0)",
        "0x",
        "\"18446744073709551615\"",
    );
    let started = std::time::Instant::now();
    expect(
        &["show", &path, "--engine", OURS],
        0,
        &[
            "the call ran past its wall-clock limit of 300ms",
            "== engines agree",
        ],
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn a_loop_of_empty_events_keeps_a_bounded_prefix() {
    let path = scenario(
        "events.toml",
        "",
        "(import \"env\" \"emit\" (func $emit (param i32 i32 i32)))\n(data (i32.const 70000) \"t\")\n(func (export \"f\") (param i32) (result i32) (local $n i32) (local.set $n (i32.const 70000)) (block $d (loop $l (br_if $d (i32.eqz (local.get $n))) (call $emit (i32.const 70000) (i32.const 1) (i32.const 0)) (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br $l))) i32.const 0)",
        "0x",
        "100000000",
    );
    let (status, text) = run(&["show", &path, "--engine", OURS, "--step-timeout", "120"]);
    assert_eq!(
        status,
        Some(0),
        "{}",
        &text[text.len().saturating_sub(2000)..]
    );
    assert!(text.contains("== engines agree"));
    assert_eq!(
        text.matches("events omitted: 4464 more, 4464 bytes, blake3 ")
            .count(),
        2,
        "one line per engine"
    );
    assert!(text.len() < 64 << 20, "{} bytes printed", text.len());
}

#[test]
fn a_loop_of_refused_calls_keeps_a_bounded_call_tree() {
    let path = scenario(
        "refused.toml",
        "",
        "(import \"env\" \"c\" (func $c (param i32 i32 i32 i32 i64) (result i32)))\n(data (i32.const 70000) \"f\")\n(func (export \"f\") (param i32) (result i32) (local $n i32) (local.set $n (i32.const 70000)) (block $d (loop $l (br_if $d (i32.eqz (local.get $n))) (drop (call $c (i32.const 70100) (i32.const 70000) (i32.const 1) (i32.const 0) (i64.const 1000))) (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br $l))) i32.const 0)",
        "0x",
        "100000000",
    );
    let (status, text) = run(&["show", &path, "--engine", OURS, "--step-timeout", "120"]);
    assert_eq!(
        status,
        Some(0),
        "{}",
        &text[text.len().saturating_sub(2000)..]
    );
    assert!(
        text.contains("... 4465 more frames, blake3 "),
        "{}",
        &text[text.len().saturating_sub(2000)..]
    );
    assert!(text.contains("== engines agree"));
}

#[test]
fn an_output_length_past_the_argument_buffer() {
    let path = scenario(
        "output.toml",
        "",
        "(func (export \"f\") (param i32) (result i32) i32.const 65537)",
        "0x",
        "1000",
    );
    expect(
        &["show", &path, "--engine", OURS],
        0,
        &["output length 65537, outside 0..=65536", "== engines agree"],
    );
}

#[test]
fn a_step_timeout_out_of_range_is_refused() {
    let with_timeout = |value: &str, code: i32, needles: &[&str]| {
        expect(
            &[
                "call",
                COUNTER,
                "increment",
                "--engine",
                OURS,
                "--step-timeout",
                value,
            ],
            code,
            needles,
        );
    };
    for value in ["0", "3601", "18446744073709551615"] {
        with_timeout(value, 2, &["--step-timeout", "1..=3600"]);
    }
    with_timeout("3600", 0, &["== engines agree"]);
}

#[test]
fn an_unknown_deviation_is_a_scenario_error_not_a_difference() {
    show_scenario(
        "unknown-deviation.toml",
        b"[contract.c]\nfile = \"counter.wat\"\n\n[[step]]\ndeploy = \"c\"\n\n[[step]]\ncall = \"c\"\nfunction = \"increment\"\ndeviations = [\"no-such-entry\"]\n",
        2,
        &["== SCENARIO ERROR", "no deviation `no-such-entry` in the catalogue"],
    );
    let (_, text) = run(&[
        "show",
        &dir().join("unknown-deviation.toml").display().to_string(),
        "--engine",
        OURS,
    ]);
    assert!(!text.contains("ENGINES DIFFER"), "{text}");
}

#[test]
fn an_init_argument_for_a_contract_without_init_is_refused() {
    expect(
        &[
            "call",
            "corpus/contracts/host.wat",
            "echo",
            "--init",
            "00",
            "--engine",
            OURS,
        ],
        2,
        &["--init for contract 1 (corpus/contracts/host.wat): it exports no function `init`"],
    );
}
