//! Writes the scenarios of `corpus/scenarios/node/queries/`: every node
//! query called through Dusk Core's `abi` (the `contracts/node` contract)
//! with valid and invalid inputs, at each hard fork, and through a WAT
//! contract that hands `hq` raw bytes. Keys, signatures and proofs are made
//! here with Dusk's crates from fixed seeds, so a rerun writes the same
//! files.
//!
//! ```text
//! cargo run --release -p node-queries --example vectors -- corpus/scenarios/node/queries
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use c_kzg::{BYTES_PER_BLOB, Blob, Bytes32};
use dusk_core::BlsScalar;
use dusk_core::groth16::bn254::{Bn254, Fr};
use dusk_core::groth16::relations::lc;
use dusk_core::groth16::relations::r1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, SynthesisError,
};
use dusk_core::groth16::serialize::CanonicalSerialize;
use dusk_core::groth16::{Groth16, prepare_verifying_key};
use dusk_core::plonk::{
    Circuit, Compiler, Composer, Constraint, Error as PlonkError, PlonkVersion, PublicParameters,
};
use dusk_core::signatures::bls::{
    MultisigSignature, PublicKey as BlsPublicKey, SecretKey as BlsSecretKey,
};
use dusk_core::signatures::schnorr::{
    PublicKey as SchnorrPublicKey, SecretKey as SchnorrSecretKey,
};
use dusk_core::transfer::data::BlobData;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rkyv::ser::serializers::AllocSerializer;
use runner_protocol::HardFork;

/// Gas for every call: enough for the dearest query at Boreas (PLONK,
/// 10,000,000) and the contract around it.
const GAS: u64 = 1_000_000_000;

fn archive<T: rkyv::Serialize<AllocSerializer<1024>>>(value: &T) -> Vec<u8> {
    rkyv::to_bytes::<_, 1024>(value)
        .expect("archiving a test vector")
        .to_vec()
}

/// One call of a scenario.
struct Call {
    note: String,
    function: &'static str,
    arg: Vec<u8>,
    returns: Option<&'static str>,
    /// The catalogue entry that explains production's outcome.
    deviation: Option<&'static str>,
    /// The block height the call runs at, where it moves the chain.
    block: Option<u64>,
}

impl Call {
    fn new(note: impl Into<String>, function: &'static str, arg: Vec<u8>) -> Call {
        Call {
            note: note.into(),
            function,
            arg,
            returns: None,
            deviation: None,
            block: None,
        }
    }

    fn at_block(mut self, height: u64) -> Call {
        self.block = Some(height);
        self
    }

    fn deviation(mut self, id: &'static str) -> Call {
        self.deviation = Some(id);
        self
    }

    fn returns(mut self, ty: &'static str) -> Call {
        self.returns = Some(ty);
        self
    }
}

/// The chain of a session at each fork: height 1,000 with the forks set
/// around it.
fn chain(fork: HardFork) -> &'static str {
    match fork {
        HardFork::PreFork => "{ id = 1, height = 1_000, aegis = 5_000, boreas = 9_000 }",
        HardFork::Aegis => "{ id = 1, height = 1_000, aegis = 1_000, boreas = 9_000 }",
        HardFork::Boreas => "{ id = 1, height = 1_000, aegis = 500, boreas = 1_000 }",
    }
}

fn scenario(description: &str, contract: &str, fork: HardFork, calls: &[Call]) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Written by `cargo run --release -p node-queries --example vectors`."
    );
    let _ = writeln!(text, "description = \"{description} ({})\"\n", fork.name());
    let _ = writeln!(text, "{contract}\n");
    let _ = writeln!(
        text,
        "[session]\nchain = {}\nnode_queries = true\n",
        chain(fork)
    );
    let _ = writeln!(text, "[[step]]\ndeploy = \"q\"");
    for call in calls {
        let _ = writeln!(text, "\n# {}", call.note);
        let _ = writeln!(text, "[[step]]");
        if let Some(height) = call.block {
            let _ = writeln!(text, "block = {height}");
        }
        if let Some(id) = call.deviation {
            let _ = writeln!(text, "deviations = [\"{id}\"]");
        }
        let _ = writeln!(text, "call = \"q\"\nfunction = \"{}\"", call.function);
        let _ = writeln!(
            text,
            "arg = [\"0x{}\"]\ngas = {GAS}",
            hex::encode(&call.arg)
        );
        if let Some(ty) = call.returns {
            let _ = writeln!(text, "returns = \"{ty}\"");
        }
    }
    text
}

/// The session that starts at height 999, a block before Aegis, and moves
/// to Aegis (1,000) and Boreas (2,000).
fn transition_scenario(calls: &[Call]) -> String {
    let text = scenario(
        "The same calls through Dusk Core before Aegis, at Aegis and at Boreas, in one session whose chain moves block by block",
        CORE,
        HardFork::PreFork,
        calls,
    );
    text.replace(
        chain(HardFork::PreFork),
        "{ id = 1, height = 999, aegis = 1_000, boreas = 2_000 }",
    )
    .replace(" (pre_fork)\"", "\"")
}

const CORE: &str = "[contract.q]\nrust = \"node\"";
const RAW: &str = "[contract.q]\nfile = \"node-queries.wat\"";
const RAW_UNALIGNED: &str = "[contract.q]\nfile = \"node-queries-unaligned.wat\"";

/// `a * b = c` with `c` public.
#[derive(Default)]
struct Product {
    a: BlsScalar,
    b: BlsScalar,
    c: BlsScalar,
}

impl Circuit for Product {
    fn circuit(&self, composer: &mut Composer) -> Result<(), PlonkError> {
        let a = composer.append_witness(self.a);
        let b = composer.append_witness(self.b);
        let c = composer.append_witness(self.c);
        let product = Constraint::new()
            .mult(1)
            .a(a)
            .b(b)
            .output(-BlsScalar::one())
            .c(c);
        composer.append_gate(product);
        let c_public = composer.append_public(self.c);
        composer.assert_equal(c, c_public);
        Ok(())
    }
}

/// `x * y = z` over BN254 with `z` public, for Groth16.
#[derive(Clone, Copy)]
struct Bn254Product {
    x: Fr,
    y: Fr,
}

impl ConstraintSynthesizer<Fr> for Bn254Product {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let z = self.x * self.y;
        let z = cs.new_input_variable(|| Ok(z))?;
        let x = cs.new_witness_variable(|| Ok(self.x))?;
        let y = cs.new_witness_variable(|| Ok(self.y))?;
        cs.enforce_constraint(lc!() + x, lc!() + y, lc!() + z)
    }
}

fn compressed<T: CanonicalSerialize>(value: &T) -> Vec<u8> {
    let mut bytes = Vec::new();
    value
        .serialize_compressed(&mut bytes)
        .expect("serializing a test vector");
    bytes
}

fn uncompressed<T: CanonicalSerialize>(value: &T) -> Vec<u8> {
    let mut bytes = Vec::new();
    value
        .serialize_uncompressed(&mut bytes)
        .expect("serializing a test vector");
    bytes
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251).to_le_bytes()[0]).collect()
}

struct Vectors {
    /// File stem, title and calls of the scenarios run at each fork.
    calls: Vec<(&'static str, &'static str, Vec<Call>)>,
    /// The calls of one session that crosses both forks.
    transition: Vec<Call>,
}

fn vectors() -> Vectors {
    let mut rng = StdRng::seed_from_u64(0x6475_736b);
    let mut calls = Vec::new();

    // hash, keccak256, sha256: empty, short and long inputs.
    for (function, file, title, ret) in [
        ("hash", "hash", "hash() of bytes to a BLS scalar", None),
        (
            "keccak256",
            "keccak256",
            "keccak256() of bytes",
            Some("bytes32"),
        ),
        ("sha256", "sha256", "sha256() of bytes", Some("bytes32")),
    ] {
        let list = [
            ("no bytes", Vec::new()),
            ("`abc`", b"abc".to_vec()),
            (
                "1,000 bytes: the price grows per byte at Boreas",
                pattern(1_000),
            ),
            (
                "`abc` again: the node's cache answers, same result and gas",
                b"abc".to_vec(),
            ),
        ]
        .into_iter()
        .map(|(note, bytes)| {
            let call = Call::new(note, function, archive(&bytes));
            match ret {
                Some(ty) => call.returns(ty),
                None => call,
            }
        })
        .collect();
        calls.push((file, title, list));
    }

    // poseidon_hash: priced per scalar, one at least.
    let scalars = |n: u64| (1..=n).map(BlsScalar::from).collect::<Vec<_>>();
    calls.push((
        "poseidon-hash",
        "poseidon_hash() of scalars",
        vec![
            Call::new("one scalar", "poseidon_hash", archive(&scalars(1))),
            Call::new("six scalars", "poseidon_hash", archive(&scalars(6))),
            // Last: the node's session is unusable after it.
            Call::new(
                "no scalar: priced as one, then dusk-poseidon panics in the node",
                "poseidon_hash",
                archive(&scalars(0)),
            )
            .deviation("query-panic-contained"),
        ],
    ));

    // verify_schnorr: good, other message, other key.
    let sk = SchnorrSecretKey::random(&mut rng);
    let pk = SchnorrPublicKey::from(&sk);
    let other = SchnorrPublicKey::from(&SchnorrSecretKey::random(&mut rng));
    let msg = BlsScalar::from(42u64);
    let sig = sk.sign(&mut rng, msg);
    calls.push((
        "verify-schnorr",
        "verify_schnorr() of a signature, a forged message and another key",
        vec![
            Call::new(
                "a good signature",
                "verify_schnorr",
                archive(&(msg, pk, sig)),
            )
            .returns("bool"),
            Call::new(
                "another message",
                "verify_schnorr",
                archive(&(BlsScalar::from(43u64), pk, sig)),
            )
            .returns("bool"),
            Call::new("another key", "verify_schnorr", archive(&(msg, other, sig))).returns("bool"),
            Call::new(
                "the good signature again (cached)",
                "verify_schnorr",
                archive(&(msg, pk, sig)),
            )
            .returns("bool"),
        ],
    ));

    // verify_bls: the signature versions change at Aegis.
    let sk = BlsSecretKey::random(&mut rng);
    let pk = BlsPublicKey::from(&sk);
    let msg = b"dusk conformance".to_vec();
    let secure = sk.sign(&msg);
    let insecure = sk.sign_insecure(&msg);
    calls.push((
        "verify-bls",
        "verify_bls() of a version-2 and a version-1 signature and a forged message",
        vec![
            Call::new(
                "a version-2 (RFC 9380) signature: verifies from Aegis on",
                "verify_bls",
                archive(&(msg.clone(), pk, secure)),
            )
            .returns("bool"),
            Call::new(
                "a version-1 signature: verifies before Aegis only",
                "verify_bls",
                archive(&(msg.clone(), pk, insecure)),
            )
            .returns("bool"),
            Call::new(
                "another message",
                "verify_bls",
                archive(&(b"forged".to_vec(), pk, secure)),
            )
            .returns("bool"),
        ],
    ));

    // verify_bls_multisig: priced per key, one at least.
    let sks: Vec<_> = (0..3).map(|_| BlsSecretKey::random(&mut rng)).collect();
    let pks: Vec<_> = sks.iter().map(BlsPublicKey::from).collect();
    let multisig = |insecure: bool, signers: &[usize]| -> MultisigSignature {
        let sigs: Vec<_> = signers
            .iter()
            .map(|&i| {
                if insecure {
                    sks[i].sign_multisig_insecure(&pks[i], &msg)
                } else {
                    sks[i].sign_multisig(&pks[i], &msg)
                }
            })
            .collect();
        sigs[0].aggregate(&sigs[1..])
    };
    let all = multisig(false, &[0, 1, 2]);
    calls.push((
        "verify-bls-multisig",
        "verify_bls_multisig() of three signers, a missing signer, no key and version 1",
        vec![
            Call::new(
                "three keys, three signatures (version 2)",
                "verify_bls_multisig",
                archive(&(msg.clone(), pks.clone(), all)),
            )
            .returns("bool"),
            Call::new(
                "three keys, two signatures",
                "verify_bls_multisig",
                archive(&(msg.clone(), pks.clone(), multisig(false, &[0, 1]))),
            )
            .returns("bool"),
            Call::new(
                "no key: false, priced as one key",
                "verify_bls_multisig",
                archive(&(msg.clone(), Vec::<BlsPublicKey>::new(), all)),
            )
            .returns("bool"),
            Call::new(
                "three keys, version-1 signatures",
                "verify_bls_multisig",
                archive(&(msg.clone(), pks.clone(), multisig(true, &[0, 1, 2]))),
            )
            .returns("bool"),
        ],
    ));

    // verify_plonk: proofs of both versions, a wrong public input, junk.
    let pp = PublicParameters::setup(1 << 5, &mut rng).expect("PLONK parameters");
    let (prover, verifier) =
        Compiler::compile::<Product>(&pp, b"conformance").expect("compiling the circuit");
    let circuit = Product {
        a: BlsScalar::from(6u64),
        b: BlsScalar::from(7u64),
        c: BlsScalar::from(42u64),
    };
    let (v3, inputs) = prover
        .prove_with_version(&mut rng, &circuit, PlonkVersion::V3)
        .expect("a version-3 proof");
    // dusk-plonk proves versions 2 and 3 only.
    let (v2, _) = prover
        .prove_with_version(&mut rng, &circuit, PlonkVersion::V2)
        .expect("a version-2 proof");
    let vd = verifier.to_bytes();
    let v3 = dusk_bytes::Serializable::to_bytes(&v3).to_vec();
    let v2 = dusk_bytes::Serializable::to_bytes(&v2).to_vec();
    calls.push((
        "verify-plonk",
        "verify_plonk() of version-3 and version-2 proofs, a wrong public input and junk",
        vec![
            Call::new(
                "a version-3 proof: verifies from Aegis on",
                "verify_plonk",
                archive(&(vd.clone(), v3.clone(), inputs.clone())),
            )
            .returns("bool"),
            Call::new(
                "a version-2 proof",
                "verify_plonk",
                archive(&(vd.clone(), v2, inputs.clone())),
            )
            .returns("bool"),
            Call::new(
                "the wrong public input",
                "verify_plonk",
                archive(&(vd.clone(), v3.clone(), vec![BlsScalar::from(41u64)])),
            )
            .returns("bool"),
            Call::new(
                "junk for the verifier data",
                "verify_plonk",
                archive(&(pattern(64), v3.clone(), inputs.clone())),
            )
            .returns("bool"),
            Call::new(
                "a truncated proof",
                "verify_plonk",
                archive(&(vd.clone(), v3[..100].to_vec(), inputs.clone())),
            )
            .returns("bool"),
            Call::new(
                "the version-3 proof again (cached)",
                "verify_plonk",
                archive(&(vd.clone(), v3.clone(), inputs.clone())),
            )
            .returns("bool"),
        ],
    ));

    // One session across both forks: the same calls before Aegis, at
    // Aegis and at Boreas.
    let bls_v1 = archive(&(msg.clone(), pk, insecure));
    let bls_v2 = archive(&(msg.clone(), pk, secure));
    let plonk_v3 = archive(&(vd, v3, inputs));
    let abc = archive(&b"abc".to_vec());
    let mut transition = Vec::new();
    for (height, fork) in [
        (999, "before Aegis"),
        (1_000, "at Aegis"),
        (2_000, "at Boreas"),
    ] {
        let first = Call::new(
            format!("block {height}, {fork}: the height"),
            "block_height",
            archive(&()),
        )
        .returns("u64");
        transition.push(if height == 999 {
            first
        } else {
            first.at_block(height)
        });
        transition.push(
            Call::new(
                format!("{fork}: a version-1 BLS signature"),
                "verify_bls",
                bls_v1.clone(),
            )
            .returns("bool"),
        );
        transition.push(
            Call::new(
                format!("{fork}: a version-2 BLS signature"),
                "verify_bls",
                bls_v2.clone(),
            )
            .returns("bool"),
        );
        transition.push(Call::new(format!("{fork}: a version-3 PLONK proof (the node's cache must not answer for another version)"), "verify_plonk", plonk_v3.clone()).returns("bool"));
        transition.push(
            Call::new(
                format!("{fork}: sha256 of `abc`, priced from Boreas on"),
                "sha256",
                abc.clone(),
            )
            .returns("bytes32"),
        );
    }

    // verify_groth16_bn254: a good proof, a wrong input, junk.
    let product = Bn254Product {
        x: Fr::from(3u64),
        y: Fr::from(5u64),
    };
    let key = Groth16::<Bn254>::generate_random_parameters_with_reduction(product, &mut rng)
        .expect("Groth16 parameters");
    let proof = Groth16::<Bn254>::create_random_proof_with_reduction(product, &key, &mut rng)
        .expect("a Groth16 proof");
    let pvk = prepare_verifying_key(&key.vk);
    let good = Groth16::<Bn254>::prepare_inputs(&pvk, &[Fr::from(15u64)]).expect("inputs");
    let wrong = Groth16::<Bn254>::prepare_inputs(&pvk, &[Fr::from(16u64)]).expect("inputs");
    let (pvk, proof, good, wrong) = (
        uncompressed(&pvk),
        compressed(&proof),
        compressed(&good),
        compressed(&wrong),
    );
    calls.push((
        "verify-groth16",
        "verify_groth16_bn254() of a proof, a wrong input and junk",
        vec![
            Call::new(
                "a good proof",
                "verify_groth16_bn254",
                archive(&(pvk.clone(), proof.clone(), good.clone())),
            )
            .returns("bool"),
            Call::new(
                "the wrong public input",
                "verify_groth16_bn254",
                archive(&(pvk.clone(), proof.clone(), wrong)),
            )
            .returns("bool"),
            Call::new(
                "junk for the key",
                "verify_groth16_bn254",
                archive(&(pattern(80), proof.clone(), good.clone())),
            )
            .returns("bool"),
            Call::new("a proof with one byte changed", "verify_groth16_bn254", {
                let mut bad = proof;
                bad[5] ^= 1;
                archive(&(pvk, bad, good))
            })
            .returns("bool"),
        ],
    ));

    // verify_kzg_proof: an evaluation of a blob, a wrong value, a point
    // off the curve.
    let settings = BlobData::eth_kzg_settings(None);
    let mut blob = [0u8; BYTES_PER_BLOB];
    for (element, i) in blob.chunks_mut(32).zip(0u8..64) {
        element[31] = i.wrapping_mul(3).wrapping_add(1);
    }
    let blob = Blob::new(blob);
    let commitment = settings
        .blob_to_kzg_commitment(&blob)
        .expect("a commitment");
    let mut z = [0u8; 32];
    z[31] = 9;
    let (proof, y) = settings
        .compute_kzg_proof(&blob, &Bytes32::new(z))
        .expect("a KZG proof");
    let commitment: [u8; 48] = *commitment.to_bytes().as_ref();
    let proof: [u8; 48] = *proof.to_bytes().as_ref();
    let y: [u8; 32] = *y.as_ref();
    let mut wrong_y = y;
    wrong_y[31] ^= 1;
    calls.push((
        "verify-kzg",
        "verify_kzg_proof() of an evaluation, a wrong value and a point off the curve",
        vec![
            Call::new(
                "a good proof",
                "verify_kzg_proof",
                archive(&(commitment, z, y, proof)),
            )
            .returns("bool"),
            Call::new(
                "the wrong value",
                "verify_kzg_proof",
                archive(&(commitment, z, wrong_y, proof)),
            )
            .returns("bool"),
            Call::new(
                "a commitment that is no point",
                "verify_kzg_proof",
                archive(&([0xffu8; 48], z, y, proof)),
            )
            .returns("bool"),
        ],
    ));

    // secp256k1_recover: v as 0/1 and 27/28, a bad v, a zero r.
    let secp = secp256k1::Secp256k1::signing_only();
    let key = secp256k1::SecretKey::from_byte_array([0x11; 32]).expect("a secp256k1 key");
    let hash: [u8; 32] = *b"0123456789abcdef0123456789abcdef";
    let (id, compact) = secp
        .sign_ecdsa_recoverable(secp256k1::Message::from_digest(hash), &key)
        .serialize_compact();
    let v = u8::try_from(i32::from(id)).expect("a recovery id");
    let sig = |v: u8, zero_r: bool| -> [u8; 65] {
        let mut sig = [0u8; 65];
        sig[..64].copy_from_slice(&compact);
        if zero_r {
            sig[..32].fill(0);
        }
        sig[64] = v;
        sig
    };
    calls.push((
        "secp256k1-recover",
        "secp256k1_recover() with v as 0/1 and 27/28, a bad v and a zero r",
        vec![
            Call::new(
                "v as the recovery id",
                "secp256k1_recover",
                archive(&(hash, sig(v, false))),
            ),
            Call::new(
                "v + 27, Ethereum's way",
                "secp256k1_recover",
                archive(&(hash, sig(v + 27, false))),
            ),
            Call::new(
                "v = 2: none",
                "secp256k1_recover",
                archive(&(hash, sig(2, false))),
            ),
            Call::new(
                "r = 0: none",
                "secp256k1_recover",
                archive(&(hash, sig(v, true))),
            ),
        ],
    ));

    Vectors { calls, transition }
}

/// Raw arguments through `hq` itself: not archives, empty, too long; the
/// 64 KiB ones where they are priced (`whole_buffer`).
fn raw_calls(whole_buffer: bool) -> Vec<Call> {
    let names = [
        "hash",
        "poseidon_hash",
        "verify_plonk",
        "verify_groth16_bn254",
        "verify_schnorr",
        "verify_bls",
        "verify_bls_multisig",
        "keccak256",
        "sha256",
        "verify_kzg_proof",
        "secp256k1_recover",
    ];
    let mut calls: Vec<Call> = names
        .iter()
        .map(|&name| {
            Call::new(
                format!("{name}: three bytes, not an archive: the fallback answer"),
                name,
                vec![1, 2, 3],
            )
        })
        .collect();
    calls.extend(
        names
            .iter()
            .map(|&name| Call::new(format!("{name}: no argument"), name, Vec::new())),
    );
    // The longest archive of bytes the argument buffer holds: 65,528
    // bytes and the 8-byte root.
    if whole_buffer {
        calls.push(Call::new(
            "hash: an archive of 65,528 bytes, the whole argument buffer",
            "hash",
            archive(&pattern(65_528)),
        ));
        calls.push(Call::new(
            "hash: 65,536 bytes that are no archive: priced by the raw length",
            "hash",
            vec![0xff; 65_536],
        ));
    }
    calls.push(Call::new(
        "hash with an argument length past the argument buffer",
        "hash_past_argbuf",
        Vec::new(),
    ));
    calls.push(Call::new(
        "a query the node does not have",
        "missing",
        Vec::new(),
    ));
    calls
}

/// Arguments one byte off alignment in memory: the node's archive check
/// refuses them, and the query answers its fallback.
fn alignment_calls() -> Vec<Call> {
    let mut rng = StdRng::seed_from_u64(0x616c_6967);
    let sk = SchnorrSecretKey::random(&mut rng);
    let pk = SchnorrPublicKey::from(&sk);
    let msg = BlsScalar::from(7u64);
    let sig = sk.sign(&mut rng, msg);
    vec![
        Call::new(
            "a good Schnorr signature, at an argument buffer one byte off alignment",
            "verify_schnorr",
            archive(&(msg, pk, sig)),
        ),
        Call::new(
            "sha256 of `abc` there: refused too (the archive's root, a relative pointer, needs 4-byte alignment)",
            "sha256",
            archive(&b"abc".to_vec()),
        ),
    ]
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "corpus/scenarios/node/queries".into()),
    );
    std::fs::create_dir_all(&dir).expect("creating the output folder");
    let vectors = vectors();
    let alignment = alignment_calls();
    for fork in [HardFork::PreFork, HardFork::Aegis, HardFork::Boreas] {
        let suffix = fork.name().replace('_', "-");
        for (file, title, calls) in &vectors.calls {
            let title = format!("Dusk Core's {title}, through the node's host query");
            write(
                &dir,
                &format!("{file}-{suffix}.toml"),
                &scenario(&title, CORE, fork, calls),
            );
        }
        write(
            &dir,
            &format!("raw-{suffix}.toml"),
            &scenario(
                "Each node query handed raw bytes through `hq`: not archives, empty, the whole argument buffer, past it",
                RAW,
                fork,
                &raw_calls(fork == HardFork::Boreas),
            ),
        );
    }
    write(
        &dir,
        "fork-transition.toml",
        &transition_scenario(&vectors.transition),
    );
    write(
        &dir,
        "unaligned.toml",
        &scenario(
            "A node query reads its archive where the argument buffer is: one byte off alignment, a Schnorr argument is refused",
            RAW_UNALIGNED,
            HardFork::Boreas,
            &alignment,
        ),
    );
}
