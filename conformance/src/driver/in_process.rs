//! Our engines as drivers: a [`vm::Session`] whose receipts are mapped to
//! the protocol's outcomes by [`vm::normalize`].

use runner_protocol::digest::memory_digest;
use runner_protocol::node_deploy::{NODE_DEPLOY_PRICE, NodeDeploy, node_charge};
use runner_protocol::outcome::{CallResult, DeployResult};
use runner_protocol::wire::{
    CallRequest, DeployRequest, MemoryRead, MemoryRequest, SessionRequest,
};
use runner_protocol::{
    Bytes, CallOutcome, Chain, DeployOutcome, Failure, FailureKind, MemoryState,
};
use vm::abi::ContractId;
use vm::engine::Engine;
use vm::host::HostState;
use vm::{DeployOptions, Session, Vm, VmError, normalize};

use std::time::Duration;

use super::{Driver, DriverError};

/// One of our engines.
pub struct InProcess<'vm, E: Engine> {
    vm: &'vm Vm<E>,
    session: Option<Session<'vm, E>>,
    /// The run's wall-clock limit of a step.
    default_timeout: Duration,
    /// The limit of the sessions opened from now on.
    timeout: Duration,
    /// The chain of the open session, and whether it offers the node's
    /// queries (a new block reprices them).
    chain: Option<Chain>,
    node_queries: bool,
}

impl<'vm, E: Engine> InProcess<'vm, E> {
    /// `vm` as a driver whose steps may take `step_timeout` each.
    pub fn new(vm: &'vm Vm<E>, step_timeout: Duration) -> Self {
        InProcess {
            vm,
            session: None,
            default_timeout: step_timeout,
            timeout: step_timeout,
            chain: None,
            node_queries: false,
        }
    }

    fn error(&self, message: impl std::fmt::Display) -> DriverError {
        DriverError::Engine {
            engine: E::KIND.to_string(),
            message: message.to_string(),
        }
    }

    /// A piecrust session's deploy, at `id` (blake3 of the bytecode when
    /// absent).
    fn deploy_with_id(
        &mut self,
        request: &DeployRequest,
        id: Option<ContractId>,
    ) -> Result<DeployOutcome, DriverError> {
        let kind = E::KIND;
        let session = self.session()?;
        let result = session.deploy(
            request.bytecode.as_slice(),
            DeployOptions {
                owner: request.owner.0.clone(),
                id,
                init_arg: request.init_arg.0.clone(),
                gas_limit: request.gas,
            },
        );
        let state = session.memory_states();
        normalize::deploy_outcome(&result, state).map_err(|e| DriverError::Engine {
            engine: kind.to_string(),
            message: e.to_string(),
        })
    }

    /// A deploy as the node does it (`runner_protocol::node_deploy`): a gas
    /// limit below the deploy charge is refused before anything runs;
    /// otherwise the contract gets the node's id, `init` the whole limit,
    /// and the deploy its charge.
    fn node_deploy(
        &mut self,
        request: &DeployRequest,
        node: NodeDeploy,
    ) -> Result<DeployOutcome, DriverError> {
        if request.id.is_some() {
            return Err(self.error("a node deploy derives its id; the request names one"));
        }
        let charge = match NODE_DEPLOY_PRICE.admit(request.bytecode.len(), request.gas) {
            Ok(charge) => charge,
            Err(failure) => {
                return Ok(DeployOutcome {
                    result: DeployResult::Failed(failure),
                    init: None,
                    state: self.session()?.memory_states(),
                    charged: None,
                });
            }
        };
        let id = node_queries::deploy::contract_id(
            request.bytecode.as_slice(),
            node.nonce,
            request.owner.as_slice(),
        );
        let mut outcome = self.deploy_with_id(request, Some(id))?;
        let deployed = matches!(outcome.result, DeployResult::Deployed(_));
        outcome.charged = Some(node_charge(charge, request.gas, deployed));
        Ok(outcome)
    }

    fn session(&mut self) -> Result<&mut Session<'vm, E>, DriverError> {
        match self.session.as_mut() {
            Some(session) => Ok(session),
            None => Err(DriverError::Engine {
                engine: E::KIND.to_string(),
                message: "no session is open".into(),
            }),
        }
    }
}

impl<E> Driver for InProcess<'_, E>
where
    E: Engine + Sync,
    E::Store<HostState>: Send,
    E::Module: Send + Sync,
{
    fn name(&self) -> String {
        E::KIND.to_string()
    }

    fn set_step_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout.unwrap_or(self.default_timeout);
    }

    fn open_session(&mut self, request: &SessionRequest) -> Result<(), DriverError> {
        let mut session = self.vm.session();
        session.set_time_limit(Some(self.timeout));
        for (name, data) in &request.host_data {
            session.set_host_data(name, data.0.clone());
        }
        // The chain's metadata is host data like any other to our engines;
        // the hard fork only prices the node's host queries.
        for (name, data) in request.chain.iter().flat_map(|chain| chain.metadata()) {
            session.set_host_data(name, data);
        }
        if request.feeder {
            session.attach_feeder();
        }
        session
            .keep_builtin_queries(&request.queries)
            .map_err(|e| self.error(e))?;
        if request.node_queries {
            if !request.queries.is_empty() {
                return Err(self
                    .error("a session offers the built-in or the node's host queries, not both"));
            }
            // Without a chain the node runs before any fork.
            register_node_queries(&mut session, request.chain.unwrap_or_default());
        }
        self.chain = request.chain;
        self.node_queries = request.node_queries;
        self.session = Some(session);
        Ok(())
    }

    fn deploy(&mut self, request: &DeployRequest) -> Result<DeployOutcome, DriverError> {
        match request.node {
            None => self.deploy_with_id(request, request.id.map(|id| ContractId(id.0))),
            Some(node) => self.node_deploy(request, node),
        }
    }

    fn block(&mut self, height: u64) -> Result<(), DriverError> {
        let Some(chain) = self.chain else {
            return Err(self.error("`block` needs a session on a chain"));
        };
        let chain = Chain { height, ..chain };
        let node_queries = self.node_queries;
        let session = self.session()?;
        for (name, data) in chain.metadata() {
            session.set_host_data(name, data);
        }
        if node_queries {
            register_node_queries(session, chain);
        }
        self.chain = Some(chain);
        Ok(())
    }

    fn call(&mut self, request: &CallRequest) -> Result<CallOutcome, DriverError> {
        let kind = E::KIND;
        let session = self.session()?;
        let id = ContractId(request.contract.0);
        let engine_error = |message: String| DriverError::Engine {
            engine: kind.to_string(),
            message,
        };
        match session.call(&id, &request.function, request.arg.as_slice(), request.gas) {
            Ok(receipt) => {
                let state = session.memory_states();
                normalize::call_outcome(&receipt, state).map_err(|e| engine_error(e.to_string()))
            }
            Err(error @ VmError::UnknownContract(_)) => Ok(CallOutcome {
                result: CallResult::Failed(Failure {
                    kind: FailureKind::DoesNotExist,
                    detail: error.to_string(),
                    masked: None,
                }),
                gas_limit: request.gas,
                gas_spent: Some(0),
                events: Some(Vec::new()),
                feed: Vec::new(),
                debug: Vec::new(),
                omitted: Default::default(),
                frames: Some(Vec::new()),
                state: session.memory_states(),
                trace: None,
                grow_refused: false,
            }),
            Err(error) => Err(engine_error(error.to_string())),
        }
    }

    fn memory(&mut self, request: &MemoryRequest) -> Result<Option<MemoryRead>, DriverError> {
        let session = self.session()?;
        let Some(memory) = session.committed_memory(&ContractId(request.contract.0)) else {
            return Ok(None);
        };
        let len = memory.len() as u64;
        // Both are at most the memory's length, a usize.
        let start = usize::try_from(request.offset.min(len)).unwrap_or(memory.len());
        let end = usize::try_from(request.offset.saturating_add(request.len).min(len))
            .unwrap_or(memory.len());
        Ok(Some(MemoryRead {
            state: MemoryState {
                len,
                digest: Bytes(memory_digest(&memory).to_vec()),
            },
            bytes: Bytes(memory[start..end].to_vec()),
        }))
    }
}

/// Registers the node's queries in `session` at the fork of `chain`,
/// replacing those of another fork.
fn register_node_queries<E: Engine>(session: &mut Session<'_, E>, chain: Chain) {
    for (name, query) in node_queries::registry(chain.hard_fork()) {
        session.register_query(&name, query);
    }
}
