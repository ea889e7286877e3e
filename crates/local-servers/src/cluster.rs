//! A NATS cluster of loopback nodes, each its own nats-server process with its own store
//! directory, client port, route port and monitoring port, routed to all the others.
//!
//! Started, a cluster is usable once JetStream has elected a meta leader (streams can be
//! created); nodes can then be killed (SIGKILL, as a crash would), restarted on the same
//! ports and store, or stopped, so tests can take any node down under a running worker.

use super::binaries::{ToolError, nats_server_binary};
use super::process::free_port;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a cluster may take to elect its JetStream meta leader.
const LEADER_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// Starts made on fresh ports before a cluster start is reported failed.
const START_ATTEMPTS: u32 = 3;
/// Distinguishes the directories of clusters started by one process.
static CLUSTER_COUNTER: AtomicU64 = AtomicU64::new(0);

/// One node of a [`NatsCluster`].
#[derive(Debug)]
struct Node {
    name: String,
    client_port: u16,
    monitor_port: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// A running cluster. Dropping it kills every node and removes the directories.
#[derive(Debug)]
pub struct NatsCluster {
    binary: PathBuf,
    dir: PathBuf,
    nodes: Vec<Node>,
}

impl NatsCluster {
    /// Starts `size` nodes routed to each other and waits for a JetStream meta leader.
    ///
    /// Ports are picked free and only bound by the nodes a moment later, while other tests pick
    /// theirs: a node that finds one taken exits. Such a start is abandoned at once (its
    /// directories removed) and made again on new ports, up to [`START_ATTEMPTS`] times.
    pub fn start(size: usize) -> Result<Self, ToolError> {
        let mut attempt = 1;
        loop {
            match Self::start_once(size) {
                Ok(cluster) => return Ok(cluster),
                Err(e) if attempt < START_ATTEMPTS => {
                    eprintln!(
                        "local-servers: NATS cluster start {attempt} failed ({e}); again on new ports"
                    );
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn start_once(size: usize) -> Result<Self, ToolError> {
        let binary = nats_server_binary()?;
        let n = CLUSTER_COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "signal-worker-nats-cluster-{}-{n}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        let ports = (0..size)
            .map(|_| Ok((free_port()?, free_port()?, free_port()?)))
            .collect::<Result<Vec<(u16, u16, u16)>, ToolError>>()?;
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, route, _)| format!("nats-route://127.0.0.1:{route}"))
            .collect();
        let mut nodes = Vec::with_capacity(size);
        for (i, (client, route, monitor)) in ports.iter().enumerate() {
            let name = format!("n{i}");
            let store = dir.join(&name);
            std::fs::create_dir_all(&store).map_err(|e| io_error(&store, e))?;
            let config = dir.join(format!("{name}.conf"));
            let text = format!(
                "server_name: {name}\nlisten: 127.0.0.1:{client}\nhttp: 127.0.0.1:{monitor}\n\
                 jetstream {{ store_dir: \"{}\" }}\n\
                 cluster {{\n  name: signal-worker-test\n  listen: 127.0.0.1:{route}\n  routes: [{}]\n}}\n",
                store.display(),
                routes.join(", ")
            );
            std::fs::write(&config, text).map_err(|e| io_error(&config, e))?;
            nodes.push(Node {
                log: dir.join(format!("{name}.log")),
                name,
                client_port: *client,
                monitor_port: *monitor,
                config,
                child: None,
            });
        }
        // Dropped on an error: every node killed, the directories removed.
        let mut cluster = Self { binary, dir, nodes };
        for i in 0..size {
            cluster.spawn(i)?;
        }
        cluster.wait_meta_leader(true)?;
        Ok(cluster)
    }

    /// Every node's client URL, comma-separated (what `nats.url` takes for a cluster).
    pub fn urls(&self) -> String {
        (0..self.nodes.len())
            .map(|i| self.url(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Node `i`'s client URL.
    pub fn url(&self, i: usize) -> String {
        self.nodes
            .get(i)
            .map(|n| format!("nats://127.0.0.1:{}", n.client_port))
            .unwrap_or_default()
    }

    /// Node `i`'s server name (what JetStream names as a stream's leader).
    pub fn name(&self, i: usize) -> &str {
        self.nodes.get(i).map_or("", |n| n.name.as_str())
    }

    /// The index of the node called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// The cluster's directory (node configs, stores and logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kills node `i` at once (SIGKILL), as a crash would.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes.get_mut(i).and_then(|n| n.child.take()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts node `i` again on its ports and store (after [`NatsCluster::kill`]), and waits
    /// until it answers and the cluster has a meta leader again.
    pub fn restart(&mut self, i: usize) -> Result<(), ToolError> {
        self.kill(i);
        self.spawn(i)?;
        self.wait_meta_leader(false)
    }

    /// Whether node `i` runs.
    pub fn is_running(&mut self, i: usize) -> bool {
        self.nodes
            .get_mut(i)
            .and_then(|n| n.child.as_mut())
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn spawn(&mut self, i: usize) -> Result<(), ToolError> {
        let Some(node) = self.nodes.get_mut(i) else {
            return Err(ToolError::Process(format!("no node {i}")));
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .map_err(|e| io_error(&node.log, e))?;
        let log_err = log.try_clone().map_err(|e| io_error(&node.log, e))?;
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(&node.config)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| ToolError::Process(format!("spawn {}: {e}", self.binary.display())))?;
        node.child = Some(child);
        let deadline = Instant::now() + LEADER_TIMEOUT;
        let port = node.client_port;
        loop {
            if greets(port) {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = node.child.as_mut().map(|c| c.try_wait()) {
                let text = std::fs::read_to_string(&node.log).unwrap_or_default();
                return Err(ToolError::Process(format!(
                    "cluster node {} exited with {status}:\n{text}",
                    node.name
                )));
            }
            if Instant::now() > deadline {
                return Err(ToolError::Process(format!(
                    "cluster node {} did not accept connections",
                    node.name
                )));
            }
            std::thread::sleep(PROBE_INTERVAL);
        }
    }

    /// Waits until some running node reports a JetStream meta leader (`/jsz`). With
    /// `all_running` (at start) it fails as soon as a node has exited (a port taken under it)
    /// instead of waiting out the deadline; otherwise nodes killed on purpose are skipped.
    fn wait_meta_leader(&mut self, all_running: bool) -> Result<(), ToolError> {
        let deadline = Instant::now() + LEADER_TIMEOUT;
        loop {
            let mut ports = Vec::with_capacity(self.nodes.len());
            for i in 0..self.nodes.len() {
                if self.is_running(i) {
                    ports.extend(self.nodes.get(i).map(|n| n.monitor_port));
                } else if all_running {
                    let log = self.nodes.get(i).map(|n| n.log.display().to_string());
                    return Err(ToolError::Process(format!(
                        "cluster node {i} exited at start (log: {})",
                        log.unwrap_or_default()
                    )));
                }
            }
            if ports.iter().any(|&p| meta_leader(p).is_some()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(ToolError::Process(
                    "the NATS cluster elected no JetStream meta leader".into(),
                ));
            }
            std::thread::sleep(PROBE_INTERVAL);
        }
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn io_error(path: &Path, e: std::io::Error) -> ToolError {
    ToolError::Process(format!("{}: {e}", path.display()))
}

/// Whether the port answers with a NATS `INFO` greeting.
fn greets(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(PROBE_INTERVAL * 20));
    let mut buf = [0u8; 5];
    stream.read_exact(&mut buf).is_ok() && &buf == b"INFO "
}

/// The JetStream meta leader a node's monitoring endpoint reports, if any.
fn meta_leader(monitor_port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", monitor_port)).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    write!(
        stream,
        "GET /jsz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let body = text.split_once("\r\n\r\n")?.1;
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    json.get("meta_cluster")?
        .get("leader")?
        .as_str()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
}
