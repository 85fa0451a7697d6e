//! Where a job's time goes on our side of a campaign: generating inputs,
//! running them on our engines, computing their state digests, and the
//! whole of each input (production's share is the runners'
//! [`RunnerTime`]; the rest is comparing, the catalogue and bookkeeping).
//!
//! Each job is one thread, so the totals are per thread: the oracles add
//! to them with [`timed`] without a handle passed through every call, and
//! the campaign takes them with [`take`] when the job ends.
//!
//! [`RunnerTime`]: conformance::driver::process::RunnerTime

use std::cell::Cell;
use std::time::Instant;

use runner_protocol::wire::nanos;
use serde::Serialize;

/// A phase of [`PhaseTimes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Drawing an input from the generator and the pools.
    Generate,
    /// Our engines deploying and calling (compilation, instantiation,
    /// execution), native fuel included.
    OurEngines,
    /// Our engines' memory digests and outcomes in the protocol's terms.
    OurDigests,
    /// Each input from drawing it to its verdict (a finding's saving and
    /// minimization included): everything, the phases above with it.
    Total,
}

/// Nanoseconds per phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PhaseTimes {
    pub generate_ns: u64,
    pub our_engines_ns: u64,
    pub our_digests_ns: u64,
    pub total_ns: u64,
}

impl PhaseTimes {
    pub fn merge(&mut self, other: &PhaseTimes) {
        self.generate_ns += other.generate_ns;
        self.our_engines_ns += other.our_engines_ns;
        self.our_digests_ns += other.our_digests_ns;
        self.total_ns += other.total_ns;
    }

    fn add(&mut self, phase: Phase, spent: u64) {
        let total = match phase {
            Phase::Generate => &mut self.generate_ns,
            Phase::OurEngines => &mut self.our_engines_ns,
            Phase::OurDigests => &mut self.our_digests_ns,
            Phase::Total => &mut self.total_ns,
        };
        *total = total.saturating_add(spent);
    }
}

thread_local! {
    static TIMES: Cell<PhaseTimes> = Cell::new(PhaseTimes::default());
}

/// Runs `work`, adding its time to `phase` of this thread's totals.
pub fn timed<T>(phase: Phase, work: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let value = work();
    let spent = nanos(started.elapsed());
    TIMES.with(|times| {
        let mut total = times.get();
        total.add(phase, spent);
        times.set(total);
    });
    value
}

/// This thread's totals since the last `take`, which resets them.
pub fn take() -> PhaseTimes {
    TIMES.with(|times| times.replace(PhaseTimes::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_add_up_per_thread_and_take_resets() {
        take();
        let value = timed(Phase::OurEngines, || {
            std::thread::sleep(std::time::Duration::from_millis(2));
            7
        });
        assert_eq!(value, 7);
        timed(Phase::Generate, || ());
        let times = take();
        assert!(times.our_engines_ns >= 2_000_000, "{times:?}");
        assert_eq!((times.our_digests_ns, times.total_ns), (0, 0));
        // Another thread has its own totals.
        let other = std::thread::spawn(take).join().expect("joins");
        assert_eq!(other, PhaseTimes::default());
        assert_eq!(take(), PhaseTimes::default());
    }
}
