//! Building the piecrust runners on first use, and again when their
//! sources change. Releases build in `target/runners` from the committed
//! lock file; a local checkout builds from a copy of the runners' workspace
//! in `target/runners-local/<hash>` with a `[patch.crates-io]` section, so
//! the committed files stay untouched.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use crate::engines::{Production, runners_workspace};

use super::DriverError;

/// A runner crate of the runners' workspace: its package (and binary), its
/// folder, and the release whose catalogue entries and snapshot lines
/// apply to it.
#[derive(Clone, Copy)]
struct RunnerCrate {
    package: &'static str,
    member: &'static str,
    baseline: &'static str,
}

const PIECRUST_0_32: RunnerCrate = RunnerCrate {
    package: "piecrust-runner-0-32",
    member: "v0_32",
    baseline: "piecrust-0.32.2",
};
const PIECRUST_0_31: RunnerCrate = RunnerCrate {
    package: "piecrust-runner-0-31",
    member: "v0_31",
    baseline: "piecrust-0.31.0",
};
const DUSK_VM_1_7: RunnerCrate = RunnerCrate {
    package: "dusk-vm-runner-1-7",
    member: "dusk_vm",
    baseline: "dusk-vm-1.7.0",
};
/// The newest modification time of the files under `paths`.
fn newest(paths: &[PathBuf]) -> Option<SystemTime> {
    let mut newest = None;
    let mut pending = paths.to_vec();
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if path.file_name().is_some_and(|name| name == "target") {
                continue;
            }
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(entries.flatten().map(|entry| entry.path()));
            }
        } else if let Ok(modified) = meta.modified() {
            newest = newest.max(Some(modified));
        }
    }
    newest
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn run_cargo(mut command: Command, engine: &str) -> Result<(), DriverError> {
    eprintln!("building the {engine} runner (first use or changed sources; a few minutes)...");
    let output = command.output().map_err(|e| DriverError::Build {
        engine: engine.into(),
        message: format!("cannot run cargo: {e}"),
    })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
    Err(DriverError::Build {
        engine: engine.into(),
        message: format!(
            "cargo failed ({}):\n{}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ),
    })
}

/// The runner binary for `production`, built when missing or stale, and
/// the release it stands for (see [`super::Driver::baseline`]).
pub fn runner_binary(
    production: &Production,
    root: &Path,
    engine: &str,
) -> Result<(PathBuf, String), DriverError> {
    let workspace = runners_workspace(root);
    let release = match production {
        Production::Piecrust0_32 => PIECRUST_0_32,
        Production::Piecrust0_31 => PIECRUST_0_31,
        Production::DuskVm1_7 => DUSK_VM_1_7,
        Production::PiecrustLocal(dir) | Production::DuskVmLocal(dir) => {
            return local_runner(production.is_dusk_vm(), dir, root, &workspace, engine);
        }
    };
    let target = root.join("target").join("runners");
    let binary = target.join("release").join(release.package);
    let sources = newest(&[
        workspace.clone(),
        root.join("protocol").join("src"),
        root.join("protocol").join("Cargo.toml"),
    ]);
    let built = std::fs::metadata(&binary).and_then(|m| m.modified()).ok();
    if built.is_none() || sources > built {
        let mut command = cargo();
        command
            .arg("build")
            .arg("--release")
            .arg("--locked")
            .arg("--manifest-path")
            .arg(workspace.join("Cargo.toml"))
            .arg("-p")
            .arg(release.package)
            .env("CARGO_TARGET_DIR", &target);
        run_cargo(command, engine)?;
    }
    Ok((binary, release.baseline.to_string()))
}

/// The folder and version of the crate `name` in a checkout: `dir` itself,
/// or its `subfolder`.
fn local_crate(dir: &Path, name: &str, subfolder: &str) -> Result<(PathBuf, String), String> {
    for candidate in [dir.to_path_buf(), dir.join(subfolder)] {
        let manifest = candidate.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let Ok(parsed) = text.parse::<toml::Table>() else {
            continue;
        };
        let package = parsed.get("package").and_then(|p| p.as_table());
        let found = package.and_then(|p| p.get("name")).and_then(|n| n.as_str());
        let version = package
            .and_then(|p| p.get("version"))
            .and_then(|v| v.as_str());
        if let (Some(found), Some(version)) = (found, version)
            && found == name
        {
            let absolute = candidate
                .canonicalize()
                .map_err(|e| format!("{}: {e}", candidate.display()))?;
            return Ok((absolute, version.to_string()));
        }
    }
    Err(format!(
        "{}: no {name} crate here or in its `{subfolder}/` folder",
        dir.display()
    ))
}

/// Builds the runner of a local checkout: piecrust (`dusk_vm` false) or a
/// rusk checkout's `dusk-vm` (with its `dusk-core`, so that the runner and
/// the VM share one).
fn local_runner(
    dusk_vm: bool,
    dir: &Path,
    root: &Path,
    workspace: &Path,
    engine: &str,
) -> Result<(PathBuf, String), DriverError> {
    let build_error = |message: String| DriverError::Build {
        engine: engine.into(),
        message,
    };
    let (runner, patches, version, crate_dir) = if dusk_vm {
        let (vm_dir, version) = local_crate(dir, "dusk-vm", "vm").map_err(build_error)?;
        let mut patches = vec![("dusk-vm", vm_dir.clone())];
        if let Some(parent) = vm_dir.parent()
            && let Ok((core_dir, _)) = local_crate(&parent.join("core"), "dusk-core", ".")
        {
            patches.push(("dusk-core", core_dir));
        }
        (DUSK_VM_1_7, patches, version, vm_dir)
    } else {
        let (piecrust_dir, version) =
            local_crate(dir, "piecrust", "piecrust").map_err(build_error)?;
        let runner = if version.starts_with("0.31.") {
            PIECRUST_0_31
        } else {
            PIECRUST_0_32
        };
        (
            runner,
            vec![("piecrust", piecrust_dir.clone())],
            version,
            piecrust_dir,
        )
    };
    let member = runner.member;
    let hash = blake3::hash(crate_dir.to_string_lossy().as_bytes()).to_hex();
    let copy = root
        .join("target")
        .join("runners-local")
        .join(&hash.as_str()[..16]);
    let io = |e: std::io::Error| build_error(format!("preparing {}: {e}", copy.display()));
    // A copy of the runners' workspace with the one runner crate, whose
    // protocol path is absolute and whose production crates are the
    // checkout's.
    std::fs::create_dir_all(copy.join(member).join("src")).map_err(io)?;
    std::fs::create_dir_all(copy.join("src")).map_err(io)?;
    let protocol = root.join("protocol").canonicalize().map_err(io)?;
    let manifest = std::fs::read_to_string(workspace.join("Cargo.toml")).map_err(io)?;
    let manifest: String = manifest
        .replace(
            "path = \"../../protocol\"",
            &format!("path = {:?}", protocol.display().to_string()),
        )
        .lines()
        .map(|line| {
            if line.starts_with("members = ") {
                format!("members = [\"{member}\"]\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    let mut manifest = format!("{manifest}\n[patch.crates-io]\n");
    for (name, path) in &patches {
        manifest.push_str(&format!(
            "{name} = {{ path = {:?} }}\n",
            path.display().to_string()
        ));
    }
    std::fs::write(copy.join("Cargo.toml"), manifest).map_err(io)?;
    if !copy.join("Cargo.lock").exists() {
        std::fs::copy(workspace.join("Cargo.lock"), copy.join("Cargo.lock")).map_err(io)?;
    }
    for entry in std::fs::read_dir(workspace.join("src")).map_err(io)? {
        let entry = entry.map_err(io)?;
        std::fs::copy(entry.path(), copy.join("src").join(entry.file_name())).map_err(io)?;
    }
    std::fs::copy(
        workspace.join(member).join("Cargo.toml"),
        copy.join(member).join("Cargo.toml"),
    )
    .map_err(io)?;
    std::fs::copy(
        workspace.join(member).join("src").join("main.rs"),
        copy.join(member).join("src").join("main.rs"),
    )
    .map_err(io)?;
    let mut command = cargo();
    command
        .arg("build")
        .arg("--release")
        .arg("--manifest-path")
        .arg(copy.join("Cargo.toml"))
        .arg("-p")
        .arg(runner.package)
        .env("CARGO_TARGET_DIR", copy.join("target"))
        .env(
            "PIECRUST_RUNNER_LABEL",
            format!("local {version} at {}", crate_dir.display()),
        );
    run_cargo(command, engine)?;
    Ok((
        copy.join("target").join("release").join(runner.package),
        runner.baseline.to_string(),
    ))
}
