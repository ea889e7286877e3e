//! The candle intake task: warm start, then fetch → pipeline → durable
//! outcomes → ack, one batch at a time, the next batch fetched while the server
//! stores the previous one's outcomes.
//!
//! A candle is acked only once its outcome is durable (see [`super::batch`]). Any failure
//! after a batch entered the pipeline leaves series state ahead of what is durable,
//! so the task fails and its restart rebuilds state from the stream (the
//! unacked candles are delivered again, in order, and their signals are
//! recognised as already published).

use super::batch::{self, input, stored_at_ms};
use super::checkpoint::{Checkpoints, Resumed};
use super::eviction::Eviction;
use super::model_in_force::ModelFollower;
use super::signal_cache::SignalCache;
use super::{AppState, TaskError, clock};
use crate::bus::history::{self, History};
use crate::bus::intake::CandleIntake;
use crate::core::pipeline::Input;
use crate::core::routing::Router;
use crate::telemetry::health::Dependency;
use crate::telemetry::metrics as m;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Runs the intake until `token` is cancelled; returns after the last batch
/// is acked and the acks are flushed.
pub async fn run(state: AppState, token: CancellationToken) -> Result<(), TaskError> {
    // Every attempt (a restart after a failure too) counts as progress for /healthz.
    state.health.beat();
    let settings = state.settings.clone();
    let mut pipeline = super::routes::open_router(&state, &settings).await?;
    let mut follower = ModelFollower::new(settings.serve.model_poll_ms);
    state.health.set(Dependency::Model, true);
    super::routes::report_models(&pipeline);
    let intake = CandleIntake::open(&state.js, &settings.nats, &settings.serve).await?;
    let mut covered = history::last_signals(
        &state.js,
        &settings.nats,
        &trust(settings.as_ref(), &pipeline),
    )
    .await?;
    let started = Instant::now();
    let mut checkpoints =
        Checkpoints::new(&settings.redis, None).map_err(|e| TaskError::Io(e.to_string()))?;
    let resumed = match checkpoints.as_mut() {
        Some(c) => c.resume(&mut pipeline, intake.ack_floor).await,
        None => Resumed {
            series: 0,
            replay_after: 0,
        },
    };
    let warmed = warm_start(
        &state,
        &mut pipeline,
        None,
        resumed.replay_after,
        intake.ack_floor,
        &token,
    )
    .await?;
    metrics::counter!(m::HISTORY_REPLAYED).increment(warmed);
    if let Some(c) = checkpoints.as_mut().filter(|_| warmed > 0) {
        // What the replay rebuilt is checkpointed at once, so the next start replays nothing.
        c.checkpoint_now(&mut pipeline, intake.ack_floor);
    }
    tracing::info!(
        candles = warmed,
        resumed_series = resumed.series,
        replay_after = resumed.replay_after,
        series = pipeline.series_count(),
        signalled_series = covered.len(),
        ack_floor = intake.ack_floor,
        elapsed_ms = started.elapsed().as_millis() as u64,
        model = %pipeline.model().name,
        "warm start done; consuming candles"
    );
    let mut processed_through = intake.ack_floor;
    let cache = match settings.redis.enabled {
        true => Some(SignalCache::new(&state, &settings.redis)?),
        false => None,
    };
    let mut eviction = Eviction::new(settings.serve.evict_interval_ms);
    // The batch fetched while the previous one was being made durable; after a stop is asked
    // for nothing more is fetched, and what was is still processed and acked.
    let mut prefetched: Option<Vec<async_nats::jetstream::Message>> = None;
    while !token.is_cancelled() || prefetched.is_some() {
        // Here every processed candle's outcome is durable: the state the checkpoints take
        // and the model the follower swaps are exactly what a restart would rebuild.
        let evicted = eviction.tick(&mut pipeline, &mut covered);
        if let Some(c) = checkpoints.as_mut() {
            c.forget(&mut pipeline, &evicted, processed_through);
            c.tick(&mut pipeline, processed_through);
        }
        follower.tick(&state, &mut pipeline).await;
        let batch = match prefetched.take() {
            Some(batch) => batch,
            None => intake.fetch().await?,
        };
        state.health.beat();
        if batch.is_empty() {
            continue;
        }
        let started = batch::start(
            &state,
            &mut pipeline,
            &mut covered,
            &batch,
            processed_through,
            true,
        )
        .await?;
        let fetch_next = async {
            match token.is_cancelled() {
                true => Ok(None),
                false => intake.fetch().await.map(Some).map_err(TaskError::from),
            }
        };
        // Both run to their end: a failed fetch never cuts short the acks of a batch whose
        // outcomes are already being confirmed (the batch's failure is reported first).
        let (finished, next) = tokio::join!(started.finish(&state, &mut pipeline), fetch_next);
        let (through, published) = finished?;
        let next = next?;
        processed_through = through;
        prefetched = next.filter(|b| !b.is_empty());
        if let Some(cache) = cache.as_ref() {
            cache.put(&published);
        }
    }
    state
        .client
        .flush()
        .await
        .map_err(|e| crate::bus::BusError::publish("acks", e))?;
    if let Some(c) = checkpoints.as_mut() {
        c.finish(&mut pipeline, processed_through).await;
    }
    tracing::info!(
        processed_through,
        "candle intake stopped; every fetched candle acked"
    );
    Ok(())
}

/// Rebuilds series state from the candle history (of one partition when `filter` names its
/// subjects) after `after` up to the ack floor (outcomes already durable: no signal is
/// published). Returns the count.
pub(super) async fn warm_start(
    state: &AppState,
    pipeline: &mut Router,
    filter: Option<String>,
    after: u64,
    ack_floor: u64,
    token: &CancellationToken,
) -> Result<u64, TaskError> {
    let nats = &state.settings.nats;
    let Some(mut history) = History::open(
        &state.js,
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
        let inputs: Vec<Input<'_>> = chunk.iter().map(input).collect();
        // Judged by when the candles were stored, not today's clock: a candle dead-lettered
        // live as being in the future must be refused again here, or the rebuilt state would
        // differ from the uninterrupted run's.
        state.health.beat();
        let stored_ms = chunk.iter().filter_map(stored_at_ms).max();
        let now = stored_ms.unwrap_or_else(clock::now_ms);
        tokio::task::block_in_place(|| pipeline.warm(&inputs, Some(now)))?;
        count += chunk.len() as u64;
    }
    Ok(count)
}

/// What the start-up read of last signals believes: signals of the routes' models (and of the
/// allow-listed models) for candles that have opened by now.
pub(super) fn trust(settings: &crate::config::Settings, pipeline: &Router) -> history::Trust {
    let mut model_hashes = settings.model.allowed_sha256.clone();
    model_hashes.extend(pipeline.all_models().map(|m| m.sha256.clone()));
    history::Trust {
        model_hashes,
        now_ms: clock::now_ms(),
    }
}

/// Sets the `model_info` gauge of `model` (1: in force, 0: replaced).
pub(super) fn model_gauge(model: &crate::contract::ModelRef, value: f64) {
    let hash = model.sha256.get(..12).unwrap_or(&model.sha256).to_owned();
    metrics::gauge!(m::MODEL_INFO, "name" => model.name.clone(), "version" => model.version.clone(), "hash" => hash).set(value);
}
