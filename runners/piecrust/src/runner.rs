//! The runner protocol (`docs/runner-protocol.md`) on piecrust, Dusk's
//! production contract VM. Each runner crate of this workspace compiles this
//! file against its own piecrust release; the piecrust runners serve it on
//! a bare piecrust VM (`src/bare.rs`), the `dusk-vm` runner on the node's
//! VM around piecrust (its own [`Production`]).
//!
//! The runner reads one JSON request per line on stdin and writes one JSON
//! response per line on stdout. piecrust prints contract debug messages to
//! stdout itself, so the process moves its stdout to stderr at start and
//! keeps the original stdout for the protocol alone.
//!
//! What piecrust exposes is mapped to the protocol's normalized outcome and
//! nothing is invented: a failed call has no receipt in piecrust, so its
//! gas, events and call tree are reported as not exposed.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufWriter, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::sync::{Mutex, mpsc};
use std::time::Instant;

use piecrust::{CallReceipt, ContractId, Error, Session};
use runner_protocol::chain::BLOCK_HEIGHT;
use runner_protocol::digest::{DIGEST_PAGE, digest_from_leaves, page_hash, zero_page_hash};
use runner_protocol::node_deploy::{NODE_DEPLOY_PRICE, node_charge};
use runner_protocol::outcome::{CallResult, DeployResult};
use runner_protocol::wire::{
    BlockRequest, CallRequest, DeployRequest, Hello, MemoryRead, MemoryRequest, SessionRequest,
};
use runner_protocol::wire::{RunnerTimes, nanos, resident_bytes};
use runner_protocol::{
    Bytes, CallOutcome, Chain, DeployFailure, DeployOutcome, Event, Failure, FailureKind, Frame,
    MemoryState, Omissions, Omitted, PROTOCOL_VERSION, RETAINED_ITEMS, Request, Response, Retainer,
    TrapCode, bounded_text,
};

#[path = "lock_watch.rs"]
mod lock_watch;

/// Fed data as every engine keeps it: the bounded prefix and what was
/// left out.
type Retained = (Vec<Vec<u8>>, Option<Omitted>);

/// The message of the last panic, captured by the panic hook so that it
/// can go into the outcome instead of the runner's stderr.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// A production VM behind the protocol: what differs between the runners
/// is how the VM is made and how a session is opened; deploys, calls and
/// what they report are piecrust's in every case.
pub trait Production: Sized {
    /// The engine's name in `hello`.
    const ENGINE: &'static str;

    fn new() -> Result<Self, Error>;

    /// A new session as `request` asks, or why the VM cannot open it.
    fn session(&mut self, request: &SessionRequest) -> Result<Session, String>;

    /// Moves the session to the block of `chain` (its new height): the
    /// metadata holds the new height. A VM whose rules follow the hard
    /// fork switches them too. The node runs every block in a new session
    /// on the state the last one committed; piecrust has no blocks and
    /// keeps the session.
    fn block(&mut self, mut session: Session, chain: &Chain) -> Result<BlockSession, String> {
        set_block_height(&mut session, chain)?;
        Ok(BlockSession::Same(session))
    }

    /// The id the node gives a contract it deploys
    /// (`runner_protocol::node_deploy`); `None` for a VM that deploys only
    /// as a piecrust session does.
    fn node_contract_id(&self, _bytecode: &[u8], _nonce: u64, _owner: &[u8]) -> Option<ContractId> {
        None
    }
}

/// The session a block runs in.
pub enum BlockSession {
    /// The session of the block before, at the new height.
    Same(Session),
    /// A new session on what the block before committed.
    #[allow(
        dead_code,
        reason = "only the dusk-vm runner opens a session per block; the piecrust runners compile this file too"
    )]
    New(Session),
}

/// Sets the `block_height` metadata entry of `session` to `chain`'s.
pub fn set_block_height(session: &mut Session, chain: &Chain) -> Result<(), String> {
    let height = chain
        .metadata()
        .into_iter()
        .find(|(name, _)| *name == BLOCK_HEIGHT)
        .map(|(_, bytes)| bytes)
        .unwrap_or_default();
    session
        .set_meta(BLOCK_HEIGHT, RawBytes(height))
        .map(|_previous| ())
        .map_err(|e| format!("cannot set the block height: {e}"))
}

/// Serves the protocol on stdin and stdout until `quit` or end of input.
pub fn main<P: Production>(version: &str) -> ExitCode {
    let Some(output) = protocol_output() else {
        eprintln!("piecrust runner: cannot set up the protocol output");
        return ExitCode::from(2);
    };
    std::panic::set_hook(Box::new(|info| {
        let message = if let Some(text) = info.payload().downcast_ref::<&str>() {
            (*text).to_string()
        } else if let Some(text) = info.payload().downcast_ref::<String>() {
            text.clone()
        } else {
            "a panic without a message".to_string()
        };
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(format!("{message}{location}"));
        }
    }));
    let label = option_env!("PIECRUST_RUNNER_LABEL").unwrap_or(version);
    let mut runner = match Runner::<P>::new(label) {
        Ok(runner) => runner,
        Err(error) => {
            eprintln!("{} runner: cannot create the VM: {error}", P::ENGINE);
            return ExitCode::from(2);
        }
    };
    // After the VM, so that wasmtime's handler is in place first, as in
    // production.
    if let Err(error) = lock_watch::install() {
        eprintln!(
            "{} runner: cannot watch for traps raised through SIGSEGV: {error}",
            P::ENGINE
        );
        return ExitCode::from(2);
    }
    let mut output = BufWriter::new(output);
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let (response, quit) = match serde_json::from_str::<Request>(&line) {
            Ok(Request::Quit) => (None, true),
            Ok(request) => (Some(runner.handle(request)), false),
            Err(error) => (
                Some(Response::Error {
                    message: format!("not a request: {error}"),
                }),
                false,
            ),
        };
        if quit {
            break;
        }
        let Some(response) = response else { continue };
        let text = serde_json::to_string(&response).unwrap_or_else(|error| {
            serde_json::json!({ "error": { "message": format!("cannot encode the response: {error}") } })
                .to_string()
        });
        if writeln!(output, "{text}")
            .and_then(|()| output.flush())
            .is_err()
        {
            break;
        }
    }
    ExitCode::SUCCESS
}

/// Moves fd 1 to stderr and returns a file on the original stdout.
fn protocol_output() -> Option<File> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain descriptor duplication at start, before any thread
    // writes; the new descriptor is owned by the returned file alone.
    unsafe {
        let original = libc::dup(1);
        if original < 0 || libc::dup2(2, 1) < 0 {
            return None;
        }
        Some(File::from_raw_fd(original))
    }
}

/// Bytes that rkyv serializes as themselves: piecrust keeps host data only
/// in serialized form, and the protocol gives the exact bytes `hd` returns.
#[derive(Clone)]
pub struct RawBytes(pub Vec<u8>);

impl rkyv::Archive for RawBytes {
    type Archived = ();
    type Resolver = ();

    unsafe fn resolve(&self, _pos: usize, _resolver: (), _out: *mut ()) {}
}

impl<S: rkyv::ser::Serializer + ?Sized> rkyv::Serialize<S> for RawBytes {
    fn serialize(&self, serializer: &mut S) -> Result<(), S::Error> {
        serializer.write(&self.0)
    }
}

/// An open session and what the runner tracks beside it.
struct OpenSession {
    session: Session,
    feeder: bool,
    /// Deployed contracts, in deploy order, for the state of each outcome.
    contracts: Vec<ContractId>,
    /// Debug messages already reported (piecrust keeps them per session).
    debug_seen: usize,
    /// The chain the session is on, if any (`block` moves it).
    chain: Option<Chain>,
}

struct Runner<P> {
    vm: P,
    label: String,
    session: Option<OpenSession>,
    /// Why the session can no longer be used: piecrust panicked in it.
    poisoned: Option<String>,
    hello: bool,
    /// What the runner measured of its own work (`stats`).
    times: RunnerTimes,
}

fn error(message: impl Into<String>) -> Response {
    Response::Error {
        message: message.into(),
    }
}

impl<P: Production> Runner<P> {
    fn new(label: &str) -> Result<Self, Error> {
        Ok(Runner {
            vm: P::new()?,
            label: label.to_string(),
            session: None,
            poisoned: None,
            hello: false,
            times: RunnerTimes::default(),
        })
    }

    /// Serves `request`, adding the time it took to its kind's total.
    fn handle(&mut self, request: Request) -> Response {
        let total: fn(&mut RunnerTimes) -> &mut u64 = match &request {
            Request::Session(_) => |times| &mut times.session_ns,
            Request::Deploy(_) => |times| &mut times.deploy_ns,
            Request::Call(_) => |times| &mut times.call_ns,
            _ => |times| &mut times.other_ns,
        };
        let started = Instant::now();
        let response = self.serve(request);
        *total(&mut self.times) += nanos(started.elapsed());
        self.times.requests += 1;
        response
    }

    fn serve(&mut self, request: Request) -> Response {
        match request {
            Request::Hello { protocol } => {
                if protocol != PROTOCOL_VERSION {
                    return error(format!(
                        "this runner speaks protocol {PROTOCOL_VERSION}, not {protocol}"
                    ));
                }
                self.hello = true;
                Response::Hello(Hello {
                    protocol: PROTOCOL_VERSION,
                    engine: P::ENGINE.into(),
                    version: self.label.clone(),
                })
            }
            _ if !self.hello => error("the first request must be `hello`"),
            Request::Session(request) => self.open(request),
            Request::Deploy(request) => self.with_session(|runner| runner.deploy(request)),
            Request::Call(request) => self.with_session(|runner| runner.call(request)),
            Request::Memory(request) => self.with_session(|runner| runner.memory(request)),
            Request::Block(request) => self.with_session(|runner| runner.block(request)),
            Request::Stats => Response::Stats(RunnerTimes {
                // This request is counted once served.
                requests: self.times.requests + 1,
                rss_bytes: resident_bytes("self").unwrap_or(0),
                ..self.times
            }),
            Request::Quit => error("quit has no response"),
        }
    }

    fn with_session(&mut self, serve: impl FnOnce(&mut Self) -> Response) -> Response {
        if let Some(reason) = &self.poisoned {
            return error(format!(
                "the session is unusable after a host panic: {reason}"
            ));
        }
        if self.session.is_none() {
            return error("no session: send `session` first");
        }
        serve(self)
    }

    fn block(&mut self, request: BlockRequest) -> Response {
        let Some(open) = self.session.as_ref() else {
            return error("no session: send `session` first");
        };
        let Some(chain) = open.chain else {
            return error("`block` needs a session on a chain");
        };
        let chain = Chain {
            height: request.height,
            ..chain
        };
        let Some(mut open) = self.session.take() else {
            return error("no session: send `session` first");
        };
        match self.vm.block(open.session, &chain) {
            Ok(BlockSession::Same(session)) => {
                open.session = session;
            }
            Ok(BlockSession::New(session)) => {
                open.session = session;
                // The new session's debug messages start afresh.
                open.debug_seen = 0;
            }
            // The session is gone with the failed commit.
            Err(message) => return error(message),
        }
        open.chain = Some(chain);
        self.session = Some(open);
        Response::Block {}
    }

    fn open(&mut self, request: SessionRequest) -> Response {
        if lock_watch::lock_left_held() {
            // Dropping the session, or creating a contract's memory in the
            // next one, would wait for the lock forever.
            return Response::Broken {
                reason: "a trap raised through SIGSEGV left crumbles' memory-map lock held (segv-trap-crash)"
                    .into(),
            };
        }
        self.session = None;
        self.poisoned = None;
        match self.vm.session(&request) {
            Ok(session) => {
                self.session = Some(OpenSession {
                    session,
                    feeder: request.feeder,
                    contracts: Vec::new(),
                    debug_seen: 0,
                    chain: request.chain,
                });
                Response::Session {}
            }
            Err(message) => error(message),
        }
    }

    /// Runs `operation` on the session, turning a panic into its message
    /// and poisoning the session.
    fn guarded<T>(&mut self, operation: impl FnOnce(&mut OpenSession) -> T) -> Result<T, String> {
        let Some(open) = self.session.as_mut() else {
            return Err("no session".into());
        };
        match catch_unwind(AssertUnwindSafe(|| operation(open))) {
            Ok(value) => Ok(value),
            Err(_) => {
                let message = LAST_PANIC
                    .lock()
                    .ok()
                    .and_then(|mut last| last.take())
                    .unwrap_or_else(|| "piecrust panicked".into());
                self.poisoned = Some(message.clone());
                Err(message)
            }
        }
    }

    fn deploy(&mut self, request: DeployRequest) -> Response {
        let has_init = exports_init(request.bytecode.as_slice());
        let mut id = request.id.map(|id| ContractId::from_bytes(id.0));
        // A node deploy: refused below the deploy charge, otherwise at the
        // node's id and charged (`runner_protocol::node_deploy`).
        let mut charge = None;
        if let Some(node) = request.node {
            if id.is_some() {
                return error("a node deploy derives its id; the request names one");
            }
            let Some(node_id) = self.vm.node_contract_id(
                request.bytecode.as_slice(),
                node.nonce,
                request.owner.as_slice(),
            ) else {
                return error(format!(
                    "{} deploys as a piecrust session does; node deploys need the node's VM",
                    P::ENGINE
                ));
            };
            match NODE_DEPLOY_PRICE.admit(request.bytecode.len(), request.gas) {
                Ok(node_charge) => charge = Some(node_charge),
                Err(failure) => {
                    return Response::Deploy(DeployOutcome {
                        result: DeployResult::Failed(failure),
                        init: None,
                        state: self.state(),
                        charged: None,
                    });
                }
            }
            id = Some(node_id);
        }
        let deployed = self.guarded(|open| {
            open.session.deploy_raw(
                id,
                request.bytecode.as_slice(),
                Some(request.init_arg.0.clone()),
                request.owner.0.clone(),
                request.gas,
            )
        });
        let (result, init) = match deployed {
            Err(message) => (
                DeployResult::Failed(DeployFailure::HostPanic { message }),
                None,
            ),
            Ok(Ok((id, receipt))) => {
                if let Some(open) = self.session.as_mut() {
                    open.contracts.push(id);
                }
                let init = receipt.map(|receipt| self.receipt_outcome(receipt, (Vec::new(), None)));
                (DeployResult::Deployed(protocol_id(&id)), init)
            }
            Ok(Err(e)) => (DeployResult::Failed(deploy_failure(e, has_init)), None),
        };
        let state = self.state();
        let init = init.map(|mut outcome| {
            outcome.state = state.clone();
            outcome
        });
        let charged = charge.map(|charge| {
            node_charge(
                charge,
                request.gas,
                matches!(result, DeployResult::Deployed(_)),
            )
        });
        Response::Deploy(DeployOutcome {
            result,
            init,
            state,
            charged,
        })
    }

    fn call(&mut self, request: CallRequest) -> Response {
        let contract = ContractId::from_bytes(request.contract.0);
        let (sender, receiver) = mpsc::channel();
        let called = self.guarded(|open| {
            let arg = request.arg.0.clone();
            if open.feeder {
                open.session
                    .feeder_call_raw(contract, &request.function, arg, request.gas, sender)
            } else {
                drop(sender);
                open.session
                    .call_raw(contract, &request.function, arg, request.gas)
            }
        });
        // What every engine keeps of fed data: a bounded prefix, the rest
        // counted and digested (runner_protocol::retained).
        let feed = receiver.try_iter().collect::<Retainer<Vec<u8>>>().take();
        let mut outcome = match called {
            Err(message) => CallOutcome {
                result: CallResult::Failed(Failure {
                    kind: FailureKind::HostPanic,
                    detail: message,
                    masked: None,
                }),
                ..self.bare_outcome(request.gas, feed)
            },
            Ok(Ok(receipt)) => self.receipt_outcome(receipt, feed),
            Ok(Err(e)) => CallOutcome {
                result: CallResult::Failed(failure(e)),
                ..self.bare_outcome(request.gas, feed)
            },
        };
        outcome.state = self.state();
        Response::Call(outcome)
    }

    /// The outcome of a call piecrust gave no receipt for: only what the
    /// session still shows (debug messages, fed data).
    fn bare_outcome(&mut self, gas_limit: u64, feed: Retained) -> CallOutcome {
        let (debug, debug_omitted) = self.new_debug();
        CallOutcome {
            result: CallResult::Output(Bytes::default()),
            gas_limit,
            gas_spent: None,
            events: None,
            feed: feed.0.into_iter().map(Bytes).collect(),
            debug,
            omitted: Omissions {
                debug: debug_omitted,
                feed: feed.1,
                events: None,
            },
            frames: None,
            state: BTreeMap::new(),
            trace: None,
            grow_refused: false,
        }
    }

    fn receipt_outcome(&mut self, receipt: CallReceipt<Vec<u8>>, feed: Retained) -> CallOutcome {
        let (debug, debug_omitted) = self.new_debug();
        // piecrust walks the tree from its last frame backwards: reversed,
        // that is pre-order.
        let mut frames: Vec<Frame> = receipt
            .call_tree
            .iter()
            .map(|elem| Frame {
                contract: protocol_id(&elem.contract_id),
                limit: elem.limit,
                spent: elem.spent,
            })
            .collect();
        frames.reverse();
        // What every engine keeps of events: a bounded prefix, the rest
        // counted and digested. A tree of more frames than ours keep is
        // not exposed (ours cannot list every frame that succeeded then).
        let (events, events_omitted) = receipt
            .events
            .into_iter()
            .map(|event| Event {
                source: protocol_id(&event.source),
                topic: event.topic,
                data: Bytes(event.data),
                reverted: event.reverted,
            })
            .collect::<Retainer<Event>>()
            .take();
        let frames = (frames.len() <= RETAINED_ITEMS).then_some(frames);
        CallOutcome {
            result: CallResult::Output(Bytes(receipt.data)),
            gas_limit: receipt.gas_limit,
            gas_spent: Some(receipt.gas_spent),
            events: Some(events),
            feed: feed.0.into_iter().map(Bytes).collect(),
            debug,
            omitted: Omissions {
                debug: debug_omitted,
                feed: feed.1,
                events: events_omitted,
            },
            frames,
            state: BTreeMap::new(),
            trace: None,
            grow_refused: false,
        }
    }

    /// The debug messages since the last call, bounded as every engine
    /// bounds them.
    fn new_debug(&mut self) -> (Vec<String>, Option<Omitted>) {
        let Some(open) = self.session.as_mut() else {
            return (Vec::new(), None);
        };
        let seen = open.debug_seen;
        let (count, mut retained) = open.session.with_debug(|messages| {
            let new = messages.get(seen..).unwrap_or_default();
            (new.len(), new.iter().cloned().collect::<Retainer<String>>())
        });
        open.debug_seen += count;
        retained.take()
    }

    /// Every deployed contract's memory.
    fn state(&mut self) -> BTreeMap<runner_protocol::ContractId, MemoryState> {
        let started = Instant::now();
        let state = self.state_untimed();
        self.times.digest_ns += nanos(started.elapsed());
        state
    }

    fn state_untimed(&mut self) -> BTreeMap<runner_protocol::ContractId, MemoryState> {
        let Ok(state) = self.guarded(|open| {
            let mut state = BTreeMap::new();
            let ids = open.contracts.clone();
            for id in ids {
                if let Some(memory) = memory_state(&mut open.session, id) {
                    state.insert(protocol_id(&id), memory);
                }
            }
            state
        }) else {
            return BTreeMap::new();
        };
        state
    }

    fn memory(&mut self, request: MemoryRequest) -> Response {
        let id = ContractId::from_bytes(request.contract.0);
        let read = self.guarded(|open| {
            let state = memory_state(&mut open.session, id)?;
            let bytes = read_memory(&open.session, id, state.len, request.offset, request.len);
            Some(MemoryRead {
                state,
                bytes: Bytes(bytes),
            })
        });
        match read {
            Ok(read) => Response::Memory(read),
            Err(message) => error(format!("piecrust panicked reading memory: {message}")),
        }
    }
}

fn protocol_id(id: &ContractId) -> runner_protocol::ContractId {
    runner_protocol::ContractId(id.to_bytes())
}

/// The length and digest of a contract's memory, from the pages piecrust
/// keeps (pages it does not list are zero).
fn memory_state(session: &mut Session, id: ContractId) -> Option<MemoryState> {
    let len = session.memory_len(id).ok()??;
    let mut leaves = vec![zero_page_hash(); len.div_ceil(DIGEST_PAGE)];
    for (index, page, _) in session.memory_pages(id)? {
        let start = index * page.len();
        for (offset, chunk) in page.chunks(DIGEST_PAGE).enumerate() {
            let leaf = start / DIGEST_PAGE + offset;
            let chunk_start = leaf * DIGEST_PAGE;
            if chunk_start >= len {
                break;
            }
            let chunk = &chunk[..chunk.len().min(len - chunk_start)];
            leaves[leaf] = page_hash(chunk);
        }
    }
    Some(MemoryState {
        len: len as u64,
        digest: Bytes(digest_from_leaves(len as u64, leaves).to_vec()),
    })
}

fn read_memory(session: &Session, id: ContractId, len: u64, offset: u64, want: u64) -> Vec<u8> {
    let start = offset.min(len);
    let end = offset.saturating_add(want).min(len);
    let mut bytes = vec![0u8; (end - start) as usize];
    if let Some(pages) = session.memory_pages(id) {
        for (index, page, _) in pages {
            let page_start = (index * page.len()) as u64;
            let page_end = page_start + page.len() as u64;
            let from = start.max(page_start);
            let to = end.min(page_end);
            if from < to {
                bytes[(from - start) as usize..(to - start) as usize].copy_from_slice(
                    &page[(from - page_start) as usize..(to - page_start) as usize],
                );
            }
        }
    }
    bytes
}

/// Whether the module exports a function named `init`.
fn exports_init(bytecode: &[u8]) -> bool {
    for payload in wasmparser::Parser::new(0).parse_all(bytecode) {
        match payload {
            Ok(wasmparser::Payload::ExportSection(reader)) => {
                return reader.into_iter().flatten().any(|export| {
                    export.name == "init" && export.kind == wasmparser::ExternalKind::Func
                });
            }
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

fn trap_code(error: &dusk_wasmtime::Error) -> Option<Result<TrapCode, FailureKind>> {
    use dusk_wasmtime::Trap;
    let trap = error.downcast_ref::<Trap>()?;
    Some(Ok(match trap {
        Trap::StackOverflow => TrapCode::StackOverflow,
        Trap::MemoryOutOfBounds | Trap::HeapMisaligned => TrapCode::MemoryOutOfBounds,
        Trap::TableOutOfBounds => TrapCode::TableOutOfBounds,
        Trap::IndirectCallToNull => TrapCode::IndirectCallToNull,
        Trap::BadSignature => TrapCode::BadSignature,
        Trap::IntegerOverflow => TrapCode::IntegerOverflow,
        Trap::IntegerDivisionByZero => TrapCode::IntegerDivisionByZero,
        Trap::BadConversionToInteger => TrapCode::BadConversionToInteger,
        Trap::UnreachableCodeReached => TrapCode::Unreachable,
        Trap::OutOfFuel => return Some(Err(FailureKind::OutOfGas)),
        _ => return Some(Err(FailureKind::Unknown)),
    }))
}

/// A call's error in the protocol's terms.
fn failure(error: Error) -> Failure {
    let detail = bounded_text(error.to_string());
    let kind = match error {
        Error::Panic(message) => FailureKind::Panic { message },
        Error::OutOfGas => FailureKind::OutOfGas,
        Error::RuntimeError(e) => match trap_code(&e) {
            Some(Ok(code)) => FailureKind::Trap { code },
            Some(Err(kind)) => kind,
            // Host functions return a text's decoding error as it is.
            None if e.downcast_ref::<std::str::Utf8Error>().is_some() => FailureKind::InvalidUtf8,
            None => FailureKind::Unknown,
        },
        Error::MemoryAccessOutOfBounds { .. } | Error::ArgumentBufferOverflow { .. } => {
            FailureKind::MemoryAccess
        }
        Error::Utf8(_) => FailureKind::InvalidUtf8,
        Error::MissingFeed | Error::FeedPulled(_) => FailureKind::MissingFeed,
        Error::MissingHostQuery(name) => FailureKind::MissingHostQuery {
            name: bounded_text(name),
        },
        Error::InvalidFunction(name) => FailureKind::MissingFunction {
            name: bounded_text(name),
        },
        Error::InitalizationError(ref text) if text.contains("init call not allowed") => {
            FailureKind::InitNotCallable
        }
        Error::ContractDoesNotExist(_) => FailureKind::DoesNotExist,
        _ => FailureKind::Unknown,
    };
    Failure {
        kind,
        detail,
        masked: None,
    }
}

/// A deploy's error in the protocol's terms. piecrust reports a failing
/// `init` with the call's own error, so a contract with `init` whose deploy
/// fails with a call error failed in `init`.
fn deploy_failure(error: Error, has_init: bool) -> DeployFailure {
    match error {
        Error::InitalizationError(text) if text.contains("already exists") => {
            DeployFailure::DuplicateId
        }
        Error::TooManyMemories(_)
        | Error::InvalidArgumentBuffer
        | Error::InvalidMemory
        | Error::ValidationError
        | Error::InvalidFunction(_) => DeployFailure::Rejected {
            message: bounded_text(error.to_string()),
            rule: None,
        },
        Error::RuntimeError(e) => match trap_code(&e) {
            Some(Ok(code)) if !has_init => DeployFailure::InstantiationTrap {
                code,
                message: format!("{e:#}"),
            },
            Some(_) if has_init => DeployFailure::InitFailed {
                failure: failure(Error::RuntimeError(e)),
            },
            _ => DeployFailure::Rejected {
                message: format!("{e:#}"),
                rule: None,
            },
        },
        other if has_init => DeployFailure::InitFailed {
            failure: failure(other),
        },
        other => DeployFailure::Rejected {
            message: bounded_text(other.to_string()),
            rule: None,
        },
    }
}
