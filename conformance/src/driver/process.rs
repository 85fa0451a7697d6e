//! A VM under test in its own process, speaking the runner protocol on its
//! stdin and stdout. A process answers `hello` with the protocol version
//! and serves sessions: the suite starts one for every session; a
//! persistent runner (the fuzzer's) keeps one until it is broken (a crash,
//! a timeout, a panic of the VM, or the runner's own `broken` answer), with
//! a spare process started beside it. What a process printed on stderr last
//! goes into crash reports.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use runner_protocol::outcome::{CallResult, DeployResult};
use runner_protocol::wire::{
    BlockRequest, CallRequest, DeployRequest, Hello, MemoryRead, MemoryRequest, RunnerTimes,
    SessionRequest, nanos, resident_bytes,
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
    /// Disconnected when the stderr thread has read the last line.
    stderr_closed: Receiver<()>,
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
    /// Processes started in place of an earlier one, for any cause.
    pub restarts: u64,
    /// The restarts by cause.
    pub restart_causes: RestartCauses,
    /// Outcomes that were the VM panicking: reported by the runner, or its
    /// process dying during a request.
    pub host_panics: u64,
    /// Processes that died during a request (counted in `host_panics`).
    pub crashes: u64,
    /// Requests of a session's steps, or of starting a process and opening
    /// its first session, not answered in time (the process was stopped).
    pub timeouts: u64,
    /// Reused processes that did not open the next session within
    /// [`SESSION_REUSE_TIMEOUT`] and were taken for deadlocked (not in
    /// `timeouts`).
    pub probe_timeouts: u64,
}

/// Why a runner process was replaced: each restart has exactly one cause,
/// the first one seen since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RestartCauses {
    /// The process died during a request.
    pub crash: u64,
    /// A request was not answered in time.
    pub timeout: u64,
    /// A reused process did not open a session in time.
    pub probe_timeout: u64,
    /// The runner reported a panic of the VM.
    pub host_panic: u64,
    /// The runner found its process broken (a trap raised through SIGSEGV
    /// left piecrust's memory-map lock held) and answered `broken`.
    pub lock_held: u64,
    /// The runner broke the protocol.
    pub protocol: u64,
    /// A persistent process had grown past [`RUNNER_RSS_LIMIT`] when the
    /// next session was to open.
    pub memory: u64,
    /// A process per session (the suite's mode, not
    /// [`RunnerProcess::persistent`]).
    pub new_session: u64,
}

impl RestartCauses {
    fn count(&mut self, cause: RestartCause) {
        let count = match cause {
            RestartCause::Crash => &mut self.crash,
            RestartCause::Timeout => &mut self.timeout,
            RestartCause::ProbeTimeout => &mut self.probe_timeout,
            RestartCause::HostPanic => &mut self.host_panic,
            RestartCause::LockHeld => &mut self.lock_held,
            RestartCause::Protocol => &mut self.protocol,
            RestartCause::Memory => &mut self.memory,
            RestartCause::NewSession => &mut self.new_session,
        };
        *count += 1;
    }

    pub fn merge(&mut self, other: &RestartCauses) {
        self.crash += other.crash;
        self.timeout += other.timeout;
        self.probe_timeout += other.probe_timeout;
        self.host_panic += other.host_panic;
        self.lock_held += other.lock_held;
        self.protocol += other.protocol;
        self.memory += other.memory;
        self.new_session += other.new_session;
    }

    /// The causes with their counts, for reports.
    pub fn named(&self) -> [(&'static str, u64); 8] {
        [
            ("crash", self.crash),
            ("timeout", self.timeout),
            ("probe timeout", self.probe_timeout),
            ("host panic", self.host_panic),
            ("lock held", self.lock_held),
            ("protocol", self.protocol),
            ("memory", self.memory),
            ("new session", self.new_session),
        ]
    }
}

/// One cause of [`RestartCauses`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RestartCause {
    Crash,
    Timeout,
    ProbeTimeout,
    HostPanic,
    LockHeld,
    Protocol,
    Memory,
    NewSession,
}

impl RunnerStats {
    pub fn merge(&mut self, other: &RunnerStats) {
        self.starts += other.starts;
        self.restarts += other.restarts;
        self.restart_causes.merge(&other.restart_causes);
        self.host_panics += other.host_panics;
        self.crashes += other.crashes;
        self.timeouts += other.timeouts;
        self.probe_timeouts += other.probe_timeouts;
    }
}

/// Where a runner's time went, as the driver saw it (each request's round
/// trip, by kind) and as its processes measured it themselves
/// ([`RunnerTimes`], asked with `stats` before a persistent process is
/// replaced and by [`RunnerProcess::collect_times`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunnerTime {
    /// Nanoseconds starting processes: spawning and `hello` (whose answer
    /// a spare may have given before it was needed).
    pub spawn_ns: u64,
    /// Nanoseconds of `session` round trips (a reuse probe that timed out
    /// included).
    pub session_ns: u64,
    /// Nanoseconds of `deploy` round trips.
    pub deploy_ns: u64,
    /// Nanoseconds of `call` round trips.
    pub call_ns: u64,
    /// Nanoseconds of every other round trip (`memory`, `block`, `stats`).
    pub other_ns: u64,
    /// What the processes that reported measured of their own work.
    pub inside: RunnerTimes,
    /// Processes that reported it.
    pub reported: u64,
    /// Processes that ended without reporting it (they died, hung, or ran
    /// in the suite's process-per-session mode).
    pub unreported: u64,
}

impl RunnerTime {
    pub fn merge(&mut self, other: &RunnerTime) {
        self.spawn_ns += other.spawn_ns;
        self.session_ns += other.session_ns;
        self.deploy_ns += other.deploy_ns;
        self.call_ns += other.call_ns;
        self.other_ns += other.other_ns;
        self.inside.merge(&other.inside);
        self.reported += other.reported;
        self.unreported += other.unreported;
    }

    /// Nanoseconds of every round trip and start.
    pub fn total_ns(&self) -> u64 {
        self.spawn_ns + self.session_ns + self.deploy_ns + self.call_ns + self.other_ns
    }

    fn add(&mut self, request: &Request, spent: Duration) {
        let spent = nanos(spent);
        let total = match request {
            Request::Hello { .. } => &mut self.spawn_ns,
            Request::Session(_) => &mut self.session_ns,
            Request::Deploy(_) => &mut self.deploy_ns,
            Request::Call(_) => &mut self.call_ns,
            Request::Memory(_) | Request::Block(_) | Request::Stats | Request::Quit => {
                &mut self.other_ns
            }
        };
        *total = total.saturating_add(spent);
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
    /// A persistent runner's next process, launched and greeted while the
    /// current one serves (see [`RunnerProcess::persistent`]).
    spare: Option<Connection>,
    /// Why the current session is lost: a request of it was not answered
    /// in time, so the process was stopped with its state, and every later
    /// step of the session times out too.
    lost_session: Option<String>,
    /// Whether sessions share a process (see [`RunnerProcess::persistent`]).
    persistent: bool,
    /// Why the current process must be replaced before the next session,
    /// if it must: the first cause seen.
    broken: Option<RestartCause>,
    stats: RunnerStats,
    time: RunnerTime,
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
        Request::Stats => "stats".into(),
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
            spare: None,
            lost_session: None,
            persistent: false,
            broken: None,
            stats: RunnerStats::default(),
            time: RunnerTime::default(),
            hello: None,
        }
    }

    /// What befell this runner so far.
    pub fn stats(&self) -> RunnerStats {
        self.stats
    }

    /// Where this runner's time went so far; the current process's own
    /// times are in it once [`RunnerProcess::collect_times`] asked for
    /// them.
    pub fn time(&self) -> RunnerTime {
        self.time
    }

    /// Asks the current process what it measured of its own work and
    /// keeps it, ending the process (the next session starts a new one):
    /// a campaign does this at its end.
    pub fn collect_times(&mut self) {
        if self.connection.is_some() {
            self.retire(RestartCause::NewSession);
        }
    }

    /// Marks the process for replacement for `cause`, unless an earlier
    /// cause is already recorded.
    fn mark(&mut self, cause: RestartCause) {
        self.broken.get_or_insert(cause);
    }

    /// Ends the current process, if any, for `cause` (unless an earlier
    /// one is recorded): a persistent process that still answers is asked
    /// for its own times first.
    fn retire(&mut self, cause: RestartCause) {
        self.mark(cause);
        if self.connection.is_none() {
            return;
        }
        if !self.persistent {
            self.disconnect();
            return;
        }
        match self.request_within(&Request::Stats, STATS_TIMEOUT) {
            Ok(Response::Stats(times)) => {
                self.time.inside.merge(&times);
                self.time.reported += 1;
                self.connection = None;
            }
            // It cannot tell: its times are lost, and counted as lost.
            _ => self.disconnect(),
        }
    }

    /// Drops the connection to a process that did not report its own
    /// times, and counts it.
    fn disconnect(&mut self) {
        self.take_unreported();
    }

    /// The connection to a process that did not report its own times,
    /// counted as such.
    fn take_unreported(&mut self) -> Option<Connection> {
        let connection = self.connection.take();
        if connection.is_some() {
            self.time.unreported += 1;
        }
        connection
    }

    /// Counts `answer` in [`RunnerStats::timeouts`] if it timed out.
    fn counting_timeout(
        &mut self,
        answer: Result<Response, DriverError>,
    ) -> Result<Response, DriverError> {
        if let Err(DriverError::Timeout { .. }) = &answer {
            self.stats.timeouts += 1;
        }
        answer
    }

    /// Keeps one process for many sessions, as long as no request left it
    /// possibly broken: what a fuzzer, running thousands of short sessions,
    /// needs. The suite starts a process per session.
    pub fn persistent(mut self) -> Self {
        self.persistent = true;
        self
    }

    /// Puts a process in service: the spare, if one is ready, or a new
    /// one; then, for a persistent runner, launches the next spare, so that
    /// replacing a process does not wait for one to start.
    fn start(&mut self) -> Result<(), DriverError> {
        let started = Instant::now();
        let cause = self.broken.take().unwrap_or(RestartCause::NewSession);
        if self.hello.is_some() {
            self.stats.restarts += 1;
            self.stats.restart_causes.count(cause);
        }
        let result = self.put_in_service();
        if result.is_ok() && self.persistent && self.spare.is_none() {
            // A spare that cannot be launched now is no error yet: the next
            // start launches a process itself and reports why it cannot.
            self.spare = self.launch().ok();
        }
        self.time.spawn_ns = self.time.spawn_ns.saturating_add(nanos(started.elapsed()));
        result
    }

    fn put_in_service(&mut self) -> Result<(), DriverError> {
        let connection = match self.spare.take() {
            Some(spare) => spare,
            None => self.launch()?,
        };
        self.connection = Some(connection);
        self.greet()
    }

    /// Starts a process and sends it `hello` (its answer is read when the
    /// process is put in service).
    fn launch(&mut self) -> Result<Connection, DriverError> {
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
        let (stderr_open, stderr_closed) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            // Dropped with the thread, once stderr is closed.
            let _open = stderr_open;
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
        let mut connection = Connection {
            child,
            stdin,
            responses,
            stderr: kept,
            stderr_closed,
        };
        let hello = serde_json::to_string(&Request::Hello {
            protocol: PROTOCOL_VERSION,
        })
        .map_err(|e| DriverError::Protocol {
            engine: self.engine.clone(),
            request: "hello".into(),
            message: format!("cannot encode the request: {e}"),
        })?;
        // A process that died at once shows when its answer is read.
        let _ = writeln!(connection.stdin, "{hello}").and_then(|()| connection.stdin.flush());
        Ok(connection)
    }

    /// Reads the answer to the `hello` [`RunnerProcess::launch`] sent.
    fn greet(&mut self) -> Result<(), DriverError> {
        let answer = self.receive("hello".into(), self.setup_timeout());
        match self.counting_timeout(answer)? {
            Response::Hello(hello) if hello.protocol == PROTOCOL_VERSION => {
                self.hello = Some(hello);
                Ok(())
            }
            Response::Hello(hello) => {
                self.disconnect();
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
                self.disconnect();
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
        self.mark(RestartCause::Crash);
        let (status, stderr) = match self.take_unreported() {
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
                // Let the stderr thread catch up with the last lines: the
                // process is gone, so its stderr closes at once (unless a
                // child of it holds it open).
                let _ = connection
                    .stderr_closed
                    .recv_timeout(Duration::from_millis(20));
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

    /// Sends one request of a session's steps and waits for its response.
    fn request(&mut self, request: &Request) -> Result<Response, DriverError> {
        let answer = self.request_within(request, self.timeout);
        self.counting_timeout(answer)
    }

    /// How long starting a process and opening a session may take: a
    /// scenario's short step limit is for its steps, not for these.
    fn setup_timeout(&self) -> Duration {
        self.timeout.max(self.default_timeout)
    }

    /// [`RunnerProcess::request`] with its own timeout, not counted in
    /// [`RunnerStats::timeouts`] (the caller says what kind of request
    /// timed out); its round trip goes into [`RunnerTime`].
    fn request_within(
        &mut self,
        request: &Request,
        timeout: Duration,
    ) -> Result<Response, DriverError> {
        let started = Instant::now();
        let answer = self.round_trip(request, timeout);
        self.time.add(request, started.elapsed());
        answer
    }

    fn round_trip(
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
        self.receive(what, timeout)
    }

    /// Waits for the response to the request `what`, sent last.
    fn receive(&mut self, what: String, timeout: Duration) -> Result<Response, DriverError> {
        let Some(connection) = self.connection.as_mut() else {
            return Err(self.crashed(&what));
        };
        match connection.responses.recv_timeout(timeout) {
            Ok(Ok(text)) => serde_json::from_str(&text).map_err(|e| {
                let shown: String = text.chars().take(200).collect();
                self.disconnect();
                self.mark(RestartCause::Protocol);
                DriverError::Protocol {
                    engine: self.engine.clone(),
                    request: what,
                    message: format!("not a response ({e}): {shown}"),
                }
            }),
            Ok(Err(message)) => {
                self.disconnect();
                self.mark(RestartCause::Protocol);
                Err(DriverError::Protocol {
                    engine: self.engine.clone(),
                    request: what,
                    message,
                })
            }
            Err(RecvTimeoutError::Timeout) => {
                self.disconnect();
                self.mark(RestartCause::Timeout);
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
pub const SESSION_REUSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The resident set past which a persistent runner process is replaced
/// before its next session.
pub const RUNNER_RSS_LIMIT: u64 = 1 << 30;

/// How long a process may take to tell its own times (`stats`) before it
/// is replaced without them.
const STATS_TIMEOUT: Duration = Duration::from_secs(1);

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
        let reusable = self.persistent && self.broken.is_none();
        if reusable
            && let Some(connection) = &self.connection
            && resident_bytes(&connection.child.id().to_string())
                .is_some_and(|rss| rss > RUNNER_RSS_LIMIT)
        {
            // Production may keep what a case made it touch (a memory
            // grown past its maximum, `memory-grow-past-maximum`): the
            // process goes before the next case adds to it.
            self.mark(RestartCause::Memory);
        } else if reusable && self.connection.is_some() {
            // Opening a session drops the previous one, which deadlocks
            // after a SIGSEGV trap nothing showed (one in a nested frame
            // that production reports as success): a reused process that
            // does not answer at once is replaced.
            match self.request_within(&wire, SESSION_REUSE_TIMEOUT) {
                Ok(Response::Session {}) => return Ok(()),
                // The runner knows its process is broken and has not
                // touched its session: a new process serves it.
                Ok(Response::Broken { .. }) => self.mark(RestartCause::LockHeld),
                Ok(other) => return Err(self.unexpected("session", &other)),
                Err(DriverError::Timeout { .. }) => {
                    self.stats.probe_timeouts += 1;
                    self.broken = Some(RestartCause::ProbeTimeout);
                }
                Err(error) => return Err(error),
            }
        }
        self.retire(RestartCause::NewSession);
        self.start()?;
        let answer = self.request_within(&wire, self.setup_timeout());
        match self.counting_timeout(answer)? {
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
                if let Some(cause) = init_failure.and_then(restart_cause) {
                    self.mark(cause);
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
                    if let Some(cause) = restart_cause(&failure.kind) {
                        self.mark(cause);
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

/// The cause of replacing a process after a step that failed with
/// `kind`, if it must be replaced: a panic of the VM. A trap raised through
/// SIGSEGV that left the process broken is the runner's to tell (it
/// answers the next `session` with `broken`); one that did not costs
/// nothing.
fn restart_cause(kind: &FailureKind) -> Option<RestartCause> {
    (*kind == FailureKind::HostPanic).then_some(RestartCause::HostPanic)
}

impl Drop for RunnerProcess {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.as_mut() {
            let _ = writeln!(connection.stdin, "{{\"op\":\"quit\"}}");
        }
    }
}
