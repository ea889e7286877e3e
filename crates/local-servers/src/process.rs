//! A server child process on a loopback port with a private data directory.

use super::binaries::{ToolError, nats_server_binary, redis_server_binary, secantus_binary};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a server may take to accept connections (SecantusDB imports
/// Python on start, which is slow on a busy 2-core machine).
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Ports tried before giving up on starting a server.
const START_ATTEMPTS: u32 = 3;
/// How long a graceful stop may take before the process is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(25);
/// Distinguishes temp dirs of servers started by one process.
static DIR_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// nats-server with JetStream.
    Nats,
    /// redis-server, nothing persisted.
    Redis,
    /// SecantusDB (MongoDB wire protocol), data in its directory, synced on every commit.
    Secantus,
}

/// How a started server is known to be ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// It answers its own protocol's greeting (NATS `INFO`, Redis `PONG`).
    Protocol,
    /// It accepts connections (a TLS-only listener, which answers nothing in plain text).
    Listening,
}

/// The arguments of a configured server, given its port and its private directory.
type Arguments = std::sync::Arc<dyn Fn(u16, &Path) -> Vec<String> + Send + Sync>;

/// A server started with a test's own arguments (TLS, passwords, permissions) instead of the
/// defaults: the launcher still picks the port, retries when it was taken, waits until ready,
/// and kills and cleans up on drop.
#[derive(Clone)]
pub struct Launch {
    arguments: Arguments,
    probe: Probe,
}

impl Launch {
    /// A server started with `arguments(port, dir)` and ready once `probe` says so.
    pub fn new(
        probe: Probe,
        arguments: impl Fn(u16, &Path) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            arguments: std::sync::Arc::new(arguments),
            probe,
        }
    }
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch")
            .field("probe", &self.probe)
            .finish_non_exhaustive()
    }
}

/// A running server. Dropping it kills the process and removes its directory.
#[derive(Debug)]
pub struct ServerProcess {
    kind: ServerKind,
    binary: PathBuf,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    launch: Option<Launch>,
}

impl ServerProcess {
    /// Starts a server of `kind` on a free port and waits until it accepts connections.
    pub fn start(kind: ServerKind) -> Result<Self, ToolError> {
        Self::start_as(kind, None)
    }

    /// Starts a server of `kind` the way `launch` says (its own arguments and readiness probe),
    /// on a free port, and waits until it is ready.
    pub fn start_with(kind: ServerKind, launch: Launch) -> Result<Self, ToolError> {
        Self::start_as(kind, Some(launch))
    }

    fn start_as(kind: ServerKind, launch: Option<Launch>) -> Result<Self, ToolError> {
        let binary = match kind {
            ServerKind::Nats => nats_server_binary()?,
            ServerKind::Redis => redis_server_binary()?,
            ServerKind::Secantus => secantus_binary()?,
        };
        let n = DIR_COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir()
            .join(format!("signal-worker-{kind:?}-{}-{n}", std::process::id()).to_lowercase());
        std::fs::create_dir_all(&dir)
            .map_err(|e| ToolError::Process(format!("create {}: {e}", dir.display())))?;
        let mut server = Self {
            kind,
            binary,
            port: free_port()?,
            dir,
            child: None,
            launch,
        };
        // A port that was free when picked can be taken by another test's
        // server before ours binds it; then ours exits and we try another.
        let mut attempt = 1;
        loop {
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) if attempt < START_ATTEMPTS && !server.is_running() => {
                    attempt += 1;
                    tracing::debug!(kind = ?kind, error = %e, "server did not start; retrying on another port");
                    server.port = free_port()?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether the child process is still alive.
    fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The client URL (`nats://`, `redis://` or `mongodb://`).
    pub fn url(&self) -> String {
        let scheme = match self.kind {
            ServerKind::Nats => "nats",
            ServerKind::Redis => "redis",
            ServerKind::Secantus => "mongodb",
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The server's private directory (JetStream store, database files, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process gracefully (SIGTERM, so it can flush its store), and
    /// kills it if it has not exited within [`STOP_TIMEOUT`].
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let terminated = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + STOP_TIMEOUT;
        while terminated && Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(PROBE_INTERVAL);
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the server again on the same port with the same directory
    /// (after [`ServerProcess::kill`] or [`ServerProcess::stop`]; a running
    /// server is stopped gracefully first).
    pub fn restart(&mut self) -> Result<(), ToolError> {
        self.stop();
        self.spawn()
    }

    fn spawn(&mut self) -> Result<(), ToolError> {
        let port = self.port.to_string();
        let mut cmd = Command::new(&self.binary);
        if let Some(launch) = &self.launch {
            cmd.args((launch.arguments)(self.port, &self.dir));
            return self.run(cmd);
        }
        match self.kind {
            ServerKind::Nats => {
                let store = self.dir.join("jetstream");
                cmd.args(["-a", "127.0.0.1", "-p", &port, "-js", "-sd"])
                    .arg(store);
            }
            ServerKind::Redis => {
                cmd.args([
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    &port,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                ])
                .arg(&self.dir);
            }
            ServerKind::Secantus => {
                // Durable on commit, like mongod with its journal: a kill -9 loses nothing
                // the server acknowledged (the fault tests rely on that).
                cmd.args([
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &port,
                    "--sync-on-commit",
                    "--storage-path",
                ])
                .arg(self.dir.join("data"));
            }
        }
        self.run(cmd)
    }

    /// Runs `cmd` with its output in the server's log, then waits until it is ready.
    fn run(&mut self, mut cmd: Command) -> Result<(), ToolError> {
        let log = std::fs::File::create(self.dir.join("server.log"))
            .map_err(|e| ToolError::Process(format!("log file: {e}")))?;
        let log_err = log
            .try_clone()
            .map_err(|e| ToolError::Process(format!("log file: {e}")))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| ToolError::Process(format!("spawn {}: {e}", self.binary.display())))?;
        self.child = Some(child);
        self.wait_ready()
    }

    /// Waits until the port answers *this* server's protocol (not merely a
    /// TCP accept, which another process on a reused port could give) or the
    /// process exits.
    fn wait_ready(&mut self) -> Result<(), ToolError> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(stream) = TcpStream::connect_timeout(&addr, PROBE_INTERVAL * 4)
                && self.speaks_protocol(stream)
                && self.is_running()
            {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                return Err(ToolError::Process(format!(
                    "{:?} exited with {status} before accepting connections:\n{log}",
                    self.kind
                )));
            }
            if Instant::now() > deadline {
                return Err(ToolError::Process(format!(
                    "{:?} did not accept connections on {addr} within {READY_TIMEOUT:?}",
                    self.kind
                )));
            }
            std::thread::sleep(PROBE_INTERVAL);
        }
    }

    /// A minimal handshake: NATS greets with `INFO`, Redis answers `PING`
    /// with `+PONG`; SecantusDB (binary wire protocol) is trusted once the
    /// process that owns the port is ours and alive.
    fn speaks_protocol(&self, mut stream: TcpStream) -> bool {
        use std::io::{Read, Write};
        let _ = stream.set_read_timeout(Some(PROBE_INTERVAL * 20));
        let mut buf = [0u8; 5];
        if self
            .launch
            .as_ref()
            .is_some_and(|l| l.probe == Probe::Listening)
        {
            return true;
        }
        match self.kind {
            ServerKind::Nats => stream.read_exact(&mut buf).is_ok() && &buf == b"INFO ",
            ServerKind::Redis => {
                stream.write_all(b"PING\r\n").is_ok()
                    && stream.read_exact(&mut buf).is_ok()
                    && &buf == b"+PONG"
            }
            ServerKind::Secantus => true,
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port that was free a moment ago (the OS picks it).
pub fn free_port() -> Result<u16, ToolError> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| ToolError::Process(format!("bind: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| ToolError::Process(format!("local_addr: {e}")))
}
