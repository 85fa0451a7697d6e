//! The types the conformance contracts exchange, archived with rkyv as the
//! SDK does (`size_32`, validated on read). The suite encodes scenario
//! literals of these types with the same definitions, so a literal and the
//! contract reading it cannot disagree on layout.
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use bytecheck::CheckBytes;
pub use piecrust_uplink::{ContractError, ContractId};
use rkyv::{Archive, Deserialize, Serialize};

/// A record with a field of each kind a contract stores: a number, text,
/// a list, a flag and an optional link.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[archive_attr(derive(CheckBytes))]
pub struct Record {
    pub id: u64,
    pub name: String,
    pub tags: Vec<u32>,
    pub active: bool,
    pub parent: Option<u64>,
}

/// A movement of funds between two named accounts of the ledger contract.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[archive_attr(derive(CheckBytes))]
pub struct Transfer {
    pub from: String,
    pub to: String,
    pub amount: u64,
}

/// A call the caller contract makes through the SDK: whom, which function,
/// the `u64` argument, and the gas limit (0: the SDK's default, 93 % of
/// what is left).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[archive_attr(derive(CheckBytes))]
pub struct CallSpec {
    pub contract: ContractId,
    pub function: String,
    pub arg: u64,
    pub gas_limit: u64,
}
