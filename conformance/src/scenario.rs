//! Scenario files: contracts, the session's host data and feeder, and the
//! steps to run (deploys and calls), in TOML with inline or shared WAT.
//!
//! ```toml
//! description = "A counter keeps its state"
//!
//! [contract.counter]
//! file = "counter.wat"          # under corpus/contracts/, or `wat = '''...'''`,
//!                               # or `rust = "counter"` (contracts/wasm/counter.wasm)
//! owner = "text:alice"          # optional; literals as for `arg`
//! init = "u64:5"                # optional init argument
//! nonce = 0                     # optional: deploy as the node does (the id
//!                               # from bytecode, nonce and owner; charged)
//!
//! [session]
//! host_data = { network = "0x01" }
//! chain = { id = 1, height = 500, aegis = 100, boreas = 400 }  # optional:
//!                               # the node's metadata and hard fork
//! feeder = true
//! builtin_queries = false       # optional: offer no built-in host query
//! node_queries = true           # optional: offer the node's host queries
//!                               # instead (needs a chain: its fork prices them)
//! step_timeout = 5              # seconds a step may take (default 60)
//!
//! [[step]]                      # any step may take
//! block = 1_200                 #   the block height it runs at: the chain
//!                               #   moves there first (heights only grow)
//!
//! [[step]]
//! deploy = "counter"
//!
//! [[step]]
//! call = "counter"
//! function = "increment"
//! arg = ["u32:5"]               # concatenated: 0x.., text:.., u8/u32/u64/i32/i64:.., id:NAME
//! gas = 100000                  # or a string: "18446744073709551615"
//!
//! [[step]]
//! call = "ledger"
//! function = "mint"
//! arg = { rkyv = "(string, u64)", value = ["alice", 5] }  # see crate::archived
//! returns = "u64"               # the output decoded in reports
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use runner_protocol::node_deploy::NodeDeploy;
use runner_protocol::{Chain, HardFork};
use serde::Deserialize;
use toml::Spanned;
use vm::abi::ContractId;

/// Where shared contracts live, relative to the corpus root.
pub const CONTRACTS_DIR: &str = "contracts";

const DEFAULT_GAS: u64 = 1_000_000;

/// The longest wall-clock limit a scenario may give its steps: an hour.
pub const MAX_STEP_TIMEOUT_SECONDS: u64 = 3600;

/// The largest scenario or contract file read: far above any real one, and
/// a bound on what a path such as `/dev/zero` can cost.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// The longest host data entry or owner: `hd` and `owner` write it to the
/// 65,536-byte argument buffer (piecrust's metadata buffer is as large).
pub const MAX_HOST_BYTES: usize = vm::abi::ARGBUF_LEN;

/// Where the built Rust contracts are, relative to the repository (the
/// corpus's parent).
pub const RUST_CONTRACTS_DIR: &str = "contracts/wasm";

/// The module a contract's `rust = "NAME"` names: a plain name, so the
/// path cannot leave `contracts/wasm`.
fn rust_contract_path(corpus: &Path, name: &str) -> Result<PathBuf, String> {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !plain {
        return Err(format!(
            "`{name}` is not the name of a contract in {RUST_CONTRACTS_DIR} (letters, digits, - and _)"
        ));
    }
    let repository = corpus.parent().unwrap_or(Path::new("."));
    Ok(repository
        .join(RUST_CONTRACTS_DIR)
        .join(format!("{name}.wasm")))
}

/// Reads at most [`MAX_FILE_BYTES`] of `path`.
pub fn read_bounded_bytes(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    Ok(bytes)
}

/// Reads at most [`MAX_FILE_BYTES`] of `path` as text.
fn read_bounded(path: &Path) -> Result<String, String> {
    String::from_utf8(read_bounded_bytes(path)?).map_err(|e| e.to_string())
}

/// The file a contract's `file` names: relative to `corpus/contracts`, and
/// never leaving the corpus, neither by `..` nor by a symbolic link.
fn contract_path(corpus: &Path, file: &str) -> Result<PathBuf, String> {
    let relative = Path::new(file);
    if relative.is_absolute() {
        return Err(format!(
            "`{file}` must be a path relative to {CONTRACTS_DIR}/"
        ));
    }
    // Resolve `..` by hand: the path need not exist yet to be refused.
    let mut inside: Vec<&std::ffi::OsStr> = vec![std::ffi::OsStr::new(CONTRACTS_DIR)];
    for component in relative.components() {
        match component {
            std::path::Component::Normal(name) => inside.push(name),
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if inside.pop().is_some() => {}
            _ => return Err(format!("`{file}` leads outside the corpus")),
        }
    }
    let path: PathBuf = inside
        .iter()
        .fold(corpus.to_path_buf(), |path, name| path.join(name));
    let (Ok(root), Ok(resolved)) = (corpus.canonicalize(), path.canonicalize()) else {
        return Ok(path);
    };
    if !resolved.starts_with(&root) {
        return Err(format!("`{file}` leads outside the corpus"));
    }
    Ok(resolved)
}

/// Where a contract's module comes from.
enum WatSource {
    /// Bytes as they are (`wasm`, `rust`).
    Binary(Vec<u8>),
    /// WAT inline in the scenario, starting at this line and column.
    Inline { line: usize, column: usize },
    /// WAT in a file of the corpus.
    File(PathBuf),
}

/// The line and column (1-based) where the contents of the TOML string
/// starting at byte `offset` begin: after its opening delimiter, and after
/// the line break a multi-line string's delimiter may be followed by
/// (TOML drops that one).
fn string_start(text: &str, offset: usize) -> (usize, usize) {
    let rest = &text[offset.min(text.len())..];
    let delimiter = ["\"\"\"", "'''", "\"", "'"]
        .into_iter()
        .find(|d| rest.starts_with(d))
        .map_or(0, str::len);
    let mut start = offset + delimiter;
    if delimiter == 3 {
        if text[start..].starts_with("\r\n") {
            start += 2;
        } else if text[start..].starts_with('\n') {
            start += 1;
        }
    }
    let line = line_of(text, start);
    let line_start = text[..start].rfind('\n').map_or(0, |at| at + 1);
    (line, text[line_start..start].chars().count() + 1)
}

/// Parses `wat`, which begins at `line`:`column` of `path`, into a module;
/// an error gives the line in `path` and shows it there.
fn parse_wat(
    wat: &str,
    path: &Path,
    line: usize,
    column: usize,
) -> Result<Vec<u8>, (usize, String)> {
    // Placed where it stands in the file, so that the parser's positions
    // are the file's (whitespace changes nothing in the module).
    let placed = format!(
        "{}{}{wat}",
        "\n".repeat(line.saturating_sub(1)),
        " ".repeat(column.saturating_sub(1))
    );
    let parsed = wast::parser::ParseBuffer::new(&placed).and_then(|buffer| {
        let mut module: wast::Wat = wast::parser::parse(&buffer)?;
        module.encode()
    });
    parsed.map_err(|mut error| {
        let (at, _) = error.span().linecol_in(&placed);
        error.set_path(path);
        error.set_text(&placed);
        (at + 1, error.to_string())
    })
}

/// Why a scenario cannot run: the file, the line and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}: {message}", if *.line == 0 { String::new() } else { format!(":{line}") })]
pub struct ScenarioError {
    pub path: String,
    /// The line, 1-based; 0 for the file as a whole.
    pub line: usize,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    description: Option<String>,
    #[serde(default)]
    contract: BTreeMap<String, Spanned<RawContract>>,
    #[serde(default)]
    session: RawSession,
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContract {
    file: Option<String>,
    wat: Option<Spanned<String>>,
    /// Raw bytes as hex, for modules WAT cannot express (malformed ones).
    wasm: Option<String>,
    /// A contract of the Rust workspace: `contracts/wasm/NAME.wasm`.
    rust: Option<String>,
    owner: Option<Literal>,
    id: Option<String>,
    /// Deploy as the node does, with this transaction nonce.
    nonce: Option<u64>,
    init: Option<Literal>,
    #[serde(default, deserialize_with = "gas_limit")]
    init_gas: Option<u64>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSession {
    #[serde(default)]
    host_data: BTreeMap<String, Spanned<Literal>>,
    #[serde(default)]
    feeder: bool,
    /// The chain the session runs on (see [`runner_protocol::Chain`]).
    chain: Option<Spanned<RawChain>>,
    /// Whether the session offers the suite's built-in host queries
    /// (default true); without them it runs on the node's VM too.
    builtin_queries: Option<bool>,
    /// Whether the session offers the node's host queries (dusk-vm's),
    /// at the chain's hard fork, instead of the built-in ones.
    node_queries: Option<Spanned<bool>>,
    /// Seconds each step may take on any engine (the run's default, the
    /// command line's `--step-timeout`, otherwise).
    step_timeout: Option<Spanned<f64>>,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChain {
    id: u8,
    #[serde(deserialize_with = "block_height")]
    height: u64,
    #[serde(default, deserialize_with = "activation_height")]
    aegis: Option<u64>,
    #[serde(default, deserialize_with = "activation_height")]
    boreas: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    deploy: Option<String>,
    call: Option<String>,
    function: Option<String>,
    arg: Option<Literal>,
    /// The rkyv type of the output, decoded in reports.
    returns: Option<String>,
    #[serde(default, deserialize_with = "gas_limit")]
    gas: Option<u64>,
    /// Ids of deviation catalogue entries that explain how production
    /// differs from our engines at this step.
    #[serde(default)]
    deviations: Vec<String>,
    /// The block height the step runs at: the session's chain moves there
    /// first (heights only grow).
    #[serde(default, deserialize_with = "next_block")]
    block: Option<u64>,
}

/// A step's block height.
fn next_block<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    wide_u64(deserializer, "a block height").map(Some)
}

/// A `u64` written as a TOML integer, or as a string of digits for the
/// values above `i64::MAX` that TOML integers cannot hold; `what` names it
/// in the error.
fn wide_u64<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
    what: &str,
) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wide {
        Number(u64),
        Digits(String),
    }
    match Wide::deserialize(deserializer)? {
        Wide::Number(value) => Ok(value),
        Wide::Digits(text) => text.parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "{what} must be an integer from 0 to {}, not `{text}`",
                u64::MAX
            ))
        }),
    }
}

/// A gas limit (gas limits are `u64`).
fn gas_limit<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    wide_u64(deserializer, "gas").map(Some)
}

/// A block height.
fn block_height<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    wide_u64(deserializer, "a block height")
}

/// A fork's activation height.
fn activation_height<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    wide_u64(deserializer, "an activation height").map(Some)
}

/// One literal or several, concatenated; or a value archived with rkyv
/// (see [`crate::archived`]).
#[derive(Clone, Deserialize)]
#[serde(untagged)]
enum Literal {
    One(String),
    Many(Vec<String>),
    Archived(ArchivedLiteral),
}

/// `{ rkyv = "TYPE", value = ... }`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchivedLiteral {
    rkyv: String,
    value: toml::Value,
}

impl ArchivedLiteral {
    /// How reports show it: the type, then the value as TOML.
    fn text(&self) -> String {
        format!("{} {}", self.rkyv, self.value)
    }
}

impl Literal {
    fn parts(&self) -> Vec<&str> {
        match self {
            Literal::One(part) => vec![part.as_str()],
            Literal::Many(parts) => parts.iter().map(String::as_str).collect(),
            Literal::Archived(_) => Vec::new(),
        }
    }
}

/// A piece of an argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgPart {
    Bytes(Vec<u8>),
    /// The id of the contract with this index, once deployed.
    IdOf(usize),
}

/// A declared contract.
#[derive(Clone, Debug)]
pub struct ContractDecl {
    pub name: String,
    pub wasm: Vec<u8>,
    /// The WAT text, for divergence reports.
    pub wat: String,
    pub owner: Vec<u8>,
    pub id: Option<ContractId>,
    /// Deployed as the node deploys (`runner_protocol::node_deploy`): the
    /// id is derived and the deploy charged; `init_gas` is the deploy
    /// transaction's gas limit.
    pub node: Option<NodeDeploy>,
    pub init_arg: Vec<ArgPart>,
    pub init_gas: u64,
}

/// What a step does.
#[derive(Clone, Debug)]
pub enum StepKind {
    Deploy {
        contract: usize,
    },
    Call {
        contract: usize,
        function: String,
        arg: Vec<ArgPart>,
        gas: u64,
    },
}

/// A step and the line it starts on.
#[derive(Clone, Debug)]
pub struct Step {
    pub line: usize,
    pub kind: StepKind,
    /// Catalogue entries declared to explain production's differences here.
    pub deviations: Vec<String>,
    /// The block height the session's chain moves to before the step.
    pub block: Option<u64>,
    /// An rkyv argument as written (`TYPE VALUE`), shown in reports.
    pub arg_text: Option<String>,
    /// The rkyv type the output is decoded as in reports.
    pub returns: Option<String>,
}

/// A parsed, checked scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub path: PathBuf,
    /// The path relative to the scenarios folder, `/`-separated.
    pub name: String,
    pub description: String,
    pub contracts: Vec<ContractDecl>,
    pub host_data: BTreeMap<String, Vec<u8>>,
    pub feeder: bool,
    /// The chain the session runs on, where the scenario sets one.
    pub chain: Option<Chain>,
    /// Whether the session offers the built-in host queries: a scenario
    /// that does not ask for them runs on engines that lack them.
    pub builtin_queries: bool,
    /// Whether the session offers the node's host queries, priced at the
    /// chain's hard fork (never with the built-in ones: both have a
    /// `hash`).
    pub node_queries: bool,
    /// The wall-clock limit of each step, where the scenario sets one.
    pub step_timeout: Option<std::time::Duration>,
    pub steps: Vec<Step>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Parses a literal part (no contract ids).
fn bytes_literal(part: &str) -> Result<Vec<u8>, String> {
    let (kind, value) = match part.split_once(':') {
        Some((kind, value)) if !part.starts_with("0x") => (kind, value),
        _ => ("hex", part),
    };
    let number = |value: &str| -> Result<i128, String> {
        let parsed = if let Some(hex) = value.strip_prefix("0x") {
            i128::from_str_radix(hex, 16)
        } else {
            value.parse::<i128>()
        };
        parsed.map_err(|e| format!("bad number `{value}`: {e}"))
    };
    let out_of_range = || format!("`{part}` is out of range");
    Ok(match kind {
        "hex" => {
            let digits = value.strip_prefix("0x").unwrap_or(value);
            hex::decode(digits).map_err(|e| format!("bad hex `{value}`: {e}"))?
        }
        "text" => value.as_bytes().to_vec(),
        "u8" => vec![u8::try_from(number(value)?).map_err(|_| out_of_range())?],
        "u32" => u32::try_from(number(value)?)
            .map_err(|_| out_of_range())?
            .to_le_bytes()
            .to_vec(),
        "i32" => i32::try_from(number(value)?)
            .map_err(|_| out_of_range())?
            .to_le_bytes()
            .to_vec(),
        "u64" => u64::try_from(number(value)?)
            .map_err(|_| out_of_range())?
            .to_le_bytes()
            .to_vec(),
        "i64" => i64::try_from(number(value)?)
            .map_err(|_| out_of_range())?
            .to_le_bytes()
            .to_vec(),
        "zeros" => {
            let len = usize::try_from(number(value)?)
                .ok()
                .filter(|&len| len <= 1 << 20)
                .ok_or_else(out_of_range)?;
            vec![0; len]
        }
        other => return Err(format!("unknown literal kind `{other}` in `{part}`")),
    })
}

impl Scenario {
    /// Loads `path`; `corpus` is the folder holding `contracts/`, and
    /// `scenarios` the folder names are relative to.
    pub fn load(path: &Path, corpus: &Path, scenarios: &Path) -> Result<Scenario, ScenarioError> {
        let display = path.display().to_string();
        let error = |line: usize, message: String| ScenarioError {
            path: display.clone(),
            line,
            message,
        };
        let text = read_bounded(path).map_err(|e| error(0, format!("cannot read: {e}")))?;
        let raw: RawScenario = toml::from_str(&text).map_err(|e| {
            let line = e.span().map_or(0, |span| line_of(&text, span.start));
            error(line, e.message().to_string())
        })?;
        // Named by the canonical paths, so that the name is the same from
        // any current folder.
        let canonical = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let (file, root) = (canonical(path), canonical(scenarios));
        let name = file
            .strip_prefix(&root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf())
            .to_string_lossy()
            .replace('\\', "/");

        let names: Vec<String> = raw.contract.keys().cloned().collect();
        let index_of = |name: &str| names.iter().position(|n| n == name);
        let arg_parts = |literal: &Literal, line: usize| -> Result<Vec<ArgPart>, ScenarioError> {
            let mut parts = Vec::new();
            if let Literal::Archived(archived) = literal {
                let encoded = crate::archived::encode_literal(&archived.rkyv, &archived.value)
                    .map_err(|m| error(line, format!("`{}`: {m}", archived.text())))?;
                let mut at = 0;
                for (offset, contract) in encoded.ids {
                    let index = index_of(&contract)
                        .ok_or_else(|| error(line, format!("no contract named `{contract}`")))?;
                    parts.push(ArgPart::Bytes(encoded.bytes[at..offset].to_vec()));
                    parts.push(ArgPart::IdOf(index));
                    at = offset + 32;
                }
                parts.push(ArgPart::Bytes(encoded.bytes[at..].to_vec()));
                return Ok(parts);
            }
            for part in literal.parts() {
                if let Some(contract) = part.strip_prefix("id:") {
                    let index = index_of(contract)
                        .ok_or_else(|| error(line, format!("no contract named `{contract}`")))?;
                    parts.push(ArgPart::IdOf(index));
                } else {
                    parts.push(ArgPart::Bytes(
                        bytes_literal(part).map_err(|m| error(line, m))?,
                    ));
                }
            }
            Ok(parts)
        };
        let plain_bytes = |literal: &Literal, line: usize| -> Result<Vec<u8>, ScenarioError> {
            let mut bytes = Vec::new();
            for part in arg_parts(literal, line)? {
                match part {
                    ArgPart::Bytes(b) => bytes.extend(b),
                    ArgPart::IdOf(_) => {
                        return Err(error(
                            line,
                            "contract ids are only allowed in arguments".into(),
                        ));
                    }
                }
            }
            Ok(bytes)
        };

        let mut contracts = Vec::new();
        for (name, spanned) in &raw.contract {
            let line = line_of(&text, spanned.span().start);
            let decl = spanned.get_ref();
            let (wat, source) = match (&decl.file, &decl.wat, &decl.wasm, &decl.rust) {
                (None, None, None, Some(rust)) => {
                    let path = rust_contract_path(corpus, rust)
                        .map_err(|e| error(line, format!("contract `{name}`: {e}")))?;
                    let wasm = read_bounded_bytes(&path).map_err(|e| {
                        error(
                            line,
                            format!("contract `{name}`: cannot read {}: {e}", path.display()),
                        )
                    })?;
                    (
                        format!("(Rust contract {RUST_CONTRACTS_DIR}/{rust}.wasm)"),
                        WatSource::Binary(wasm),
                    )
                }
                (Some(file), None, None, None) => {
                    let file_path = contract_path(corpus, file)
                        .map_err(|e| error(line, format!("contract `{name}`: {e}")))?;
                    let wat = read_bounded(&file_path).map_err(|e| {
                        error(
                            line,
                            format!(
                                "contract `{name}`: cannot read {}: {e}",
                                file_path.display()
                            ),
                        )
                    })?;
                    (wat, WatSource::File(file_path))
                }
                (None, Some(wat), None, None) => {
                    let (line, column) = string_start(&text, wat.span().start);
                    (wat.get_ref().clone(), WatSource::Inline { line, column })
                }
                (None, None, Some(bytes), None) => {
                    let wasm =
                        hex::decode(bytes.strip_prefix("0x").unwrap_or(bytes)).map_err(|e| {
                            error(line, format!("contract `{name}`: bad wasm hex: {e}"))
                        })?;
                    (format!("(raw bytes: {bytes})"), WatSource::Binary(wasm))
                }
                _ => {
                    return Err(error(
                        line,
                        format!(
                            "contract `{name}` needs exactly one of `file`, `wat`, `wasm` and `rust`"
                        ),
                    ));
                }
            };
            let invalid = |(at, message): (usize, String)| {
                error(at, format!("contract `{name}`: invalid WAT: {message}"))
            };
            let wasm = match source {
                WatSource::Binary(wasm) => wasm,
                // The error names the line in the scenario.
                WatSource::Inline {
                    line: start,
                    column,
                } => parse_wat(&wat, path, start, column).map_err(invalid)?,
                // The error names the contract's line; its text points
                // into the contract file.
                WatSource::File(file) => parse_wat(&wat, &file, 1, 1)
                    .map_err(|(_, message)| (line, message))
                    .map_err(invalid)?,
            };
            let id = match &decl.id {
                Some(hex_id) => {
                    let bytes = hex::decode(hex_id.strip_prefix("0x").unwrap_or(hex_id))
                        .map_err(|e| error(line, format!("contract `{name}`: bad id: {e}")))?;
                    let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
                        error(line, format!("contract `{name}`: an id is 32 bytes"))
                    })?;
                    Some(ContractId(bytes))
                }
                None => None,
            };
            if id.is_some() && decl.nonce.is_some() {
                return Err(error(
                    line,
                    format!(
                        "contract `{name}`: a node deploy (`nonce`) derives the id; it cannot also have an `id`"
                    ),
                ));
            }
            let owner = decl
                .owner
                .as_ref()
                .map(|o| plain_bytes(o, line))
                .transpose()?
                .unwrap_or_default();
            if owner.len() > MAX_HOST_BYTES {
                return Err(error(
                    line,
                    format!(
                        "contract `{name}`: an owner of {} bytes does not fit the {MAX_HOST_BYTES}-byte argument buffer `owner` writes it to",
                        owner.len()
                    ),
                ));
            }
            contracts.push(ContractDecl {
                name: name.clone(),
                wasm,
                wat,
                owner,
                id,
                node: decl.nonce.map(|nonce| NodeDeploy { nonce }),
                init_arg: decl
                    .init
                    .as_ref()
                    .map(|i| arg_parts(i, line))
                    .transpose()?
                    .unwrap_or_default(),
                init_gas: decl.init_gas.unwrap_or(DEFAULT_GAS),
            });
        }

        let mut host_data = BTreeMap::new();
        for (key, literal) in &raw.session.host_data {
            let line = line_of(&text, literal.span().start);
            let bytes = plain_bytes(literal.get_ref(), line)?;
            if bytes.len() > MAX_HOST_BYTES {
                return Err(error(
                    line,
                    format!(
                        "host data `{key}` of {} bytes does not fit the {MAX_HOST_BYTES}-byte argument buffer `hd` writes it to",
                        bytes.len()
                    ),
                ));
            }
            host_data.insert(key.clone(), bytes);
        }

        let chain = match &raw.session.chain {
            None => None,
            Some(chain) => {
                let line = line_of(&text, chain.span().start);
                let RawChain {
                    id,
                    height,
                    aegis,
                    boreas,
                } = *chain.get_ref();
                if let (Some(aegis), Some(boreas)) = (aegis, boreas)
                    && boreas < aegis
                {
                    return Err(error(
                        line,
                        format!("Boreas (height {boreas}) cannot activate before Aegis ({aegis})"),
                    ));
                }
                let chain = Chain {
                    id,
                    height,
                    aegis,
                    boreas,
                };
                if let Some((name, _)) = chain
                    .metadata()
                    .into_iter()
                    .find(|(name, _)| host_data.contains_key(*name))
                {
                    return Err(error(
                        line,
                        format!(
                            "host data `{name}` is the chain's: set it with `chain`, not in `host_data`"
                        ),
                    ));
                }
                Some(chain)
            }
        };

        let node_queries = match &raw.session.node_queries {
            Some(node) if *node.get_ref() => {
                let line = line_of(&text, node.span().start);
                if chain.is_none() {
                    return Err(error(
                        line,
                        "the node's host queries need a chain: its hard fork prices them".into(),
                    ));
                }
                if raw.session.builtin_queries == Some(true) {
                    return Err(error(
                        line,
                        "a session offers the built-in or the node's host queries, not both (each set has a `hash`)"
                            .into(),
                    ));
                }
                true
            }
            _ => false,
        };

        let step_timeout = match &raw.session.step_timeout {
            None => None,
            Some(seconds) => {
                let line = line_of(&text, seconds.span().start);
                let value = *seconds.get_ref();
                if !(value > 0.0 && value <= MAX_STEP_TIMEOUT_SECONDS as f64) {
                    return Err(error(
                        line,
                        format!(
                            "step_timeout = {value}: seconds between 0 (excluded) and {MAX_STEP_TIMEOUT_SECONDS}"
                        ),
                    ));
                }
                Some(std::time::Duration::from_secs_f64(value))
            }
        };

        let mut steps = Vec::new();
        let mut deployed = vec![false; contracts.len()];
        let mut height = chain.map(|chain| chain.height);
        for spanned in &raw.step {
            let line = line_of(&text, spanned.span().start);
            let step = spanned.get_ref();
            if let Some(next) = step.block {
                match height {
                    None => {
                        return Err(error(
                            line,
                            "`block` moves the session's chain: set `[session] chain` first".into(),
                        ));
                    }
                    Some(current) if next <= current => {
                        return Err(error(
                            line,
                            format!(
                                "block {next} is not after the chain's height {current}: heights only grow"
                            ),
                        ));
                    }
                    Some(_) => height = Some(next),
                }
            }
            let kind = match (&step.deploy, &step.call) {
                (Some(name), None) => {
                    if step.function.is_some()
                        || step.arg.is_some()
                        || step.gas.is_some()
                        || step.returns.is_some()
                    {
                        return Err(error(
                            line,
                            "a deploy step takes no function, arg, returns or gas".into(),
                        ));
                    }
                    let contract = index_of(name)
                        .ok_or_else(|| error(line, format!("no contract named `{name}`")))?;
                    if deployed[contract] {
                        return Err(error(
                            line,
                            format!("contract `{name}` is already deployed"),
                        ));
                    }
                    deployed[contract] = true;
                    StepKind::Deploy { contract }
                }
                (None, Some(name)) => {
                    let contract = index_of(name)
                        .ok_or_else(|| error(line, format!("no contract named `{name}`")))?;
                    if !deployed[contract] {
                        return Err(error(
                            line,
                            format!("contract `{name}` is called before its deploy step"),
                        ));
                    }
                    let function = step
                        .function
                        .clone()
                        .ok_or_else(|| error(line, "a call step needs a `function`".into()))?;
                    let arg = step
                        .arg
                        .as_ref()
                        .map(|a| arg_parts(a, line))
                        .transpose()?
                        .unwrap_or_default();
                    for part in &arg {
                        if let ArgPart::IdOf(index) = part
                            && !deployed[*index]
                        {
                            return Err(error(
                                line,
                                format!(
                                    "`id:{}` is used before its deploy step",
                                    contracts[*index].name
                                ),
                            ));
                        }
                    }
                    StepKind::Call {
                        contract,
                        function,
                        arg,
                        gas: step.gas.unwrap_or(DEFAULT_GAS),
                    }
                }
                _ => {
                    return Err(error(
                        line,
                        "a step is either `deploy = NAME` or `call = NAME`".into(),
                    ));
                }
            };
            if let Some(returns) = &step.returns {
                crate::archived::check_type(returns)
                    .map_err(|m| error(line, format!("returns: {m}")))?;
            }
            steps.push(Step {
                line,
                kind,
                deviations: step.deviations.clone(),
                block: step.block,
                arg_text: match &step.arg {
                    Some(Literal::Archived(archived)) => Some(archived.text()),
                    _ => None,
                },
                returns: step.returns.clone(),
            });
        }
        if steps.is_empty() {
            return Err(error(1, "a scenario needs at least one step".into()));
        }
        Ok(Scenario {
            path: path.to_path_buf(),
            name,
            description: raw.description.unwrap_or_default(),
            contracts,
            host_data,
            feeder: raw.session.feeder,
            chain,
            builtin_queries: raw.session.builtin_queries.unwrap_or(!node_queries),
            node_queries,
            step_timeout,
            steps,
        })
    }
}

impl Scenario {
    /// The scenario with its chain put at `fork` from its first block on
    /// (the forks it reaches activate at height 0, the others never), for
    /// the report of what a fork changes; `None` without a chain.
    pub fn at_fork(&self, fork: HardFork) -> Option<Scenario> {
        let chain = self.chain?;
        let from_genesis = |reached: bool| reached.then_some(0);
        Some(Scenario {
            chain: Some(Chain {
                aegis: from_genesis(fork >= HardFork::Aegis),
                boreas: from_genesis(fork >= HardFork::Boreas),
                ..chain
            }),
            ..self.clone()
        })
    }

    /// Whether a contract of the scenario imports `hq`, the host query
    /// import. A module that does not parse imports nothing. Only the
    /// sections up to the imports are read.
    pub fn imports_host_queries(&self) -> bool {
        let imports_hq = |import: wasmparser::Import<'_>| {
            import.module == vm::abi::HOST_MODULE
                && vm::abi::HostImport::from_name(import.name) == Some(vm::abi::HostImport::Hq)
        };
        self.contracts.iter().any(|contract| {
            wasmparser::Parser::new(0)
                .parse_all(&contract.wasm)
                .find_map(|payload| match payload {
                    Ok(wasmparser::Payload::ImportSection(imports)) => Some(
                        imports
                            .into_imports()
                            .any(|import| import.is_ok_and(imports_hq)),
                    ),
                    Ok(
                        wasmparser::Payload::Version { .. }
                        | wasmparser::Payload::TypeSection(_)
                        | wasmparser::Payload::CustomSection(_),
                    ) => None,
                    // Past the imports' place, or unreadable: none.
                    _ => Some(false),
                })
                .unwrap_or(false)
        })
    }
}

impl ContractDecl {
    /// The id the contract gets: the declared one, or blake3 of its
    /// bytecode. Calls use it whether or not the deploy succeeded, so an
    /// engine that refused the deploy answers them as it would any call to
    /// a missing contract.
    pub fn intended_id(&self) -> ContractId {
        match (self.id, self.node) {
            (Some(id), _) => id,
            (None, Some(node)) => {
                node_queries::deploy::contract_id(&self.wasm, node.nonce, &self.owner)
            }
            (None, None) => ContractId::from_bytecode(&self.wasm),
        }
    }
}

impl Scenario {
    /// The bytes of an argument, with every `id:NAME` resolved.
    pub fn resolve(&self, parts: &[ArgPart]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for part in parts {
            match part {
                ArgPart::Bytes(b) => bytes.extend_from_slice(b),
                ArgPart::IdOf(index) => {
                    bytes.extend_from_slice(self.contracts[*index].intended_id().as_bytes())
                }
            }
        }
        bytes
    }
}
