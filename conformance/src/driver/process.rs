//! A VM under test in its own process, speaking the runner protocol on its
//! stdin and stdout. A process starts for every session, answers `hello`
//! with the protocol version, and serves that session's steps. What it
//! printed on stderr last goes into crash reports.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use runner_protocol::outcome::{CallResult, DeployResult};
use runner_protocol::wire::{
    BlockRequest, CallRequest, DeployRequest, Hello, MemoryRead, MemoryRequest, SessionRequest,
};
use runner_protocol::{
    CallOutcome, DeployFailure, DeployOutcome, Failure, FailureKind, PROTOCOL_VERSION, Request,
    Response, TrapCode,
};

use super::{Driver, DriverError};

/// Lines of the runner's stderr kept for a crash report.
const STDERR_LINES: usize = 20;
/// Longest line of a response we accept, in bytes (a response carries at
/// most a 64 KiB output and its events, each as hex).
const MAX_RESPONSE: usize = 64 << 20;

struct Connection {
    child: Child,
    stdin: ChildStdin,
    responses: Receiver<Result<String, String>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What befell a runner over its life: what a long campaign reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunnerStats {
    /// Processes started (the first one included).
    pub starts: u64,
    /// Processes started in place of an earlier one (a crash, a timeout, a
    /// request that may have left the process broken).
    pub restarts: u64,
    /// Outcomes that were the VM panicking: reported by the runner, or its
    /// process dying during a request.
    pub host_panics: u64,
    /// Processes that died during a request (counted in `host_panics`).
    pub crashes: u64,
    /// Requests not answered in time (the process was stopped).
    pub timeouts: u64,
}

impl RunnerStats {
    pub fn merge(&mut self, other: &RunnerStats) {
        self.starts += other.starts;
        self.restarts += other.restarts;
        self.host_panics += other.host_panics;
        self.crashes += other.crashes;
        self.timeouts += other.timeouts;
    }
}

/// A runner process.
pub struct RunnerProcess {
    engine: String,
    baseline: String,
    binary: PathBuf,
    /// The run's limit of one request.
    default_timeout: Duration,
    /// The limit of the requests of the sessions opened from now on.
    timeout: Duration,
    connection: Option<Connection>,
    /// Why the current session is lost: a request of it was not answered
    /// in time, so the process was stopped with its state, and every later
    /// step of the session times out too.
    lost_session: Option<String>,
    /// Whether sessions share a process (see [`RunnerProcess::persistent`]).
    persistent: bool,
    /// Whether the process may be broken: a trap raised through SIGSEGV
    /// happened in it (see [`leaves_process_broken`]).
    tainted: bool,
    stats: RunnerStats,
    /// The runner's answer to `hello`, once connected.
    pub hello: Option<Hello>,
}

fn describe(request: &Request) -> String {
    match request {
        Request::Hello { .. } => "hello".into(),
        Request::Session(_) => "session".into(),
        Request::Deploy(deploy) => format!("deploy ({} bytes)", deploy.bytecode.len()),
        Request::Call(call) => format!("call {}", call.function),
        Request::Memory(_) => "memory".into(),
        Request::Block(block) => format!("block {}", block.height),
        Request::Quit => "quit".into(),
    }
}

impl RunnerProcess {
    pub fn new(engine: String, baseline: String, binary: PathBuf, timeout: Duration) -> Self {
        RunnerProcess {
            engine,
            baseline,
            binary,
            default_timeout: timeout,
            timeout,
            connection: None,
            lost_session: None,
            persistent: false,
            tainted: false,
            stats: RunnerStats::default(),
            hello: None,
        }
    }

    /// What befell this runner so far.
    pub fn stats(&self) -> RunnerStats {
        self.stats
    }

    /// Keeps one process for many sessions, as long as no request left it
    /// possibly broken: what a fuzzer, running thousands of short sessions,
    /// needs. The suite starts a process per session.
    pub fn persistent(mut self) -> Self {
        self.persistent = true;
        self
    }

    /// Restarts the process before the next session: a caller that knows
    /// more than the runner reported (a trap production reported as
    /// `out_of_gas`) says it may be broken.
    pub fn mark_broken(&mut self) {
        self.tainted = true;
    }

    fn start(&mut self) -> Result<(), DriverError> {
        self.tainted = false;
        if self.stats.starts > 0 {
            self.stats.restarts += 1;
        }
        self.stats.starts += 1;
        let mut child = Command::new(&self.binary)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| DriverError::Spawn {
                engine: self.engine.clone(),
                binary: self.binary.clone(),
                source,
            })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            return Err(DriverError::Protocol {
                engine: self.engine.clone(),
                request: "start".into(),
                message: "no pipes to the runner".into(),
            });
        };
        let (sender, responses) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                match std::io::Read::take(&mut reader, MAX_RESPONSE as u64 + 1)
                    .read_until(b'\n', &mut line)
                {
                    Ok(0) => break,
                    Ok(_) if line.len() > MAX_RESPONSE => {
                        let _ = sender.send(Err(format!(
                            "a response line longer than {MAX_RESPONSE} bytes"
                        )));
                        break;
                    }
                    Ok(_) => {
                        let text = String::from_utf8(line)
                            .map_err(|_| "a response that is not UTF-8".to_string());
                        if sender.send(text).is_err() {
                            break;
                        }
                    }
                    Err(error) => {
                        let _ = sender.send(Err(error.to_string()));
                        break;
                    }
                }
            }
        });
        let kept = Arc::new(Mutex::new(VecDeque::new()));
        let lines = kept.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut lines) = lines.lock() {
                    if lines.len() == STDERR_LINES {
                        lines.pop_front();
                    }
                    lines.push_back(line);
                }
            }
        });
        self.connection = Some(Connection {
            child,
            stdin,
            responses,
            stderr: kept,
        });
        let hello = Request::Hello {
            protocol: PROTOCOL_VERSION,
        };
        match self.request_within(&hello, self.setup_timeout())? {
            Response::Hello(hello) if hello.protocol == PROTOCOL_VERSION => {
                self.hello = Some(hello);
                Ok(())
            }
            Response::Hello(hello) => {
                self.connection = None;
                Err(DriverError::Protocol {
                    engine: self.engine.clone(),
                    request: "hello".into(),
                    message: format!(
                        "the runner speaks protocol {}, the suite {PROTOCOL_VERSION}",
                        hello.protocol
                    ),
                })
            }
            other => {
                self.connection = None;
                Err(self.unexpected("hello", &other))
            }
        }
    }

    fn unexpected(&self, request: &str, response: &Response) -> DriverError {
        match response {
            Response::Error { message } => DriverError::Refused {
                engine: self.engine.clone(),
                request: request.into(),
                message: message.clone(),
            },
            other => DriverError::Protocol {
                engine: self.engine.clone(),
                request: request.into(),
                message: format!(
                    "an answer of the wrong kind: {}",
                    serde_json::to_string(other)
                        .unwrap_or_default()
                        .chars()
                        .take(200)
                        .collect::<String>()
                ),
            },
        }
    }

    /// The runner's exit and last stderr lines, once it is gone.
    fn crashed(&mut self, request: &str) -> DriverError {
        let (status, stderr) = match self.connection.take() {
            Some(mut connection) => {
                let status = match connection.child.try_wait() {
                    Ok(Some(status)) => format!(" ({status})"),
                    _ => {
                        let _ = connection.child.kill();
                        connection
                            .child
                            .wait()
                            .map(|status| format!(" ({status})"))
                            .unwrap_or_default()
                    }
                };
                // Let the stderr thread catch up with the last lines.
                std::thread::sleep(Duration::from_millis(20));
                let lines: Vec<String> = connection
                    .stderr
                    .lock()
                    .map(|lines| lines.iter().cloned().collect())
                    .unwrap_or_default();
                let stderr = if lines.is_empty() {
                    String::new()
                } else {
                    format!("; its last stderr lines:\n    {}", lines.join("\n    "))
                };
                (status, stderr)
            }
            None => (String::new(), String::new()),
        };
        DriverError::Crashed {
            engine: self.engine.clone(),
            request: request.into(),
            status,
            stderr,
        }
    }

    /// Sends one request and waits for its response.
    fn request(&mut self, request: &Request) -> Result<Response, DriverError> {
        self.request_within(request, self.timeout)
    }

    /// How long starting a process and opening a session may take: a
    /// scenario's short step limit is for its steps, not for these.
    fn setup_timeout(&self) -> Duration {
        self.timeout.max(self.default_timeout)
    }

    /// [`RunnerProcess::request`] with its own timeout.
    fn request_within(
        &mut self,
        request: &Request,
        timeout: Duration,
    ) -> Result<Response, DriverError> {
        let what = describe(request);
        let line = serde_json::to_string(request).map_err(|e| DriverError::Protocol {
            engine: self.engine.clone(),
            request: what.clone(),
            message: format!("cannot encode the request: {e}"),
        })?;
        let Some(connection) = self.connection.as_mut() else {
            return Err(DriverError::Protocol {
                engine: self.engine.clone(),
                request: what,
                message: "not connected".into(),
            });
        };
        let sent = writeln!(connection.stdin, "{line}").and_then(|()| connection.stdin.flush());
        if sent.is_err() {
            return Err(self.crashed(&what));
        }
        let Some(connection) = self.connection.as_mut() else {
            return Err(self.crashed(&what));
        };
        match connection.responses.recv_timeout(timeout) {
            Ok(Ok(text)) => serde_json::from_str(&text).map_err(|e| {
                let shown: String = text.chars().take(200).collect();
                self.connection = None;
                DriverError::Protocol {
                    engine: self.engine.clone(),
                    request: what,
                    message: format!("not a response ({e}): {shown}"),
                }
            }),
            Ok(Err(message)) => {
                self.connection = None;
                Err(DriverError::Protocol {
                    engine: self.engine.clone(),
                    request: what,
                    message,
                })
            }
            Err(RecvTimeoutError::Timeout) => {
                self.connection = None;
                self.stats.timeouts += 1;
                Err(DriverError::Timeout {
                    engine: self.engine.clone(),
                    request: what,
                    limit: timeout,
                })
            }
            Err(RecvTimeoutError::Disconnected) => Err(self.crashed(&what)),
        }
    }
}

/// How long a reused runner process may take to open a session (it takes
/// milliseconds) before it is taken for deadlocked and replaced.
const SESSION_REUSE_TIMEOUT: Duration = Duration::from_secs(2);

impl Driver for RunnerProcess {
    fn name(&self) -> String {
        self.engine.clone()
    }

    fn baseline(&self) -> String {
        self.baseline.clone()
    }

    fn set_step_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout.unwrap_or(self.default_timeout);
    }

    fn open_session(&mut self, request: &SessionRequest) -> Result<(), DriverError> {
        self.lost_session = None;
        // A fresh process for every session (about 3 ms): production can
        // leave process-wide state broken (a trap raised through SIGSEGV
        // leaks a global lock of piecrust's memory, and dropping the session
        // then deadlocks), which must not fall on the next scenario.
        let wire = Request::Session(request.clone());
        if self.persistent && !self.tainted && self.connection.is_some() {
            // Opening a session drops the previous one, which deadlocks
            // after a SIGSEGV trap nothing showed (one in a nested frame
            // that production reports as success): a reused process that
            // does not answer at once is replaced.
            match self.request_within(&wire, SESSION_REUSE_TIMEOUT) {
                Ok(Response::Session {}) => return Ok(()),
                Ok(other) => return Err(self.unexpected("session", &other)),
                Err(DriverError::Timeout { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        self.connection = None;
        self.start()?;
        match self.request_within(&wire, self.setup_timeout())? {
            Response::Session {} => Ok(()),
            other => Err(self.unexpected("session", &other)),
        }
    }

    fn deploy(&mut self, request: &DeployRequest) -> Result<DeployOutcome, DriverError> {
        if self.lost_session.is_some() {
            return Ok(DeployOutcome::timed_out());
        }
        let wire = Request::Deploy(request.clone());
        match self.request(&wire) {
            Ok(Response::Deploy(outcome)) => {
                let init_failure = match &outcome.result {
                    DeployResult::Failed(DeployFailure::InitFailed { failure }) => {
                        Some(&failure.kind)
                    }
                    DeployResult::Failed(DeployFailure::HostPanic { .. }) => {
                        Some(&FailureKind::HostPanic)
                    }
                    _ => None,
                };
                if init_failure == Some(&FailureKind::HostPanic) {
                    self.stats.host_panics += 1;
                }
                if init_failure.is_some_and(leaves_process_broken) {
                    self.tainted = true;
                }
                Ok(outcome)
            }
            Ok(other) => Err(self.unexpected(&describe(&wire), &other)),
            // The VM took its process down: that is the deploy's outcome.
            Err(error @ DriverError::Crashed { .. }) => {
                self.stats.host_panics += 1;
                self.stats.crashes += 1;
                Ok(DeployOutcome {
                    result: DeployResult::Failed(DeployFailure::HostPanic {
                        message: error.to_string(),
                    }),
                    init: None,
                    state: BTreeMap::new(),
                    charged: None,
                })
            }
            Err(error @ DriverError::Timeout { .. }) => {
                self.lost_session = Some(error.to_string());
                Ok(DeployOutcome::timed_out())
            }
            Err(error) => Err(error),
        }
    }

    fn call(&mut self, request: &CallRequest) -> Result<CallOutcome, DriverError> {
        if let Some(lost) = &self.lost_session {
            return Ok(CallOutcome::timed_out(
                request.gas,
                format!("an earlier step of the session timed out ({lost})"),
            ));
        }
        let wire = Request::Call(request.clone());
        match self.request(&wire) {
            Ok(Response::Call(outcome)) => {
                if let CallResult::Failed(failure) = &outcome.result {
                    if failure.kind == FailureKind::HostPanic {
                        self.stats.host_panics += 1;
                    }
                    if leaves_process_broken(&failure.kind) {
                        self.tainted = true;
                    }
                }
                Ok(outcome)
            }
            Ok(other) => Err(self.unexpected(&describe(&wire), &other)),
            // The VM took its process down: that is the call's outcome,
            // and nothing else of it can be seen.
            Err(error @ DriverError::Crashed { .. }) => {
                self.stats.host_panics += 1;
                self.stats.crashes += 1;
                Ok(CallOutcome {
                    result: CallResult::Failed(Failure {
                        kind: FailureKind::HostPanic,
                        detail: error.to_string(),
                        masked: None,
                    }),
                    gas_limit: request.gas,
                    gas_spent: None,
                    events: None,
                    feed: Vec::new(),
                    debug: Vec::new(),
                    omitted: Default::default(),
                    frames: None,
                    state: BTreeMap::new(),
                    trace: None,
                    grow_refused: false,
                })
            }
            Err(error @ DriverError::Timeout { .. }) => {
                let detail = error.to_string();
                self.lost_session = Some(detail.clone());
                Ok(CallOutcome::timed_out(request.gas, detail))
            }
            Err(error) => Err(error),
        }
    }

    fn memory(&mut self, request: &MemoryRequest) -> Result<Option<MemoryRead>, DriverError> {
        match self.request(&Request::Memory(request.clone()))? {
            Response::Memory(read) => Ok(read),
            other => Err(self.unexpected("memory", &other)),
        }
    }

    fn block(&mut self, height: u64) -> Result<(), DriverError> {
        match self.request(&Request::Block(BlockRequest { height }))? {
            Response::Block {} => Ok(()),
            other => Err(self.unexpected("block", &other)),
        }
    }
}

/// Whether a failure may leave piecrust's process broken: a panic, or a
/// trap wasmtime raises through SIGSEGV (an indirect call to a null entry,
/// a table index past the end, a memory access past the reservation, a
/// stack overflow), after which piecrust's memory library keeps a global
/// lock forever (`segv-trap-crash` in `docs/deviations.md`).
pub fn leaves_process_broken(kind: &FailureKind) -> bool {
    matches!(
        kind,
        FailureKind::HostPanic
            | FailureKind::Trap {
                code: TrapCode::IndirectCallToNull
                    | TrapCode::TableOutOfBounds
                    | TrapCode::MemoryOutOfBounds
                    | TrapCode::StackOverflow
            }
    )
}

impl Drop for RunnerProcess {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.as_mut() {
            let _ = writeln!(connection.stdin, "{{\"op\":\"quit\"}}");
        }
    }
}
