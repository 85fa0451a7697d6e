//! The node's contract ids: a node deploy's id is derived from the
//! bytecode, the deploy transaction's nonce and the owner, with Dusk
//! Core's own function (the one dusk-vm's `execute` calls). Prices and
//! charges are in `runner_protocol::node_deploy`, which the runners share.

use vm::abi::ContractId;

/// The id the node gives a contract deployed with `nonce` by `owner`.
pub fn contract_id(bytecode: &[u8], nonce: u64, owner: &[u8]) -> ContractId {
    let id = dusk_core::transfer::data::gen_contract_id(bytecode, nonce, owner);
    ContractId(id.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_blake2b_of_bytecode_nonce_and_owner() {
        let id = |nonce, owner: &[u8]| hex::encode(contract_id(b"\0asm\x01\0\0\0", nonce, owner).0);
        // blake2b-256 of the bytecode, the nonce (8 bytes, little-endian)
        // and the owner, computed independently (Python's hashlib).
        assert_eq!(
            id(0, b""),
            "a00b39ff39eb33b395eb43664c7d78a98e13b08ce45e35e7d9118335b58013f7"
        );
        assert_eq!(
            id(1, b"alice"),
            "dd9b9404813205d76f8c00743a8abd1da77f310fb8fe3209c91ebb298ed3376e"
        );
    }
}
