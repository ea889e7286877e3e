//! Settings of the stores the worker writes to: the Redis cache (latest signals, snapshots) and
//! the MongoDB archive.

use super::secret::Secret;
use serde::{Deserialize, Serialize};

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
