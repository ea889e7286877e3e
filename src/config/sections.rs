//! Settings of the edges (NATS, Redis, MongoDB, metrics, model, logging).
//!
//! The pure core and the model define their own settings types next to the
//! code that uses them; these are the ones whose code lives in the edges.

use super::secret::Secret;
use serde::{Deserialize, Serialize};

/// NATS connection, subjects and streams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsSettings {
    /// Server URL, or a comma-separated list of the servers of a cluster (the client fails over
    /// between them). Only loopback in tests; any host in production.
    pub url: String,
    /// First token of candle subjects: `<prefix>.<exchange>.<symbol>.<interval>`.
    pub candle_subject_prefix: String,
    /// First token of signal subjects.
    pub signal_subject_prefix: String,
    /// First token of dead-letter subjects: `<prefix>.<reason>`.
    pub dlq_subject_prefix: String,
    /// First token of shadow routes' signals: `<prefix>.<route>.<exchange>.<symbol>.<interval>`,
    /// never a subject the signal stream captures.
    pub shadow_subject_prefix: String,
    /// Subject on which backtest requests arrive.
    pub backtest_subject: String,
    /// How long to wait for the initial connection (ms).
    pub connect_timeout_ms: u64,
    /// Length of the model hash prefix in `Nats-Msg-Id` (hex characters).
    pub msg_id_hash_prefix_len: usize,
    /// Upper bound on one JetStream API call or publish acknowledgement (ms).
    pub request_timeout_ms: u64,
    /// Name of the stream holding candles (`<candle_subject_prefix>.>`).
    pub candles_stream: String,
    /// Name of the stream holding signals (`<signal_subject_prefix>.>`).
    pub signals_stream: String,
    /// Name of the stream holding dead letters (`<dlq_subject_prefix>.>`).
    pub dlq_stream: String,
    /// Name of the stream holding shadow routes' signals (`<shadow_subject_prefix>.>`), with the
    /// signal stream's limits.
    pub shadow_stream: String,
    /// Name of the stream persisting backtest requests (`backtest_subject`).
    pub backtest_stream: String,
    /// JetStream duplicate window of every stream (ms): a message whose
    /// `Nats-Msg-Id` was seen within it is stored once.
    pub duplicate_window_ms: u64,
    /// Longest time the candle stream keeps a candle (ms); 0 (the default): no limit. The candle
    /// stream is the worker's memory: a warm start (and a new partition owner) rebuilds every
    /// series from it, and an indicator needs hundreds of bars, so an age limit must keep well
    /// over `features.snapshot_bars` bars of the slowest interval traded.
    pub candles_max_age_ms: u64,
    /// Most bytes the candle stream holds (0, the default: no limit); when full, the oldest
    /// candles go, so the same caution as for `candles_max_age_ms` applies. The server reserves
    /// a stream's `max_bytes` of its JetStream storage when the stream is created.
    pub candles_max_bytes: u64,
    /// Longest time the signal stream keeps a signal (ms; 0: no limit). Default 30 days: signals
    /// are delivered within seconds and archived (MongoDB) as they arrive, so a month outlasts
    /// any consumer or archiver outage, and the start-up read of each series' last signal (which
    /// stops a redelivered candle from being signalled twice) needs only recent ones. Without a
    /// limit the stream grows until the disk is full.
    pub signals_max_age_ms: u64,
    /// Most bytes the signal stream holds (0: no limit); when full, the oldest signals go.
    /// Default 1 GiB: a stored signal is about 0.5 KiB, so this holds two million signals (over
    /// four days of hourly signals of 20,000 series, `sequence.max_series`, and the archive keeps
    /// them for good), and caps the disk a burst of fast intervals can take. The server reserves
    /// it of its JetStream storage when it creates the stream, so the default stays modest.
    pub signals_max_bytes: u64,
    /// Longest time the dead-letter stream keeps a dead letter (ms; 0: no limit). Default 14
    /// days: long enough for an operator to notice, inspect and re-inject, short enough that a
    /// stream of junk input does not pile up forever.
    pub dlq_max_age_ms: u64,
    /// Most bytes the dead-letter stream holds (0: no limit); when full, the oldest dead letters
    /// go. Default 256 MiB: over 10,000 dead letters of the largest kind (a body cut at
    /// `dlq_max_body_bytes` plus headers) or some 300,000 ordinary ones, so a flood of bad
    /// candles cannot fill the disk.
    pub dlq_max_bytes: u64,
    /// Longest time the backtest stream keeps a request (ms; 0: no limit). Default 7 days: a
    /// persisted request is answered as soon as a worker runs, so a week covers a long outage;
    /// an older one is stale.
    pub backtest_max_age_ms: u64,
    /// Most bytes the backtest stream holds (0: no limit). Default 64 MiB: requests are small
    /// documents, and anyone allowed to send one must not be able to fill the disk.
    pub backtest_max_bytes: u64,
    /// Subject of hot model reloads: a request whose body is a model directory.
    pub control_subject: String,
    /// Subject of live-score requests: every worker answers with the scores and feature drift
    /// of the signals it made (see README "Live scores").
    pub scores_subject: String,
    /// Promotion requests: the body names a shadow route, which becomes live for its subjects
    /// (one worker of the deployment records it; every worker follows).
    pub promote_subject: String,
    /// Key-value bucket recording the model in force per deployment (key: `serve.durable`), so a
    /// reload reaches every worker and outlives a restart.
    pub model_bucket: String,
    /// Copies a NATS cluster keeps of every stream, durable consumer and the models bucket the
    /// worker creates: 1 (a single server) or 3 (a cluster of three: losing any one node loses
    /// nothing). Checked on existing streams like the other limits.
    pub replicas: usize,
    /// Largest message the candle stream stores (bytes, its `max_msg_size`): the server
    /// refuses anything larger at the publisher, so no absurd body reaches the worker.
    pub candles_max_msg_bytes: u32,
    /// Largest message the signal stream stores (bytes, body plus headers). Default 64 KiB: a
    /// signal is under 1 KiB, and the start-up read decodes whatever the stream holds, so a
    /// forged giant is refused at its publisher. At least 2 x `validation.max_message_bytes`
    /// + 16 KiB: a signal repeats its candle's identity in its body and its `Nats-Msg-Id`.
    pub signals_max_msg_bytes: u32,
    /// Largest message the dead-letter stream stores (bytes, body plus headers). Default 64 KiB.
    /// At least `dlq_max_body_bytes` + 16 KiB: a dead letter's headers repeat the candle's
    /// subject (up to the server's 4 KiB control line) twice and carry the error reply, and a
    /// dead letter the stream refused would leave its candle without a trace.
    pub dlq_max_msg_bytes: u32,
    /// Largest request the backtest stream stores (bytes, body plus headers). Default 64 KiB: a
    /// request is a small JSON document. At least 16 KiB: its `Reply-To` and id headers may
    /// each be as long as a subject.
    pub backtest_max_msg_bytes: u32,
    /// Most bytes of a rejected body a dead letter keeps; a longer body is cut to this prefix
    /// and its length and SHA-256 travel in headers, so every dead letter fits the server.
    pub dlq_max_body_bytes: usize,
    /// Subject filters a reply may go to (backtest and control requests). A request naming
    /// any other reply subject is never answered (counted, and a persisted one terminated):
    /// a requester must not make the worker publish into a stream with its credentials.
    pub reply_subjects: Vec<String>,
    /// Partitions of the candle stream (0: none). With P > 0 the stream captures
    /// `<candle_subject_prefix>.*.*.*` and stores each series under
    /// `<candle_subject_prefix>.<partition>.*.*.*` (a NATS `partition()` transform); every
    /// partition has its own durable consumer, and worker processes share them (see
    /// `serve.priority_group`).
    pub partitions: u32,
    /// Credentials file (user JWT and nkey seed, `.creds`) to authenticate with; "" for none.
    pub creds_file: String,
    /// File holding an nkey seed (`SU...`) to authenticate with; "" for none.
    pub nkey_seed_file: String,
    /// User name, authenticated with `password`; "" for none.
    pub user: String,
    /// Password of `user`.
    pub password: Secret,
    /// Authentication token; "" for none.
    pub token: Secret,
    /// Refuse a connection that is not TLS (`tls://` URLs require it anyway).
    pub tls_required: bool,
    /// PEM file of the CA that signed the server's certificate (a private CA); "" trusts the
    /// system roots.
    pub tls_ca_file: String,
    /// PEM client certificate for servers that verify clients (mutual TLS); with `tls_key_file`.
    pub tls_cert_file: String,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: String,
}

impl NatsSettings {
    /// Refuses contradictory authentication and TLS settings.
    pub fn validate_security(&self) -> Result<(), String> {
        let methods = [
            ("nats.creds_file", !self.creds_file.is_empty()),
            ("nats.nkey_seed_file", !self.nkey_seed_file.is_empty()),
            ("nats.user", !self.user.is_empty()),
            ("nats.token", self.token.is_set()),
        ];
        let set: Vec<&str> = methods.iter().filter(|m| m.1).map(|m| m.0).collect();
        if set.len() > 1 {
            return Err(format!(
                "choose one NATS authentication method, not {}",
                set.join(" and ")
            ));
        }
        if self.password.is_set() && self.user.is_empty() {
            return Err("nats.password is set without nats.user".into());
        }
        if self.tls_cert_file.is_empty() != self.tls_key_file.is_empty() {
            return Err("nats.tls_cert_file and nats.tls_key_file go together".into());
        }
        Ok(())
    }
}

impl Default for NatsSettings {
    fn default() -> Self {
        const DAY_MS: u64 = 86_400_000;
        const MIB: u64 = 1 << 20;
        const GIB: u64 = 1 << 30;
        Self {
            url: "nats://127.0.0.1:4222".into(),
            candle_subject_prefix: "candles".into(),
            signal_subject_prefix: "signals".into(),
            dlq_subject_prefix: "dlq".into(),
            shadow_subject_prefix: "shadow".into(),
            backtest_subject: "backtest.requests".into(),
            connect_timeout_ms: 5_000,
            msg_id_hash_prefix_len: 12,
            request_timeout_ms: 5_000,
            candles_stream: "CANDLES".into(),
            signals_stream: "SIGNALS".into(),
            dlq_stream: "DLQ".into(),
            shadow_stream: "SHADOW".into(),
            backtest_stream: "BACKTEST".into(),
            duplicate_window_ms: 120_000,
            candles_max_age_ms: 0,
            candles_max_bytes: 0,
            signals_max_age_ms: 30 * DAY_MS,
            signals_max_bytes: GIB,
            dlq_max_age_ms: 14 * DAY_MS,
            dlq_max_bytes: 256 * MIB,
            backtest_max_age_ms: 7 * DAY_MS,
            backtest_max_bytes: 64 * MIB,
            control_subject: "control.model.reload".into(),
            scores_subject: "control.model.scores".into(),
            promote_subject: "control.model.promote".into(),
            model_bucket: "signal-worker-models".into(),
            replicas: 1,
            candles_max_msg_bytes: 65_536,
            signals_max_msg_bytes: 65_536,
            dlq_max_msg_bytes: 65_536,
            backtest_max_msg_bytes: 65_536,
            dlq_max_body_bytes: 8_192,
            reply_subjects: vec!["_INBOX.>".into()],
            partitions: 0,
            creds_file: String::new(),
            nkey_seed_file: String::new(),
            user: String::new(),
            password: Secret::default(),
            token: Secret::default(),
            tls_required: false,
            tls_ca_file: String::new(),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
        }
    }
}

/// Redis cache connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// Whether `serve` writes the latest signal per series to Redis (off by
    /// default so a worker without Redis runs quietly; docker-compose turns it on).
    pub enabled: bool,
    /// Server URL.
    pub url: String,
    /// Prefix of every key the worker writes: `<prefix>:signal:<exchange>:<symbol>:<interval>`
    /// and `<prefix>:snapshot:<exchange>:<symbol>:<interval>`.
    pub key_prefix: String,
    /// Upper bound on any single Redis command (ms); a slow cache must never stall signals.
    pub command_timeout_ms: u64,
    /// Upper bound on one connection attempt (ms).
    pub connect_timeout_ms: u64,
    /// How long a latest-signal key lives (s), so series that stop trading age out.
    pub signal_ttl_s: u64,
    /// Reconnection attempts per failed command before it is reported failed
    /// (the next command starts a new round, so the cache recovers by itself).
    pub reconnect_retries: u64,
    /// First reconnection delay (ms); later ones grow exponentially, with jitter.
    pub reconnect_min_delay_ms: u64,
    /// Longest reconnection delay (ms).
    pub reconnect_max_delay_ms: u64,
    /// While degraded, how often Redis is probed and owed values written (ms).
    pub health_check_ms: u64,
    /// Whether `serve` (with `enabled`) checkpoints every series' state to Redis and resumes
    /// from it on start, replaying only the candles after the checkpoint.
    pub snapshots: bool,
    /// How often a checkpoint writes the series changed since the previous one (ms); it also
    /// runs on a clean shutdown. Bounds the history a crashed worker replays.
    pub snapshot_interval_ms: u64,
    /// ACL user name (Redis 6+); "" for the default user.
    pub username: String,
    /// Password (`requirepass` or the ACL user's); set it through SIGNAL_WORKER_REDIS_PASSWORD.
    pub password: Secret,
    /// PEM file of the CA that signed the server's certificate, for `rediss://` URLs; "" trusts
    /// the system roots.
    pub tls_ca_file: String,
    /// PEM client certificate for servers that verify clients (`tls-auth-clients yes`).
    pub tls_cert_file: String,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: String,
}

impl RedisSettings {
    /// Whether the URL asks for TLS (`rediss://`).
    pub fn tls(&self) -> bool {
        self.url.starts_with("rediss://")
    }

    /// Refuses TLS files without a TLS URL, and a certificate without its key.
    pub fn validate_security(&self) -> Result<(), String> {
        let files = [&self.tls_ca_file, &self.tls_cert_file, &self.tls_key_file];
        if !self.tls() && files.iter().any(|f| !f.is_empty()) {
            return Err("redis.tls_* files need a rediss:// URL".into());
        }
        if self.tls_cert_file.is_empty() != self.tls_key_file.is_empty() {
            return Err("redis.tls_cert_file and redis.tls_key_file go together".into());
        }
        if !self.username.is_empty() && !self.password.is_set() {
            return Err("redis.username is set without redis.password".into());
        }
        Ok(())
    }
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            url: "redis://127.0.0.1:6379".into(),
            key_prefix: "signal-worker".into(),
            command_timeout_ms: 250,
            connect_timeout_ms: 500,
            signal_ttl_s: 86_400,
            reconnect_retries: 2,
            reconnect_min_delay_ms: 50,
            reconnect_max_delay_ms: 2_000,
            health_check_ms: 1_000,
            snapshots: true,
            snapshot_interval_ms: 30_000,
            username: String::new(),
            password: Secret::default(),
            tls_ca_file: String::new(),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
        }
    }
}

/// MongoDB archive connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MongoSettings {
    /// Whether `serve` archives signals (off by default so a worker without
    /// MongoDB runs quietly; docker-compose turns it on).
    pub enabled: bool,
    /// Connection string.
    pub url: String,
    /// Database name.
    pub database: String,
    /// Collection holding archived signals.
    pub collection: String,
    /// Durable consumer name of the archiver on the SIGNALS stream.
    pub archive_durable: String,
    /// User to authenticate as (SCRAM); "" for none (or credentials in the URL).
    pub username: String,
    /// Password of `username`; set it through SIGNAL_WORKER_MONGODB_PASSWORD.
    pub password: Secret,
    /// Database holding the user; "" for the driver's default (`admin`, or the URL's).
    pub auth_source: String,
    /// `SCRAM-SHA-256` or `SCRAM-SHA-1`; "" lets the driver negotiate with the server.
    pub auth_mechanism: String,
    /// Connect with TLS (also implied by a CA or client certificate file, or `tls=true` in the URL).
    pub tls: bool,
    /// PEM file of the CA that signed the server's certificate; "" trusts the system roots.
    pub tls_ca_file: String,
    /// PEM file holding the client certificate and its key, for servers that verify clients.
    pub tls_cert_key_file: String,
}

impl MongoSettings {
    /// Refuses a password without a user (it would be silently ignored).
    pub fn validate_security(&self) -> Result<(), String> {
        if self.password.is_set() && self.username.is_empty() {
            return Err("mongodb.password is set without mongodb.username".into());
        }
        if !self.auth_source.is_empty() && self.username.is_empty() {
            return Err("mongodb.auth_source is set without mongodb.username".into());
        }
        if !["", "SCRAM-SHA-256", "SCRAM-SHA-1"].contains(&self.auth_mechanism.as_str()) {
            return Err(format!(
                "mongodb.auth_mechanism {:?} must be SCRAM-SHA-256, SCRAM-SHA-1 or empty",
                self.auth_mechanism
            ));
        }
        Ok(())
    }
}

impl Default for MongoSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            url: "mongodb://127.0.0.1:27017".into(),
            database: "signal_worker".into(),
            collection: "signals".into(),
            archive_durable: "signal-archiver".into(),
            username: String::new(),
            password: Secret::default(),
            auth_source: String::new(),
            auth_mechanism: String::new(),
            tls: false,
            tls_ca_file: String::new(),
            tls_cert_key_file: String::new(),
        }
    }
}

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
    /// of recreating it under the other worker.
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
