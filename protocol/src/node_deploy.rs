//! How Dusk's node deploys a contract, where it differs from a piecrust
//! session's deploy: the transaction that carries the bytecode names a
//! nonce, the contract's id is derived from the bytecode, the nonce and the
//! owner, and the deploy is charged per byte of bytecode, with a minimum
//! (`dusk_vm::execute`, with rusk's prices).
//!
//! The node's deploy runs after the transfer contract has taken the
//! transaction's fee; the suite has no transfer contract, so a node deploy
//! here is that last part alone: what the node does with the bytecode
//! once the fee is paid (nothing is spent before it).

use serde::{Deserialize, Serialize};

use crate::outcome::DeployFailure;

/// A deploy as the node does it: the nonce of the deploy transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDeploy {
    pub nonce: u64,
}

/// The node's price of a deploy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeployPrice {
    /// Gas per byte of bytecode (`gas_per_deploy_byte`).
    pub per_byte: u64,
    /// The least a deploy costs (`min_deploy_points`).
    pub minimum: u64,
}

/// rusk's prices (its default `gas_per_deploy_byte` and
/// `min_deploy_points`): dusk-vm takes them from the node's configuration
/// and has none of its own.
pub const NODE_DEPLOY_PRICE: DeployPrice = DeployPrice {
    per_byte: 100,
    minimum: 5_000_000,
};

impl DeployPrice {
    /// The charge for a bytecode of `len` bytes, or `None` where it does
    /// not fit a `u64` (the node refuses the transaction:
    /// `DeployChargeOverflow`).
    pub fn charge(&self, len: usize) -> Option<u64> {
        u64::try_from(len)
            .ok()?
            .checked_mul(self.per_byte)
            .map(|charge| charge.max(self.minimum))
    }

    /// The charge of a deploy of `len` bytes under `gas_limit`, or
    /// `gas_below_charge` when the limit is below it: the node discards
    /// such a transaction before anything runs. A charge past `u64` is a
    /// limit no transaction reaches.
    pub fn admit(&self, len: usize, gas_limit: u64) -> Result<u64, DeployFailure> {
        let charge = self.charge(len).unwrap_or(u64::MAX);
        if gas_limit < charge {
            Err(DeployFailure::GasBelowCharge { charge })
        } else {
            Ok(charge)
        }
    }
}

/// What the node charges for a deploy that went as `deployed` says: the
/// deploy charge when the contract is deployed; the whole gas limit when
/// the deploy failed once begun (dusk-vm consumes all gas on any error).
/// `init`'s own gas is not added: dusk-vm charges it only with
/// `charge_init_gas`, off in its default configuration.
pub fn node_charge(charge: u64, gas_limit: u64, deployed: bool) -> u64 {
    if deployed { charge } else { gas_limit }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deploy_costs_its_bytes_with_a_minimum() {
        assert_eq!(NODE_DEPLOY_PRICE.charge(0), Some(5_000_000));
        assert_eq!(NODE_DEPLOY_PRICE.charge(50_000), Some(5_000_000));
        assert_eq!(NODE_DEPLOY_PRICE.charge(50_001), Some(5_000_100));
        assert_eq!(NODE_DEPLOY_PRICE.charge(1 << 20), Some(104_857_600));
        assert_eq!(NODE_DEPLOY_PRICE.charge(usize::MAX), None);
    }

    #[test]
    fn a_limit_below_the_charge_is_refused_with_the_charge() {
        let below = |charge| Err(DeployFailure::GasBelowCharge { charge });
        assert_eq!(NODE_DEPLOY_PRICE.admit(10, 4_999_999), below(5_000_000));
        assert_eq!(NODE_DEPLOY_PRICE.admit(10, 5_000_000), Ok(5_000_000));
        assert_eq!(NODE_DEPLOY_PRICE.admit(60_000, 6_000_000), Ok(6_000_000));
        assert_eq!(
            NODE_DEPLOY_PRICE.admit(usize::MAX, u64::MAX - 1),
            below(u64::MAX)
        );
    }

    #[test]
    fn a_failed_deploy_costs_the_whole_limit() {
        assert_eq!(node_charge(5_000_000, 9_000_000, true), 5_000_000);
        assert_eq!(node_charge(5_000_000, 9_000_000, false), 9_000_000);
    }
}
