//! Self-checking contract files: a `.wat` contract whose leading comments
//! say which calls to make and what each must return.
//!
//! ```wat
//! ;; call: increment --arg 01 --gas 10000
//! ;; expect: ok 02
//! ;; call: missing
//! ;; expect: error missing_function
//! (module ...)
//! ```
//!
//! The calls run in order in one session per engine (state persists between
//! them); each must agree on both engines and match its expectation.

use std::path::{Path, PathBuf};

use vm::{CallReceipt, DeployOptions, Vm, VmConfig, WasmiEngine, WasmtimeEngine};

/// A call and what it must return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// 1-based line of the `;; call:` directive.
    pub line: usize,
    pub function: String,
    pub arg: Vec<u8>,
    pub gas: u64,
    pub expect: Expectation,
}

/// The expected outcome of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// Success with exactly these output bytes.
    Output(Vec<u8>),
    /// Failure of this kind (`CallError::kind`).
    Error(String),
}

/// A parsed contract file.
#[derive(Clone, Debug)]
pub struct ContractFile {
    pub path: PathBuf,
    pub wasm: Vec<u8>,
    pub checks: Vec<Check>,
}

/// Why a contract file cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Directive {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{0}")]
    Wat(String),
}

const DEFAULT_GAS: u64 = 1_000_000;

impl ContractFile {
    pub fn load(path: &Path) -> Result<Self, FileError> {
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let directive_error = |line: usize, message: String| FileError::Directive {
            path: path.display().to_string(),
            line,
            message,
        };
        let mut checks = Vec::new();
        let mut pending: Option<(usize, String, Vec<u8>, u64)> = None;
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            if let Some(call) = line.strip_prefix(";; call:") {
                if pending.is_some() {
                    return Err(directive_error(
                        number,
                        "`call` without `expect` before it".into(),
                    ));
                }
                pending = Some(parse_call(number, call).map_err(|m| directive_error(number, m))?);
            } else if let Some(expect) = line.strip_prefix(";; expect:") {
                let (line, function, arg, gas) = pending
                    .take()
                    .ok_or_else(|| directive_error(number, "`expect` without a `call`".into()))?;
                let expect = parse_expect(expect).map_err(|m| directive_error(number, m))?;
                checks.push(Check {
                    line,
                    function,
                    arg,
                    gas,
                    expect,
                });
            }
        }
        if let Some((line, ..)) = pending {
            return Err(directive_error(line, "`call` without `expect`".into()));
        }
        let wasm = wat::parse_str(&text).map_err(|mut error| {
            error.set_path(path);
            FileError::Wat(error.to_string())
        })?;
        Ok(ContractFile {
            path: path.to_path_buf(),
            wasm,
            checks,
        })
    }
}

fn parse_call(line: usize, text: &str) -> Result<(usize, String, Vec<u8>, u64), String> {
    let mut words = text.split_whitespace();
    let function = words
        .next()
        .ok_or("`call` needs a function name")?
        .to_string();
    let (mut arg, mut gas) = (Vec::new(), DEFAULT_GAS);
    while let Some(flag) = words.next() {
        let value = words
            .next()
            .ok_or_else(|| format!("`{flag}` needs a value"))?;
        match flag {
            "--arg" => arg = hex::decode(value).map_err(|e| format!("bad --arg: {e}"))?,
            "--gas" => gas = value.parse().map_err(|e| format!("bad --gas: {e}"))?,
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok((line, function, arg, gas))
}

fn parse_expect(text: &str) -> Result<Expectation, String> {
    let mut words = text.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some("ok"), hex, None) => Ok(Expectation::Output(
            hex::decode(hex.unwrap_or("")).map_err(|e| format!("bad output hex: {e}"))?,
        )),
        (Some("error"), Some(kind), None) => Ok(Expectation::Error(kind.to_string())),
        _ => Err("expected `ok [HEX]` or `error KIND`".into()),
    }
}

/// How one check went.
#[derive(Clone, Debug)]
pub struct CheckOutcome {
    pub check: Check,
    pub wasmtime: CallReceipt,
    pub wasmi: CallReceipt,
}

impl CheckOutcome {
    pub fn agree(&self) -> bool {
        self.wasmtime == self.wasmi
    }

    pub fn meets_expectation(&self) -> bool {
        match (&self.check.expect, &self.wasmtime.result) {
            (Expectation::Output(expected), Ok(output)) => expected == output,
            (Expectation::Error(kind), Err(error)) => error.kind() == kind,
            _ => false,
        }
    }
}

/// Deploys the contract on both engines and runs its checks in order.
pub fn run(
    file: &ContractFile,
    wasmtime: &Vm<WasmtimeEngine>,
    wasmi: &Vm<WasmiEngine>,
) -> Result<Vec<CheckOutcome>, String> {
    let mut a = wasmtime.session();
    let mut b = wasmi.session();
    let options = DeployOptions {
        gas_limit: DEFAULT_GAS,
        ..DeployOptions::default()
    };
    let deployed = a.deploy(&file.wasm, options.clone());
    let shadow = b.deploy(&file.wasm, options);
    let id = match (deployed, shadow) {
        (Ok(a), Ok(b)) if a.id == b.id && a.init == b.init => a.id,
        (Ok(_), Ok(_)) => return Err("deploys disagree".into()),
        (Err(a), Err(b)) if a == b => return Err(format!("deploy failed on both engines: {a}")),
        (a, b) => {
            return Err(format!(
                "deploys disagree: wasmtime {:?}, wasmi {:?}",
                a.map(|d| d.id),
                b.map(|d| d.id)
            ));
        }
    };
    let mut outcomes = Vec::new();
    for check in &file.checks {
        let call = |result: Result<CallReceipt, vm::VmError>| result.map_err(|e| e.to_string());
        outcomes.push(CheckOutcome {
            check: check.clone(),
            wasmtime: call(a.call(&id, &check.function, &check.arg, check.gas))?,
            wasmi: call(b.call(&id, &check.function, &check.arg, check.gas))?,
        });
    }
    Ok(outcomes)
}

/// Both engines with the default configuration.
pub fn engines() -> Result<(Vm<WasmtimeEngine>, Vm<WasmiEngine>), String> {
    let config = VmConfig::default();
    Ok((
        Vm::new(config.clone()).map_err(|e| e.to_string())?,
        Vm::new(config).map_err(|e| e.to_string())?,
    ))
}
