//! The input framing of the `differential` and `gas` targets: every byte
//! string is a case input, and contracts depend only on their own seeds.
//! Generated contracts deploy alike on both engines, nearly all of them.

use fuzz::generate::{self, CaseInput, MAX_CONTRACT_SEED};
use proptest::prelude::*;

proptest! {
    #[test]
    fn every_byte_string_parses_into_its_own_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2_000)) {
        let input = CaseInput::parse(&bytes);
        let seeds: Vec<&[u8]> = input.seeds().collect();
        prop_assert!((1..=3).contains(&seeds.len()));
        let framing = 1 + 2 * seeds.len();
        let used: usize = seeds.iter().map(|seed| seed.len()).sum::<usize>() + input.calls.len();
        prop_assert!(used + framing >= bytes.len(), "no byte is lost");
        prop_assert!(used <= bytes.len());
        prop_assert!(seeds.iter().all(|seed| seed.len() <= MAX_CONTRACT_SEED));
        prop_assert!(bytes.ends_with(input.calls));
    }

    #[test]
    fn encoded_seeds_and_calls_parse_back(
        seeds in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..=3),
        calls in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let refs: Vec<&[u8]> = seeds.iter().map(Vec::as_slice).collect();
        let bytes = CaseInput::encode(&refs, &calls).expect("encodes");
        let input = CaseInput::parse(&bytes);
        prop_assert_eq!(input.seeds().collect::<Vec<_>>(), refs);
        prop_assert_eq!(input.calls, calls.as_slice());
    }
}

#[test]
fn encode_refuses_what_does_not_parse_back() {
    assert_eq!(CaseInput::encode(&[], b"calls"), None);
    assert_eq!(CaseInput::encode(&[b"a", b"b", b"c", b"d"], b""), None);
    let long = vec![0; MAX_CONTRACT_SEED + 1];
    assert_eq!(CaseInput::encode(&[&long], b""), None);
}

#[test]
fn changing_the_calls_keeps_the_contracts() {
    let seed: Vec<u8> = (0..2_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let a = CaseInput::encode(&[&seed, &seed[100..]], b"one set of calls").expect("encodes");
    let b =
        CaseInput::encode(&[&seed, &seed[100..]], b"other calls, longer ones").expect("encodes");
    let generator = generate::Generator::new(8);
    let (a, b) = (
        generator.case(&a).expect("a case"),
        generator.case(&b).expect("a case"),
    );
    assert_eq!(a.contracts, b.contracts);
    assert_eq!(
        a.contracts,
        generate::case(&CaseInput::encode(&[&seed, &seed[100..]], b"").expect("encodes"))
            .expect("a case")
            .contracts,
        "the cache changes nothing"
    );
    assert_ne!(a.calls, b.calls);
}

/// Bytes from a seed (splitmix64), so that the test sees the same contracts
/// every run.
fn seeded_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

#[test]
fn generated_contracts_deploy_alike_on_both_engines_and_most_deploy() {
    let engines = fuzz::oracle::Engines::new().expect("engines");
    let (mut generated, mut deployed) = (0, 0);
    for seed in 0..200u64 {
        let bytes = seeded_bytes(seed, 2_048);
        let Ok(wasm) = fuzz::generate::contract_from_seed(&bytes) else {
            continue;
        };
        generated += 1;
        let options = vm::DeployOptions::default();
        let a = engines
            .wasmtime
            .session()
            .deploy(&wasm, options.clone())
            .map(|d| d.id);
        let b = engines.wasmi.session().deploy(&wasm, options).map(|d| d.id);
        assert_eq!(a, b, "seed {seed}");
        if let Err(error) = &a {
            assert!(
                matches!(error, vm::DeployError::InstantiationTrap { .. }),
                "seed {seed}: {error}"
            );
        }
        deployed += usize::from(a.is_ok());
    }
    // The generator shapes contracts for the ABI: all are admitted, and all
    // but 3 of these 200 instantiate (the others' data segments lie out of
    // bounds and trap alike on both engines).
    assert_eq!(generated, 200);
    assert_eq!(deployed, 197, "{deployed} of {generated} deployed");
}
