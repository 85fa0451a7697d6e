//! Bad scenario files get an error naming the file and line; the step after
//! a failed deploy is an error too, and other scenarios are unaffected.

use std::path::PathBuf;

use conformance::catalogue::Catalogue;
use conformance::driver::{DriverConfig, OurVms, drivers};
use conformance::engines::EngineSpec;
use conformance::scenario::Scenario;
use conformance::suite::{self, TestedEngine};

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
    let place = if line == 0 {
        format!("{name}: ")
    } else {
        format!("{name}:{line}:")
    };
    assert!(error.contains(&place), "{error}");
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
    expect_error("wat.toml", text, 2, "invalid WAT");
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
    expect_error(
        "syntax.toml",
        "[[step]]\ndeploy = \n",
        2,
        "string values must be quoted",
    );
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
fn a_call_after_a_failed_deploy_meets_a_missing_contract_on_every_engine() {
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
    let vms = OurVms::new().expect("engines");
    let specs = [EngineSpec::Wasmtime, EngineSpec::Wasmi];
    let root = conformance::repository_root();
    let drivers = drivers(&specs, &vms, &DriverConfig::new(&root)).expect("drivers");
    let mut tested: Vec<TestedEngine> = specs
        .into_iter()
        .zip(drivers)
        .map(|(spec, driver)| TestedEngine { spec, driver })
        .collect();
    let report = suite::run_scenario(&mut tested, &scenario, &Catalogue::default(), None);
    assert!(!report.broken(), "{:?}", report.failures());
    assert!(report.judgement.divergences.is_empty());
    let rendered = report.rendered.expect("rendered");
    // The deploy's reason stays visible, and the call meets no contract.
    assert!(
        rendered.contains(
            "error: rejected: module rejected: does not export the argument buffer global `A`"
        ),
        "{rendered}"
    );
    assert!(
        rendered.contains("error: no contract with id"),
        "{rendered}"
    );
    // Another scenario runs fine with the same engines.
    let good = format!(
        "{CONTRACT}\n[[step]]\ndeploy = \"a\"\n\n[[step]]\ncall = \"a\"\nfunction = \"f\"\n"
    );
    let scenario = load("fine.toml", &good).expect("loads");
    let report = suite::run_scenario(&mut tested, &scenario, &Catalogue::default(), None);
    assert!(!report.broken());
    assert!(report.judgement.divergences.is_empty());
}

#[test]
fn gas_limits_are_integers_or_strings_of_digits() {
    let text = format!(
        "{CONTRACT}\n[[step]]\ndeploy = \"a\"\n\n[[step]]\ncall = \"a\"\nfunction = \"f\"\ngas = \"18446744073709551616\"\n"
    );
    expect_error(
        "gas.toml",
        &text,
        12,
        "gas must be an integer from 0 to 18446744073709551615",
    );
    let text = format!(
        "{CONTRACT}\n[[step]]\ndeploy = \"a\"\n\n[[step]]\ncall = \"a\"\nfunction = \"f\"\ngas = \"18446744073709551615\"\n"
    );
    assert!(load("gas-max.toml", &text).is_ok());
}

#[test]
fn host_data_and_owners_longer_than_the_argument_buffer_are_refused() {
    let fits = format!(
        "{CONTRACT}owner = \"zeros:65536\"\n\n[session]\nhost_data = {{ chain = \"zeros:65536\" }}\n\n[[step]]\ndeploy = \"a\"\n"
    );
    let scenario = load("fits.toml", &fits).expect("65,536 bytes fit");
    assert_eq!(scenario.host_data["chain"].len(), 65_536);
    assert_eq!(scenario.contracts[0].owner.len(), 65_536);
    let long_data = format!(
        "{CONTRACT}\n[session]\nhost_data = {{ chain = \"zeros:65537\" }}\n\n[[step]]\ndeploy = \"a\"\n"
    );
    expect_error(
        "long-data.toml",
        &long_data,
        7,
        "host data `chain` of 65537 bytes does not fit the 65536-byte argument buffer",
    );
    let long_owner = format!("{CONTRACT}owner = \"zeros:65537\"\n\n[[step]]\ndeploy = \"a\"\n");
    expect_error(
        "long-owner.toml",
        &long_owner,
        2,
        "contract `a`: an owner of 65537 bytes does not fit",
    );
}

#[test]
fn contract_files_stay_inside_the_corpus() {
    for (file, words) in [
        (
            "../../../../etc/passwd",
            "`../../../../etc/passwd` leads outside the corpus",
        ),
        ("../../README.md", "leads outside the corpus"),
        ("/etc/passwd", "must be a path relative to contracts/"),
    ] {
        let text = format!("[contract.a]\nfile = \"{file}\"\n\n[[step]]\ndeploy = \"a\"\n");
        expect_error("escape.toml", &text, 1, words);
    }
    // Names inside the corpus still work, from any working directory.
    for file in [
        "actors/actor32.wat",
        "./limits.wat",
        "../regressions/wasmi-2.0.0-select-local-set.wat",
    ] {
        let text = format!("[contract.a]\nfile = \"{file}\"\n\n[[step]]\ndeploy = \"a\"\n");
        assert!(load("inside.toml", &text).is_ok(), "{file}");
    }
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_out_of_the_corpus_is_refused() {
    let corpus = std::env::temp_dir().join(format!("scenario-corpus-{}", std::process::id()));
    let contracts = corpus.join("contracts");
    std::fs::create_dir_all(&contracts).expect("temp corpus");
    let outside = std::env::temp_dir().join(format!("outside-{}.wat", std::process::id()));
    std::fs::write(&outside, "(module)").expect("writes");
    let link = contracts.join("escape.wat");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&outside, &link).expect("symlink");
    let path = write(
        "link.toml",
        "[contract.a]\nfile = \"escape.wat\"\n\n[[step]]\ndeploy = \"a\"\n",
    );
    let error = Scenario::load(&path, &corpus, path.parent().expect("dir"))
        .expect_err("should be refused")
        .to_string();
    assert!(error.contains("link.toml:1:"), "{error}");
    assert!(
        error.contains("`escape.wat` leads outside the corpus"),
        "{error}"
    );
}

#[test]
fn files_are_read_only_up_to_a_bound() {
    let text = "[contract.a]\nwat = '''(module)'''\n\n[[step]]\ndeploy = \"a\"\n";
    let padding =
        " ".repeat(usize::try_from(conformance::scenario::MAX_FILE_BYTES).expect("16 MiB"));
    expect_error(
        "huge.toml",
        &format!("{text}{padding}"),
        0,
        "larger than 16777216 bytes",
    );
}

#[test]
fn running_nothing_is_an_error() {
    let root = std::env::temp_dir().join(format!("scenario-none-{}", std::process::id()));
    let empty = root.join("empty");
    let named_like_a_file = root.join("x.toml");
    std::fs::create_dir_all(&empty).expect("dir");
    std::fs::create_dir_all(&named_like_a_file).expect("dir");
    let notes = root.join("notes.txt");
    std::fs::write(&notes, "not a scenario").expect("writes");
    let find = |path: &PathBuf| {
        conformance::suite::find_scenarios(std::slice::from_ref(path))
            .expect_err("finds nothing to run")
            .to_string()
    };
    assert!(
        find(&empty).contains("no scenario files (.toml) under"),
        "{}",
        find(&empty)
    );
    assert!(find(&named_like_a_file).contains("no scenario files"));
    assert!(find(&notes).contains("notes.txt: not a scenario file (.toml)"));
    assert!(
        find(&root.join("missing")).ends_with("missing: No such file or directory (os error 2)"),
        "{}",
        find(&root.join("missing"))
    );
    // A loop of links is named as one, not as a missing file.
    let (one, two) = (root.join("loop1"), root.join("loop2"));
    std::os::unix::fs::symlink(&two, &one).expect("link");
    std::os::unix::fs::symlink(&one, &two).expect("link");
    assert!(
        find(&one).ends_with("loop1: Too many levels of symbolic links (os error 40)"),
        "{}",
        find(&one)
    );
    std::fs::remove_file(&one).expect("unlinks");
    std::fs::remove_file(&two).expect("unlinks");
    std::fs::write(named_like_a_file.join("a.toml"), "").expect("writes");
    assert_eq!(
        conformance::suite::find_scenarios(std::slice::from_ref(&root)).expect("one file"),
        [named_like_a_file.join("a.toml")]
    );
}

#[test]
fn a_step_timeout_must_be_a_positive_number_of_seconds_up_to_an_hour() {
    let with = |value: &str| {
        format!("{CONTRACT}\n[session]\nstep_timeout = {value}\n\n[[step]]\ndeploy = \"a\"\n")
    };
    for bad in ["0", "-1", "0.0", "3600.5", "nan", "inf"] {
        expect_error(
            "timeout.toml",
            &with(bad),
            7,
            "seconds between 0 (excluded) and 3600",
        );
    }
    expect_error("timeout.toml", &with("\"5s\""), 7, "invalid type");
    let loaded = load("timeout.toml", &with("0.25")).expect("a quarter second");
    assert_eq!(
        loaded.step_timeout,
        Some(std::time::Duration::from_millis(250))
    );
    let loaded = load("timeout.toml", &with("3600")).expect("an hour");
    assert_eq!(
        loaded.step_timeout,
        Some(std::time::Duration::from_secs(3600))
    );
    let default = load(
        "timeout.toml",
        &format!("{CONTRACT}\n[[step]]\ndeploy = \"a\"\n"),
    )
    .expect("loads");
    assert_eq!(default.step_timeout, None);
}

#[test]
fn a_chain_is_read_with_heights_past_i64() {
    let text = format!(
        "{CONTRACT}\n[session]\nchain = {{ id = 7, height = \"18446744073709551615\", aegis = 3, boreas = \"9223372036854775808\" }}\n\n[[step]]\ndeploy = \"a\"\n"
    );
    let scenario = load("chain.toml", &text).expect("loads");
    assert_eq!(
        scenario.chain,
        Some(runner_protocol::Chain {
            id: 7,
            height: u64::MAX,
            aegis: Some(3),
            boreas: Some(1 << 63),
        })
    );
    let without = load(
        "no-chain.toml",
        &format!("{CONTRACT}\n[[step]]\ndeploy = \"a\"\n"),
    )
    .expect("loads");
    assert_eq!(without.chain, None);
}

#[test]
fn a_chain_that_cannot_be_is_reported_with_its_line() {
    let chain = |value: &str| {
        format!("{CONTRACT}\n[session]\nchain = {value}\n\n[[step]]\ndeploy = \"a\"\n")
    };
    expect_error(
        "fork-order.toml",
        &chain("{ id = 1, height = 5, aegis = 10, boreas = 9 }"),
        7,
        "Boreas (height 9) cannot activate before Aegis (10)",
    );
    expect_error(
        "chain-id.toml",
        &chain("{ id = 256, height = 5 }"),
        7,
        "invalid value: integer `256`, expected u8",
    );
    expect_error(
        "height.toml",
        &chain("{ id = 1, height = \"-1\" }"),
        7,
        "a block height must be an integer from 0 to 18446744073709551615, not `-1`",
    );
    let clash = format!(
        "{CONTRACT}\n[session]\nhost_data = {{ chain_id = \"0x01\" }}\nchain = {{ id = 1, height = 5 }}\n\n[[step]]\ndeploy = \"a\"\n"
    );
    expect_error(
        "clash.toml",
        &clash,
        8,
        "host data `chain_id` is the chain's: set it with `chain`, not in `host_data`",
    );
}

#[test]
fn built_in_queries_are_offered_unless_a_session_declines_them() {
    let bare = load(
        "bare.toml",
        &format!("{CONTRACT}\n[[step]]\ndeploy = \"a\"\n"),
    )
    .expect("loads");
    assert!(bare.builtin_queries, "no [session] table");
    let with_session = load(
        "session.toml",
        &format!("{CONTRACT}\n[session]\nfeeder = true\n\n[[step]]\ndeploy = \"a\"\n"),
    )
    .expect("loads");
    assert!(with_session.builtin_queries, "a [session] without the key");
    let declined = load(
        "declined.toml",
        &format!("{CONTRACT}\n[session]\nbuiltin_queries = false\n\n[[step]]\ndeploy = \"a\"\n"),
    )
    .expect("loads");
    assert!(!declined.builtin_queries);
}

#[test]
fn node_queries_need_a_chain_and_replace_the_built_in_ones() {
    let chain = "[session]\nchain = { id = 1, height = 10 }\n";
    let node = load(
        "node.toml",
        &format!("{CONTRACT}\n{chain}node_queries = true\n\n[[step]]\ndeploy = \"a\"\n"),
    )
    .expect("loads");
    assert!(node.node_queries);
    assert!(
        !node.builtin_queries,
        "the node's queries replace the built-in ones"
    );
    expect_error(
        "no-chain.toml",
        &format!("{CONTRACT}\n[session]\nnode_queries = true\n\n[[step]]\ndeploy = \"a\"\n"),
        7,
        "need a chain",
    );
    expect_error(
        "both.toml",
        &format!(
            "{CONTRACT}\n{chain}builtin_queries = true\nnode_queries = true\n\n[[step]]\ndeploy = \"a\"\n"
        ),
        9,
        "not both",
    );
}

#[test]
fn a_step_moves_the_chain_only_forward() {
    let session = "[session]\nchain = { id = 1, height = 10 }\n";
    let moved = load(
        "block.toml",
        &format!("{CONTRACT}\n{session}\n[[step]]\ndeploy = \"a\"\nblock = 11\n\n[[step]]\ncall = \"a\"\nfunction = \"f\"\nblock = \"18446744073709551615\"\n"),
    )
    .expect("loads");
    assert_eq!(moved.steps[0].block, Some(11));
    assert_eq!(moved.steps[1].block, Some(u64::MAX));
    expect_error(
        "backwards.toml",
        &format!("{CONTRACT}\n{session}\n[[step]]\ndeploy = \"a\"\nblock = 10\n"),
        9,
        "heights only grow",
    );
    expect_error(
        "no-chain.toml",
        &format!("{CONTRACT}\n[[step]]\ndeploy = \"a\"\nblock = 10\n"),
        6,
        "set `[session] chain` first",
    );
}

#[test]
fn a_scenario_is_put_at_a_fork_from_its_first_block() {
    use runner_protocol::{Chain, HardFork};
    let on_chain = load(
        "chain.toml",
        &format!("{CONTRACT}\n[session]\nchain = {{ id = 4, height = 999, aegis = 1_000, boreas = 2_000 }}\n\n[[step]]\ndeploy = \"a\"\n"),
    )
    .expect("loads");
    let chain = |fork| on_chain.at_fork(fork).and_then(|scenario| scenario.chain);
    let at = |aegis, boreas| {
        Some(Chain {
            id: 4,
            height: 999,
            aegis,
            boreas,
        })
    };
    assert_eq!(chain(HardFork::PreFork), at(None, None));
    assert_eq!(chain(HardFork::Aegis), at(Some(0), None));
    assert_eq!(chain(HardFork::Boreas), at(Some(0), Some(0)));
    for fork in [HardFork::PreFork, HardFork::Aegis, HardFork::Boreas] {
        assert_eq!(chain(fork).map(|chain| chain.hard_fork()), Some(fork));
    }
    let off_chain = load(
        "bare.toml",
        &format!("{CONTRACT}\n[[step]]\ndeploy = \"a\"\n"),
    )
    .expect("loads");
    assert!(off_chain.at_fork(HardFork::Boreas).is_none());
}
