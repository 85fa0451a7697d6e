//! `cargo +nightly fuzz run --features libfuzzer admission`: the `admission` oracle
//! under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::libfuzzer::judge(
    fuzz::judge::Target::Admission,
    data
));
