//! Wall time of each call step of a scenario on each engine, as the suite
//! drives it: the scenario is played `REPEAT` times per engine, each in a
//! new session on the same driver, and the first and the fastest later
//! time of each call are printed. Our engines keep their process (and
//! what it loaded once, such as the KZG trusted setup) across repeats; a
//! runner process is started afresh for every session, so a runner's
//! process-wide caches (the node's host-query cache) last one session: a
//! call repeated within the scenario shows them.
//!
//! ```text
//! cargo run --release -p conformance --example step_times -- SCENARIO ENGINES [REPEAT]
//! ```

use std::time::{Duration, Instant};

use conformance::driver::{Driver, DriverConfig, DriverError, OurVms, drivers};
use conformance::engines::EngineSpec;
use conformance::scenario::Scenario;
use runner_protocol::wire::{
    CallRequest, DeployRequest, MemoryRead, MemoryRequest, SessionRequest,
};
use runner_protocol::{CallOutcome, DeployOutcome};

/// A driver that times its calls.
struct Timed<'a> {
    inner: &'a mut dyn Driver,
    calls: Vec<Duration>,
}

impl Driver for Timed<'_> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn set_step_timeout(&mut self, timeout: Option<Duration>) {
        self.inner.set_step_timeout(timeout);
    }

    fn open_session(&mut self, request: &SessionRequest) -> Result<(), DriverError> {
        self.inner.open_session(request)
    }

    fn deploy(&mut self, request: &DeployRequest) -> Result<DeployOutcome, DriverError> {
        self.inner.deploy(request)
    }

    fn call(&mut self, request: &CallRequest) -> Result<CallOutcome, DriverError> {
        let start = Instant::now();
        let outcome = self.inner.call(request);
        self.calls.push(start.elapsed());
        outcome
    }

    fn memory(&mut self, request: &MemoryRequest) -> Result<Option<MemoryRead>, DriverError> {
        self.inner.memory(request)
    }

    fn block(&mut self, height: u64) -> Result<(), DriverError> {
        self.inner.block(height)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: step_times SCENARIO ENGINES [REPEAT]";
    let path = std::path::PathBuf::from(args.next().ok_or(usage)?);
    let specs = EngineSpec::parse_list(&args.next().ok_or(usage)?)?;
    let repeat: usize = args.next().map_or(Ok(5), |n| n.parse())?.max(2);
    let root = conformance::repository_root();
    let corpus = root.join("corpus");
    let scenario = Scenario::load(&path, &corpus, &corpus.join("scenarios"))?;
    let vms = OurVms::new()?;
    let mut engines = drivers(&specs, &vms, &DriverConfig::new(&root))?;
    println!(
        "{}: {repeat} runs per engine; call times: first run / fastest later run",
        scenario.name
    );
    for (spec, driver) in specs.iter().zip(engines.iter_mut()) {
        let mut runs: Vec<Vec<Duration>> = Vec::new();
        for _ in 0..repeat {
            let mut timed = Timed {
                inner: driver.as_mut(),
                calls: Vec::new(),
            };
            let run = conformance::play::play(&scenario, &mut timed, spec);
            if let Some(failure) = run.failure {
                return Err(
                    format!("{}: step {}: {}", spec.name(), failure.step, failure.error).into(),
                );
            }
            runs.push(timed.calls);
        }
        let calls = scenario.steps.iter().filter_map(|step| match &step.kind {
            conformance::scenario::StepKind::Call { function, .. } => Some((step.line, function)),
            conformance::scenario::StepKind::Deploy { .. } => None,
        });
        for (index, (line, function)) in calls.enumerate() {
            let first = runs[0].get(index).copied().unwrap_or_default();
            let later = runs[1..]
                .iter()
                .filter_map(|run| run.get(index).copied())
                .min()
                .unwrap_or_default();
            println!(
                "  {:<16} line {line:>4} {function:<22} {:>10.3} ms / {:>10.3} ms",
                spec.name(),
                first.as_secs_f64() * 1e3,
                later.as_secs_f64() * 1e3
            );
        }
    }
    Ok(())
}
