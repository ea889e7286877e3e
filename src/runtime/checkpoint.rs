//! Series-state checkpoints: the intake resumes every series from its Redis snapshot at start
//! and replays only the candles after the oldest one, instead of the whole candle stream.
//!
//! Checkpoints are taken between batches, when every candle up to `processed_through` has a
//! durable outcome, so a snapshot never runs ahead of what is acked. Only series that changed
//! since the previous checkpoint are encoded; the write runs in the background, so Redis (slow or
//! down) never stalls the intake. A failed write makes the next checkpoint write every series.
//!
//! At start a snapshot is refused — and the history replay starts from the beginning, so nothing
//! is lost — when it is missing, undecodable, of another format or model, or ahead of the durable
//! consumer's ack floor (the stream was recreated, or acks were lost).

use super::clock;
use crate::cache::snapshots::SnapshotStore;
use crate::config::RedisSettings;
use crate::core::routing::Router;
use crate::core::series_snapshot::SeriesSnapshot;
use crate::telemetry::metrics as m;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Where the history replay starts after resuming from snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resumed {
    /// Series resumed from a snapshot.
    pub series: usize,
    /// Replay the candles after this sequence (0: from the first stored).
    pub replay_after: u64,
}

/// The checkpoint schedule and the write in flight.
#[derive(Debug)]
pub struct Checkpoints {
    store: SnapshotStore,
    every: Duration,
    last: Instant,
    writing: Option<JoinHandle<Result<usize, String>>>,
    /// The previous write failed (or the model changed): the next checkpoint writes every series.
    write_all: bool,
    /// Weights hashes of the routes' models the last checkpoint was taken with.
    model: String,
    /// Evicted series (ids) whose snapshots and index entries the next write removes first.
    evicted: Vec<String>,
}

impl Checkpoints {
    /// Checkpoints per `settings`, or `None` when Redis or its snapshots are off; `partition`
    /// names the candle-stream partition whose series they cover (`None`: the whole stream).
    pub fn new(
        settings: &RedisSettings,
        partition: Option<u32>,
    ) -> Result<Option<Self>, crate::cache::CacheError> {
        if !(settings.enabled && settings.snapshots) {
            return Ok(None);
        }
        Ok(Some(Self {
            store: SnapshotStore::new(settings)?.for_partition(partition),
            every: Duration::from_millis(settings.snapshot_interval_ms),
            last: Instant::now(),
            writing: None,
            write_all: true,
            model: String::new(),
            evicted: Vec::new(),
        }))
    }

    /// Resumes every series Redis holds a usable snapshot of. Snapshots are never trusted over
    /// completeness: if any indexed series cannot be resumed, or Redis cannot be read, the
    /// replay starts from the first stored candle (resumed series then skip what they have).
    pub async fn resume(&mut self, pipeline: &mut Router, ack_floor: u64) -> Resumed {
        let from_start = Resumed {
            series: 0,
            replay_after: 0,
        };
        let stored = match self.store.read_all().await {
            Ok(stored) => stored,
            Err(e) => {
                refused("unreadable", 1);
                tracing::warn!(error = %e, "series snapshots unreadable; rebuilding state from the whole candle history");
                return from_start;
            }
        };
        let mut complete = true;
        let mut replay_after = u64::MAX;
        let mut series: usize = 0;
        for (id, bytes) in &stored {
            let outcome = match bytes {
                None => Err(("missing", "indexed but not stored".to_owned())),
                Some(bytes) => {
                    tokio::task::block_in_place(|| resume_one(pipeline, id, bytes, ack_floor))
                }
            };
            match outcome {
                Ok(through) => {
                    series += 1;
                    replay_after = replay_after.min(through);
                }
                Err((reason, detail)) => {
                    complete = false;
                    refused(reason, 1);
                    tracing::warn!(series = %id, reason, detail = %detail, "series snapshot refused; rebuilding it from history");
                }
            }
        }
        // Routes sharing a series' features must hold it at the same point; where one does
        // not, the series is dropped from all of them and the whole history rebuilds it.
        let dropped = pipeline.align_resumed();
        if dropped > 0 {
            complete = false;
            series = series.saturating_sub(dropped);
            refused("out_of_step", dropped as u64);
            tracing::warn!(
                dropped,
                "series whose routes resumed at different points dropped; rebuilding them from the whole history"
            );
        }
        metrics::counter!(m::SNAPSHOTS_RESTORED).increment(series as u64);
        // Resumed series are what Redis holds: only a failed write makes the next checkpoint
        // write everything.
        self.write_all = !complete;
        self.model = pipeline.fingerprint();
        Resumed {
            series,
            replay_after: if complete && series > 0 {
                replay_after
            } else {
                0
            },
        }
    }

    /// Whether a checkpoint is due (the next tick takes one).
    pub fn due(&self) -> bool {
        self.last.elapsed() >= self.every
    }

    /// Between batches: when a checkpoint is due and the previous write has finished, snapshots
    /// the series changed since (every series after a failure) and writes them in the background.
    pub fn tick(&mut self, pipeline: &mut Router, processed_through: u64) {
        if self.due() {
            self.checkpoint_now(pipeline, processed_through);
        }
    }

    /// Records series evicted from memory: the next checkpoint removes their snapshots and index
    /// entries before it writes (in the same background task, so in order with the writes), and
    /// a restart does not bring them back. Taken at once when no write is in flight.
    pub fn forget(
        &mut self,
        pipeline: &mut Router,
        evicted: &[crate::contract::SeriesKey],
        processed_through: u64,
    ) {
        if evicted.is_empty() {
            return;
        }
        self.evicted.extend(pipeline.snapshot_ids_of(evicted));
        self.checkpoint_now(pipeline, processed_through);
    }

    /// On a clean stop: waits for the write in flight, then writes a last checkpoint and waits
    /// for it (bounded by the Redis command deadlines), so the next start replays nothing.
    pub async fn finish(&mut self, pipeline: &mut Router, processed_through: u64) {
        self.wait().await;
        self.checkpoint_now(pipeline, processed_through);
        self.wait().await;
    }

    /// Takes a checkpoint now (when no write is in flight): after a history replay, whose
    /// rebuilt state should not be rebuilt again by the next start.
    pub fn checkpoint_now(&mut self, pipeline: &mut Router, processed_through: u64) {
        if self.previous_done() {
            self.start(pipeline, processed_through);
        }
    }

    fn start(&mut self, pipeline: &mut Router, processed_through: u64) {
        self.last = Instant::now();
        let model = pipeline.fingerprint();
        let all = self.write_all || model != self.model;
        self.model = model;
        let (ids, snapshots) = tokio::task::block_in_place(|| {
            let snapshots: Vec<(String, Vec<u8>)> = pipeline
                .checkpoint(processed_through, all)
                .into_iter()
                .filter_map(|(id, s)| encode(&s).map(|bytes| (id, bytes)))
                .collect();
            let ids: Vec<String> = pipeline.snapshot_ids();
            (ids, snapshots)
        });
        if snapshots.is_empty() && self.evicted.is_empty() {
            return;
        }
        // The flag is cleared only once this write is known to have succeeded.
        self.write_all = true;
        let store = self.store.clone();
        // Lost with a failed write: a restart then resumes those series and evicts them again.
        let evicted = std::mem::take(&mut self.evicted);
        self.writing = Some(tokio::spawn(async move {
            let started = clock::now_ms();
            let removed = match evicted.is_empty() {
                true => Ok(()),
                false => store.remove(&evicted).await,
            };
            let written = match removed {
                Ok(()) => store.write(&ids, &snapshots).await,
                Err(e) => Err(e),
            };
            written
                .map(|()| {
                    tracing::debug!(
                        series = snapshots.len(),
                        elapsed_ms = clock::now_ms() - started,
                        through = processed_through,
                        "checkpoint written"
                    );
                    snapshots.len()
                })
                .map_err(|e| e.to_string())
        }));
    }

    /// Whether no write is in flight (collecting the result of a finished one).
    fn previous_done(&mut self) -> bool {
        match &self.writing {
            Some(handle) if !handle.is_finished() => false,
            _ => {
                if let Some(handle) = self.writing.take() {
                    self.record(futures::FutureExt::now_or_never(handle));
                }
                true
            }
        }
    }

    async fn wait(&mut self) {
        if let Some(handle) = self.writing.take() {
            self.record(Some(handle.await));
        }
    }

    fn record(&mut self, result: Option<Result<Result<usize, String>, tokio::task::JoinError>>) {
        match result {
            Some(Ok(Ok(written))) => {
                self.write_all = false;
                metrics::counter!(m::SNAPSHOTS_WRITTEN).increment(written as u64);
            }
            Some(Ok(Err(e))) => {
                metrics::counter!(m::SNAPSHOT_FAILURES).increment(1);
                tracing::warn!(error = %e, "checkpoint not written; the next one writes every series");
            }
            Some(Err(e)) => {
                metrics::counter!(m::SNAPSHOT_FAILURES).increment(1);
                tracing::error!(error = %e, "checkpoint task failed; the next one writes every series");
            }
            None => {}
        }
    }
}

/// The background write belongs to its intake: an intake that fails (or a partition that is
/// given up) takes its write in flight with it instead of leaving a detached task behind. A
/// write cut short leaves a series indexed without its snapshot at worst, which the next start
/// notices and rebuilds from history.
impl Drop for Checkpoints {
    fn drop(&mut self) {
        if let Some(handle) = self.writing.take() {
            handle.abort();
        }
    }
}

/// Resumes one series; its snapshot's sequence, or why it was refused.
fn resume_one(
    pipeline: &mut Router,
    id: &str,
    bytes: &[u8],
    ack_floor: u64,
) -> Result<u64, (&'static str, String)> {
    let snapshot = SeriesSnapshot::decode(bytes).map_err(|e| ("undecodable", e.to_string()))?;
    if snapshot.through_sequence > ack_floor {
        return Err((
            "ahead_of_acks",
            format!(
                "snapshot reflects sequence {} but the ack floor is {ack_floor}",
                snapshot.through_sequence
            ),
        ));
    }
    pipeline
        .resume(id, &snapshot)
        .map_err(|e| ("incompatible", e.to_string()))?;
    Ok(snapshot.through_sequence)
}

fn encode(snapshot: &SeriesSnapshot) -> Option<Vec<u8>> {
    match snapshot.encode() {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            tracing::error!(series = %snapshot.series, error = %e, "snapshot not encodable; skipped");
            None
        }
    }
}

fn refused(reason: &'static str, n: u64) {
    metrics::counter!(m::SNAPSHOTS_REFUSED, "reason" => reason).increment(n);
}
