//! Building the piecrust runners on first use, and again when their
//! sources change. Releases build in `target/runners` from the committed
//! lock file; a local checkout builds from a copy of the runners' workspace
//! in `target/runners-local/<hash>` with a `[patch.crates-io]` section, so
//! the committed files stay untouched.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use crate::engines::{Piecrust, runners_workspace};

use super::DriverError;

/// The runner crate (and binary) for a piecrust minor version.
fn runner_crate(minor_0_31: bool) -> (&'static str, &'static str) {
    if minor_0_31 {
        ("piecrust-runner-0-31", "v0_31")
    } else {
        ("piecrust-runner-0-32", "v0_32")
    }
}

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

/// The runner binary for `piecrust`, built when missing or stale, and the
/// release it stands for (see [`super::Driver::baseline`]).
pub fn runner_binary(
    piecrust: &Piecrust,
    root: &Path,
    engine: &str,
) -> Result<(PathBuf, String), DriverError> {
    let workspace = runners_workspace(root);
    match piecrust {
        Piecrust::V0_32 | Piecrust::V0_31 => {
            let (name, _) = runner_crate(*piecrust == Piecrust::V0_31);
            let target = root.join("target").join("runners");
            let binary = target.join("release").join(name);
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
                    .arg(name)
                    .env("CARGO_TARGET_DIR", &target);
                run_cargo(command, engine)?;
            }
            Ok((binary, engine.to_string()))
        }
        Piecrust::Local(dir) => local_runner(dir, root, &workspace, engine),
    }
}

/// The piecrust crate's folder and version in a checkout.
fn local_crate(dir: &Path) -> Result<(PathBuf, String), String> {
    for candidate in [dir.to_path_buf(), dir.join("piecrust")] {
        let manifest = candidate.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let Ok(parsed) = text.parse::<toml::Table>() else {
            continue;
        };
        let package = parsed.get("package").and_then(|p| p.as_table());
        let name = package.and_then(|p| p.get("name")).and_then(|n| n.as_str());
        let version = package
            .and_then(|p| p.get("version"))
            .and_then(|v| v.as_str());
        if let (Some("piecrust"), Some(version)) = (name, version) {
            let absolute = candidate
                .canonicalize()
                .map_err(|e| format!("{}: {e}", candidate.display()))?;
            return Ok((absolute, version.to_string()));
        }
    }
    Err(format!(
        "{}: no piecrust crate here or in its `piecrust/` folder",
        dir.display()
    ))
}

fn local_runner(
    dir: &Path,
    root: &Path,
    workspace: &Path,
    engine: &str,
) -> Result<(PathBuf, String), DriverError> {
    let build_error = |message: String| DriverError::Build {
        engine: engine.into(),
        message,
    };
    let (crate_dir, version) = local_crate(dir).map_err(build_error)?;
    let (name, member) = runner_crate(version.starts_with("0.31."));
    let hash = blake3::hash(crate_dir.to_string_lossy().as_bytes()).to_hex();
    let copy = root
        .join("target")
        .join("runners-local")
        .join(&hash.as_str()[..16]);
    let io = |e: std::io::Error| build_error(format!("preparing {}: {e}", copy.display()));
    // A copy of the runners' workspace whose protocol path is absolute and
    // whose piecrust is the checkout.
    std::fs::create_dir_all(copy.join(member).join("src")).map_err(io)?;
    std::fs::create_dir_all(copy.join("src")).map_err(io)?;
    let protocol = root.join("protocol").canonicalize().map_err(io)?;
    let manifest = std::fs::read_to_string(workspace.join("Cargo.toml")).map_err(io)?;
    let manifest = manifest
        .replace(
            "path = \"../../protocol\"",
            &format!("path = {:?}", protocol.display().to_string()),
        )
        .replace(
            "members = [\"v0_32\", \"v0_31\"]",
            &format!("members = [\"{member}\"]"),
        );
    let manifest = format!(
        "{manifest}\n[patch.crates-io]\npiecrust = {{ path = {:?} }}\n",
        crate_dir.display().to_string()
    );
    std::fs::write(copy.join("Cargo.toml"), manifest).map_err(io)?;
    if !copy.join("Cargo.lock").exists() {
        std::fs::copy(workspace.join("Cargo.lock"), copy.join("Cargo.lock")).map_err(io)?;
    }
    std::fs::copy(
        workspace.join("src").join("runner.rs"),
        copy.join("src").join("runner.rs"),
    )
    .map_err(io)?;
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
        .arg(name)
        .env("CARGO_TARGET_DIR", copy.join("target"))
        .env(
            "PIECRUST_RUNNER_LABEL",
            format!("local {version} at {}", crate_dir.display()),
        );
    run_cargo(command, engine)?;
    let baseline = if version.starts_with("0.31.") {
        "piecrust-0.31.0"
    } else {
        "piecrust-0.32.2"
    };
    Ok((
        copy.join("target").join("release").join(name),
        baseline.to_string(),
    ))
}
