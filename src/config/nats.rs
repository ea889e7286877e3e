//! Settings of the NATS edge: connection, credentials, subjects and streams.

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
    /// over the 50-bar warm-up (hundreds of bars) of the slowest interval traded.
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
