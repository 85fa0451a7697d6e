//! The runner protocol on piecrust 0.31.0: see `src/runner.rs`.

#[path = "../../src/runner.rs"]
mod runner;

fn main() -> std::process::ExitCode {
    runner::main("0.31.0")
}
