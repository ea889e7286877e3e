//! The Redis side edge of the intake: the latest signal per series, written in the background.
//!
//! The intake only hands its batch's signals over (an O(1) insert per signal into the map of
//! owed values, keyed by series, so it holds at most one value per series); a writer task the
//! intake owns drains that map in pipelined chunks under the command deadline. A slow or dead
//! Redis therefore never stalls intake: the map simply holds the newest value per series until
//! a probe every `redis.health_check_ms` succeeds and the writer catches up.

use super::{AppState, TaskError};
use crate::cache::Cache;
use crate::contract::Signal;
use crate::telemetry::health::{Dependency, Health};
use crate::telemetry::metrics as m;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Values owed to Redis, newest per key.
type Owed = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// The intake's handle on the background cache writer.
pub struct SignalCache {
    owed: Owed,
    wake: Arc<Notify>,
    writer: JoinHandle<()>,
    prefix: String,
}

impl std::fmt::Debug for SignalCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalCache")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl SignalCache {
    /// Starts the writer (it connects lazily: a Redis that is down is reported by its first write).
    pub fn new(
        state: &AppState,
        settings: &crate::config::RedisSettings,
    ) -> Result<Self, TaskError> {
        let cache = Cache::new(settings).map_err(|e| TaskError::Io(e.to_string()))?;
        let owed: Owed = Arc::default();
        let wake = Arc::new(Notify::new());
        let writer = tokio::spawn(write_owed(
            cache,
            owed.clone(),
            wake.clone(),
            state.health.clone(),
            Duration::from_millis(settings.health_check_ms),
        ));
        Ok(Self {
            owed,
            wake,
            writer,
            prefix: settings.key_prefix.clone(),
        })
    }

    /// Hands the latest signal of each series over to the writer; never waits on Redis.
    pub fn put(&self, signals: &[Signal]) {
        if signals.is_empty() {
            return;
        }
        let encoded: Vec<(String, Vec<u8>)> = signals
            .iter()
            .filter_map(|s| match serde_json::to_vec(s) {
                Ok(value) => Some((self.key(s), value)),
                Err(e) => {
                    tracing::error!(error = %e, "signal not encodable for the cache; skipped");
                    None
                }
            })
            .collect();
        if let Ok(mut owed) = self.owed.lock() {
            owed.extend(encoded);
        }
        self.wake.notify_one();
    }

    fn key(&self, signal: &Signal) -> String {
        format!(
            "{}:signal:{}:{}:{}",
            self.prefix, signal.exchange, signal.symbol, signal.interval
        )
    }
}

/// The writer belongs to its intake: it stops with it.
impl Drop for SignalCache {
    fn drop(&mut self) {
        self.writer.abort();
    }
}

/// Drains `owed` whenever woken: every value taken is written in pipelined chunks; what a
/// failed chunk leaves is put back (unless a newer value for its key arrived meanwhile) and
/// the writer probes Redis every `every` until it answers. Transitions are logged once.
async fn write_owed(
    cache: Cache,
    owed: Owed,
    wake: Arc<Notify>,
    health: Arc<Health>,
    every: Duration,
) {
    let mut up = true;
    loop {
        if up {
            wake.notified().await;
        } else {
            tokio::time::sleep(every).await;
            if cache.ping().await.is_err() {
                continue;
            }
        }
        let batch: Vec<(String, Vec<u8>)> = match owed.lock() {
            Ok(mut map) => map.drain().collect(),
            Err(_) => return,
        };
        if batch.is_empty() {
            if !up {
                up = recovered(&health);
            }
            continue;
        }
        match cache.write_many(&batch).await {
            Ok(_) => {
                if !up {
                    up = recovered(&health);
                } else {
                    health.set(Dependency::Redis, true);
                }
            }
            Err((written, e)) => {
                if let Ok(mut map) = owed.lock() {
                    for (key, value) in batch.into_iter().skip(written) {
                        map.entry(key).or_insert(value);
                    }
                }
                if up {
                    up = false;
                    health.set(Dependency::Redis, false);
                    let owed = owed.lock().map(|m| m.len()).unwrap_or(0);
                    tracing::warn!(error = %e, owed, "redis cache degraded; signals continue, the cache catches up later");
                }
            }
        }
    }
}

fn recovered(health: &Health) -> bool {
    health.set(Dependency::Redis, true);
    metrics::counter!(m::RECONNECTS, "dependency" => "redis").increment(1);
    tracing::info!("redis cache caught up");
    true
}
