//! The facts of the Dusk contract ABI that are independent of any engine:
//! constants, contract ids, pointer widths, the host import table and the
//! inter-contract error codes with their argument-buffer encoding.
//!
//! `docs/abi.md` is the prose specification; this module is its executable
//! form and every other module takes these facts from here.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Size of the argument buffer, in bytes.
pub const ARGBUF_LEN: usize = 65_536;

/// [`ARGBUF_LEN`] as the `u32` lengths of the ABI are.
pub const ARGBUF_LEN_U32: u32 = 65_536;

/// [`ARGBUF_LEN`] as the `i32` an export returns its output length in.
pub const ARGBUF_LEN_I32: i32 = 65_536;

const _: () = assert!(ARGBUF_LEN_U32 as usize == ARGBUF_LEN && ARGBUF_LEN_I32 == 65_536);

/// Size of a contract id, in bytes.
pub const CONTRACT_ID_LEN: usize = 32;

/// Deepest inter-contract call nesting a session allows.
pub const MAX_CALL_DEPTH: usize = 48;

/// Share of the caller's remaining gas a callee gets when the caller does not
/// give an explicit limit, in percent.
pub const CALLEE_GAS_PERCENT: u64 = 93;

/// Gas charged per byte a contract stores outside its memory (events) and
/// the base of the Wasm store costs (`4 * BYTE_STORE_COST` per width class).
pub const BYTE_STORE_COST: u64 = 4;

/// Size of a Wasm page, in bytes.
pub const WASM_PAGE: u64 = 65_536;

/// Name of the export that every contract must provide for the argument
/// buffer's offset.
pub const ARGBUF_EXPORT: &str = "A";

/// Name of the optional export called once at deploy.
pub const INIT_EXPORT: &str = "init";

/// Module name of every host import.
pub const HOST_MODULE: &str = "env";

/// Prefix of the names the VM reserves for its own exports in instrumented
/// modules; contracts may not use it.
pub const RESERVED_PREFIX: &str = "__dusk";

/// A contract's 32-byte identity: the blake3 hash of its bytecode unless the
/// deployer chose one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ContractId(#[serde(with = "hex_bytes")] pub [u8; CONTRACT_ID_LEN]);

impl ContractId {
    /// The default id of a contract: the blake3 hash of its bytecode.
    pub fn from_bytecode(bytecode: &[u8]) -> Self {
        Self(*blake3::hash(bytecode).as_bytes())
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8; CONTRACT_ID_LEN] {
        &self.0
    }
}

impl fmt::Display for ContractId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ContractId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContractId({self})")
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text).map_err(D::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| D::Error::custom("a contract id is 32 bytes"))
    }
}

/// Serde helpers writing bytes as hex text.
pub mod hex_vec {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// Pointer width of a contract: the index type of its memory. It decides the
/// type of the pointer parameters of the host imports and of `A`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PtrWidth {
    /// A 32-bit memory; pointers are `i32`.
    Wasm32,
    /// A 64-bit memory (memory64); pointers are `i64`.
    Wasm64,
}

impl PtrWidth {
    /// The Wasm value type of a pointer of this width.
    pub fn pointer_type(self) -> ValType {
        match self {
            PtrWidth::Wasm32 => ValType::I32,
            PtrWidth::Wasm64 => ValType::I64,
        }
    }
}

/// The value types that appear in the ABI's signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValType {
    /// A 32-bit integer.
    I32,
    /// A 64-bit integer.
    I64,
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
        })
    }
}

/// A function signature in terms of [`ValType`]s.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    /// The parameter types, in order.
    pub params: Vec<ValType>,
    /// The result types, in order.
    pub results: Vec<ValType>,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |types: &[ValType]| {
            types
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(f, "({}) -> ({})", list(&self.params), list(&self.results))
    }
}

/// The signature every exported contract function must have:
/// `(param i32) (result i32)`.
pub fn export_signature() -> Signature {
    Signature {
        params: vec![ValType::I32],
        results: vec![ValType::I32],
    }
}

/// Every host function a contract may import from `env`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HostImport {
    /// Inter-contract call.
    C,
    /// Host query.
    Hq,
    /// Host data.
    Hd,
    /// Emit an event.
    Emit,
    /// Stream data to the feeder.
    Feed,
    /// Immediate caller's id.
    Caller,
    /// Ids of all callers.
    Callstack,
    /// Gas limit of the current frame.
    Limit,
    /// Gas spent in the current frame.
    Spent,
    /// Abort with a message.
    Panic,
    /// Owner of a contract.
    Owner,
    /// The current contract's id.
    SelfId,
    /// Debug message.
    Hdebug,
}

impl HostImport {
    /// Every import, in the order of the ABI table.
    pub const ALL: [HostImport; 13] = [
        HostImport::C,
        HostImport::Hq,
        HostImport::Hd,
        HostImport::Emit,
        HostImport::Feed,
        HostImport::Caller,
        HostImport::Callstack,
        HostImport::Limit,
        HostImport::Spent,
        HostImport::Panic,
        HostImport::Owner,
        HostImport::SelfId,
        HostImport::Hdebug,
    ];

    /// The import's name in module `env`.
    pub fn name(self) -> &'static str {
        match self {
            HostImport::C => "c",
            HostImport::Hq => "hq",
            HostImport::Hd => "hd",
            HostImport::Emit => "emit",
            HostImport::Feed => "feed",
            HostImport::Caller => "caller",
            HostImport::Callstack => "callstack",
            HostImport::Limit => "limit",
            HostImport::Spent => "spent",
            HostImport::Panic => "panic",
            HostImport::Owner => "owner",
            HostImport::SelfId => "self_id",
            HostImport::Hdebug => "hdebug",
        }
    }

    /// The import with this name, if the ABI has one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|import| import.name() == name)
    }

    /// The exact signature of the import for a contract of the given width.
    pub fn signature(self, width: PtrWidth) -> Signature {
        use ValType::{I32, I64};
        let ptr = width.pointer_type();
        let (params, results) = match self {
            HostImport::C => (vec![ptr, ptr, I32, I32, I64], vec![I32]),
            HostImport::Hq => (vec![ptr, I32, I32], vec![I32]),
            HostImport::Hd => (vec![ptr, I32], vec![I32]),
            HostImport::Emit => (vec![ptr, I32, I32], vec![]),
            HostImport::Feed => (vec![I32], vec![]),
            HostImport::Caller => (vec![], vec![I32]),
            HostImport::Callstack => (vec![], vec![I32]),
            HostImport::Limit => (vec![], vec![I64]),
            HostImport::Spent => (vec![], vec![I64]),
            HostImport::Panic => (vec![I32], vec![]),
            HostImport::Owner => (vec![ptr], vec![I32]),
            HostImport::SelfId => (vec![], vec![]),
            HostImport::Hdebug => (vec![I32], vec![]),
        };
        Signature { params, results }
    }
}

/// The negative codes `c` returns to a caller whose callee failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CallErrorCode {
    /// The callee panicked; the argument buffer holds the message.
    Panic,
    /// The callee ran out of gas.
    OutOfGas,
    /// No contract has the callee id.
    DoesNotExist,
    /// Every other failure.
    Unknown,
}

impl CallErrorCode {
    /// The `i32` the caller sees.
    pub fn code(self) -> i32 {
        match self {
            CallErrorCode::Panic => -1,
            CallErrorCode::OutOfGas => -2,
            CallErrorCode::DoesNotExist => -3,
            CallErrorCode::Unknown => i32::MIN,
        }
    }

    /// The error with this code, if it is one.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            -1 => Some(CallErrorCode::Panic),
            -2 => Some(CallErrorCode::OutOfGas),
            -3 => Some(CallErrorCode::DoesNotExist),
            i32::MIN => Some(CallErrorCode::Unknown),
            _ => None,
        }
    }
}

/// The argument-buffer contents a caller sees after its callee panicked with
/// `message`: the message length as a little-endian `u32`, then the message.
///
/// Returns `None` when the encoding does not fit in the argument buffer.
pub fn encode_panic_message(message: &str) -> Option<Vec<u8>> {
    let len = u32::try_from(message.len()).ok()?;
    if message.len() + 4 > ARGBUF_LEN {
        return None;
    }
    let mut bytes = Vec::with_capacity(message.len() + 4);
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(message.as_bytes());
    Some(bytes)
}

/// The gas limit a callee gets: the requested limit when it is positive and
/// below the caller's remaining gas, otherwise 93 % of the remaining gas
/// computed without overflow as `r / 100 * 93 + r % 100 * 93 / 100`.
pub fn callee_gas_limit(requested: i64, remaining: u64) -> u64 {
    match u64::try_from(requested) {
        Ok(requested) if requested > 0 && requested < remaining => requested,
        _ => remaining / 100 * CALLEE_GAS_PERCENT + remaining % 100 * CALLEE_GAS_PERCENT / 100,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_id_is_blake3_of_bytecode() {
        let id = ContractId::from_bytecode(b"abc");
        assert_eq!(
            id.to_string(),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }

    #[test]
    fn import_table_round_trips_names() {
        for import in HostImport::ALL {
            assert_eq!(HostImport::from_name(import.name()), Some(import));
        }
        assert_eq!(HostImport::from_name("nope"), None);
    }

    #[test]
    fn pointer_params_follow_width() {
        let c32 = HostImport::C.signature(PtrWidth::Wasm32);
        let c64 = HostImport::C.signature(PtrWidth::Wasm64);
        assert_eq!(c32.to_string(), "(i32, i32, i32, i32, i64) -> (i32)");
        assert_eq!(c64.to_string(), "(i64, i64, i32, i32, i64) -> (i32)");
    }

    #[test]
    fn error_codes_round_trip() {
        for code in [
            CallErrorCode::Panic,
            CallErrorCode::OutOfGas,
            CallErrorCode::DoesNotExist,
            CallErrorCode::Unknown,
        ] {
            assert_eq!(CallErrorCode::from_code(code.code()), Some(code));
        }
        assert_eq!(CallErrorCode::from_code(-4), None);
    }

    #[test]
    fn panic_message_encoding() {
        assert_eq!(
            encode_panic_message("hi").unwrap(),
            vec![2, 0, 0, 0, b'h', b'i']
        );
        assert!(encode_panic_message(&"x".repeat(ARGBUF_LEN - 4)).is_some());
        assert!(encode_panic_message(&"x".repeat(ARGBUF_LEN - 3)).is_none());
    }

    #[test]
    fn callee_limit_rule() {
        assert_eq!(callee_gas_limit(10, 100), 10);
        assert_eq!(callee_gas_limit(100, 100), 93);
        assert_eq!(callee_gas_limit(0, 1000), 930);
        assert_eq!(callee_gas_limit(-5, 1000), 930);
        // 199 / 100 * 93 + 99 * 93 / 100 = 93 + 92
        assert_eq!(callee_gas_limit(0, 199), 185);
        assert_eq!(
            callee_gas_limit(0, u64::MAX),
            u64::MAX / 100 * 93 + u64::MAX % 100 * 93 / 100
        );
    }
}

/// An event a contract emitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The contract that emitted it.
    pub source: ContractId,
    /// Its topic, UTF-8.
    pub topic: String,
    #[serde(with = "hex_vec")]
    /// Its data, as the contract wrote it to the argument buffer.
    pub data: Vec<u8>,
}
