//! Settings of the other edges: metrics, model loading, logging, shutdown and the serve loop.
//! NATS has its own file (`nats`), the stores theirs (`stores`).
//!
//! The pure core and the model define their own settings types next to the
//! code that uses them; these are the ones whose code lives in the edges.

use serde::{Deserialize, Serialize};

/// Prometheus exposition and health endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Listen address of `/metrics`, `/healthz` and `/readyz`; loopback unless
    /// an operator opens it on purpose.
    pub addr: String,
    /// How often dependency health is re-checked for `/readyz` and the
    /// `dependency_up` gauge (ms).
    pub health_poll_ms: u64,
    /// `/healthz` turns unhealthy when the candle intake has not completed a fetch cycle (or a
    /// chunk of its warm replay, or a restart attempt) for this long (ms): the intake is wedged.
    pub intake_stall_ms: u64,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:9464".into(),
            health_poll_ms: 1_000,
            intake_stall_ms: 120_000,
        }
    }
}

/// Which model to load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSettings {
    /// Directory holding `model.bpk` and `model.json`.
    pub dir: String,
    /// burn backend the weights load on (and `engine = "burn"` computes on): `flex` or `ndarray`
    /// (an unknown or uncompiled one is refused when the settings load).
    pub backend: crate::model::BackendKind,
    /// Inference engine: `fused` (the fast kernel over the model's weights) or `burn`.
    pub engine: crate::model::InferenceEngine,
    /// The only directory tree a hot reload may load a model from; "" means the parent of
    /// `dir`. A requested directory is resolved under it and canonicalised: `..` or a symlink
    /// leading out is refused.
    pub root: String,
    /// Largest model file (`model.json`, `model.bpk`) a reload reads, in bytes.
    pub max_file_bytes: u64,
    /// Longest a reload may take to read and verify a model (ms); a slower one is refused.
    pub load_timeout_ms: u64,
    /// Weights SHA-256 (hex) of the models this worker may run; empty allows any verified
    /// model under `root`. Checked at start and on every reload.
    pub allowed_sha256: Vec<String>,
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            dir: "models/default".into(),
            backend: crate::model::BackendKind::Flex,
            engine: crate::model::InferenceEngine::Fused,
            root: String::new(),
            max_file_bytes: 256 * 1024 * 1024,
            load_timeout_ms: 30_000,
            allowed_sha256: Vec::new(),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `tracing` filter directive, e.g. `info` or `signal_worker=debug,warn`.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// Orderly shutdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownSettings {
    /// Longest time from SIGTERM to exit (ms): in-flight work is finished and
    /// acked within it.
    pub deadline_ms: u64,
}

impl Default for ShutdownSettings {
    fn default() -> Self {
        Self {
            deadline_ms: 10_000,
        }
    }
}

/// The worker (`serve`): intake, bounded in-flight work and supervision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeSettings {
    /// Durable pull consumer of the candle stream (one worker per consumer).
    pub durable: String,
    /// Durable pull consumer of the backtest stream.
    pub backtest_durable: String,
    /// Queue group of the live backtest subscription (plain request/reply clients).
    pub backtest_queue_group: String,
    /// Most candles fetched and processed together (one pipeline call, one forward pass);
    /// a batch holds whatever is waiting, up to this many.
    pub batch_size: usize,
    /// When no candle is waiting, longest wait for the next one (ms) before the loop goes
    /// round (checkpoints, model swaps, shutdown) and waits again.
    pub max_wait_ms: u64,
    /// Most delivered-but-unacked candles the server allows: a flood slows
    /// intake instead of growing memory. At least `batch_size`.
    pub max_ack_pending: i64,
    /// How long the server waits for an ack before redelivering (ms); must
    /// exceed the time one batch takes.
    pub ack_wait_ms: u64,
    /// First delay before restarting a failed task (ms); doubles per failure.
    pub restart_min_delay_ms: u64,
    /// Longest delay between restarts (ms). A run that lasted this long
    /// counts as healthy and resets the backoff.
    pub restart_max_delay_ms: u64,
    /// Consecutive failures after which an essential task (candle intake)
    /// turns into an orderly shutdown with a non-zero exit.
    pub max_restarts: u32,
    /// With `nats.partitions` > 0: the priority group every worker pulls each partition's
    /// consumer in. The server pins one worker per partition; the others wait on standby.
    pub priority_group: String,
    /// With `nats.partitions` > 0: how long a silent worker keeps its pin (ms) before a
    /// standby takes its partition over. The worker pulls far more often than this.
    pub pinned_ttl_ms: u64,
    /// How often idle series are looked for and evicted between batches (ms); see
    /// `sequence.idle_evict_ms`.
    pub evict_interval_ms: u64,
    /// Without partitions: a worker finding its durable consumer in use (a pull waiting, or a
    /// delivery or ack within this long, ms) stands by until it has been idle this long, instead
    /// of recreating it under the other worker. Not waited for when the last worker stopped
    /// cleanly and released the durable (see `bus::consumer`).
    pub standby_idle_ms: u64,
    /// How often each intake reads the model in force between batches (ms): the longest a
    /// reload takes to reach every worker.
    pub model_poll_ms: u64,
    /// Scored signals the rolling score gauges cover (the totals cover every one).
    pub score_window: usize,
}

impl Default for ServeSettings {
    fn default() -> Self {
        Self {
            durable: "signal-worker".into(),
            backtest_durable: "signal-worker-backtest".into(),
            backtest_queue_group: "signal-worker-backtest".into(),
            batch_size: 256,
            max_wait_ms: 100,
            max_ack_pending: 1024,
            ack_wait_ms: 30_000,
            restart_min_delay_ms: 100,
            restart_max_delay_ms: 5_000,
            max_restarts: 20,
            priority_group: "workers".into(),
            pinned_ttl_ms: 5_000,
            evict_interval_ms: 60_000,
            standby_idle_ms: 2_000,
            model_poll_ms: 1_000,
            score_window: 1_000,
        }
    }
}
