//! The engines a run can use: our two (in process) and Dusk's production
//! VMs behind runner processes: piecrust (a release, or a local checkout)
//! and the node's `dusk-vm` around it (a release, or a rusk checkout).

use std::fmt;
use std::path::{Path, PathBuf};

/// A production VM the suite can run, through its runner.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Production {
    /// piecrust 0.32.2 from crates.io: the default production engine.
    Piecrust0_32,
    /// piecrust 0.31.0 from crates.io, the release `dusk-vm` 1.7.0 pins.
    Piecrust0_31,
    /// A local piecrust checkout (the `piecrust` crate's folder, or a
    /// repository holding it in `piecrust/`), built through
    /// `[patch.crates-io]`.
    PiecrustLocal(PathBuf),
    /// `dusk-vm` 1.7.0 from crates.io: the node's VM (piecrust 0.31 with
    /// the node's host queries, chain metadata and hard forks).
    DuskVm1_7,
    /// A local rusk checkout (its `vm/` folder, or the repository), built
    /// through `[patch.crates-io]`.
    DuskVmLocal(PathBuf),
}

impl Production {
    /// Whether the VM is the node's (`dusk-vm`), not a bare piecrust.
    pub fn is_dusk_vm(&self) -> bool {
        matches!(self, Production::DuskVm1_7 | Production::DuskVmLocal(_))
    }
}

/// An engine of a run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EngineSpec {
    /// Our reference VM on wasmtime.
    Wasmtime,
    /// Our shadow interpreter on wasmi.
    Wasmi,
    /// Production, through a runner process.
    Production(Production),
}

/// The engines a run uses unless told otherwise.
pub fn default_engines() -> Vec<EngineSpec> {
    vec![
        EngineSpec::Wasmtime,
        EngineSpec::Wasmi,
        EngineSpec::Production(Production::Piecrust0_32),
    ]
}

/// Why an engine name is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown engine `{0}`: expected wasmtime, wasmi, piecrust (0.32.2), piecrust-0.32.2, piecrust-0.31, piecrust@DIR (a local checkout), dusk-vm (1.7.0), dusk-vm-1.7.0 or dusk-vm@DIR (a local rusk checkout)"
)]
pub struct UnknownEngine(pub String);

impl EngineSpec {
    /// Parses one engine name.
    pub fn parse(name: &str) -> Result<Self, UnknownEngine> {
        let production = |production| Ok(EngineSpec::Production(production));
        match name.trim() {
            "wasmtime" => Ok(EngineSpec::Wasmtime),
            "wasmi" => Ok(EngineSpec::Wasmi),
            "piecrust" | "piecrust-0.32" | "piecrust-0.32.2" => {
                production(Production::Piecrust0_32)
            }
            "piecrust-0.31" | "piecrust-0.31.0" => production(Production::Piecrust0_31),
            "dusk-vm" | "dusk-vm-1.7" | "dusk-vm-1.7.0" => production(Production::DuskVm1_7),
            other => {
                let local = |prefix: &str| {
                    other
                        .strip_prefix(prefix)
                        .filter(|dir| !dir.is_empty())
                        .map(PathBuf::from)
                };
                if let Some(dir) = local("piecrust@") {
                    production(Production::PiecrustLocal(dir))
                } else if let Some(dir) = local("dusk-vm@") {
                    production(Production::DuskVmLocal(dir))
                } else {
                    Err(UnknownEngine(other.to_string()))
                }
            }
        }
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
        matches!(self, EngineSpec::Production(_))
    }

    /// Whether the engine offers the suite's built-in host queries
    /// (`runner_protocol::queries`). The node's VM registers its own
    /// queries only, one of them under the built-in `hash`'s name.
    pub fn offers_builtin_queries(&self) -> bool {
        !matches!(self, EngineSpec::Production(production) if production.is_dusk_vm())
    }

    /// Whether the engine offers the node's host queries: our engines
    /// through the model (`node-queries`), and the node's VM; bare piecrust
    /// has none.
    pub fn offers_node_queries(&self) -> bool {
        match self {
            EngineSpec::Wasmtime | EngineSpec::Wasmi => true,
            EngineSpec::Production(production) => production.is_dusk_vm(),
        }
    }

    /// Whether the engine deploys as the node does
    /// (`runner_protocol::node_deploy`): our engines through the model, and
    /// the node's VM; bare piecrust deploys as its session does only.
    pub fn offers_node_deploys(&self) -> bool {
        match self {
            EngineSpec::Wasmtime | EngineSpec::Wasmi => true,
            EngineSpec::Production(production) => production.is_dusk_vm(),
        }
    }

    /// The name reports and snapshots use.
    pub fn name(&self) -> String {
        match self {
            EngineSpec::Wasmtime => "wasmtime".into(),
            EngineSpec::Wasmi => "wasmi".into(),
            EngineSpec::Production(production) => match production {
                Production::Piecrust0_32 => "piecrust-0.32.2".into(),
                Production::Piecrust0_31 => "piecrust-0.31.0".into(),
                Production::PiecrustLocal(_) => "piecrust-local".into(),
                Production::DuskVm1_7 => "dusk-vm-1.7.0".into(),
                Production::DuskVmLocal(_) => "dusk-vm-local".into(),
            },
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
            EngineSpec::Production(Production::Piecrust0_32),
            EngineSpec::Production(Production::Piecrust0_31),
            EngineSpec::Production(Production::DuskVm1_7),
        ] {
            assert_eq!(EngineSpec::parse(&engine.name()), Ok(engine));
        }
    }

    #[test]
    fn lists_drop_duplicates_and_keep_order() {
        assert_eq!(
            EngineSpec::parse_list("wasmi, piecrust,wasmi,piecrust-0.32.2").unwrap(),
            vec![
                EngineSpec::Wasmi,
                EngineSpec::Production(Production::Piecrust0_32)
            ]
        );
        assert_eq!(
            EngineSpec::parse("piecrust@/src/piecrust").unwrap(),
            EngineSpec::Production(Production::PiecrustLocal("/src/piecrust".into()))
        );
        assert_eq!(
            EngineSpec::parse("dusk-vm@/src/rusk").unwrap(),
            EngineSpec::Production(Production::DuskVmLocal("/src/rusk".into()))
        );
        assert_eq!(
            EngineSpec::parse("dusk-vm").unwrap(),
            EngineSpec::Production(Production::DuskVm1_7)
        );
        assert!(EngineSpec::parse("dusk-vm@").is_err());
        assert!(EngineSpec::parse_list("").is_err());
        assert!(EngineSpec::parse("evm").is_err());
    }
}
