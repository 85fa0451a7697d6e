//! A judge: what a job needs to judge inputs of one target, with our two
//! engines (one of them deliberately wrong, on request) and production.

use arbitrary::Unstructured;
use serde::Serialize;
use vm::{Vm, VmConfig, WasmiEngine};

use crate::corpus::{corpus_root, known_contracts};
use crate::engines::OurEngines;
use crate::faulty::{ArgbufBound, ExtraGas, FaultChoice, Faulty, FlipNan, OutputBound};
use crate::generate::{self, Case, Generator};
use crate::oracle::{self, DiscardCause, Verdict};
use crate::phases::{Phase, timed};
use crate::production::Production;
use conformance::driver::process::{RunnerStats, RunnerTime};
use conformance::engines::EngineSpec;

/// Which oracle a campaign drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Differential,
    Gas,
    Admission,
    /// Arbitrary call sequences over the contracts of `corpus/contracts/`.
    Scenario,
    /// Generated cases on two production engines (`--production` and
    /// `--against`): every difference between them.
    Releases,
}

/// Generated contracts a judge keeps by seed; more than a campaign's pool
/// holds, fewer than the VM's module cache.
const GENERATED_CONTRACTS_KEPT: usize = 256;

/// wasmi modules a judge's engines compile before they are replaced:
/// wasmi 1.1.0 keeps every compiled function until its engine is dropped
/// (about 3.4 KiB per generated contract, measured), so a campaign that
/// never replaced them would grow by gigabytes a day. 4,096 modules is
/// about 14 MiB; rebuilding costs milliseconds.
const RENEW_ENGINES_AFTER: u64 = 4_096;

/// The engine compared with wasmtime: wasmi, or a deliberately wrong
/// wasmi.
enum Shadow {
    Correct,
    ExtraGas(Vm<Faulty<WasmiEngine, ExtraGas>>),
    FlipNan(Vm<Faulty<WasmiEngine, FlipNan>>),
    OutputBound(Vm<Faulty<WasmiEngine, OutputBound>>),
    ArgbufBound(Vm<Faulty<WasmiEngine, ArgbufBound>>),
    /// wasmi under wrong limits ([`FaultChoice::limits`]).
    Limits(Vm<WasmiEngine>),
}

/// Runs `$body` with `$b` bound to the shadow VM of `$vms`.
macro_rules! with_shadow {
    ($vms:expr, $b:ident => $body:expr) => {
        match &$vms.shadow {
            Shadow::Correct => {
                let $b = &$vms.engines.wasmi;
                $body
            }
            Shadow::ExtraGas($b) => $body,
            Shadow::FlipNan($b) => $body,
            Shadow::OutputBound($b) => $body,
            Shadow::ArgbufBound($b) => $body,
            Shadow::Limits($b) => $body,
        }
    };
}

/// The engines a judge runs inputs on: ours, the shadow perhaps wrong.
struct JudgeVms {
    engines: OurEngines,
    shadow: Shadow,
}

impl JudgeVms {
    fn new(fault: Option<FaultChoice>) -> Result<Self, String> {
        let engines = OurEngines::new()?;
        let config = engines.config.clone();
        let error = |e: vm::failure::EngineError| e.to_string();
        let shadow = match fault {
            None => Shadow::Correct,
            Some(FaultChoice::ExtraGas) => Shadow::ExtraGas(Vm::new(config).map_err(error)?),
            Some(FaultChoice::FlipNan) => Shadow::FlipNan(Vm::new(config).map_err(error)?),
            Some(FaultChoice::OutputBound) => Shadow::OutputBound(Vm::new(config).map_err(error)?),
            Some(FaultChoice::ArgbufBound) => Shadow::ArgbufBound(Vm::new(config).map_err(error)?),
            Some(
                fault @ (FaultChoice::PageCap
                | FaultChoice::TableCap
                | FaultChoice::CallDepth
                | FaultChoice::LogicalStack),
            ) => {
                let limits = fault.limits().unwrap_or_default();
                Shadow::Limits(Vm::new(VmConfig { limits, ..config }).map_err(error)?)
            }
        };
        Ok(JudgeVms { engines, shadow })
    }

    /// Modules compiled on the wasmi engines.
    fn wasmi_modules_compiled(&self) -> u64 {
        let shadow = match &self.shadow {
            Shadow::Correct => 0,
            _ => with_shadow!(self, b => b.modules_compiled()),
        };
        self.engines.wasmi.modules_compiled() + shadow
    }
}

/// What a job needs to judge inputs.
pub struct Judge {
    pub(crate) target: Target,
    fault: Option<FaultChoice>,
    vms: JudgeVms,
    /// Production beside our engines (three-way), or none (two-way); for
    /// `releases`, the newer release.
    production: Option<Production>,
    /// For `releases`, the older release.
    against: Option<Production>,
    /// [`RENEW_ENGINES_AFTER`], smaller in tests.
    renew_after: u64,
    pub(crate) generator: Generator,
    known: Vec<generate::KnownContract>,
}

impl Judge {
    /// A judge of `target` inputs, with a deliberately wrong shadow engine
    /// when `fault` says, and `production` as a third engine (its runner is
    /// built when needed).
    pub fn new(
        target: Target,
        fault: Option<FaultChoice>,
        production: Option<&EngineSpec>,
    ) -> Result<Self, String> {
        Self::with_against(target, fault, production, None)
    }

    /// [`Judge::new`], with the older release for `releases`.
    pub fn with_against(
        target: Target,
        fault: Option<FaultChoice>,
        production: Option<&EngineSpec>,
        against: Option<&EngineSpec>,
    ) -> Result<Self, String> {
        let root = conformance::repository_root();
        let against = match (target, against) {
            (Target::Releases, Some(spec)) => Some(Production::new(spec, &root)?),
            (Target::Releases, None) => {
                return Err("`releases` needs --against, the older release".into());
            }
            _ => None,
        };
        if target == Target::Releases && production.is_none() {
            return Err("`releases` needs --production, the newer release".into());
        }
        let known = if target == Target::Scenario {
            known_contracts(&corpus_root())?
        } else {
            Vec::new()
        };
        let production = match (target, production) {
            (Target::Admission, _) | (_, None) => None,
            (_, Some(spec)) => Some(Production::new(spec, &root)?),
        };
        Ok(Judge {
            target,
            fault,
            known,
            production,
            against,
            vms: JudgeVms::new(fault)?,
            renew_after: RENEW_ENGINES_AFTER,
            generator: Generator::new(GENERATED_CONTRACTS_KEPT),
        })
    }

    /// The production engine, if the judge has one.
    pub fn production(&self) -> Option<&str> {
        self.production.as_ref().map(Production::name)
    }

    /// What befell the judge's production runners so far.
    pub fn runner_stats(&self) -> RunnerStats {
        let mut stats = RunnerStats::default();
        for production in self.production.iter().chain(self.against.iter()) {
            stats.merge(&production.runner_stats());
        }
        stats
    }

    /// Where the judge's production runners' time went, their current
    /// processes' own times included (which ends those processes: a job
    /// asks this when it is done).
    pub fn collect_runner_time(&mut self) -> RunnerTime {
        let mut time = RunnerTime::default();
        for production in self.production.iter_mut().chain(self.against.iter_mut()) {
            time.merge(&production.collect_runner_time());
        }
        time
    }

    /// Judges a generated case.
    pub fn case(&mut self, case: &Case) -> Verdict {
        let vms = &self.vms;
        let production = self.production.as_mut();
        match self.target {
            Target::Gas => with_shadow!(vms, b => oracle::gas_with(
                &vms.engines.wasmtime,
                b,
                &vms.engines.native,
                production,
                case,
            )),
            Target::Releases => match (self.against.as_mut(), production) {
                (Some(from), Some(to)) => oracle::releases(from, to, case),
                _ => Verdict::Discard(DiscardCause::NotGenerated),
            },
            _ => with_shadow!(vms, b => {
                oracle::differential(&vms.engines.wasmtime, b, production, case)
            }),
        }
    }

    /// What an input of the `scenario` target runs, for people reading a
    /// finding: the known contracts deployed and the calls.
    pub fn describe(&self, bytes: &[u8]) -> Option<serde_json::Value> {
        if self.target != Target::Scenario {
            return None;
        }
        let case = generate::case_over(&mut Unstructured::new(bytes), &self.known).ok()?;
        let contracts: Vec<&str> = case
            .contracts
            .iter()
            .map(|&which| self.known[which].name.as_str())
            .collect();
        let calls: Vec<serde_json::Value> = case
            .calls
            .iter()
            .map(|call| {
                serde_json::json!({
                    "contract": call.contract,
                    "function": call.function,
                    "arg": hex::encode(&call.arg),
                    "gas": call.gas,
                })
            })
            .collect();
        Some(serde_json::json!({ "contracts": contracts, "calls": calls }))
    }

    /// Runs a `scenario` case as `finding.json` records it: contracts by
    /// name, calls with their contract's position, function, hex argument
    /// and gas.
    pub(crate) fn recorded_case(&mut self, case: &serde_json::Value) -> Result<Verdict, String> {
        let bad = |what: &str| format!("finding.json: bad case ({what})");
        let contracts = case["contracts"]
            .as_array()
            .ok_or_else(|| bad("contracts"))?
            .iter()
            .map(|name| {
                let name = name.as_str().ok_or_else(|| bad("a contract name"))?;
                self.known
                    .iter()
                    .position(|known| known.name == name)
                    .ok_or_else(|| format!("finding.json: no contract {name} in corpus/contracts"))
            })
            .collect::<Result<Vec<usize>, String>>()?;
        let calls = case["calls"]
            .as_array()
            .ok_or_else(|| bad("calls"))?
            .iter()
            .map(|call| {
                Ok(generate::KnownCall {
                    contract: call["contract"]
                        .as_u64()
                        .and_then(|contract| usize::try_from(contract).ok())
                        .ok_or_else(|| bad("contract"))?,
                    function: call["function"]
                        .as_str()
                        .ok_or_else(|| bad("function"))?
                        .to_string(),
                    arg: hex::decode(call["arg"].as_str().ok_or_else(|| bad("arg"))?)
                        .map_err(|e| bad(&e.to_string()))?,
                    gas: call["gas"].as_u64().ok_or_else(|| bad("gas"))?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if calls.iter().any(|call| call.contract >= contracts.len()) {
            return Err(bad("a call to a contract the case does not deploy"));
        }
        let case = generate::KnownCase { contracts, calls };
        let vms = &self.vms;
        Ok(with_shadow!(vms, b => oracle::scenario(
            &vms.engines.wasmtime,
            b,
            self.production.as_mut(),
            &self.known,
            &case,
        )))
    }

    /// Judges raw fuzzer bytes. Fails only when the engines, renewed now
    /// and then (see [`RENEW_ENGINES_AFTER`]), cannot be built again.
    pub fn input(&mut self, bytes: &[u8]) -> Result<Verdict, String> {
        if self.vms.wasmi_modules_compiled() >= self.renew_after {
            self.vms = JudgeVms::new(self.fault)?;
        }
        let vms = &self.vms;
        Ok(match self.target {
            Target::Admission => {
                with_shadow!(vms, b => oracle::admission_with(&vms.engines.wasmtime, b, bytes))
            }
            Target::Scenario => {
                match timed(Phase::Generate, || {
                    generate::case_over(&mut Unstructured::new(bytes), &self.known)
                }) {
                    Ok(case) => with_shadow!(vms, b => oracle::scenario(
                        &vms.engines.wasmtime,
                        b,
                        self.production.as_mut(),
                        &self.known,
                        &case,
                    )),
                    Err(_) => Verdict::Discard(DiscardCause::NotGenerated),
                }
            }
            Target::Differential | Target::Gas | Target::Releases => {
                match timed(Phase::Generate, || self.generator.case(bytes)) {
                    Ok(case) => self.case(&case),
                    Err(_) => Verdict::Discard(DiscardCause::NotGenerated),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{Inputs, Reuse};

    #[test]
    fn engines_are_replaced_after_enough_wasmi_compilations() {
        let mut judge = Judge::new(Target::Differential, None, None).expect("judge");
        judge.renew_after = 4;
        let mut inputs = Inputs::new(Target::Differential, Reuse::NONE, 4);
        let mut counts = Vec::new();
        for _ in 0..8 {
            let verdict = judge.input(&inputs.next()).expect("judged");
            assert!(!matches!(verdict, Verdict::Diverge(_)), "{verdict:?}");
            counts.push(judge.vms.wasmi_modules_compiled());
        }
        // Up to three new contracts per input, counted from the last renewal.
        assert!(counts.iter().all(|&count| count < 4 + 3), "{counts:?}");
        assert!(
            counts.windows(2).any(|pair| pair[1] < pair[0]),
            "never renewed: {counts:?}"
        );
    }
}
