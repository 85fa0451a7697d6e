//! What a contract costs piecrust 0.32.2 when each session deploys it
//! again (as the fuzzer's runner does today) against when it sits in a
//! committed base state that each session opens on: the measurement
//! behind "production compiles once" in `fuzz/README.md`.
//!
//! Calls are given 1 gas: the contract is instantiated and the call stops
//! at once, so no generated code runs (a trap raised through SIGSEGV would
//! leave the next session waiting forever; see `segv-trap-crash`).
//!
//! `cargo run --release -p piecrust-runner-0-32 --example deploy_cost -- DIR [ROUNDS]`
//! with DIR holding `.wasm` files (the fuzzer's `generated_contracts`
//! example writes them).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use piecrust::{ContractId, SessionData, VM};

/// Mean microseconds of `total` over `count`.
fn mean_us(total: Duration, count: usize) -> f64 {
    total.as_secs_f64() * 1e6 / count.max(1) as f64
}

fn id(index: usize) -> ContractId {
    let mut bytes = [0xa5; 32];
    bytes[..8].copy_from_slice(&(index as u64).to_le_bytes());
    ContractId::from_bytes(bytes)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: deploy_cost DIR [ROUNDS]");
        return ExitCode::from(2);
    };
    let rounds: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(3);
    let mut wasms = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("cannot read {dir}");
        return ExitCode::from(2);
    };
    for entry in entries.flatten() {
        if entry.path().extension().is_some_and(|ext| ext == "wasm")
            && let Ok(wasm) = std::fs::read(entry.path())
        {
            wasms.push(wasm);
        }
    }
    wasms.sort();
    let vm = match VM::ephemeral() {
        Ok(vm) => vm,
        Err(error) => {
            eprintln!("cannot create the VM: {error}");
            return ExitCode::from(2);
        }
    };
    let run = || -> Result<(), piecrust::Error> {
        // Each session deploys the contract, then calls it.
        let (mut open, mut deploy, mut call, mut deployed) = Default::default();
        for _ in 0..rounds {
            for (index, wasm) in wasms.iter().enumerate() {
                let started = Instant::now();
                let mut session = vm.session(SessionData::builder())?;
                open += started.elapsed();
                let started = Instant::now();
                let result = session.deploy_raw(Some(id(index)), wasm, None, vec![], 1_000_000);
                deploy += started.elapsed();
                if result.is_ok() {
                    deployed += 1;
                    let started = Instant::now();
                    let _outcome = session.call_raw(id(index), "f", vec![], 1);
                    call += started.elapsed();
                }
            }
        }
        let sessions = rounds * wasms.len();
        println!(
            "deployed in each session: open {:.0} us, deploy {:.0} us, call {:.0} us ({deployed} deploys of {sessions})",
            mean_us(open, sessions),
            mean_us(deploy, sessions),
            mean_us(call, deployed),
        );
        // Every contract deployed once, in one committed base.
        let mut session = vm.session(SessionData::builder())?;
        let mut in_base = Vec::new();
        let started = Instant::now();
        for (index, wasm) in wasms.iter().enumerate() {
            if session
                .deploy_raw(Some(id(index)), wasm, None, vec![], 1_000_000)
                .is_ok()
            {
                in_base.push(index);
            }
        }
        let deploys = started.elapsed();
        let started = Instant::now();
        let root = session.commit()?;
        println!(
            "base: {} contracts deployed in {:.1} ms, committed in {:.1} ms",
            in_base.len(),
            deploys.as_secs_f64() * 1e3,
            started.elapsed().as_secs_f64() * 1e3
        );
        let (mut open, mut call, mut close) = Default::default();
        for _ in 0..rounds {
            for &index in &in_base {
                let started = Instant::now();
                let mut session = vm.session(SessionData::builder().base(root))?;
                open += started.elapsed();
                let started = Instant::now();
                let _outcome = session.call_raw(id(index), "f", vec![], 1);
                call += started.elapsed();
                let started = Instant::now();
                drop(session);
                close += started.elapsed();
            }
        }
        let sessions = rounds * in_base.len();
        println!(
            "on the committed base: open {:.0} us, call {:.0} us, drop {:.0} us ({sessions} sessions)",
            mean_us(open, sessions),
            mean_us(call, sessions),
            mean_us(close, sessions),
        );
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("piecrust failed: {error}");
            ExitCode::FAILURE
        }
    }
}
