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
    let engines = fuzz::engines::OurEngines::new().expect("engines");
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

#[test]
fn the_generator_offers_every_abi_import_with_its_signature() {
    use vm::abi::{HostImport, PtrWidth};
    for (memory64, width) in [(false, PtrWidth::Wasm32), (true, PtrWidth::Wasm64)] {
        let config = generate::config(memory64, false);
        let module = config.available_imports.expect("imports offered");
        let mut types = Vec::new();
        let mut offered = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(&module) {
            match payload.expect("a valid module") {
                wasmparser::Payload::TypeSection(reader) => {
                    for group in reader {
                        for ty in group.expect("a type").into_types() {
                            types.push(ty.unwrap_func().clone());
                        }
                    }
                }
                wasmparser::Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import.expect("an import");
                        let wasmparser::TypeRef::Func(index) = import.ty else {
                            panic!("only functions are offered");
                        };
                        offered.push((import.module, import.name, types[index as usize].clone()));
                    }
                }
                _ => {}
            }
        }
        assert_eq!(offered.len(), HostImport::ALL.len());
        for (import, (module, name, ty)) in HostImport::ALL.iter().zip(&offered) {
            assert_eq!((*module, *name), ("env", import.name()));
            let signature = import.signature(width);
            let text = |types: &[wasmparser::ValType]| {
                types
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let expected = |types: &[vm::abi::ValType]| {
                types
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            assert_eq!(text(ty.params()), expected(&signature.params), "{name}");
            assert_eq!(text(ty.results()), expected(&signature.results), "{name}");
        }
    }
}

#[test]
fn the_generator_uses_only_proposals_contracts_may_use() {
    for memory64 in [false, true] {
        // wasm-smith counts GC types in its baseline (`WasmFeatures::WASM1`)
        // whatever its settings; without GC or reference types it generates
        // none (admission of what it generates is checked above).
        let features =
            generate::config(memory64, false).features() - wasmparser::WasmFeatures::GC_TYPES;
        assert!(
            vm::features::CONTRACT.contains(features),
            "the generator enables {:?}",
            features - vm::features::CONTRACT
        );
    }
    assert!(generate::config(true, false).memory64_enabled);
    assert!(!generate::config(false, false).memory64_enabled);
}
