//! Writes generated contracts as a campaign makes them (seeds of 256 to
//! 4,096 bytes, as a job's pool draws them) to a folder, one `.wasm` each,
//! for measurements outside the fuzzer (the runners' `deploy_cost`).
//!
//! `cargo run --release -p fuzz --example generated_contracts -- DIR [COUNT] [SEED]`

use std::path::PathBuf;
use std::process::ExitCode;

/// A seedable byte source (splitmix64), so that a measurement can be
/// repeated on the same contracts.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: generated_contracts DIR [COUNT] [SEED]");
        return ExitCode::from(2);
    };
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(64);
    let mut bytes = SplitMix(args.next().and_then(|n| n.parse().ok()).unwrap_or(7));
    if let Err(error) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {error}", dir.display());
        return ExitCode::from(2);
    }
    let (mut written, mut total) = (0, 0);
    while written < count {
        let len = 256 + usize::try_from(bytes.next() % 3_841).unwrap_or(0);
        let mut seed = Vec::with_capacity(len + 8);
        while seed.len() < len {
            seed.extend_from_slice(&bytes.next().to_le_bytes());
        }
        seed.truncate(len);
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
