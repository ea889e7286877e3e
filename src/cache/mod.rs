//! The Redis cache: the latest signal per series (for consumers that poll)
//! and series-state snapshots (so a restart resumes without a warm-up, `snapshots.rs`).
//!
//! The cache is a side edge: it must never stall or stop signals. Every
//! command has a deadline; a failure marks the cache degraded (health and
//! metrics), keeps the newest value per key in memory (bounded by the number
//! of series), and [`Cache::catch_up`] writes them once Redis answers again.
//! Reconnection is the connection manager's, with exponential backoff and
//! jitter (backon underneath).

use crate::config::RedisSettings;
use crate::contract::{SeriesKey, Signal};
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::time::Duration;

mod connect;
pub mod snapshots;

pub use connect::connect;

/// Why a cache operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The URL or settings are unusable (reported at startup).
    #[error("redis settings: {0}")]
    Config(String),
    /// Redis answered with an error or the connection failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer within `redis.command_timeout_ms`.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Held back: Redis was unreachable and the cache is owed older writes;
    /// the value is kept and written by the next successful health check.
    #[error("redis is degraded; {0} values held for catch-up")]
    Behind(usize),
    /// A value could not be encoded.
    #[error("encode: {0}")]
    Encode(String),
}

/// The cache client and what it still owes Redis.
pub struct Cache {
    manager: ConnectionManager,
    prefix: String,
    timeout: Duration,
    ttl_s: u64,
    /// Newest value per key not yet written (key → (value, ttl in s; 0 = none)).
    pending: HashMap<String, (Vec<u8>, u64)>,
    up: bool,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("prefix", &self.prefix)
            .field("pending", &self.pending.len())
            .field("up", &self.up)
            .finish()
    }
}

impl Cache {
    /// A cache that connects lazily: a Redis that is down at startup makes the
    /// worker degraded, not dead.
    pub fn new(settings: &RedisSettings) -> Result<Self, CacheError> {
        Ok(Self {
            manager: connect(settings)?,
            prefix: settings.key_prefix.clone(),
            timeout: Duration::from_millis(settings.command_timeout_ms),
            ttl_s: settings.signal_ttl_s,
            pending: HashMap::new(),
            up: false,
        })
    }

    /// Whether the last command succeeded.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Values waiting for Redis to come back.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// `<prefix>:signal:<exchange>:<symbol>:<interval>`.
    pub fn signal_key(&self, series: &SeriesKey) -> String {
        format!("{}:signal:{}", self.prefix, series.id())
    }

    /// The same key from a signal's identity strings.
    pub fn signal_key_of(&self, signal: &Signal) -> String {
        format!(
            "{}:signal:{}:{}:{}",
            self.prefix, signal.exchange, signal.symbol, signal.interval
        )
    }

    /// Stores the latest signal of its series as JSON (what polling consumers read).
    /// On failure the value is kept for [`Cache::catch_up`] and the error returned.
    pub async fn put_signal(
        &mut self,
        series: &SeriesKey,
        signal: &Signal,
    ) -> Result<(), CacheError> {
        let value = serde_json::to_vec(signal).map_err(|e| CacheError::Encode(e.to_string()))?;
        let key = self.signal_key(series);
        self.put(key, value, self.ttl_s).await
    }

    /// Stores the latest signal of every series in `signals` (the last one per
    /// series wins) in one pipelined round trip. On failure everything is kept
    /// for [`Cache::catch_up`].
    pub async fn put_latest(&mut self, signals: &[Signal]) -> Result<(), CacheError> {
        let mut latest: HashMap<String, Vec<u8>> = HashMap::new();
        for signal in signals {
            let key = self.signal_key_of(signal);
            let value =
                serde_json::to_vec(signal).map_err(|e| CacheError::Encode(e.to_string()))?;
            latest.insert(key, value);
        }
        if latest.is_empty() {
            return Ok(());
        }
        if !self.pending.is_empty() {
            let ttl = self.ttl_s;
            self.pending
                .extend(latest.into_iter().map(|(k, v)| (k, (v, ttl))));
            return Err(CacheError::Behind(self.pending.len()));
        }
        let mut pipe = redis::pipe();
        for (key, value) in &latest {
            pipe.cmd("SET")
                .arg(key)
                .arg(value.as_slice())
                .arg("EX")
                .arg(self.ttl_s)
                .ignore();
        }
        let mut conn = self.manager.clone();
        let result = bounded(self.timeout, async move {
            pipe.query_async::<()>(&mut conn).await
        })
        .await;
        self.up = result.is_ok();
        if result.is_err() {
            let ttl = self.ttl_s;
            self.pending
                .extend(latest.into_iter().map(|(k, v)| (k, (v, ttl))));
        }
        result
    }

    /// Writes everything owed (each key holds only its newest value); stops at
    /// the first failure (Redis is still down) and keeps the rest. Returns how many were written.
    pub async fn catch_up(&mut self) -> Result<usize, CacheError> {
        let keys: Vec<String> = self.pending.keys().cloned().collect();
        let mut written = 0;
        for key in keys {
            let Some((value, ttl)) = self.pending.get(&key).cloned() else {
                continue;
            };
            self.write(&key, value, ttl).await?;
            self.pending.remove(&key);
            written += 1;
        }
        Ok(written)
    }

    /// A round trip (PING) that also writes what is owed when Redis answers.
    pub async fn health_check(&mut self) -> Result<(), CacheError> {
        let mut conn = self.manager.clone();
        let result = bounded(self.timeout, async move {
            redis::cmd("PING").query_async::<String>(&mut conn).await
        })
        .await;
        self.up = result.is_ok();
        result?;
        self.catch_up().await.map(|_| ())
    }

    async fn put(&mut self, key: String, value: Vec<u8>, ttl_s: u64) -> Result<(), CacheError> {
        if !self.pending.is_empty() {
            // Still owing: queue behind the owed values (the newest per key wins)
            // and let the health check catch up, so a down Redis costs one
            // timeout per check, not one per signal.
            self.pending.insert(key, (value, ttl_s));
            return Err(CacheError::Behind(self.pending.len()));
        }
        match self.write(&key, value.clone(), ttl_s).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.pending.insert(key, (value, ttl_s));
                Err(e)
            }
        }
    }

    async fn write(&mut self, key: &str, value: Vec<u8>, ttl_s: u64) -> Result<(), CacheError> {
        let mut conn = self.manager.clone();
        let key = key.to_owned();
        let result = bounded(self.timeout, async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(&key).arg(value);
            if ttl_s > 0 {
                cmd.arg("EX").arg(ttl_s);
            }
            cmd.query_async::<()>(&mut conn).await
        })
        .await;
        self.up = result.is_ok();
        result
    }
}

impl Cache {
    /// Writes `entries` (key, JSON value) with the signal TTL, pipelined in chunks of
    /// [`WRITE_CHUNK`] per round trip, each under the command deadline; stops at the first
    /// failed chunk and returns how many entries were written before it.
    pub async fn write_many(
        &self,
        entries: &[(String, Vec<u8>)],
    ) -> Result<usize, (usize, CacheError)> {
        let mut written = 0;
        for chunk in entries.chunks(WRITE_CHUNK) {
            let mut pipe = redis::pipe();
            for (key, value) in chunk {
                let cmd = pipe.cmd("SET").arg(key).arg(value.as_slice());
                if self.ttl_s > 0 {
                    cmd.arg("EX").arg(self.ttl_s);
                }
                cmd.ignore();
            }
            let mut conn = self.manager.clone();
            bounded(self.timeout, async move {
                pipe.query_async::<()>(&mut conn).await
            })
            .await
            .map_err(|e| (written, e))?;
            written += chunk.len();
        }
        Ok(written)
    }

    /// One `PING` under the command deadline.
    pub async fn ping(&self) -> Result<(), CacheError> {
        let mut conn = self.manager.clone();
        bounded(self.timeout, async move {
            redis::cmd("PING").query_async::<String>(&mut conn).await
        })
        .await
        .map(|_| ())
    }
}

/// Keys per pipelined round trip of [`Cache::write_many`]: a few hundred kilobytes, far inside
/// the command deadline, so ten thousand owed values take a few dozen round trips, not ten
/// thousand.
pub const WRITE_CHUNK: usize = 512;

/// Runs one Redis call under a deadline: a slow cache must never stall the caller.
pub async fn bounded<T>(
    timeout: Duration,
    fut: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, CacheError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r.map_err(CacheError::from),
        Err(_) => Err(CacheError::Timeout(timeout)),
    }
}
