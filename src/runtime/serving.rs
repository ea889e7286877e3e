//! What serving candles holds — the whole stream, or one partition of it — and its one life
//! cycle: open (resume from snapshots, replay the history up to the ack floor) → serve batches
//! (between them: evict idle series, checkpoint, swap to the model in force) → finish (a last
//! checkpoint). The unpartitioned intake and every partition task run exactly this; they differ
//! only in where batches come from and when the stretch is theirs.

use super::batch::{self, Acks, Processed, Started};
use super::checkpoint::{Checkpoints, Resumed};
use super::eviction::Eviction;
use super::model_in_force::ModelFollower;
use super::signal_cache::SignalCache;
use super::{AppState, TaskError, clock};
use crate::bus::Delivered;
use crate::bus::readback::{self, Covered, History};
use crate::config::Settings;
use crate::core::pipeline::Input;
use crate::core::routing::Router;
use crate::telemetry::metrics as m;
use tokio_util::sync::CancellationToken;

/// Which stretch of the candle stream is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stretch {
    /// Every candle subject (no partitions).
    Whole,
    /// One partition: its subjects only, its own snapshots.
    Partition(u32),
}

/// The served stretch's state: the routed pipeline, what the signal stream already holds, the
/// checkpoints, and how far every outcome is durable.
pub struct Serving {
    /// The routed pipeline (one per model route).
    pub pipeline: Router,
    covered: Covered,
    checkpoints: Option<Checkpoints>,
    /// Every candle at or below this stream sequence has a durable outcome.
    pub processed_through: u64,
    follower: ModelFollower,
    eviction: Eviction,
}

impl std::fmt::Debug for Serving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serving")
            .field("processed_through", &self.processed_through)
            .field("series", &self.pipeline.series_count())
            .finish_non_exhaustive()
    }
}

/// What opening rebuilt, for the start-up log line.
#[derive(Debug, Clone, Copy)]
pub struct Opened {
    /// Series resumed from snapshots.
    pub resumed_series: usize,
    /// The history was replayed after this sequence (0: from the first stored candle).
    pub replay_after: u64,
    /// Candles replayed from the history.
    pub replayed: u64,
}

impl Serving {
    /// Opens the stretch up to `ack_floor` with `pipeline` (built by
    /// [`super::routes::open_router`], before a standby wait, so readiness reflects the model):
    /// reads the last signals,
    /// resumes the series Redis holds and replays the rest of the history (outcomes already
    /// durable: nothing is published), then checkpoints what the replay rebuilt so the next
    /// start replays nothing.
    pub async fn open(
        state: &AppState,
        settings: &Settings,
        stretch: Stretch,
        mut pipeline: Router,
        ack_floor: u64,
        token: &CancellationToken,
    ) -> Result<(Self, Opened), TaskError> {
        let covered =
            readback::last_signals(&state.bus, &settings.nats, &trust(settings, &pipeline)).await?;
        let partition = match stretch {
            Stretch::Whole => None,
            Stretch::Partition(p) => Some(p),
        };
        let mut checkpoints = Checkpoints::new(&settings.redis, partition)
            .map_err(|e| TaskError::Io(e.to_string()))?;
        let resumed = match checkpoints.as_mut() {
            Some(c) => c.resume(&mut pipeline, ack_floor).await,
            None => Resumed {
                series: 0,
                replay_after: 0,
            },
        };
        let replayed = warm_start(
            state,
            &mut pipeline,
            filter(settings, stretch),
            resumed.replay_after,
            ack_floor,
            token,
        )
        .await?;
        metrics::counter!(m::HISTORY_REPLAYED).increment(replayed);
        // Checkpointed now, while the state is exactly the ack floor's (a partition's catch-up
        // adds candles past it, and a snapshot labelled with the floor would replay them twice).
        if let Some(c) = checkpoints.as_mut().filter(|_| replayed > 0) {
            c.checkpoint_now(&mut pipeline, ack_floor);
        }
        super::routes::report_models(&pipeline);
        let serving = Self {
            pipeline,
            covered,
            checkpoints,
            processed_through: ack_floor,
            follower: ModelFollower::new(settings.serve.model_poll_ms),
            eviction: Eviction::new(settings.serve.evict_interval_ms),
        };
        let opened = Opened {
            resumed_series: resumed.series,
            replay_after: resumed.replay_after,
            replayed,
        };
        Ok((serving, opened))
    }

    /// Between batches, when every processed candle's outcome is durable (so the checkpoints
    /// take, and the follower swaps, exactly what a restart would rebuild): evicts idle
    /// series, checkpoints when due, and follows the model in force.
    pub async fn between_batches(&mut self, state: &AppState) {
        let evicted = self.eviction.tick(&mut self.pipeline, &mut self.covered);
        if let Some(c) = self.checkpoints.as_mut() {
            c.forget(&mut self.pipeline, &evicted, self.processed_through);
            c.tick(&mut self.pipeline, self.processed_through);
        }
        self.follower.tick(state, &mut self.pipeline).await;
    }

    /// Whether [`Serving::between_batches`] has something due: an intake that overlaps
    /// batches finishes the one in flight first, so the work runs on exactly what is durable.
    pub fn between_batches_due(&self) -> bool {
        self.eviction.due()
            || self.follower.due()
            || self.checkpoints.as_ref().is_some_and(Checkpoints::due)
    }

    /// Processes `batch` (see [`batch::process`]); nothing is sent. `acks`: how its candles are
    /// settled once durable ([`Acks::None`] for candles read back from the stream).
    pub async fn process(
        &mut self,
        batch: Vec<Delivered>,
        acks: Acks,
    ) -> Result<Processed, TaskError> {
        batch::process(&mut self.pipeline, batch, self.processed_through, acks).await
    }

    /// Sends a processed batch's outcomes (see [`Processed::send`]); the batch before it must
    /// be finished.
    pub async fn send(
        &mut self,
        state: &AppState,
        processed: Processed,
    ) -> Result<Started, TaskError> {
        processed.send(state, &mut self.covered).await
    }

    /// Completes a sent batch: outcomes durable, candles settled; hands its signals to the
    /// cache.
    pub async fn finish_batch(
        &mut self,
        state: &AppState,
        started: Started,
        cache: Option<&SignalCache>,
    ) -> Result<(), TaskError> {
        let (through, published) = started.finish(state, &self.pipeline).await?;
        // A batch processed before the previous one finished computed its sequence from the
        // older mark: never step back.
        self.processed_through = self.processed_through.max(through);
        if let Some(cache) = cache {
            cache.put(&published);
        }
        Ok(())
    }

    /// Serves one batch start to end.
    pub async fn serve(
        &mut self,
        state: &AppState,
        batch: Vec<Delivered>,
        acks: Acks,
        cache: Option<&SignalCache>,
    ) -> Result<(), TaskError> {
        let processed = self.process(batch, acks).await?;
        let started = self.send(state, processed).await?;
        self.finish_batch(state, started, cache).await
    }

    /// On a clean stop or a hand-over: a last checkpoint, awaited, so the next start (or owner)
    /// resumes from it instead of replaying.
    pub async fn finish(&mut self) {
        if let Some(c) = self.checkpoints.as_mut() {
            c.finish(&mut self.pipeline, self.processed_through).await;
        }
    }
}

/// The history subjects of a stretch: `None` (the whole stream), or the partition's canonical
/// subjects (its settings' candle prefix already names it).
pub fn filter(settings: &Settings, stretch: Stretch) -> Option<String> {
    match stretch {
        Stretch::Whole => None,
        Stretch::Partition(_) => Some(format!("{}.>", settings.nats.candle_subject_prefix)),
    }
}

/// Rebuilds series state from the candle history (of one partition when `filter` names its
/// subjects) after `after` up to the ack floor (outcomes already durable: no signal is
/// published). Returns the count.
async fn warm_start(
    state: &AppState,
    pipeline: &mut Router,
    filter: Option<String>,
    after: u64,
    ack_floor: u64,
    token: &CancellationToken,
) -> Result<u64, TaskError> {
    let nats = &state.settings.nats;
    let Some(mut history) = History::open(
        &state.bus,
        nats,
        filter,
        after,
        ack_floor,
        state.settings.serve.batch_size.max(256),
    )
    .await?
    else {
        return Ok(0);
    };
    let mut count = 0;
    tracing::info!(
        after,
        ack_floor,
        "warm start: rebuilding series state from the candle history"
    );
    while let Some(chunk) = history.next_chunk().await? {
        if token.is_cancelled() {
            // Half-rebuilt state must never be checkpointed ("through = ack floor") nor
            // publish a predecessor's in-flight candles: the caller drops it.
            tracing::info!(replayed = count, "warm start interrupted by a stop");
            return Err(TaskError::Interrupted("the warm start"));
        }
        let inputs: Vec<Input<'_>> = chunk.iter().map(Delivered::input).collect();
        // Judged by when the candles were stored, not today's clock: a candle dead-lettered
        // live as being in the future must be refused again here, or the rebuilt state would
        // differ from the uninterrupted run's.
        state.health.beat();
        let stored_ms = chunk.iter().filter_map(Delivered::stored_at_ms).max();
        let now = stored_ms.unwrap_or_else(clock::now_ms);
        tokio::task::block_in_place(|| pipeline.warm(&inputs, Some(now)))?;
        count += chunk.len() as u64;
    }
    Ok(count)
}

/// What the start-up read of last signals believes: signals of the routes' models (and of the
/// allow-listed models) for candles that have opened by now.
fn trust(settings: &Settings, pipeline: &Router) -> readback::Trust {
    let mut model_hashes = settings.model.allowed_sha256.clone();
    model_hashes.extend(pipeline.all_models().map(|m| m.sha256.to_string()));
    readback::Trust {
        model_hashes,
        now_ms: clock::now_ms(),
    }
}

/// Sets the `model_info` gauge of `model` (1: in force, 0: replaced).
pub(super) fn model_gauge(model: &crate::contract::ModelRef, value: f64) {
    let hash = model.sha256.get(..12).unwrap_or(&model.sha256).to_owned();
    metrics::gauge!(m::MODEL_INFO, "name" => model.name.to_string(), "version" => model.version.to_string(), "hash" => hash).set(value);
}
