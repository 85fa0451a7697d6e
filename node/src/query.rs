//! The node's eleven host queries: how each reads its argument, what it
//! answers when the argument is not a valid archive, what it computes
//! (with Dusk's crates) and what it costs.
//!
//! Every query takes one rkyv archive and answers one. An argument the
//! archive check refuses (wrong length, bad pointer, misaligned, invalid
//! value) is never computed on: the answer is the query's fallback
//! ([`NodeQuery::fallback`]), as dusk-vm's `wrap_host_query` does. Prices
//! that depend on the argument's size read it the same way, and fall back
//! to the raw length (bytes) or to one (scalars, keys).

use std::sync::LazyLock;

use bytecheck::CheckBytes;
use c_kzg::{Bytes32, Bytes48};
use dusk_bytes::DeserializableSlice;
use dusk_core::BlsScalar;
use dusk_core::groth16::bn254::{Bn254, G1Projective};
use dusk_core::groth16::serialize::CanonicalDeserialize;
use dusk_core::groth16::{Groth16, PreparedVerifyingKey, Proof as Groth16Proof};
use dusk_core::plonk::{PlonkVersion, Proof as PlonkProof, Verifier};
use dusk_core::signatures::bls::{
    self, BlsVersion, MultisigSignature, PublicKey as BlsPublicKey, Signature as BlsSignature,
};
use dusk_core::signatures::schnorr::{
    PublicKey as SchnorrPublicKey, Signature as SchnorrSignature,
};
use dusk_core::transfer::data::BlobData;
use dusk_poseidon::{Domain, Hash as PoseidonHash};
use rkyv::ser::serializers::AllocSerializer;
use rkyv::validation::validators::DefaultValidator;
use rkyv::{Archive, Deserialize, Infallible, Serialize};
use runner_protocol::HardFork;
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use secp256k1::{Message, Secp256k1};
use sha2::Sha256;
use sha3::{Digest, Keccak256};

use crate::schedule::Schedule;

/// One of the node's host queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeQuery {
    Hash,
    PoseidonHash,
    VerifyPlonk,
    VerifyGroth16Bn254,
    VerifySchnorr,
    VerifyBls,
    VerifyBlsMultisig,
    Keccak256,
    Sha256,
    VerifyKzgProof,
    Secp256k1Recover,
}

type Bytes = Vec<u8>;
type PlonkArg = (Bytes, Bytes, Vec<BlsScalar>);
type Groth16Arg = (Bytes, Bytes, Bytes);
type SchnorrArg = (BlsScalar, SchnorrPublicKey, SchnorrSignature);
type BlsArg = (Bytes, BlsPublicKey, BlsSignature);
type MultisigArg = (Bytes, Vec<BlsPublicKey>, MultisigSignature);
type KzgArg = ([u8; 48], [u8; 32], [u8; 32], [u8; 48]);
type RecoverArg = ([u8; 32], [u8; 65]);

impl NodeQuery {
    pub const ALL: [NodeQuery; 11] = [
        NodeQuery::Hash,
        NodeQuery::PoseidonHash,
        NodeQuery::VerifyPlonk,
        NodeQuery::VerifyGroth16Bn254,
        NodeQuery::VerifySchnorr,
        NodeQuery::VerifyBls,
        NodeQuery::VerifyBlsMultisig,
        NodeQuery::Keccak256,
        NodeQuery::Sha256,
        NodeQuery::VerifyKzgProof,
        NodeQuery::Secp256k1Recover,
    ];

    /// The name contracts pass to `hq` (`dusk_core::abi::Query`).
    pub fn name(self) -> &'static str {
        match self {
            NodeQuery::Hash => "hash",
            NodeQuery::PoseidonHash => "poseidon_hash",
            NodeQuery::VerifyPlonk => "verify_plonk",
            NodeQuery::VerifyGroth16Bn254 => "verify_groth16_bn254",
            NodeQuery::VerifySchnorr => "verify_schnorr",
            NodeQuery::VerifyBls => "verify_bls",
            NodeQuery::VerifyBlsMultisig => "verify_bls_multisig",
            NodeQuery::Keccak256 => "keccak256",
            NodeQuery::Sha256 => "sha256",
            NodeQuery::VerifyKzgProof => "verify_kzg_proof",
            NodeQuery::Secp256k1Recover => "secp256k1_recover",
        }
    }

    /// The gas the query costs at `fork` for this argument, charged before
    /// it runs.
    pub fn price(self, fork: HardFork, arg: &[u8]) -> u64 {
        let s = Schedule::at(fork);
        let bytes = || archived::<Bytes>(arg).map_or(arg.len(), |bytes| bytes.len());
        let per = |base: u64, each: u64, count: usize| {
            base.saturating_add(each.saturating_mul(u64::try_from(count).unwrap_or(u64::MAX)))
        };
        match self {
            NodeQuery::Hash => per(s.hash, s.hash_per_byte, bytes()),
            NodeQuery::Keccak256 => per(s.keccak256, s.keccak256_per_byte, bytes()),
            NodeQuery::Sha256 => per(s.sha256, s.sha256_per_byte, bytes()),
            NodeQuery::PoseidonHash => {
                let scalars = archived::<Vec<BlsScalar>>(arg).map_or(1, |s| s.len());
                per(s.poseidon_hash, s.poseidon_hash_per_scalar, scalars.max(1))
            }
            NodeQuery::VerifyBlsMultisig => {
                let keys = archived::<MultisigArg>(arg).map_or(1, |(_, keys, _)| keys.len());
                per(
                    s.verify_bls_multisig,
                    s.verify_bls_multisig_per_key,
                    keys.max(1),
                )
            }
            NodeQuery::VerifyPlonk => s.verify_plonk,
            NodeQuery::VerifyGroth16Bn254 => s.verify_groth16_bn254,
            NodeQuery::VerifySchnorr => s.verify_schnorr,
            NodeQuery::VerifyBls => s.verify_bls,
            NodeQuery::VerifyKzgProof => s.verify_kzg_proof,
            NodeQuery::Secp256k1Recover => s.secp256k1_recover,
        }
    }

    /// The archive the query answers at `fork` for this argument.
    pub fn run(self, fork: HardFork, arg: &[u8]) -> Vec<u8> {
        match self {
            NodeQuery::Hash => answer(arg, |bytes: Bytes| BlsScalar::hash_to_scalar(&bytes)),
            NodeQuery::PoseidonHash => answer(arg, |scalars: Vec<BlsScalar>| {
                PoseidonHash::digest(Domain::Other, &scalars)[0]
            }),
            NodeQuery::VerifyPlonk => answer(arg, |(verifier, proof, inputs): PlonkArg| {
                verify_plonk(plonk_version(fork), verifier, &proof, &inputs)
            }),
            NodeQuery::VerifyGroth16Bn254 => answer(arg, |(key, proof, inputs): Groth16Arg| {
                verify_groth16(&key, &proof, &inputs)
            }),
            NodeQuery::VerifySchnorr => answer(arg, |(msg, key, sig): SchnorrArg| {
                key.verify(&sig, msg).is_ok()
            }),
            NodeQuery::VerifyBls => answer(arg, |(msg, key, sig): BlsArg| {
                bls::verify(&key, &sig, &msg, bls_version(fork)).is_ok()
            }),
            NodeQuery::VerifyBlsMultisig => answer(arg, |(msg, keys, sig): MultisigArg| {
                verify_bls_multisig(bls_version(fork), &msg, &keys, &sig)
            }),
            NodeQuery::Keccak256 => answer(arg, |bytes: Bytes| -> [u8; 32] {
                Keccak256::digest(&bytes).into()
            }),
            NodeQuery::Sha256 => answer(arg, |bytes: Bytes| -> [u8; 32] {
                Sha256::digest(&bytes).into()
            }),
            NodeQuery::VerifyKzgProof => answer(arg, |(commitment, z, y, proof): KzgArg| {
                BlobData::eth_kzg_settings(None)
                    .verify_kzg_proof(
                        &Bytes48::new(commitment),
                        &Bytes32::new(z),
                        &Bytes32::new(y),
                        &Bytes48::new(proof),
                    )
                    .unwrap_or(false)
            }),
            NodeQuery::Secp256k1Recover => {
                answer(arg, |(hash, sig): RecoverArg| secp256k1_recover(hash, &sig))
            }
        }
    }

    /// What the query answers for an argument that is not a valid archive:
    /// the default of its result type.
    pub fn fallback(self) -> Vec<u8> {
        match self {
            NodeQuery::Hash | NodeQuery::PoseidonHash => encode(&BlsScalar::default()),
            NodeQuery::Keccak256 | NodeQuery::Sha256 => encode(&[0u8; 32]),
            NodeQuery::Secp256k1Recover => encode(&None::<[u8; 65]>),
            NodeQuery::VerifyPlonk
            | NodeQuery::VerifyGroth16Bn254
            | NodeQuery::VerifySchnorr
            | NodeQuery::VerifyBls
            | NodeQuery::VerifyBlsMultisig
            | NodeQuery::VerifyKzgProof => encode(&false),
        }
    }
}

/// The argument as a value of `A`, if it is a valid archive of one.
fn archived<A>(arg: &[u8]) -> Option<A>
where
    A: Archive,
    A::Archived: for<'a> CheckBytes<DefaultValidator<'a>> + Deserialize<A, Infallible>,
{
    let root = rkyv::check_archived_root::<A>(arg).ok()?;
    let Ok(value) = root.deserialize(&mut Infallible);
    Some(value)
}

/// `compute` on the argument when it is a valid archive of `A`, else the
/// default of `R`; either way archived.
fn answer<A, R>(arg: &[u8], compute: impl FnOnce(A) -> R) -> Vec<u8>
where
    A: Archive,
    A::Archived: for<'a> CheckBytes<DefaultValidator<'a>> + Deserialize<A, Infallible>,
    R: Default + Serialize<AllocSerializer<1024>>,
{
    match archived::<A>(arg) {
        Some(value) => encode(&compute(value)),
        None => encode(&R::default()),
    }
}

fn encode<R: Serialize<AllocSerializer<1024>>>(value: &R) -> Vec<u8> {
    // Archiving plain values into a growable buffer cannot fail; the node
    // unwraps here too, so a failure would be a panic on both.
    rkyv::to_bytes::<_, 1024>(value)
        .expect("archiving a query's answer")
        .to_vec()
}

fn plonk_version(fork: HardFork) -> PlonkVersion {
    match fork.plonk_version() {
        1 => PlonkVersion::V1,
        2 => PlonkVersion::V2,
        _ => PlonkVersion::V3,
    }
}

fn bls_version(fork: HardFork) -> BlsVersion {
    match fork.bls_version() {
        1 => BlsVersion::V1,
        _ => BlsVersion::V2,
    }
}

fn verify_plonk(
    version: PlonkVersion,
    verifier: Bytes,
    proof: &[u8],
    inputs: &[BlsScalar],
) -> bool {
    let Ok(verifier) = Verifier::try_from_bytes(verifier) else {
        return false;
    };
    let Ok(proof) = PlonkProof::from_slice(proof) else {
        return false;
    };
    verifier
        .verify_with_version(&proof, inputs, version)
        .is_ok()
}

fn verify_groth16(key: &[u8], proof: &[u8], inputs: &[u8]) -> bool {
    let Ok(key) = PreparedVerifyingKey::<Bn254>::deserialize_uncompressed(key) else {
        return false;
    };
    let Ok(proof) = Groth16Proof::<Bn254>::deserialize_compressed(proof) else {
        return false;
    };
    let Ok(inputs) = G1Projective::deserialize_compressed(inputs) else {
        return false;
    };
    Groth16::<Bn254>::verify_proof_with_prepared_inputs(&key, &proof, &inputs).unwrap_or(false)
}

fn verify_bls_multisig(
    version: BlsVersion,
    msg: &[u8],
    keys: &[BlsPublicKey],
    sig: &MultisigSignature,
) -> bool {
    if keys.is_empty() {
        return false;
    }
    bls::aggregate(keys, version)
        .is_ok_and(|aggregate| bls::verify_multisig(&aggregate, sig, msg, version).is_ok())
}

static SECP256K1: LazyLock<Secp256k1<secp256k1::VerifyOnly>> =
    LazyLock::new(Secp256k1::verification_only);

/// The uncompressed public key that signed `hash`; the signature is
/// `r || s || v` with `v` in {0, 1, 27, 28}.
fn secp256k1_recover(hash: [u8; 32], sig: &[u8; 65]) -> Option<[u8; 65]> {
    let v = match sig[64] {
        v @ (0 | 1) => v,
        v @ (27 | 28) => v - 27,
        _ => return None,
    };
    let id = RecoveryId::try_from(i32::from(v)).ok()?;
    let sig = RecoverableSignature::from_compact(&sig[..64], id).ok()?;
    let key = SECP256K1
        .recover_ecdsa(Message::from_digest(hash), &sig)
        .ok()?;
    Some(key.serialize_uncompressed())
}
