//! The node's queries in our model, against absolute values: the prices
//! dusk-vm 1.7.0's own tests pin, known digests, the fallbacks, the fork's
//! signature version and the archive check's alignment.

use dusk_core::BlsScalar;
use dusk_core::signatures::bls::{PublicKey as BlsPublicKey, SecretKey as BlsSecretKey};
use dusk_core::signatures::schnorr::{
    PublicKey as SchnorrPublicKey, SecretKey as SchnorrSecretKey,
};
use node_queries::NodeQuery;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rkyv::AlignedVec;
use rkyv::ser::serializers::AllocSerializer;
use runner_protocol::HardFork;

const FORKS: [HardFork; 3] = [HardFork::PreFork, HardFork::Aegis, HardFork::Boreas];

fn archive<T: rkyv::Serialize<AllocSerializer<1024>>>(value: &T) -> AlignedVec {
    rkyv::to_bytes::<_, 1024>(value).expect("archiving")
}

#[test]
fn boreas_prices_are_the_nodes() {
    let boreas = |query: NodeQuery, arg: &[u8]| query.price(HardFork::Boreas, arg);
    assert_eq!(boreas(NodeQuery::Hash, &archive(&vec![7u8; 32])), 3_320);
    assert_eq!(boreas(NodeQuery::Hash, &archive(&vec![9u8; 128])), 4_280);
    assert_eq!(
        boreas(NodeQuery::Keccak256, &archive(&vec![1u8; 96])),
        4_536
    );
    assert_eq!(boreas(NodeQuery::Sha256, &archive(&vec![2u8; 96])), 3_768);
    let scalars = |n: u64| archive(&(1..=n).map(BlsScalar::from).collect::<Vec<_>>());
    assert_eq!(
        boreas(NodeQuery::PoseidonHash, &scalars(0)),
        40_000,
        "at least one scalar"
    );
    assert_eq!(boreas(NodeQuery::PoseidonHash, &scalars(1)), 40_000);
    assert_eq!(boreas(NodeQuery::PoseidonHash, &scalars(6)), 90_000);
    assert_eq!(boreas(NodeQuery::PoseidonHash, &scalars(16)), 190_000);

    let mut rng = StdRng::seed_from_u64(900);
    let sk = BlsSecretKey::random(&mut rng);
    let pk = BlsPublicKey::from(&sk);
    let msg = b"pricing-multisig".to_vec();
    let sig = sk.sign_multisig(&pk, &msg);
    let keys = |n: usize| archive(&(msg.clone(), vec![pk; n], sig));
    assert_eq!(
        boreas(NodeQuery::VerifyBlsMultisig, &keys(0)),
        2_700_000,
        "at least one key"
    );
    assert_eq!(boreas(NodeQuery::VerifyBlsMultisig, &keys(2)), 2_900_000);
    assert_eq!(boreas(NodeQuery::VerifyBlsMultisig, &keys(16)), 5_700_000);

    let flat = [
        (NodeQuery::VerifyPlonk, 10_000_000),
        (NodeQuery::VerifyGroth16Bn254, 4_500_000),
        (NodeQuery::VerifySchnorr, 1_000_000),
        (NodeQuery::VerifyBls, 1_750_000),
        (NodeQuery::VerifyKzgProof, 2_000_000),
        (NodeQuery::Secp256k1Recover, 200_000),
    ];
    for (query, price) in flat {
        assert_eq!(boreas(query, b"any"), price, "{query:?}");
    }
}

#[test]
fn an_argument_that_is_no_archive_is_priced_by_its_raw_length_or_as_one() {
    let junk = [0xffu8; 3];
    let boreas = |query: NodeQuery| query.price(HardFork::Boreas, &junk);
    assert_eq!(boreas(NodeQuery::Hash), 3_030);
    assert_eq!(boreas(NodeQuery::Keccak256), 3_048);
    assert_eq!(boreas(NodeQuery::Sha256), 3_024);
    assert_eq!(boreas(NodeQuery::PoseidonHash), 40_000);
    assert_eq!(boreas(NodeQuery::VerifyBlsMultisig), 2_700_000);
}

#[test]
fn queries_are_free_before_boreas() {
    let arg = archive(&vec![0u8; 1_000]);
    for fork in [HardFork::PreFork, HardFork::Aegis] {
        for query in NodeQuery::ALL {
            assert_eq!(query.price(fork, &arg), 0, "{query:?} at {fork:?}");
        }
    }
}

#[test]
fn digests_are_the_standard_ones() {
    let abc = archive(&b"abc".to_vec());
    let empty = archive(&Vec::<u8>::new());
    for fork in FORKS {
        assert_eq!(
            hex::encode(NodeQuery::Sha256.run(fork, &abc)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(NodeQuery::Keccak256.run(fork, &empty)),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }
}

#[test]
fn an_argument_that_is_no_archive_gets_the_fallback() {
    for query in NodeQuery::ALL {
        for arg in [&[][..], &[1, 2, 3][..]] {
            assert_eq!(
                query.run(HardFork::Boreas, arg),
                query.fallback(),
                "{query:?} of {arg:?}"
            );
        }
    }
    assert_eq!(NodeQuery::Sha256.fallback(), vec![0; 32]);
    assert_eq!(NodeQuery::Hash.fallback(), vec![0; 32]);
    assert_eq!(NodeQuery::VerifyPlonk.fallback(), vec![0]);
    // `None` of `[u8; 65]`: a tag byte and the 65 unused bytes.
    assert_eq!(NodeQuery::Secp256k1Recover.fallback(), vec![0; 66]);
}

#[test]
fn the_fork_picks_the_bls_signature_version() {
    let mut rng = StdRng::seed_from_u64(1);
    let sk = BlsSecretKey::random(&mut rng);
    let pk = BlsPublicKey::from(&sk);
    let msg = b"fork".to_vec();
    let v2 = archive(&(msg.clone(), pk, sk.sign(&msg)));
    let v1 = archive(&(msg.clone(), pk, sk.sign_insecure(&msg)));
    let verify = |fork, arg: &[u8]| NodeQuery::VerifyBls.run(fork, arg);
    assert_eq!(verify(HardFork::PreFork, &v1), [1]);
    assert_eq!(verify(HardFork::PreFork, &v2), [0]);
    for fork in [HardFork::Aegis, HardFork::Boreas] {
        assert_eq!(verify(fork, &v1), [0]);
        assert_eq!(verify(fork, &v2), [1]);
    }
}

#[test]
fn a_misaligned_archive_is_refused() {
    let mut rng = StdRng::seed_from_u64(2);
    let sk = SchnorrSecretKey::random(&mut rng);
    let msg = BlsScalar::from(7u64);
    let arg = archive(&(msg, SchnorrPublicKey::from(&sk), sk.sign(&mut rng, msg)));
    assert_eq!(NodeQuery::VerifySchnorr.run(HardFork::Boreas, &arg), [1]);
    let mut shifted = AlignedVec::new();
    shifted.push(0);
    shifted.extend_from_slice(&arg);
    assert_eq!(
        NodeQuery::VerifySchnorr.run(HardFork::Boreas, &shifted[1..]),
        [0]
    );
}

#[test]
fn secp256k1_recovery_takes_v_as_0_1_27_or_28() {
    let secp = secp256k1::Secp256k1::signing_only();
    let key = secp256k1::SecretKey::from_byte_array([0x11; 32]).expect("a key");
    let public = secp256k1::PublicKey::from_secret_key(&secp, &key).serialize_uncompressed();
    let hash = [0x42; 32];
    let (id, compact) = secp
        .sign_ecdsa_recoverable(secp256k1::Message::from_digest(hash), &key)
        .serialize_compact();
    let v = u8::try_from(i32::from(id)).expect("a recovery id");
    let recover = |v: u8| {
        let mut sig = [0u8; 65];
        sig[..64].copy_from_slice(&compact);
        sig[64] = v;
        NodeQuery::Secp256k1Recover.run(HardFork::Boreas, &archive(&(hash, sig)))
    };
    let found = archive(&Some(public)).to_vec();
    assert_eq!(recover(v), found);
    assert_eq!(recover(v + 27), found);
    assert_eq!(recover(2), archive(&None::<[u8; 65]>).to_vec());
}
