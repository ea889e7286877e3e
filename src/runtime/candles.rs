//! The unpartitioned candle intake: the whole stream served by one [`Serving`], fed by the
//! durable consumer, the next batch fetched and processed while the server stores the previous
//! one's outcomes.
//!
//! A candle is settled only once its outcome is durable (see [`super::batch`]). Any failure
//! after a batch entered the pipeline leaves series state ahead of what is durable,
//! so the task fails and its restart rebuilds state from the stream (the
//! unsettled candles are delivered again, in order, and their signals are
//! recognised as already published).

use super::batch::{Acks, Started};
use super::serving::{Serving, Stretch};
use super::signal_cache::SignalCache;
use super::{AppState, TaskError};
use crate::bus::consumer::CandleConsumer;
use crate::telemetry::health::Dependency;
use crate::telemetry::metrics as m;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Runs the intake until `token` is cancelled; returns after the last batch
/// is settled and the acks are flushed.
pub async fn run(state: AppState, token: CancellationToken) -> Result<(), TaskError> {
    // Every attempt (a restart after a failure too) counts as progress for /healthz.
    state.health.beat();
    let settings = state.settings.clone();
    // The model first: a worker standing by for the durable consumer is ready to take over.
    let pipeline = super::routes::open_router(&state, &settings).await?;
    state.health.set(Dependency::Model, true);
    let intake = CandleConsumer::open(&state.bus, &settings.nats, &settings.serve).await?;
    let started = Instant::now();
    let (mut serving, opened) = Serving::open(
        &state,
        &settings,
        Stretch::Whole,
        pipeline,
        intake.ack_floor,
        &token,
    )
    .await?;
    tracing::info!(
        candles = opened.replayed,
        resumed_series = opened.resumed_series,
        replay_after = opened.replay_after,
        series = serving.pipeline.series_count(),
        ack_floor = intake.ack_floor,
        elapsed_ms = started.elapsed().as_millis() as u64,
        model = %serving.pipeline.model().name,
        "warm start done; consuming candles"
    );
    let cache = match settings.redis.enabled {
        true => Some(SignalCache::new(&state, &settings.redis)?),
        false => None,
    };
    // The batch sent and not yet finished (its outcomes being stored). The next one is fetched
    // and processed meanwhile, and sent once this one is finished. Nothing is in flight when the
    // between-batch work runs, so it sees exactly what is durable; after a stop is asked for,
    // the batch in flight is finished and nothing more is fetched.
    let mut in_flight: Option<Started> = None;
    loop {
        if in_flight.is_none() || token.is_cancelled() || serving.between_batches_due() {
            finish(&state, &mut serving, &mut in_flight, cache.as_ref()).await?;
            if token.is_cancelled() {
                break;
            }
            serving.between_batches(&state).await;
        }
        let fetched = match &in_flight {
            // Only what is already waiting (within the ack window beside the batch in flight):
            // with nothing waiting, the batch in flight is finished before the intake waits.
            Some(started) => intake.fetch_ready(started.candles()).await,
            None => intake.fetch().await,
        };
        state.health.beat();
        let batch = match fetched {
            Ok(batch) if !batch.is_empty() => batch,
            // A failed fetch never cuts short the acks of a batch whose outcomes are already
            // being stored (the fetch's failure is reported after).
            other => {
                finish(&state, &mut serving, &mut in_flight, cache.as_ref()).await?;
                other?;
                continue;
            }
        };
        let processed = serving.process(batch, Acks::Cumulative).await;
        // The same when processing fails: the previous batch is finished first.
        finish(&state, &mut serving, &mut in_flight, cache.as_ref()).await?;
        in_flight = Some(serving.send(&state, processed?).await?);
    }
    state.bus.flush().await?;
    serving.finish().await;
    // Not fatal: without the record the successor waits `serve.standby_idle_ms`, as after a crash.
    let count = |outcome: &'static str| {
        metrics::counter!(m::CONSUMER_RELEASES, "outcome" => outcome).increment(1);
    };
    match intake.release(&state.bus).await {
        Ok(true) => {
            count("recorded");
            tracing::info!("durable consumer released for the next worker");
        }
        Ok(false) => {
            count("unacked");
            tracing::info!("durable consumer not released: deliveries still unacked");
        }
        Err(e) => {
            count("failed");
            tracing::warn!(error = %e, "durable consumer release not recorded; the next worker waits serve.standby_idle_ms");
        }
    }
    tracing::info!(
        processed_through = serving.processed_through,
        "candle intake stopped; every fetched candle settled"
    );
    Ok(())
}

/// Finishes the batch in flight, if any: its outcomes durable, its candles acked.
async fn finish(
    state: &AppState,
    serving: &mut Serving,
    in_flight: &mut Option<Started>,
    cache: Option<&SignalCache>,
) -> Result<(), TaskError> {
    match in_flight.take() {
        Some(started) => serving.finish_batch(state, started, cache).await,
        None => Ok(()),
    }
}
