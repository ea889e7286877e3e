//! The system under test: a worker and its NATS server, either started by the
//! bench (a fresh nats-server and `signal-worker serve` on free loopback
//! ports, stopped afterwards) or already running on 127.0.0.1.

use super::BenchError;
use crate::config::{NatsSettings, ServeSettings};
use async_nats::jetstream;
use local_servers::{NatsCluster, ServerKind, ServerProcess, free_port};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The hidden subcommand that runs the pass-through consumer.
pub const PASSTHROUGH_COMMAND: &str = "bench-passthrough";
/// Pause between checks while waiting for the worker.
const POLL: Duration = Duration::from_millis(50);
/// How long an orderly stop of the bench's own worker may take before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// Refuses any NATS URL whose host is not the loopback interface: the bench
/// floods its target, which must never be a shared or remote server.
pub fn check_loopback(url: &str) -> Result<(), BenchError> {
    // A cluster is a comma-separated list: every server of it must be local.
    let servers = crate::bus::connect::servers(url);
    if servers.len() > 1 || servers.first().is_some_and(|s| *s != url) {
        return servers.iter().try_for_each(|s| {
            check_loopback(s).map_err(|_| BenchError::NotLoopback(url.to_owned()))
        });
    }
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let host = host_port
        .rsplit_once(':')
        .map_or(host_port, |(host, _)| host);
    match host {
        "127.0.0.1" | "localhost" => Ok(()),
        _ => Err(BenchError::NotLoopback(url.to_owned())),
    }
}

/// The NATS the bench started: one server (streams R1), or a 3-node loopback cluster (streams
/// R3), so the two can be measured the same way.
#[derive(Debug)]
pub enum OwnNats {
    /// One nats-server.
    Single(ServerProcess),
    /// Three routed nats-servers.
    Cluster(NatsCluster),
}

/// Nodes of the bench's own cluster: the smallest that survives losing one.
const CLUSTER_NODES: usize = 3;

impl OwnNats {
    /// Starts nats-server 2.10+ with JetStream on free loopback ports: one server, or a cluster
    /// of three that has elected its JetStream meta leader. Blocking.
    pub fn start(cluster: bool) -> Result<Self, BenchError> {
        Ok(match cluster {
            false => Self::Single(ServerProcess::start(ServerKind::Nats)?),
            true => Self::Cluster(NatsCluster::start(CLUSTER_NODES)?),
        })
    }

    /// The client URL: one server, or the comma-separated list of every node.
    pub fn url(&self) -> String {
        match self {
            Self::Single(s) => s.url(),
            Self::Cluster(c) => c.urls(),
        }
    }

    /// The stream replicas this NATS takes: 1 on one server, 3 on the cluster.
    pub fn replicas(&self) -> usize {
        Self::replicas_of(matches!(self, Self::Cluster(_)))
    }

    /// The stream replicas [`OwnNats::start`]`(cluster)` will take.
    pub fn replicas_of(cluster: bool) -> usize {
        match cluster {
            false => 1,
            true => CLUSTER_NODES,
        }
    }

    fn dir(&self) -> &Path {
        match self {
            Self::Single(s) => s.dir(),
            Self::Cluster(c) => c.dir(),
        }
    }
}

/// What consumes the bench's candles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumer {
    /// `signal-worker serve`: the system under test.
    Worker,
    /// The pass-through (`crate::bench::passthrough`): the ceiling, publishing messages of
    /// `payload_bytes` (a signal's size).
    Passthrough {
        /// Bytes per published message.
        payload_bytes: usize,
    },
}

impl Consumer {
    /// `worker` or `passthrough`, as reports name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Worker => "worker",
            Self::Passthrough { .. } => "passthrough",
        }
    }
}

/// The NATS the bench started, and the worker it started against it.
#[derive(Debug)]
pub struct OwnWorker {
    child: Child,
    log: PathBuf,
    metrics_port: u16,
    /// How the process was started: a restart starts the same one again.
    consumer: Consumer,
    env: Vec<(&'static str, String)>,
    /// Held only to be dropped after the worker, so the worker can finish its acks.
    _nats: OwnNats,
    /// The redis-server of a restart run (series snapshots), likewise dropped after the worker.
    _redis: Option<ServerProcess>,
}

impl OwnWorker {
    /// Starts `signal-worker serve` (this very binary), or the pass-through, against `nats`,
    /// with its metrics on a free loopback port so it never collides with a worker already
    /// running here. Other `SIGNAL_WORKER_*` settings (batch size, model, …) are inherited, so
    /// the same run can be repeated with others; `sequence.max_series` is the bench's own
    /// (at least `--series`), so every series of the run is admitted.
    ///
    /// With `redis` (a restart run), the worker keeps its latest signals and series snapshots
    /// there, so a restarted worker resumes every series from its snapshot.
    pub fn spawn(
        nats: OwnNats,
        redis: Option<ServerProcess>,
        consumer: Consumer,
        settings: &crate::config::Settings,
    ) -> Result<Self, BenchError> {
        let log = nats.dir().join("worker.log");
        let metrics_port = free_port()?;
        let mut env = vec![
            ("SIGNAL_WORKER_NATS_URL", nats.url()),
            ("SIGNAL_WORKER_NATS_REPLICAS", nats.replicas().to_string()),
            (
                "SIGNAL_WORKER_SEQUENCE_MAX_SERIES",
                settings.sequence.max_series.to_string(),
            ),
            (
                "SIGNAL_WORKER_METRICS_ADDR",
                format!("127.0.0.1:{metrics_port}"),
            ),
        ];
        if let Some(redis) = &redis {
            env.extend([
                ("SIGNAL_WORKER_REDIS_ENABLED", "true".to_owned()),
                ("SIGNAL_WORKER_REDIS_URL", redis.url()),
                ("SIGNAL_WORKER_REDIS_SNAPSHOTS", "true".to_owned()),
            ]);
        }
        if std::env::var_os("SIGNAL_WORKER_LOG").is_none() {
            // Per-batch logging would cost the worker CPU the bench measures.
            env.push(("SIGNAL_WORKER_LOG", "warn".to_owned()));
        }
        let child = launch(consumer, &env, &log)?;
        Ok(Self {
            child,
            log,
            metrics_port,
            consumer,
            env,
            _nats: nats,
            _redis: redis,
        })
    }

    /// Stops the worker in order (SIGTERM: it finishes its batch and writes its last
    /// checkpoint) and starts the same one again, which resumes from what the first left.
    /// Returns how long the stop took and when the new process was started. Blocking.
    pub fn restart(&mut self) -> Result<(Duration, Instant), BenchError> {
        let asked = Instant::now();
        if !self.stop_in_order() {
            return Err(BenchError::Worker(format!(
                "serve did not stop within {} s of SIGTERM; a restart would not resume from its \
                 last checkpoint: {}",
                STOP_GRACE.as_secs(),
                log_tail(&self.log)
            )));
        }
        let stopped = asked.elapsed();
        let started = Instant::now();
        self.child = launch(self.consumer, &self.env, &self.log)?;
        Ok((stopped, started))
    }

    /// The sum of a counter or gauge over its label sets on the worker's `/metrics`, or `None`
    /// when the endpoint or the metric cannot be read. Blocking.
    pub fn metric(&self, name: &str) -> Option<f64> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.metrics_port)).ok()?;
        stream.set_read_timeout(Some(STOP_GRACE)).ok()?;
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).ok()?;
        let values: Vec<f64> = text
            .lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }

    /// The worker's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An error if the worker has exited (with the end of its log).
    pub fn check_alive(&mut self) -> Result<(), BenchError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(BenchError::Worker(format!(
                "serve exited with {status}: {}",
                log_tail(&self.log)
            ))),
            Err(e) => Err(BenchError::Worker(e.to_string())),
        }
    }

    /// Stops the worker in order (SIGTERM: it finishes and acks its batch),
    /// killing it if it overruns; then the server goes with `self`.
    pub fn stop(mut self) {
        if !self.stop_in_order() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// SIGTERM, then waits up to [`STOP_GRACE`] for the exit: whether it exited.
    fn stop_in_order(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let asked = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + STOP_GRACE;
        while asked && Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(POLL);
        }
        false
    }
}

/// Starts `serve` (or the pass-through) with `env`, its log appended to `log`.
fn launch(
    consumer: Consumer,
    env: &[(&'static str, String)],
    log: &Path,
) -> Result<Child, BenchError> {
    let exe = std::env::current_exe()
        .map_err(|e| BenchError::Worker(format!("cannot find this executable: {e}")))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| BenchError::Worker(format!("{}: {e}", log.display())))?;
    let mut command = Command::new(exe);
    match consumer {
        Consumer::Worker => command.arg("serve"),
        Consumer::Passthrough { payload_bytes } => command
            .arg(PASSTHROUGH_COMMAND)
            .args(["--payload-bytes", &payload_bytes.to_string()]),
    };
    command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(file));
    command
        .spawn()
        .map_err(|e| BenchError::Worker(format!("cannot start serve: {e}")))
}

impl Drop for OwnWorker {
    fn drop(&mut self) {
        // On an error path: never leave a worker behind. (After `stop` this
        // finds the child reaped and does nothing.)
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last lines of a log file, for error messages.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

/// Waits until the worker's durable candle consumer exists: from then on
/// every candle published is delivered to it. `alive` is polled between
/// checks so a worker that died fails at once instead of at the timeout.
pub async fn wait_consumer(
    js: &jetstream::Context,
    nats: &NatsSettings,
    serve: &ServeSettings,
    timeout: Duration,
    mut alive: impl FnMut() -> Result<(), BenchError>,
) -> Result<(), BenchError> {
    let deadline = Instant::now() + timeout;
    loop {
        alive()?;
        if let Ok(stream) = js.get_stream(&nats.candles_stream).await
            && stream.consumer_info(&serve.durable).await.is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(BenchError::Worker(format!(
                "no durable consumer {:?} on stream {} after {} s: is a worker (signal-worker serve) running against this server?",
                serve.durable,
                nats.candles_stream,
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_loopback_urls_pass() {
        for ok in [
            "nats://127.0.0.1:4222",
            "127.0.0.1:4222",
            "nats://user:pw@localhost:4222",
            "nats://127.0.0.1:4222,nats://127.0.0.1:4223, nats://localhost:4224",
        ] {
            assert!(check_loopback(ok).is_ok(), "{ok}");
        }
        for bad in [
            "nats://10.0.0.1:4222",
            "nats://demo.nats.io",
            "tls://1.2.3.4:1",
            "nats://127.0.0.1:4222,nats://10.0.0.1:4222",
        ] {
            assert!(check_loopback(bad).is_err(), "{bad}");
        }
    }
}
