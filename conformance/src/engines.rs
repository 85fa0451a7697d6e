//! The engines a run can use: our two (in process) and Dusk's production
//! VM, piecrust, behind a runner process (a release, or a local checkout).

use std::fmt;
use std::path::{Path, PathBuf};

/// A piecrust build the suite can run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Piecrust {
    /// piecrust 0.32.2 from crates.io: the default production engine.
    V0_32,
    /// piecrust 0.31.0 from crates.io, the release `dusk-vm` 1.7.0 pins.
    V0_31,
    /// A local checkout (the `piecrust` crate's folder, or a repository
    /// holding it in `piecrust/`), built through `[patch.crates-io]`.
    Local(PathBuf),
}

/// An engine of a run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EngineSpec {
    /// Our reference VM on wasmtime.
    Wasmtime,
    /// Our shadow interpreter on wasmi.
    Wasmi,
    /// Production, through a runner process.
    Piecrust(Piecrust),
}

/// The engines a run uses unless told otherwise.
pub fn default_engines() -> Vec<EngineSpec> {
    vec![
        EngineSpec::Wasmtime,
        EngineSpec::Wasmi,
        EngineSpec::Piecrust(Piecrust::V0_32),
    ]
}

/// Why an engine name is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown engine `{0}`: expected wasmtime, wasmi, piecrust (0.32.2), piecrust-0.32.2, piecrust-0.31 or piecrust@DIR (a local checkout)"
)]
pub struct UnknownEngine(pub String);

impl EngineSpec {
    /// Parses one engine name.
    pub fn parse(name: &str) -> Result<Self, UnknownEngine> {
        Ok(match name.trim() {
            "wasmtime" => EngineSpec::Wasmtime,
            "wasmi" => EngineSpec::Wasmi,
            "piecrust" | "piecrust-0.32" | "piecrust-0.32.2" => {
                EngineSpec::Piecrust(Piecrust::V0_32)
            }
            "piecrust-0.31" | "piecrust-0.31.0" => EngineSpec::Piecrust(Piecrust::V0_31),
            other => match other.strip_prefix("piecrust@") {
                Some(dir) if !dir.is_empty() => {
                    EngineSpec::Piecrust(Piecrust::Local(PathBuf::from(dir)))
                }
                _ => return Err(UnknownEngine(other.to_string())),
            },
        })
    }

    /// Parses a comma-separated list; duplicates are dropped.
    pub fn parse_list(list: &str) -> Result<Vec<Self>, UnknownEngine> {
        let mut engines: Vec<EngineSpec> = Vec::new();
        for name in list.split(',').filter(|name| !name.trim().is_empty()) {
            let engine = Self::parse(name)?;
            if !engines.contains(&engine) {
                engines.push(engine);
            }
        }
        if engines.is_empty() {
            return Err(UnknownEngine(list.to_string()));
        }
        Ok(engines)
    }

    /// Whether this is production (an engine whose differences from our
    /// model the deviation catalogue may explain).
    pub fn is_production(&self) -> bool {
        matches!(self, EngineSpec::Piecrust(_))
    }

    /// The name reports and snapshots use.
    pub fn name(&self) -> String {
        match self {
            EngineSpec::Wasmtime => "wasmtime".into(),
            EngineSpec::Wasmi => "wasmi".into(),
            EngineSpec::Piecrust(Piecrust::V0_32) => "piecrust-0.32.2".into(),
            EngineSpec::Piecrust(Piecrust::V0_31) => "piecrust-0.31.0".into(),
            EngineSpec::Piecrust(Piecrust::Local(_)) => "piecrust-local".into(),
        }
    }
}

impl fmt::Display for EngineSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The folder of the piecrust runners' workspace.
pub fn runners_workspace(root: &Path) -> PathBuf {
    root.join("runners").join("piecrust")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for engine in [
            EngineSpec::Wasmtime,
            EngineSpec::Wasmi,
            EngineSpec::Piecrust(Piecrust::V0_32),
            EngineSpec::Piecrust(Piecrust::V0_31),
        ] {
            assert_eq!(EngineSpec::parse(&engine.name()), Ok(engine));
        }
    }

    #[test]
    fn lists_drop_duplicates_and_keep_order() {
        assert_eq!(
            EngineSpec::parse_list("wasmi, piecrust,wasmi,piecrust-0.32.2").unwrap(),
            vec![EngineSpec::Wasmi, EngineSpec::Piecrust(Piecrust::V0_32)]
        );
        assert_eq!(
            EngineSpec::parse("piecrust@/src/piecrust").unwrap(),
            EngineSpec::Piecrust(Piecrust::Local("/src/piecrust".into()))
        );
        assert!(EngineSpec::parse_list("").is_err());
        assert!(EngineSpec::parse("evm").is_err());
    }
}
