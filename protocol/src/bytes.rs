//! Byte strings that travel as hex text.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

/// Bytes, written as lowercase hex in JSON.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes(bytes)
    }
}

impl From<&[u8]> for Bytes {
    fn from(bytes: &[u8]) -> Self {
        Bytes(bytes.to_vec())
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0))
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(&text).map(Bytes).map_err(D::Error::custom)
    }
}

/// How many bytes of a long value reports show (and call trees keep).
pub const SHOWN_BYTES: usize = 48;

/// Bytes as hex for people: long values are cut, with their length and a
/// blake3 prefix so that different values still look different.
pub fn short_hex(bytes: &[u8]) -> String {
    const SHOWN: usize = SHOWN_BYTES;
    if bytes.len() <= SHOWN {
        format!("0x{}", hex::encode(bytes))
    } else {
        format!(
            "0x{}.. ({} bytes, blake3 {})",
            hex::encode(&bytes[..SHOWN]),
            bytes.len(),
            &blake3::hash(bytes).to_hex()[..16]
        )
    }
}
