//! Dusk Core's contract ABI (`dusk_core::abi`), the way the node's own
//! contracts reach what `dusk-vm` adds to piecrust: the chain id and block
//! height of the session, and the node's host queries. Each export takes
//! the query's arguments as one rkyv archive and returns what the `abi`
//! function returns.
#![no_std]

extern crate alloc;

use alloc::vec::Vec;

use dusk_core::BlsScalar;
use dusk_core::abi::{self, wrap_call};
use dusk_core::signatures::bls::{
    MultisigSignature, PublicKey as BlsPublicKey, Signature as BlsSignature,
};
use dusk_core::signatures::schnorr::{
    PublicKey as SchnorrPublicKey, Signature as SchnorrSignature,
};

/// The chain id and block height (`abi::chain_id`, `abi::block_height`;
/// each panics when the session has no such metadata).
#[unsafe(no_mangle)]
extern "C" fn chain(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| (abi::chain_id(), abi::block_height()))
}

/// The chain id alone.
#[unsafe(no_mangle)]
extern "C" fn chain_id(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| abi::chain_id())
}

/// The block height alone.
#[unsafe(no_mangle)]
extern "C" fn block_height(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(): ()| abi::block_height())
}

#[unsafe(no_mangle)]
extern "C" fn hash(arg_len: u32) -> u32 {
    wrap_call(arg_len, |bytes: Vec<u8>| abi::hash(bytes))
}

#[unsafe(no_mangle)]
extern "C" fn poseidon_hash(arg_len: u32) -> u32 {
    wrap_call(arg_len, |scalars: Vec<BlsScalar>| {
        abi::poseidon_hash(scalars)
    })
}

#[unsafe(no_mangle)]
extern "C" fn verify_plonk(arg_len: u32) -> u32 {
    wrap_call(
        arg_len,
        |(verifier, proof, inputs): (Vec<u8>, Vec<u8>, Vec<BlsScalar>)| {
            abi::verify_plonk(verifier, proof, inputs)
        },
    )
}

#[unsafe(no_mangle)]
extern "C" fn verify_groth16_bn254(arg_len: u32) -> u32 {
    wrap_call(
        arg_len,
        |(pvk, proof, inputs): (Vec<u8>, Vec<u8>, Vec<u8>)| {
            abi::verify_groth16_bn254(pvk, proof, inputs)
        },
    )
}

#[unsafe(no_mangle)]
extern "C" fn verify_schnorr(arg_len: u32) -> u32 {
    wrap_call(
        arg_len,
        |(msg, pk, sig): (BlsScalar, SchnorrPublicKey, SchnorrSignature)| {
            abi::verify_schnorr(msg, pk, sig)
        },
    )
}

#[unsafe(no_mangle)]
extern "C" fn verify_bls(arg_len: u32) -> u32 {
    wrap_call(
        arg_len,
        |(msg, pk, sig): (Vec<u8>, BlsPublicKey, BlsSignature)| abi::verify_bls(msg, pk, sig),
    )
}

#[unsafe(no_mangle)]
extern "C" fn verify_bls_multisig(arg_len: u32) -> u32 {
    wrap_call(
        arg_len,
        |(msg, keys, sig): (Vec<u8>, Vec<BlsPublicKey>, MultisigSignature)| {
            abi::verify_bls_multisig(msg, keys, sig)
        },
    )
}

#[unsafe(no_mangle)]
extern "C" fn keccak256(arg_len: u32) -> u32 {
    wrap_call(arg_len, |bytes: Vec<u8>| abi::keccak256(bytes))
}

#[unsafe(no_mangle)]
extern "C" fn sha256(arg_len: u32) -> u32 {
    wrap_call(arg_len, |bytes: Vec<u8>| abi::sha256(bytes))
}

#[unsafe(no_mangle)]
extern "C" fn verify_kzg_proof(arg_len: u32) -> u32 {
    wrap_call(
        arg_len,
        |(commitment, z, y, proof): ([u8; 48], [u8; 32], [u8; 32], [u8; 48])| {
            abi::verify_kzg_proof(commitment, z, y, proof)
        },
    )
}

#[unsafe(no_mangle)]
extern "C" fn secp256k1_recover(arg_len: u32) -> u32 {
    wrap_call(arg_len, |(msg_hash, sig): ([u8; 32], [u8; 65])| {
        abi::secp256k1_recover(msg_hash, sig)
    })
}
