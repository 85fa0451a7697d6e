//! The runner protocol on `dusk-vm` 1.7.0, the VM Dusk's node runs:
//! piecrust 0.31 with the node's host queries, their prices per hard fork,
//! and the chain id and block height in every session. Deploys and calls
//! are piecrust's and are served by `src/runner.rs`; this file makes the
//! VM, opens sessions and moves them from block to block the way the node
//! does, and derives the ids of node deploys with Dusk Core.

#[path = "../../src/runner.rs"]
mod runner;

use dusk_core::plonk::PlonkVersion;
use dusk_core::transfer::data::gen_contract_id;
use dusk_vm::host_queries::{self, HostQueryPolicy, HostQueryPolicyGuard};
use piecrust::{ContractId, Error, Session};
use runner_protocol::chain::{BLOCK_HEIGHT, CHAIN_ID};
use runner_protocol::wire::SessionRequest;
use runner_protocol::{Chain, HardFork};

use runner::{BlockSession, Production, RawBytes};

/// The node's VM, with the empty state every session starts from.
struct DuskVm {
    vm: dusk_vm::VM,
    /// The commit of an empty genesis session: `dusk_vm::VM::session`
    /// needs a base to take a block height.
    empty: [u8; 32],
    /// The hard fork of the open session. The node sets it per thread
    /// around execution; the runner serves every request on one thread.
    policy: Option<HostQueryPolicyGuard>,
    /// The host data of the open session, for the sessions of its later
    /// blocks.
    host_data: Vec<(String, RawBytes)>,
}

/// The node's policy for a hard fork: the BLS rules follow the fork, and
/// PLONK proofs are verified at the version `HardFork::plonk_version`
/// gives (the model reads the same table).
fn policy(fork: HardFork) -> HostQueryPolicy {
    let plonk = match fork.plonk_version() {
        1 => PlonkVersion::V1,
        2 => PlonkVersion::V2,
        _ => PlonkVersion::V3,
    };
    let fork = match fork {
        HardFork::PreFork => host_queries::HardFork::PreFork,
        HardFork::Aegis => host_queries::HardFork::Aegis,
        HardFork::Boreas => host_queries::HardFork::Boreas,
    };
    HostQueryPolicy::from_versions(plonk, fork)
}

impl Production for DuskVm {
    const ENGINE: &'static str = "dusk-vm";

    fn new() -> Result<Self, Error> {
        let vm = dusk_vm::VM::ephemeral()?;
        let empty = vm.genesis_session(0).commit()?;
        Ok(DuskVm {
            vm,
            empty,
            policy: None,
            host_data: Vec::new(),
        })
    }

    fn session(&mut self, request: &SessionRequest) -> Result<Session, String> {
        if let Some(name) = request.queries.first() {
            // The node's VM registers its own queries only (and has one
            // named `hash` of its own); the suite does not ask for these.
            return Err(format!(
                "dusk-vm offers the node's host queries, not the built-in `{name}`"
            ));
        }
        // The node's queries are always registered: a session that does
        // not ask for them cannot remove them, and contracts that do not
        // import `hq` cannot tell.
        let chain = request.chain.unwrap_or_default();
        // Drop the previous session's policy first: guards restore what
        // was set before them.
        self.policy = None;
        self.policy = Some(host_queries::set_host_query_policy(policy(
            chain.hard_fork(),
        )));
        let mut session = self
            .vm
            .session(self.empty, chain.id, chain.height)
            .map_err(|e| format!("cannot open a session: {e}"))?;
        if request.chain.is_none() {
            // A session without a chain has no chain metadata, as on every
            // other engine.
            session.remove_meta(CHAIN_ID);
            session.remove_meta(BLOCK_HEIGHT);
        }
        self.host_data = request
            .host_data
            .iter()
            .map(|(name, bytes)| (name.clone(), RawBytes(bytes.0.clone())))
            .collect();
        self.set_host_data(&mut session)?;
        Ok(session)
    }

    /// The next block as the node runs it: the session of the last block
    /// is committed, and a new one opens on that state at the new height
    /// (so the node's process-wide query cache outlives the session).
    fn block(&mut self, session: Session, chain: &Chain) -> Result<BlockSession, String> {
        let base = session
            .commit()
            .map_err(|e| format!("cannot commit the block: {e}"))?;
        self.policy = None;
        self.policy = Some(host_queries::set_host_query_policy(policy(
            chain.hard_fork(),
        )));
        let mut next = self
            .vm
            .session(base, chain.id, chain.height)
            .map_err(|e| format!("cannot open the next block's session: {e}"))?;
        self.set_host_data(&mut next)?;
        Ok(BlockSession::New(next))
    }

    fn node_contract_id(&self, bytecode: &[u8], nonce: u64, owner: &[u8]) -> Option<ContractId> {
        Some(gen_contract_id(bytecode, nonce, owner))
    }
}

impl DuskVm {
    fn set_host_data(&self, session: &mut Session) -> Result<(), String> {
        for (name, bytes) in &self.host_data {
            let len = bytes.0.len();
            session.set_meta(name.clone(), bytes.clone()).map_err(|e| {
                format!("dusk-vm cannot hold host data `{name}` of {len} bytes: {e}")
            })?;
        }
        Ok(())
    }
}

fn main() -> std::process::ExitCode {
    runner::main::<DuskVm>("1.7.0")
}
