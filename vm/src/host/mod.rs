//! The host: what contracts reach through their imports, and the frames
//! of calls, above the engine trait.
//!
//! [`HostState`] is the host every store holds ([`crate::engine::Host`]).
//! Its two halves call each other, as a call does: [`frame`] runs a
//! contract's export in a new frame (checkpoint, gas, commit or rollback,
//! trace), the contract's code calls imports, and [`imports`] runs them,
//! `c` by running a nested frame.

pub mod frame;
pub mod imports;

use std::collections::BTreeMap;
use std::time::Instant;

use runner_protocol::Retainer;

use crate::abi::{ContractId, HostImport, PtrWidth};
use crate::engine::{Host, InstanceId, Instances, Runtime, Value};
use crate::failure::{EngineError, HostFailure};
use crate::gas::GasCounter;
use crate::limits::Limits;
use crate::query::QueryRegistry;
use crate::state::Journal;
use crate::trace::TraceBuilder;

/// What the host knows about a deployed contract.
#[derive(Clone, Debug)]
pub struct ContractSlot {
    /// Its id.
    pub id: ContractId,
    /// Its owner, as the deployer gave it.
    pub owner: Vec<u8>,
    /// Where its argument buffer starts in its memory (the value of `A`).
    pub argbuf_offset: u64,
    /// Its pointer width.
    pub width: PtrWidth,
    /// Exported functions, `init` included.
    pub functions: std::sync::Arc<[String]>,
    /// Whether calls may reach it: false for a contract whose deploy failed.
    pub live: bool,
}

/// An active call frame.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// The instance running in the frame.
    pub instance: InstanceId,
    /// The frame's gas limit.
    pub limit: u64,
    /// Gas the frame has left beyond what its `i64` counter holds: limits
    /// are `u64`, as in production, and the counter stops at `i64::MAX`.
    pub beyond_counter: u64,
}

impl Frame {
    /// A frame of `instance` with `limit` gas: the counter starts at the
    /// limit, or at `i64::MAX` with the rest beyond it.
    pub(crate) fn new(instance: InstanceId, limit: u64) -> (Frame, GasCounter) {
        let counter = GasCounter::with_limit(limit);
        let frame = Frame {
            instance,
            limit,
            beyond_counter: limit - counter.remaining(),
        };
        (frame, counter)
    }

    /// Gas left to the frame whose counter reads `counter`.
    pub(crate) fn left(&self, counter: GasCounter) -> u64 {
        counter.remaining().saturating_add(self.beyond_counter)
    }

    /// Gas the frame whose counter reads `counter` has spent.
    pub(crate) fn spent(&self, counter: GasCounter) -> u64 {
        self.limit.saturating_sub(self.left(counter))
    }
}

/// Everything the host functions read and write, kept in the store.
#[derive(Default)]
pub struct HostState {
    /// Deployed contracts, by instance.
    pub(crate) contracts: Vec<ContractSlot>,
    /// Active frames, outermost first.
    pub(crate) frames: Vec<Frame>,
    /// Contract state and the undo logs of the calls in progress: reached
    /// through [`HostState::contract_state`] and [`with_journal`] only.
    journal: Journal,
    /// The call tree of the call in progress.
    pub(crate) trace: TraceBuilder,
    /// Host data the embedder set, by name.
    pub(crate) host_data: BTreeMap<String, Vec<u8>>,
    /// Host queries the embedder registered, by name.
    pub(crate) queries: QueryRegistry,
    /// Data fed out by contracts, when a feeder is attached (the prefix
    /// every engine keeps; see [`runner_protocol::retained`]).
    pub(crate) feeder: Option<Retainer<Vec<u8>>>,
    /// Debug messages of the call in progress, bounded alike.
    pub(crate) debug_messages: Retainer<String>,
    /// Whether a `memory.grow` returned -1 in the call in progress.
    pub(crate) grow_refused: bool,
    /// The VM's limits (the call depth is checked here).
    pub(crate) limits: Limits,
    /// When the call in progress must end (its wall-clock limit): engines
    /// check it as they run and fail with [`EngineError::Timeout`] past it.
    pub(crate) deadline: Option<std::time::Instant>,
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("contracts", &self.contracts)
            .field("frames", &self.frames)
            .field("queries", &self.queries.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl HostState {
    fn slot(&self, instance: InstanceId) -> Result<&ContractSlot, HostFailure> {
        self.contracts.get(instance.0).ok_or_else(|| {
            HostFailure::Engine(EngineError::HostInvariant(format!(
                "host call from unknown instance {}",
                instance.0
            )))
        })
    }

    /// The live contract with this id.
    pub fn live_contract(&self, id: &ContractId) -> Option<InstanceId> {
        self.contracts
            .iter()
            .position(|slot| slot.live && slot.id == *id)
            .map(InstanceId)
    }

    fn current_frame(&self) -> Result<Frame, HostFailure> {
        self.frames.last().copied().ok_or_else(|| {
            HostFailure::Engine(EngineError::HostInvariant(
                "host call outside any frame".into(),
            ))
        })
    }
}

/// What the call in progress did, read-only: for embedders that look at
/// a call before it ends (the deliberately wrong engines of the fuzzer).
impl HostState {
    /// The contract of an instance.
    pub fn contract(&self, instance: InstanceId) -> Option<&ContractSlot> {
        self.contracts.get(instance.0)
    }

    /// The events of the call in progress, so far.
    pub fn events(&self) -> &[crate::trace::EventRecord] {
        self.trace.events()
    }

    /// The data fed so far (what every engine keeps of it), if a feeder
    /// is attached.
    pub fn fed(&self) -> Option<&[Vec<u8>]> {
        self.feeder.as_ref().map(Retainer::kept)
    }

    /// The debug messages of the call in progress, so far (what every
    /// engine keeps of them).
    pub fn debug_messages(&self) -> &[String] {
        self.debug_messages.kept()
    }

    /// The argument of every frame the call in progress entered, in order.
    pub fn frame_args(&self) -> impl Iterator<Item = &crate::trace::TracedBytes> {
        self.trace.args()
    }
}

impl HostState {
    /// A host with no contracts and no host data, these host queries and
    /// limits.
    pub fn new(queries: QueryRegistry, limits: Limits) -> Self {
        HostState {
            queries,
            limits,
            ..HostState::default()
        }
    }

    /// Adds a deployed contract's state to the journal, as the next
    /// instance.
    pub(crate) fn add_contract_state(&mut self, state: crate::state::ContractState) -> InstanceId {
        self.journal.add_contract(state)
    }

    /// Every live contract with its committed state, in deploy order.
    pub(crate) fn live_states(
        &mut self,
    ) -> impl Iterator<Item = (&ContractSlot, &mut crate::state::ContractState)> {
        self.contracts
            .iter()
            .zip(self.journal.states_mut())
            .filter(|(slot, _)| slot.live)
    }

    /// The committed state of an instance.
    pub(crate) fn contract_state(
        &mut self,
        instance: InstanceId,
    ) -> Option<&mut crate::state::ContractState> {
        self.journal.contract_mut(instance)
    }
}

impl Host for HostState {
    fn dispatch(
        rt: &mut dyn Runtime<Self>,
        caller: InstanceId,
        import: HostImport,
        args: &[Value],
    ) -> Result<Option<Value>, HostFailure> {
        imports::dispatch(rt, caller, import, args)
    }

    fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

/// Runs `work` on the journal and the store's instances.
///
/// The journal lives in the host state, which lives in the store, and its
/// checkpoints and rollbacks work on the store's instances: it leaves the
/// host state for the time of `work` and is put back whatever `work`
/// returns. `work` gets the store as [`Instances`] only, without its host,
/// so nothing in it can reach the host state, or the journal's empty place
/// there, and nothing in it runs contract code.
pub fn with_journal<R>(
    rt: &mut dyn Runtime<HostState>,
    work: impl FnOnce(&mut Journal, &mut dyn Instances) -> R,
) -> R {
    let mut journal = std::mem::take(&mut rt.host().journal);
    let result = work(&mut journal, rt);
    rt.host().journal = journal;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Event;

    #[test]
    fn the_accessors_show_the_call_in_progress() {
        let mut host = HostState::new(QueryRegistry::default(), Limits::default());
        assert!(format!("{host:?}").starts_with("HostState {"));
        let id = ContractId([7; 32]);
        host.contracts.push(ContractSlot {
            id,
            owner: b"owner".to_vec(),
            argbuf_offset: 1024,
            width: PtrWidth::Wasm32,
            functions: vec!["f".to_string()].into(),
            live: true,
        });
        assert_eq!(host.contract(InstanceId(0)).map(|slot| slot.id), Some(id));
        assert!(host.contract(InstanceId(1)).is_none());

        assert_eq!(host.fed(), None);
        let mut feeder = Retainer::default();
        feeder.push(vec![1, 2]);
        host.feeder = Some(feeder);
        assert_eq!(host.fed(), Some(&[vec![1u8, 2]][..]));

        host.debug_messages.push("hello".to_string());
        assert_eq!(host.debug_messages(), ["hello"]);

        host.trace.enter(id, "f", &[9; 3], 100);
        host.trace.event(Event {
            source: id,
            topic: "t".into(),
            data: vec![5],
        });
        assert_eq!(host.events().len(), 1);
        assert_eq!(host.events()[0].event.data, [5]);
        let args: Vec<Option<&[u8]>> = host.frame_args().map(|arg| arg.whole()).collect();
        assert_eq!(args, [Some(&[9u8; 3][..])]);
    }
}
