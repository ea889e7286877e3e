//! Series-state snapshots in Redis: one key per series, `<prefix>:snapshot:<exchange>:<symbol>:<interval>`,
//! plus the set `<prefix>:snapshot-index` naming every series a checkpoint covered (one set per
//! candle-stream partition, `<prefix>:snapshot-index:p<partition>`, when the stream is partitioned:
//! a worker taking a partition over resumes that partition's series only).
//!
//! The index is written before the snapshots, so a checkpoint cut short (Redis died half-way)
//! leaves a series indexed but without a snapshot, or with an older one: the reader notices the
//! missing one and never silently resumes without it. Each snapshot records the candle-stream
//! sequence it reflects, so snapshots of different checkpoints can be mixed safely.

use super::{CacheError, bounded, connect};
use crate::config::RedisSettings;
use redis::aio::ConnectionManager;
use std::time::Duration;

/// Snapshots per round trip: keeps each pipelined command to a few megabytes, well inside the
/// command deadline, while a thousand series still take only a handful of round trips.
const CHUNK: usize = 64;

/// Reads and writes series snapshots (opaque bytes) in Redis.
#[derive(Clone)]
pub struct SnapshotStore {
    manager: ConnectionManager,
    prefix: String,
    partition: Option<u32>,
    timeout: Duration,
}

impl std::fmt::Debug for SnapshotStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl SnapshotStore {
    /// A store that connects lazily (a Redis that is down at startup is reported by the first
    /// call, not here).
    pub fn new(settings: &RedisSettings) -> Result<Self, CacheError> {
        Ok(Self {
            manager: connect(settings)?,
            prefix: settings.key_prefix.clone(),
            partition: None,
            timeout: Duration::from_millis(settings.command_timeout_ms),
        })
    }

    /// The same store, indexing the series of one candle-stream partition.
    pub fn for_partition(mut self, partition: Option<u32>) -> Self {
        self.partition = partition;
        self
    }

    /// The key of one series' snapshot (`id` is `exchange:symbol:interval`).
    pub fn key(&self, id: &str) -> String {
        format!("{}:snapshot:{id}", self.prefix)
    }

    /// The set naming every series a checkpoint covered.
    pub fn index_key(&self) -> String {
        match self.partition {
            None => format!("{}:snapshot-index", self.prefix),
            Some(p) => format!("{}:snapshot-index:p{p}", self.prefix),
        }
    }

    /// Writes a checkpoint: `ids` (every series the worker holds) into the index first, then
    /// `snapshots` (id, bytes), a chunk per round trip, each under the command deadline.
    pub async fn write(
        &self,
        ids: &[String],
        snapshots: &[(String, Vec<u8>)],
    ) -> Result<(), CacheError> {
        for chunk in ids.chunks(CHUNK * 16) {
            let mut conn = self.manager.clone();
            let index = self.index_key();
            bounded(self.timeout, async move {
                redis::cmd("SADD")
                    .arg(index)
                    .arg(chunk)
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await?;
        }
        for chunk in snapshots.chunks(CHUNK) {
            let mut pipe = redis::pipe();
            for (id, bytes) in chunk {
                pipe.cmd("SET")
                    .arg(self.key(id))
                    .arg(bytes.as_slice())
                    .ignore();
            }
            let mut conn = self.manager.clone();
            bounded(self.timeout, async move {
                pipe.query_async::<()>(&mut conn).await
            })
            .await?;
        }
        Ok(())
    }

    /// Forgets evicted series: takes `ids` out of the index, then deletes their snapshots (in
    /// that order, so a series is never indexed without the snapshot it had).
    pub async fn remove(&self, ids: &[String]) -> Result<(), CacheError> {
        for chunk in ids.chunks(CHUNK * 16) {
            let mut pipe = redis::pipe();
            pipe.cmd("SREM").arg(self.index_key()).arg(chunk).ignore();
            let keys: Vec<String> = chunk.iter().map(|id| self.key(id)).collect();
            pipe.cmd("DEL").arg(keys).ignore();
            let mut conn = self.manager.clone();
            bounded(self.timeout, async move {
                pipe.query_async::<()>(&mut conn).await
            })
            .await?;
        }
        Ok(())
    }

    /// Every indexed series with its snapshot bytes (`None`: indexed but missing).
    pub async fn read_all(&self) -> Result<Vec<(String, Option<Vec<u8>>)>, CacheError> {
        let mut conn = self.manager.clone();
        let index = self.index_key();
        let mut ids: Vec<String> = bounded(self.timeout, async move {
            redis::cmd("SMEMBERS")
                .arg(index)
                .query_async(&mut conn)
                .await
        })
        .await?;
        ids.sort();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let keys: Vec<String> = chunk.iter().map(|id| self.key(id)).collect();
            let mut conn = self.manager.clone();
            let values: Vec<Option<Vec<u8>>> = bounded(self.timeout, async move {
                redis::cmd("MGET").arg(keys).query_async(&mut conn).await
            })
            .await?;
            out.extend(chunk.iter().cloned().zip(values));
        }
        Ok(out)
    }
}
