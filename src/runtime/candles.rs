//! The candle intake task: warm start, then fetch → pipeline → durable
//! outcomes → ack, one batch at a time.
//!
//! A candle is acked only once its outcome is durable: its signal or dead
//! letter acknowledged by its stream, or its skip decided. Any failure after
//! a batch entered the pipeline leaves series state ahead of what is durable,
//! so the task fails and its restart rebuilds state from the stream (the
//! unacked candles are delivered again, in order, and their signals are
//! recognised as already published).

use super::checkpoint::{Checkpoints, Resumed};
use super::eviction::Eviction;
use super::model_in_force::ModelFollower;
use super::signal_cache::SignalCache;
use super::{AppState, TaskError, clock};
use crate::bus::headers;
use crate::bus::history::{self, Covered, History, covered_key};
use crate::bus::intake::CandleIntake;
use crate::bus::publish::{Timing, Unconfirmed};
use crate::contract::codec::Encoding;
use crate::core::pipeline::{Input, Outcome, Stage};
use crate::core::routing::Router;
use crate::telemetry::health::Dependency;
use crate::telemetry::metrics as m;
use async_nats::jetstream::{AckKind, Message};
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
    while !token.is_cancelled() {
        let evicted = eviction.tick(&mut pipeline, &mut covered);
        if let Some(c) = checkpoints.as_mut() {
            c.forget(&mut pipeline, &evicted, processed_through);
            c.tick(&mut pipeline, processed_through);
        }
        follower.tick(&state, &mut pipeline).await;
        let batch = intake.fetch().await?;
        state.health.beat();
        if batch.is_empty() {
            continue;
        }
        let published;
        (processed_through, published) = process_batch(
            &state,
            &mut pipeline,
            &mut covered,
            &batch,
            processed_through,
            true,
        )
        .await?;
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

/// When the stream stored `message` (Unix ms), from its JetStream metadata.
fn stored_at_ms(message: &Message) -> Option<i64> {
    let info = message.info().ok()?;
    i64::try_from(info.published.unix_timestamp_nanos() / 1_000_000).ok()
}

/// The pipeline input of a delivered message.
fn input(message: &Message) -> Input<'_> {
    Input {
        bytes: &message.payload,
        encoding: Encoding::from_content_type(headers::get(
            message.headers.as_ref(),
            headers::CONTENT_TYPE,
        )),
        subject: Some(message.subject.as_str()),
    }
}

/// The stream sequence of a delivered message; `None` when its JetStream metadata cannot be
/// read (then it is processed like a new candle, never acked unprocessed as "already seen").
fn sequence(message: &Message) -> Option<u64> {
    message.info().ok().map(|i| i.stream_sequence)
}

/// Processes one batch through one pipeline call, makes every outcome
/// durable, then acks the batch (unless `ack` is false: candles read back from the stream
/// rather than delivered by the durable consumer). Returns the new `processed_through`.
pub(super) async fn process_batch(
    state: &AppState,
    pipeline: &mut Router,
    covered: &mut Covered,
    batch: &[Message],
    processed_through: u64,
    ack: bool,
) -> Result<(u64, Vec<crate::contract::Signal>), TaskError> {
    let received = Instant::now();
    // Redelivered candles this process already handled (an ack lost on a
    // reconnect): their outcome is durable; ack them again, do not re-feed.
    let (seen, fresh): (Vec<&Message>, Vec<&Message>) = batch
        .iter()
        .partition(|m| sequence(m).is_some_and(|s| s <= processed_through));
    let last = fresh
        .iter()
        .filter_map(|m| sequence(m))
        .max()
        .unwrap_or(processed_through)
        .max(processed_through);
    // Candles are judged by when the stream stored them (the newest of the batch), as the warm
    // replay judges them, so a restart rebuilds exactly the state this run builds.
    let now = fresh
        .iter()
        .filter_map(|m| stored_at_ms(m))
        .max()
        .unwrap_or_else(clock::now_ms);
    let inputs: Vec<Input<'_>> = fresh.iter().map(|m| input(m)).collect();
    let mut stage_started = Instant::now();
    let mut observe = |stage: Stage| {
        let name = match stage {
            Stage::Features => m::FEATURE_SECONDS,
            Stage::Inference => m::INFERENCE_SECONDS,
        };
        metrics::histogram!(name).record(stage_started.elapsed().as_secs_f64());
        stage_started = Instant::now();
    };
    let processed =
        tokio::task::block_in_place(|| pipeline.process_observed(&inputs, Some(now), &mut observe));
    let outcomes = match processed {
        Ok(o) => o,
        Err(e) => {
            // Never a silent drop: hand the batch back for redelivery and
            // let the restart rebuild state.
            for m in fresh.iter().filter(|_| ack) {
                let _ = m.ack_with(AckKind::Nak(None)).await;
            }
            return Err(e.into());
        }
    };
    metrics::gauge!(m::IN_FLIGHT_MESSAGES).set((seen.len() + fresh.len()) as f64);
    let mut unconfirmed: Vec<Unconfirmed> = Vec::new();
    // Dead letters in flight, by the index of their candle in `fresh`.
    let mut dead_letters: Vec<(usize, Unconfirmed)> = Vec::new();
    // Candles whose dead letter the DLQ refused for good: terminated, their final outcome.
    let mut terminate = vec![false; fresh.len()];
    let mut published = Vec::new();
    // Series with a signal sent and not yet confirmed.
    let mut in_flight: std::collections::HashSet<String> = std::collections::HashSet::new();
    let (mut signals, mut skipped, mut dead) = (0u64, 0u64, 0u64);
    for (index, (message, outcome)) in fresh.iter().zip(&outcomes).enumerate() {
        match outcome {
            Outcome::Signal(signal) => {
                let key = covered_key(&signal.exchange, &signal.symbol, &signal.interval);
                if covered.get(&key).is_some_and(|&t| t >= signal.open_time) {
                    skipped += 1;
                    continue;
                }
                // A series' next signal waits until its previous one is stored: on a reconnect
                // the publish written to the dead socket is lost while later buffered ones are
                // resent, and a stored t2 over a lost t1 would read as "signalled up to t2" at
                // the next start, skipping t1 for good. Most batches hold one candle per series,
                // so this costs a round trip only when one holds several.
                if in_flight.contains(&key) {
                    for pending in unconfirmed.drain(..) {
                        pending.confirm().await?;
                    }
                    in_flight.clear();
                }
                let timing = Timing {
                    produced_at_ms: clock::now_ms(),
                    latency_us: received.elapsed().as_micros() as u64,
                };
                unconfirmed.push(state.publisher.signal(signal, timing).await?);
                in_flight.insert(key.clone());
                covered.insert(key, signal.open_time);
                published.push(signal.clone());
                signals += 1;
            }
            Outcome::Rejected(rejection) => {
                match state.publisher.dead_letter(message, rejection, now).await {
                    Ok(pending) => dead_letters.push((index, pending)),
                    Err(e) if e.is_refused() => {
                        unstorable(rejection, &e);
                        terminate[index] = true;
                    }
                    Err(e) => return Err(e.into()),
                }
                dead += 1;
            }
            Outcome::Warming { .. }
            | Outcome::Duplicate(_)
            | Outcome::NotClosed(_)
            | Outcome::Unrouted => {}
        }
    }
    // Shadow routes' signals go to the shadow stream only; durable before the batch is acked,
    // deduplicated by message id like live ones (a redelivered candle repeats them).
    for shadow in pipeline.take_shadow_signals() {
        let timing = Timing {
            produced_at_ms: clock::now_ms(),
            latency_us: received.elapsed().as_micros() as u64,
        };
        unconfirmed.push(
            state
                .publisher
                .shadow_signal(&shadow.route, &shadow.signal, timing)
                .await?,
        );
        metrics::counter!(m::SHADOW_SIGNALS_PUBLISHED, "model" => shadow.route).increment(1);
    }
    for pending in unconfirmed {
        pending.confirm().await?;
    }
    for (index, pending) in dead_letters {
        match pending.confirm().await {
            Ok(_) => {}
            Err(e) if e.is_refused() => {
                if let Some(Outcome::Rejected(rejection)) = outcomes.get(index) {
                    unstorable(rejection, &e);
                }
                if let Some(flag) = terminate.get_mut(index) {
                    *flag = true;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    for message in seen.iter().filter(|_| ack) {
        message
            .ack()
            .await
            .map_err(|e| crate::bus::BusError::publish("ack", e))?;
    }
    for (message, &term) in fresh.iter().zip(&terminate).filter(|_| ack) {
        let kind = if term { AckKind::Term } else { AckKind::Ack };
        message
            .ack_with(kind)
            .await
            .map_err(|e| crate::bus::BusError::publish("ack", e))?;
    }
    state
        .client
        .flush()
        .await
        .map_err(|e| crate::bus::BusError::publish("acks", e))?;
    // Scores only once the batch's outcomes are durable: a failed batch is processed again by
    // the restarted intake, and must not be scored twice.
    state.scores.drain(pipeline);
    record_batch(
        pipeline,
        &outcomes,
        &terminate,
        seen.len() + fresh.len(),
        received,
    );
    tracing::debug!(
        candles = fresh.len(),
        redelivered = seen.len(),
        signals,
        already_signalled = skipped,
        dead_letters = dead,
        elapsed_us = received.elapsed().as_micros() as u64,
        "batch done"
    );
    Ok((last, published))
}

/// A dead letter the DLQ refused for good (too large, or a stream limit): counted and logged;
/// its candle is terminated, so it has its one outcome and never comes back.
fn unstorable(rejection: &crate::core::Rejection, error: &crate::bus::BusError) {
    metrics::counter!(m::DEAD_LETTERS_UNSTORABLE, "reason" => rejection.code.as_str()).increment(1);
    tracing::error!(reason = rejection.code.as_str(), %error, "dead letter refused by the DLQ stream; its candle is terminated");
}

/// Counts a batch whose outcomes are all durable and acked.
fn record_batch(
    pipeline: &Router,
    outcomes: &[Outcome],
    terminated: &[bool],
    received: usize,
    started: Instant,
) {
    metrics::counter!(m::CANDLES_RECEIVED).increment(received as u64);
    metrics::histogram!(m::BATCH_SIZE).record(received as f64);
    metrics::gauge!(m::IN_FLIGHT_MESSAGES).set(0.0);
    metrics::gauge!(m::SERIES_TRACKED).set(pipeline.series_count() as f64);
    let to_signal = started.elapsed().as_secs_f64();
    for (outcome, &terminated) in outcomes.iter().zip(terminated) {
        match outcome {
            Outcome::Signal(signal) => {
                metrics::counter!(m::CANDLES_ACCEPTED).increment(1);
                metrics::counter!(m::SIGNALS_PUBLISHED, "side" => signal.side.as_str())
                    .increment(1);
                metrics::histogram!(m::CANDLE_TO_SIGNAL_SECONDS).record(to_signal);
            }
            Outcome::Warming { .. } => metrics::counter!(m::CANDLES_ACCEPTED).increment(1),
            Outcome::Duplicate(_) => metrics::counter!(m::CANDLES_DUPLICATE).increment(1),
            Outcome::NotClosed(_) => {}
            Outcome::Unrouted => metrics::counter!(m::CANDLES_UNROUTED).increment(1),
            Outcome::Rejected(r) => {
                metrics::counter!(m::CANDLES_REJECTED, "reason" => r.code.as_str()).increment(1);
                if !terminated {
                    metrics::counter!(m::DLQ_WRITES, "reason" => r.code.as_str()).increment(1);
                }
            }
        }
    }
}

/// Sets the `model_info` gauge of `model` (1: in force, 0: replaced).
pub(super) fn model_gauge(model: &crate::contract::ModelRef, value: f64) {
    let hash = model.sha256.get(..12).unwrap_or(&model.sha256).to_owned();
    metrics::gauge!(m::MODEL_INFO, "name" => model.name.clone(), "version" => model.version.clone(), "hash" => hash).set(value);
}
