//! The chain a session runs on, as Dusk's node gives it to contracts: a
//! chain id and a block height in the session's metadata, and the hard
//! fork active at that height, which prices the node's host queries.

use serde::{Deserialize, Serialize};

/// Metadata name of the chain id (`dusk_core::abi::Metadata::CHAIN_ID`).
pub const CHAIN_ID: &str = "chain_id";
/// Metadata name of the block height
/// (`dusk_core::abi::Metadata::BLOCK_HEIGHT`).
pub const BLOCK_HEIGHT: &str = "block_height";

/// A session's chain: its id, the block height, and the heights at which
/// each hard fork activates (never, when absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    pub id: u8,
    pub height: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aegis: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boreas: Option<u64>,
}

/// The hard forks of Dusk's node that change what contracts see, oldest
/// first (`dusk_vm::host_queries::HardFork`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HardFork {
    /// Before any fork.
    PreFork,
    Aegis,
    Boreas,
}

impl HardFork {
    pub fn name(self) -> &'static str {
        match self {
            HardFork::PreFork => "pre_fork",
            HardFork::Aegis => "aegis",
            HardFork::Boreas => "boreas",
        }
    }

    /// The version of PLONK proofs `verify_plonk` checks at this fork: 1
    /// before Aegis, 3 from Aegis on (the pairing dusk-vm's own tests use;
    /// `dusk_core::plonk::PlonkVersion`).
    pub fn plonk_version(self) -> u8 {
        match self {
            HardFork::PreFork => 1,
            HardFork::Aegis | HardFork::Boreas => 3,
        }
    }

    /// The version of BLS signatures `verify_bls` and
    /// `verify_bls_multisig` check at this fork: 1 (the insecure
    /// hash-to-curve) before Aegis, 2 (RFC 9380) from Aegis on
    /// (`dusk_vm::host_queries::HardFork::bls_version`).
    pub fn bls_version(self) -> u8 {
        match self {
            HardFork::PreFork => 1,
            HardFork::Aegis | HardFork::Boreas => 2,
        }
    }
}

impl Chain {
    /// The newest fork whose activation height the block height has
    /// reached (a fork is active from its activation height on, as the
    /// node's `Activation::is_active_at`).
    pub fn hard_fork(&self) -> HardFork {
        let reached = |activation: Option<u64>| activation.is_some_and(|at| self.height >= at);
        if reached(self.boreas) {
            HardFork::Boreas
        } else if reached(self.aegis) {
            HardFork::Aegis
        } else {
            HardFork::PreFork
        }
    }

    /// The metadata the node puts in every session, as contracts read it
    /// with `hd`: the rkyv archives of the chain id (`u8`, one byte) and of
    /// the block height (`u64`, eight bytes, little-endian).
    pub fn metadata(&self) -> [(&'static str, Vec<u8>); 2] {
        [
            (CHAIN_ID, vec![self.id]),
            (BLOCK_HEIGHT, self.height.to_le_bytes().to_vec()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fork_is_active_from_its_activation_height() {
        let chain = |height| Chain {
            id: 1,
            height,
            aegis: Some(10),
            boreas: Some(20),
        };
        assert_eq!(chain(0).hard_fork(), HardFork::PreFork);
        assert_eq!(chain(9).hard_fork(), HardFork::PreFork);
        assert_eq!(chain(10).hard_fork(), HardFork::Aegis);
        assert_eq!(chain(19).hard_fork(), HardFork::Aegis);
        assert_eq!(chain(20).hard_fork(), HardFork::Boreas);
        assert_eq!(chain(u64::MAX).hard_fork(), HardFork::Boreas);
        let never = Chain {
            height: u64::MAX,
            ..Chain::default()
        };
        assert_eq!(never.hard_fork(), HardFork::PreFork);
        // Boreas without Aegis (a chain that skipped it) is still Boreas.
        let skipped = Chain {
            height: 5,
            boreas: Some(5),
            ..Chain::default()
        };
        assert_eq!(skipped.hard_fork(), HardFork::Boreas);
    }

    #[test]
    fn metadata_is_the_archived_id_and_height() {
        let chain = Chain {
            id: 0x2a,
            height: 0x0102_0304_0506_0708,
            ..Chain::default()
        };
        assert_eq!(
            chain.metadata(),
            [
                ("chain_id", vec![0x2a]),
                (
                    "block_height",
                    vec![0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01]
                ),
            ]
        );
    }

    #[test]
    fn absent_forks_are_left_out_of_the_wire_form() {
        let chain = Chain {
            id: 1,
            height: 2,
            aegis: None,
            boreas: Some(3),
        };
        let text = serde_json::to_string(&chain).unwrap();
        assert_eq!(text, r#"{"id":1,"height":2,"boreas":3}"#);
        assert_eq!(serde_json::from_str::<Chain>(&text).unwrap(), chain);
    }
}
