//! Range checks of the settings that types alone cannot express, run once at startup so a bad
//! value is refused with its name before anything connects.

use super::{ConfigError, Settings};

impl Settings {
    /// Range checks that types alone cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validation.validate().map_err(ConfigError::Invalid)?;
        self.features
            .validate()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        self.decision
            .validate()
            .map_err(|e| ConfigError::Invalid(format!("decision.{e}")))?;
        self.training
            .validate()
            .map_err(|e| ConfigError::Invalid(format!("training: {e}")))?;
        self.nats
            .validate_security()
            .map_err(ConfigError::Invalid)?;
        // Overlapping live routes, bad names or filters are refused here, at start, naming them.
        if !self.models.is_empty() {
            let specs: Vec<_> = self.models.iter().map(|m| m.spec()).collect();
            crate::core::routing::RoutingTable::new(&specs, &self.nats.candle_subject_prefix)
                .map_err(|e| ConfigError::Invalid(format!("models: {e}")))?;
        }
        self.redis
            .validate_security()
            .map_err(ConfigError::Invalid)?;
        self.mongodb
            .validate_security()
            .map_err(ConfigError::Invalid)?;
        let positive = [
            ("nats.connect_timeout_ms", self.nats.connect_timeout_ms),
            ("redis.command_timeout_ms", self.redis.command_timeout_ms),
            ("redis.connect_timeout_ms", self.redis.connect_timeout_ms),
            ("redis.signal_ttl_s", self.redis.signal_ttl_s),
            (
                "redis.snapshot_interval_ms",
                self.redis.snapshot_interval_ms,
            ),
            ("shutdown.deadline_ms", self.shutdown.deadline_ms),
            ("metrics.health_poll_ms", self.metrics.health_poll_ms),
            ("metrics.intake_stall_ms", self.metrics.intake_stall_ms),
            ("nats.request_timeout_ms", self.nats.request_timeout_ms),
            ("nats.duplicate_window_ms", self.nats.duplicate_window_ms),
            ("serve.max_wait_ms", self.serve.max_wait_ms),
            ("serve.evict_interval_ms", self.serve.evict_interval_ms),
            ("serve.model_poll_ms", self.serve.model_poll_ms),
            ("serve.score_window", self.serve.score_window as u64),
            ("model.max_file_bytes", self.model.max_file_bytes),
            ("model.load_timeout_ms", self.model.load_timeout_ms),
            ("serve.ack_wait_ms", self.serve.ack_wait_ms),
            (
                "serve.restart_min_delay_ms",
                self.serve.restart_min_delay_ms,
            ),
            (
                "serve.restart_max_delay_ms",
                self.serve.restart_max_delay_ms,
            ),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::Invalid(format!(
                "{key} must be greater than 0"
            )));
        }
        for (key, prefix) in [
            (
                "nats.candle_subject_prefix",
                &self.nats.candle_subject_prefix,
            ),
            (
                "nats.signal_subject_prefix",
                &self.nats.signal_subject_prefix,
            ),
            ("nats.dlq_subject_prefix", &self.nats.dlq_subject_prefix),
            (
                "nats.shadow_subject_prefix",
                &self.nats.shadow_subject_prefix,
            ),
            ("nats.backtest_subject", &self.nats.backtest_subject),
            ("nats.control_subject", &self.nats.control_subject),
            ("nats.scores_subject", &self.nats.scores_subject),
            ("nats.promote_subject", &self.nats.promote_subject),
        ] {
            if prefix.is_empty()
                || prefix.contains(['*', '>', ' '])
                || prefix.starts_with('.')
                || prefix.ends_with('.')
            {
                return Err(ConfigError::Invalid(format!(
                    "{key} {prefix:?} is not a valid literal subject"
                )));
            }
        }
        // Shadow signals must never land in a stream the trading engine or the intake reads.
        let shadow = &self.nats.shadow_subject_prefix;
        let captures = |a: &str, b: &str| {
            a == b || b.starts_with(&format!("{a}.")) || a.starts_with(&format!("{b}."))
        };
        for (key, other) in [
            (
                "nats.signal_subject_prefix",
                &self.nats.signal_subject_prefix,
            ),
            (
                "nats.candle_subject_prefix",
                &self.nats.candle_subject_prefix,
            ),
            ("nats.dlq_subject_prefix", &self.nats.dlq_subject_prefix),
        ] {
            if captures(shadow, other) {
                return Err(ConfigError::Invalid(format!(
                    "nats.shadow_subject_prefix {shadow:?} overlaps {key} {other:?}: shadow signals would reach that stream"
                )));
            }
        }
        self.validate_serve()?;
        self.validate_limits()?;
        if !(4..=64).contains(&self.nats.msg_id_hash_prefix_len) {
            return Err(ConfigError::Invalid(
                "nats.msg_id_hash_prefix_len must be within 4..=64".into(),
            ));
        }
        if self.metrics.addr.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "metrics.addr {:?} is not a socket address",
                self.metrics.addr
            )));
        }
        Ok(())
    }

    /// Checks of the bounds that keep a hostile bus from stopping or steering the worker.
    fn validate_limits(&self) -> Result<(), ConfigError> {
        let nats = &self.nats;
        if ![1, 3].contains(&nats.replicas) {
            return Err(ConfigError::Invalid(format!(
                "nats.replicas ({}) must be 1 (one server) or 3 (a cluster of three)",
                nats.replicas
            )));
        }
        if nats.url.split(',').any(|u| u.trim().is_empty()) {
            return Err(ConfigError::Invalid(
                "nats.url: an empty server in the comma-separated list".into(),
            ));
        }
        if nats.dlq_max_body_bytes < 64 {
            return Err(ConfigError::Invalid(
                "nats.dlq_max_body_bytes must be at least 64".into(),
            ));
        }
        // Room for a message's headers besides its body: a dead letter repeats its candle's
        // subject (up to the server's 4 KiB control line) twice and carries the error reply.
        const HEADER_ROOM: usize = 16 * 1024;
        // The server keeps a stream's max_age in nanoseconds (i64) and refuses an age or a
        // duplicate window under 100 ms, or an age shorter than the duplicate window.
        const MAX_AGE_MS: u64 = i64::MAX as u64 / 1_000_000;
        const MIN_WINDOW_MS: u64 = 100;
        if nats.duplicate_window_ms < MIN_WINDOW_MS {
            return Err(ConfigError::Invalid(format!(
                "nats.duplicate_window_ms ({}) must be at least {MIN_WINDOW_MS} (the server's minimum)",
                nats.duplicate_window_ms
            )));
        }
        let candle = self.validation.max_message_bytes;
        let streams = [
            (
                "candles",
                nats.candles_max_age_ms,
                nats.candles_max_bytes,
                nats.candles_max_msg_bytes,
                candle,
                "validation.max_message_bytes",
            ),
            (
                "signals",
                nats.signals_max_age_ms,
                nats.signals_max_bytes,
                nats.signals_max_msg_bytes,
                candle.saturating_mul(2).saturating_add(HEADER_ROOM),
                "2 x validation.max_message_bytes + 16 KiB",
            ),
            (
                "dlq",
                nats.dlq_max_age_ms,
                nats.dlq_max_bytes,
                nats.dlq_max_msg_bytes,
                nats.dlq_max_body_bytes.saturating_add(HEADER_ROOM),
                "nats.dlq_max_body_bytes + 16 KiB",
            ),
            (
                "backtest",
                nats.backtest_max_age_ms,
                nats.backtest_max_bytes,
                nats.backtest_max_msg_bytes,
                HEADER_ROOM,
                "16 KiB",
            ),
        ];
        for (stream, age, bytes, msg, least, why) in streams {
            if (msg as usize) < least {
                return Err(ConfigError::Invalid(format!(
                    "nats.{stream}_max_msg_bytes ({msg}) must be at least {why} ({least})"
                )));
            }
            if msg > i32::MAX as u32 {
                return Err(ConfigError::Invalid(format!(
                    "nats.{stream}_max_msg_bytes ({msg}) must fit a stream's max_msg_size (i32)"
                )));
            }
            if age > MAX_AGE_MS {
                return Err(ConfigError::Invalid(format!(
                    "nats.{stream}_max_age_ms ({age}) must be at most {MAX_AGE_MS} (the server keeps it in nanoseconds, i64)"
                )));
            }
            if age != 0 && age < nats.duplicate_window_ms {
                return Err(ConfigError::Invalid(format!(
                    "nats.{stream}_max_age_ms ({age}) must be 0 (no limit) or at least nats.duplicate_window_ms ({}): the server refuses a stream whose messages expire within its duplicate window",
                    nats.duplicate_window_ms
                )));
            }
            if bytes > i64::MAX as u64 {
                return Err(ConfigError::Invalid(format!(
                    "nats.{stream}_max_bytes ({bytes}) must fit a stream's max_bytes (i64)"
                )));
            }
            if bytes != 0 && bytes < u64::from(msg) {
                return Err(ConfigError::Invalid(format!(
                    "nats.{stream}_max_bytes ({bytes}) must be 0 (no limit) or at least nats.{stream}_max_msg_bytes ({msg})"
                )));
            }
        }
        if let Some(bad) = nats
            .reply_subjects
            .iter()
            .find(|f| !crate::contract::subject::is_valid_filter(f))
        {
            return Err(ConfigError::Invalid(format!(
                "nats.reply_subjects: {bad:?} is not a valid subject filter"
            )));
        }
        if let Some(bad) = self
            .model
            .allowed_sha256
            .iter()
            .find(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(ConfigError::Invalid(format!(
                "model.allowed_sha256: {bad:?} is not a SHA-256 in hex (64 characters)"
            )));
        }
        if self.sequence.idle_evict_ms < 0 {
            return Err(ConfigError::Invalid(
                "sequence.idle_evict_ms must not be negative".into(),
            ));
        }
        Ok(())
    }

    /// Checks of the worker's names and bounds.
    fn validate_serve(&self) -> Result<(), ConfigError> {
        let serve = &self.serve;
        if serve.batch_size == 0 {
            return Err(ConfigError::Invalid(
                "serve.batch_size must be greater than 0".into(),
            ));
        }
        if serve.max_ack_pending < serve.batch_size as i64 {
            return Err(ConfigError::Invalid(format!(
                "serve.max_ack_pending ({}) must be at least serve.batch_size ({})",
                serve.max_ack_pending, serve.batch_size
            )));
        }
        if self.nats.partitions > 1024 {
            return Err(ConfigError::Invalid(format!(
                "nats.partitions ({}) must be at most 1024",
                self.nats.partitions
            )));
        }
        // A pinned worker pulls at least every max_wait_ms; its pin must outlive that wait
        // by a wide margin, or it would be unpinned between two of its own pulls.
        if self.nats.partitions > 0 && serve.pinned_ttl_ms < 4 * serve.max_wait_ms.max(250) {
            return Err(ConfigError::Invalid(format!(
                "serve.pinned_ttl_ms ({}) must be at least 4 x max(serve.max_wait_ms, 250) ({})",
                serve.pinned_ttl_ms,
                4 * serve.max_wait_ms.max(250)
            )));
        }
        // A live worker pulls at least every max_wait_ms: quieter than a few of those is idle.
        if serve.standby_idle_ms < 4 * serve.max_wait_ms {
            return Err(ConfigError::Invalid(format!(
                "serve.standby_idle_ms ({}) must be at least 4 x serve.max_wait_ms ({})",
                serve.standby_idle_ms,
                4 * serve.max_wait_ms
            )));
        }
        if serve.restart_max_delay_ms < serve.restart_min_delay_ms {
            return Err(ConfigError::Invalid(
                "serve.restart_max_delay_ms must be at least serve.restart_min_delay_ms".into(),
            ));
        }
        for (key, name) in [
            ("nats.candles_stream", &self.nats.candles_stream),
            ("nats.signals_stream", &self.nats.signals_stream),
            ("nats.dlq_stream", &self.nats.dlq_stream),
            ("nats.backtest_stream", &self.nats.backtest_stream),
            ("nats.model_bucket", &self.nats.model_bucket),
            ("serve.durable", &serve.durable),
            ("serve.backtest_durable", &serve.backtest_durable),
            ("serve.backtest_queue_group", &serve.backtest_queue_group),
            ("serve.priority_group", &serve.priority_group),
        ] {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(ConfigError::Invalid(format!(
                    "{key} {name:?} may only contain ASCII letters, digits, '_' and '-'"
                )));
            }
        }
        Ok(())
    }
}
