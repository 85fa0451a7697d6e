//! `cargo +nightly fuzz run --features libfuzzer gas`: the `gas` oracle
//! under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::libfuzzer::judge(fuzz::judge::Target::Gas, data));

// Most mutations change only the calls, so the contracts stay compiled.
libfuzzer_sys::fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    fuzz::libfuzzer::mutate_case_input(data, size, max_size, seed)
});
