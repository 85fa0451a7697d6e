//! The node's gas schedule for its host queries, per hard fork
//! (dusk-vm 1.7.0's `host_queries::pricing`): free before Boreas; from
//! Boreas on, a flat price for fixed-cost cryptography and a base plus a
//! price per byte, scalar or key for the rest.

use runner_protocol::HardFork;

/// The prices of one hard fork. Every field is gas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub hash: u64,
    pub hash_per_byte: u64,
    pub poseidon_hash: u64,
    pub poseidon_hash_per_scalar: u64,
    pub verify_plonk: u64,
    pub verify_groth16_bn254: u64,
    pub verify_schnorr: u64,
    pub verify_bls: u64,
    pub verify_bls_multisig: u64,
    pub verify_bls_multisig_per_key: u64,
    pub keccak256: u64,
    pub keccak256_per_byte: u64,
    pub sha256: u64,
    pub sha256_per_byte: u64,
    pub verify_kzg_proof: u64,
    pub secp256k1_recover: u64,
}

/// Before Boreas, every query is free.
const FREE: Schedule = Schedule {
    hash: 0,
    hash_per_byte: 0,
    poseidon_hash: 0,
    poseidon_hash_per_scalar: 0,
    verify_plonk: 0,
    verify_groth16_bn254: 0,
    verify_schnorr: 0,
    verify_bls: 0,
    verify_bls_multisig: 0,
    verify_bls_multisig_per_key: 0,
    keccak256: 0,
    keccak256_per_byte: 0,
    sha256: 0,
    sha256_per_byte: 0,
    verify_kzg_proof: 0,
    secp256k1_recover: 0,
};

const BOREAS: Schedule = Schedule {
    hash: 3_000,
    hash_per_byte: 10,
    poseidon_hash: 30_000,
    poseidon_hash_per_scalar: 10_000,
    verify_plonk: 10_000_000,
    verify_groth16_bn254: 4_500_000,
    verify_schnorr: 1_000_000,
    verify_bls: 1_750_000,
    verify_bls_multisig: 2_500_000,
    verify_bls_multisig_per_key: 200_000,
    keccak256: 3_000,
    keccak256_per_byte: 16,
    sha256: 3_000,
    sha256_per_byte: 8,
    verify_kzg_proof: 2_000_000,
    secp256k1_recover: 200_000,
};

impl Schedule {
    /// The schedule in force at `fork`.
    pub fn at(fork: HardFork) -> Schedule {
        match fork {
            HardFork::PreFork | HardFork::Aegis => FREE,
            HardFork::Boreas => BOREAS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_free_until_boreas() {
        assert_eq!(Schedule::at(HardFork::PreFork), FREE);
        assert_eq!(Schedule::at(HardFork::Aegis), FREE);
        let boreas = Schedule::at(HardFork::Boreas);
        assert_eq!(boreas.verify_plonk, 10_000_000);
        assert_eq!(boreas.verify_bls_multisig_per_key, 200_000);
        assert_eq!(boreas.sha256_per_byte, 8);
    }
}
