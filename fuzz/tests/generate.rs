//! The input framing of the `differential` and `gas` targets: every byte
//! string is a case input, and contracts depend only on their own seeds.

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
