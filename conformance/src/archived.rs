//! Scenario literals of rkyv-archived values, the encoding Dusk's contract
//! SDK uses for arguments and results:
//!
//! ```toml
//! arg = { rkyv = "(string, u64)", value = ["alice", 5] }
//! returns = "result<u64, error>"     # the output, decoded in reports
//! ```
//!
//! Values are archived by rkyv itself with the types of
//! `contracts/types` (the ones the contracts are built with), so a literal
//! and the contract reading it cannot disagree on layout. The types a
//! literal may name are the rows of [`TYPES`]; how a TOML value reads as
//! each Rust type is [`FromToml`]:
//!
//! | Rust type | TOML |
//! | --- | --- |
//! | integers, `bool`, `String` | the TOML value; `u64` and `u128` also as a string of digits |
//! | `[u8; 32]`, `Vec<u8>` | `"0x..."` hex, or an array of numbers |
//! | `ContractId` | `"id:NAME"` (the scenario's contract, once deployed) or 32 bytes of hex |
//! | `Vec<T>`, tuples | arrays |
//! | `Option<T>` | `"none"` or `{ some = T }` |
//! | `Result<T, E>` | `{ ok = T }` or `{ err = E }` |
//! | structs | tables with every field |

use std::fmt::Debug;

use contract_types::{CallSpec, ContractError, ContractId, Record, Transfer};
use rkyv::ser::Serializer;
use rkyv::ser::serializers::AllocSerializer;
use rkyv::validation::validators::DefaultValidator;
use rkyv::{Archive, Deserialize, Infallible, Serialize};
use toml::Value;

/// An archived value, with where the ids of contracts are still to be
/// written (they are known once the contract is deployed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Archived {
    pub bytes: Vec<u8>,
    /// Offsets of 32-byte holes and the contract whose id fills each.
    pub ids: Vec<(usize, String)>,
}

/// The 32 bytes standing for the `index`-th contract id of a literal until
/// it is replaced; found again after archiving, since a `ContractId`
/// archives as its bytes.
fn placeholder(index: usize) -> [u8; 32] {
    let mut bytes = *b"\xffcontract id placeholder\xff\0\0\0\0\0\0\0";
    // Scenarios deploy a handful of contracts: an index fits.
    let index = u32::try_from(index).unwrap_or(u32::MAX);
    bytes[28..].copy_from_slice(&index.to_le_bytes());
    bytes
}

/// The contracts a literal names, in order of appearance.
#[derive(Default)]
pub struct Names(Vec<String>);

/// Reads a TOML value as a Rust value of the type.
pub trait FromToml: Sized {
    fn from_toml(value: &Value, names: &mut Names) -> Result<Self, String>;

    /// A sequence of this type written as a string (bytes as hex).
    fn seq_from_str(text: &str) -> Option<Result<Vec<Self>, String>> {
        let _ = text;
        None
    }
}

fn kind(value: &Value) -> &'static str {
    value.type_str()
}

fn integer<T: TryFrom<i128>>(value: &Value, name: &str) -> Result<T, String> {
    let wide: i128 = match value {
        Value::Integer(n) => i128::from(*n),
        Value::String(digits) => digits
            .parse()
            .map_err(|_| format!("`{digits}` is not a {name}"))?,
        other => return Err(format!("a {name} is a TOML integer, not {}", kind(other))),
    };
    T::try_from(wide).map_err(|_| format!("{wide} does not fit a {name}"))
}

macro_rules! integers {
    ($($ty:ty),*) => {$(
        impl FromToml for $ty {
            fn from_toml(value: &Value, _: &mut Names) -> Result<Self, String> {
                integer(value, stringify!($ty))
            }
        }
    )*};
}
integers!(u16, u32, u64, i8, i16, i32, i64);

impl FromToml for u8 {
    fn from_toml(value: &Value, _: &mut Names) -> Result<Self, String> {
        integer(value, "u8")
    }

    fn seq_from_str(text: &str) -> Option<Result<Vec<Self>, String>> {
        Some(match text.strip_prefix("0x") {
            Some(digits) => hex::decode(digits).map_err(|e| format!("bad hex `{text}`: {e}")),
            None => Err(format!("bytes are written `0x...`, not `{text}`")),
        })
    }
}

impl FromToml for u128 {
    fn from_toml(value: &Value, _: &mut Names) -> Result<Self, String> {
        match value {
            Value::Integer(n) => u128::try_from(*n).map_err(|_| format!("{n} does not fit a u128")),
            Value::String(digits) => digits
                .parse()
                .map_err(|_| format!("`{digits}` is not a u128")),
            other => Err(format!(
                "a u128 is a TOML integer or digits, not {}",
                kind(other)
            )),
        }
    }
}

impl FromToml for () {
    fn from_toml(value: &Value, _: &mut Names) -> Result<Self, String> {
        match value {
            Value::Array(items) if items.is_empty() => Ok(()),
            other => Err(format!("`()` is written `[]`, not {}", kind(other))),
        }
    }
}

impl FromToml for bool {
    fn from_toml(value: &Value, _: &mut Names) -> Result<Self, String> {
        value
            .as_bool()
            .ok_or_else(|| format!("a bool is true or false, not {}", kind(value)))
    }
}

impl FromToml for String {
    fn from_toml(value: &Value, _: &mut Names) -> Result<Self, String> {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("text is a TOML string, not {}", kind(value)))
    }
}

impl<T: FromToml> FromToml for Vec<T> {
    fn from_toml(value: &Value, names: &mut Names) -> Result<Self, String> {
        match value {
            Value::String(text) => T::seq_from_str(text)
                .unwrap_or_else(|| Err(format!("a list is a TOML array, not the string `{text}`"))),
            Value::Array(items) => items.iter().map(|item| T::from_toml(item, names)).collect(),
            other => Err(format!("a list is a TOML array, not {}", kind(other))),
        }
    }
}

impl FromToml for [u8; 32] {
    fn from_toml(value: &Value, names: &mut Names) -> Result<Self, String> {
        let bytes = Vec::<u8>::from_toml(value, names)?;
        let length = bytes.len();
        bytes
            .try_into()
            .map_err(|_| format!("[u8; 32] takes 32 bytes, not {length}"))
    }
}

impl FromToml for ContractId {
    fn from_toml(value: &Value, names: &mut Names) -> Result<Self, String> {
        if let Some(name) = value.as_str().and_then(|text| text.strip_prefix("id:")) {
            names.0.push(name.to_owned());
            return Ok(ContractId::from_bytes(placeholder(names.0.len() - 1)));
        }
        <[u8; 32]>::from_toml(value, names).map(ContractId::from_bytes)
    }
}

impl<T: FromToml> FromToml for Option<T> {
    fn from_toml(value: &Value, names: &mut Names) -> Result<Self, String> {
        match value {
            Value::String(text) if text == "none" => Ok(None),
            Value::Table(table) if table.len() == 1 && table.contains_key("some") => {
                T::from_toml(&table["some"], names).map(Some)
            }
            _ => Err("an option is \"none\" or { some = ... }".into()),
        }
    }
}

impl<T: FromToml, E: FromToml> FromToml for Result<T, E> {
    fn from_toml(value: &Value, names: &mut Names) -> Result<Self, String> {
        match value.as_table() {
            Some(table) if table.len() == 1 && table.contains_key("ok") => {
                T::from_toml(&table["ok"], names).map(Ok)
            }
            Some(table) if table.len() == 1 && table.contains_key("err") => {
                E::from_toml(&table["err"], names).map(Err)
            }
            _ => Err("a result is { ok = ... } or { err = ... }".into()),
        }
    }
}

impl FromToml for ContractError {
    fn from_toml(value: &Value, _: &mut Names) -> Result<Self, String> {
        match value {
            Value::String(text) if text == "OutOfGas" => Ok(ContractError::OutOfGas),
            Value::String(text) if text == "DoesNotExist" => Ok(ContractError::DoesNotExist),
            Value::String(text) if text == "Unknown" => Ok(ContractError::Unknown),
            Value::Table(table) if table.len() == 1 && table.contains_key("panic") => {
                table["panic"]
                    .as_str()
                    .map(|message| ContractError::Panic(message.to_owned()))
                    .ok_or_else(|| "a panic's message is a string".into())
            }
            _ => Err(
                "an error is \"OutOfGas\", \"DoesNotExist\", \"Unknown\" or { panic = \"...\" }"
                    .into(),
            ),
        }
    }
}

macro_rules! tuples {
    ($(($($name:ident),+))*) => {$(
        impl<$($name: FromToml),+> FromToml for ($($name,)+) {
            fn from_toml(value: &Value, names: &mut Names) -> Result<Self, String> {
                const ARITY: usize = [$(stringify!($name)),+].len();
                match value.as_array() {
                    Some(items) if items.len() == ARITY => {
                        let mut items = items.iter();
                        Ok(($($name::from_toml(items.next().expect("arity checked"), names)?,)+))
                    }
                    _ => Err(format!("a tuple of {ARITY} is an array of {ARITY}")),
                }
            }
        }
    )*};
}
tuples!((A, B)(A, B, C)(A, B, C, D));

/// Reads a TOML table with exactly the fields given into a struct.
macro_rules! structs {
    ($($ty:ident { $($field:ident),* })*) => {$(
        impl FromToml for $ty {
            fn from_toml(value: &Value, names: &mut Names) -> Result<Self, String> {
                let table = value
                    .as_table()
                    .ok_or_else(|| format!("a {} is a table", stringify!($ty)))?;
                const FIELDS: &[&str] = &[$(stringify!($field)),*];
                if let Some(unknown) = table.keys().find(|key| !FIELDS.contains(&key.as_str())) {
                    return Err(format!("a {} has no field `{unknown}`", stringify!($ty)));
                }
                Ok($ty {$(
                    $field: FromToml::from_toml(
                        table.get(stringify!($field)).ok_or_else(|| {
                            format!("a {} needs `{}`", stringify!($ty), stringify!($field))
                        })?,
                        names,
                    ).map_err(|e| format!("{}.{}: {e}", stringify!($ty), stringify!($field)))?,
                )*})
            }
        }
    )*};
}
structs! {
    Record { id, name, tags, active, parent }
    Transfer { from, to, amount }
    CallSpec { contract, function, arg, gas_limit }
}

/// What a row of [`TYPES`] does for its type.
struct Codec {
    encode: fn(&Value, &mut Names) -> Result<Vec<u8>, String>,
    decode: fn(&[u8]) -> Result<String, String>,
}

fn encode<T>(value: &Value, names: &mut Names) -> Result<Vec<u8>, String>
where
    T: FromToml + Serialize<AllocSerializer<1024>>,
{
    let value = T::from_toml(value, names)?;
    let mut serializer = AllocSerializer::<1024>::default();
    serializer
        .serialize_value(&value)
        .map_err(|e| format!("rkyv cannot archive it: {e:?}"))?;
    Ok(serializer.into_serializer().into_inner().to_vec())
}

fn decode<T>(bytes: &[u8]) -> Result<String, String>
where
    T: Archive + Debug,
    T::Archived: Deserialize<T, Infallible> + for<'a> bytecheck::CheckBytes<DefaultValidator<'a>>,
{
    let archived = rkyv::check_archived_root::<T>(bytes).map_err(|e| e.to_string())?;
    let Ok(value) = archived.deserialize(&mut Infallible);
    Ok(format!("{value:?}"))
}

macro_rules! types {
    ($($name:literal => $ty:ty,)*) => {
        /// Every type a literal may name, by its name in scenarios
        /// (spaces are ignored).
        const TYPES: &[(&str, Codec)] = &[$(
            ($name, Codec { encode: encode::<$ty>, decode: decode::<$ty> }),
        )*];
    };
}

types! {
    "()" => (),
    "bool" => bool,
    "u8" => u8,
    "u16" => u16,
    "u32" => u32,
    "u64" => u64,
    "u128" => u128,
    "i32" => i32,
    "i64" => i64,
    "string" => String,
    "bytes32" => [u8; 32],
    "bytes" => Vec<u8>,
    "id" => ContractId,
    "error" => ContractError,
    "vec<u64>" => Vec<u64>,
    "vec<u32>" => Vec<u32>,
    "vec<string>" => Vec<String>,
    "vec<record>" => Vec<Record>,
    "vec<id>" => Vec<ContractId>,
    "vec<option<id>>" => Vec<Option<ContractId>>,
    "vec<(string,u64)>" => Vec<(String, u64)>,
    "option<u64>" => Option<u64>,
    "option<id>" => Option<ContractId>,
    "option<bytes32>" => Option<[u8; 32]>,
    "option<record>" => Option<Record>,
    "option<string>" => Option<String>,
    "result<u64,string>" => Result<u64, String>,
    "result<(),string>" => Result<(), String>,
    "result<u64,error>" => Result<u64, ContractError>,
    "result<(),error>" => Result<(), ContractError>,
    "result<bytes,error>" => Result<Vec<u8>, ContractError>,
    "(u32,string)" => (u32, String),
    "(string,u32)" => (String, u32),
    "(string,u64)" => (String, u64),
    "(u64,u64)" => (u64, u64),
    "(u32,u32)" => (u32, u32),
    "(u64,u32)" => (u64, u32),
    "(u32,u64)" => (u32, u64),
    "(option<u64>,u64)" => (Option<u64>, u64),
    "(vec<u64>,u32)" => (Vec<u64>, u32),
    "(vec<u64>,vec<u64>)" => (Vec<u64>, Vec<u64>),
    "(string,bytes)" => (String, Vec<u8>),
    "(id,string)" => (ContractId, String),
    "(id,string,bytes)" => (ContractId, String, Vec<u8>),
    "(result<u64,error>,u64)" => (Result<u64, ContractError>, u64),
    "(result<u64,error>,result<u64,error>)" => (Result<u64, ContractError>, Result<u64, ContractError>),
    "(result<(),error>,u64)" => (Result<(), ContractError>, u64),
    "(option<id>,u64,u64)" => (Option<ContractId>, u64, u64),
    "record" => Record,
    "transfer" => Transfer,
    "callspec" => CallSpec,
}

fn codec(type_name: &str) -> Result<&'static Codec, String> {
    let wanted: String = type_name.chars().filter(|c| !c.is_whitespace()).collect();
    TYPES
        .iter()
        .find(|(name, _)| *name == wanted.to_lowercase())
        .map(|(_, codec)| codec)
        .ok_or_else(|| {
            let known: Vec<&str> = TYPES.iter().map(|(name, _)| *name).collect();
            format!(
                "unknown rkyv type `{type_name}` (known: {})",
                known.join(", ")
            )
        })
}

/// Archives `value` as `type_name`; ids named `id:NAME` are left as holes.
pub fn encode_literal(type_name: &str, value: &Value) -> Result<Archived, String> {
    let codec = codec(type_name)?;
    let mut names = Names::default();
    let bytes = (codec.encode)(value, &mut names)?;
    let mut ids = Vec::new();
    for (index, name) in names.0.into_iter().enumerate() {
        let hole = placeholder(index);
        let found: Vec<usize> = bytes
            .windows(32)
            .enumerate()
            .filter(|(_, window)| *window == hole)
            .map(|(offset, _)| offset)
            .collect();
        match found.as_slice() {
            [offset] => ids.push((*offset, name)),
            _ => {
                return Err(format!(
                    "the id of `{name}` could not be placed in the archive"
                ));
            }
        }
    }
    ids.sort();
    Ok(Archived { bytes, ids })
}

/// Whether `type_name` is a type literals may name.
pub fn check_type(type_name: &str) -> Result<(), String> {
    codec(type_name).map(|_| ())
}

/// `bytes` read as an archived `type_name`, shown as Rust's `Debug`.
pub fn decode_output(type_name: &str, bytes: &[u8]) -> Result<String, String> {
    (codec(type_name)?.decode)(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(toml_value: &str) -> Value {
        let table: toml::Table = toml::from_str(&format!("v = {toml_value}")).expect("TOML");
        table["v"].clone()
    }

    fn hex_of(type_name: &str, toml_value: &str) -> String {
        hex::encode(
            encode_literal(type_name, &value(toml_value))
                .expect("encodes")
                .bytes,
        )
    }

    #[test]
    fn integers_archive_little_endian() {
        assert_eq!(hex_of("u64", "5"), "0500000000000000");
        assert_eq!(
            hex_of("u64", "\"18446744073709551615\""),
            "ffffffffffffffff"
        );
        assert_eq!(hex_of("i32", "-2"), "feffffff");
        assert_eq!(hex_of("u8", "255"), "ff");
        assert_eq!(hex_of("bool", "true"), "01");
        assert_eq!(hex_of("()", "[]"), "");
    }

    #[test]
    fn strings_and_vectors_use_relative_pointers() {
        // rkyv 0.7: up to 7 bytes of text are inline, their length in the
        // last byte (high bit clear).
        assert_eq!(hex_of("string", "\"Dusk\""), "4475736b00000004");
        // A longer string is written first; the tuple follows at its
        // alignment (8): the length (11), the offset back to the text
        // (-16, little-endian, so the sign bit marks it out of line), then
        // the u64.
        assert_eq!(
            hex_of("(string, u64)", "[\"a long name\", 5]"),
            concat!(
                "61206c6f6e67206e616d65",
                "0000000000",
                "0b000000",
                "f0ffffff",
                "0500000000000000"
            )
        );
        // A vector: its elements, then the offset back to them and the count.
        assert_eq!(
            hex_of("vec<u32>", "[1, 2]"),
            concat!("01000000", "02000000", "f8ffffff", "02000000")
        );
    }

    #[test]
    fn ids_become_holes_at_their_offsets() {
        let archived =
            encode_literal("(id, string)", &value("[\"id:counter\", \"f\"]")).expect("encodes");
        assert_eq!(archived.ids, vec![(0, "counter".to_owned())]);
        assert_eq!(archived.bytes[..32], placeholder(0));
        let two = encode_literal(
            "callspec",
            &value("{ contract = \"id:b\", function = \"f\", arg = 1, gas_limit = 0 }"),
        )
        .expect("encodes");
        assert_eq!(two.ids.len(), 1);
        assert_eq!(two.ids[0].1, "b");
    }

    #[test]
    fn outputs_decode_as_the_type_named() {
        let record =
            "{ id = 3, name = \"r\", tags = [1, 2], active = true, parent = { some = 2 } }";
        let bytes = encode_literal("record", &value(record))
            .expect("encodes")
            .bytes;
        assert_eq!(
            decode_output("record", &bytes).expect("decodes"),
            "Record { id: 3, name: \"r\", tags: [1, 2], active: true, parent: Some(2) }"
        );
        let error = encode_literal("result<u64, error>", &value("{ err = { panic = \"no\" } }"))
            .expect("encodes");
        assert_eq!(
            decode_output("result<u64,error>", &error.bytes).expect("decodes"),
            "Err(Panic(\"no\"))"
        );
        assert!(decode_output("bool", &[2]).is_err(), "2 is not a bool");
        assert!(decode_output("u64", &[1]).is_err(), "one byte is not a u64");
    }

    #[test]
    fn bad_literals_say_why() {
        let error = |t: &str, v: &str| encode_literal(t, &value(v)).expect_err("refused");
        assert!(error("u65", "1").starts_with("unknown rkyv type `u65` (known: ()"));
        assert_eq!(error("u8", "256"), "256 does not fit a u8");
        assert_eq!(
            error("bytes32", "\"0x00\""),
            "[u8; 32] takes 32 bytes, not 1"
        );
        assert_eq!(
            error("option<u64>", "5"),
            "an option is \"none\" or { some = ... }"
        );
        assert_eq!(error("record", "{ id = 1 }"), "a Record needs `name`");
        assert_eq!(
            error(
                "transfer",
                "{ from = \"a\", to = \"b\", amount = 1, memo = \"x\" }"
            ),
            "a Transfer has no field `memo`"
        );
        assert_eq!(error("(u64, u64)", "[1]"), "a tuple of 2 is an array of 2");
    }

    #[test]
    fn type_names_are_unique_and_written_as_looked_up() {
        let mut names: Vec<&str> = TYPES.iter().map(|(name, _)| *name).collect();
        for name in &names {
            assert!(
                !name.contains(char::is_whitespace) && name.to_lowercase() == *name,
                "`{name}` could never be found"
            );
        }
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a type is listed twice");
    }
}
