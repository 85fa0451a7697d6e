//! `cargo +nightly fuzz run --features libfuzzer scenario`: the `scenario` oracle
//! under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::libfuzzer::judge(
    fuzz::judge::Target::Scenario,
    data
));
