//! The runner protocol on piecrust 0.31.0: see `src/runner.rs`.

#[path = "../../src/bare.rs"]
mod bare;
#[path = "../../src/runner.rs"]
mod runner;

fn main() -> std::process::ExitCode {
    runner::main::<bare::Piecrust>("0.31.0")
}
