//! Writes generated contracts as a campaign makes them (new seeds from
//! the campaign's own byte source, of its seed lengths) to a folder, one
//! `.wasm` each, for measurements outside the fuzzer (the runners'
//! `deploy_cost`).
//!
//! `cargo run --release -p fuzz --example generated_contracts -- DIR [COUNT] [SEED]`

use std::path::PathBuf;
use std::process::ExitCode;

use fuzz::inputs::{Bytes, CONTRACT_SEED_LEN};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: generated_contracts DIR [COUNT] [SEED]");
        return ExitCode::from(2);
    };
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(64);
    let mut bytes = Bytes(args.next().and_then(|n| n.parse().ok()).unwrap_or(7));
    if let Err(error) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {error}", dir.display());
        return ExitCode::from(2);
    }
    let (mut written, mut total) = (0, 0);
    while written < count {
        let seed = bytes.bytes(*CONTRACT_SEED_LEN.start(), *CONTRACT_SEED_LEN.end());
        // A seed wasm-smith cannot make a contract of is skipped, as the
        // campaign discards it.
        let Ok(wasm) = fuzz::generate::contract_from_seed(&seed) else {
            continue;
        };
        let path = dir.join(format!("{written:03}.wasm"));
        if let Err(error) = std::fs::write(&path, &wasm) {
            eprintln!("cannot write {}: {error}", path.display());
            return ExitCode::from(2);
        }
        total += wasm.len();
        written += 1;
    }
    println!(
        "{written} contracts in {}, {} bytes on average",
        dir.display(),
        total / written.max(1)
    );
    ExitCode::SUCCESS
}
