//! The unpartitioned candle intake: the whole stream served by one [`Serving`], fed by the
//! durable consumer, the next batch fetched while the server stores the previous one's
//! outcomes.
//!
//! A candle is settled only once its outcome is durable (see [`super::batch`]). Any failure
//! after a batch entered the pipeline leaves series state ahead of what is durable,
//! so the task fails and its restart rebuilds state from the stream (the
//! unsettled candles are delivered again, in order, and their signals are
//! recognised as already published).

use super::serving::{Serving, Stretch};
use super::signal_cache::SignalCache;
use super::{AppState, TaskError};
use crate::bus::Delivered;
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
    // The batch fetched while the previous one was being made durable; after a stop is asked
    // for nothing more is fetched, and what was is still processed and settled.
    let mut prefetched: Option<Vec<Delivered>> = None;
    while !token.is_cancelled() || prefetched.is_some() {
        serving.between_batches(&state).await;
        let batch = match prefetched.take() {
            Some(batch) => batch,
            None => intake.fetch().await?,
        };
        state.health.beat();
        if batch.is_empty() {
            continue;
        }
        let started = serving.start(&state, &batch, true).await?;
        let fetch_next = async {
            match token.is_cancelled() {
                true => Ok(None),
                false => intake.fetch().await.map(Some).map_err(TaskError::from),
            }
        };
        // Both run to their end: a failed fetch never cuts short the acks of a batch whose
        // outcomes are already being confirmed (the batch's failure is reported first).
        let (finished, next) = tokio::join!(
            serving.finish_batch(&state, started, cache.as_ref()),
            fetch_next
        );
        finished?;
        prefetched = next?.filter(|b| !b.is_empty());
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
