//! One batch of candles: through the pipeline, its outcomes sent, then made durable and acked.
//!
//! A candle is acked only once its outcome is durable: its signal or dead letter acknowledged
//! by its stream, or its skip decided. [`start`] processes the batch and sends every outcome;
//! [`Started::finish`] awaits their acknowledgements and acks the candles. The two halves let
//! the intake fetch the next batch while the server stores this one's signals. Candles arrive as
//! [`Delivered`] and are settled through it: no NATS type is seen here.

use super::{AppState, TaskError, clock};
use crate::bus::publish::{Timing, Unconfirmed};
use crate::bus::readback::{Covered, covered_key};
use crate::bus::{Delivered, Settle};
use crate::contract::{Side, Signal};
use crate::core::pipeline::{Input, Outcome, Stage};
use crate::core::routing::Router;
use crate::telemetry::metrics as m;
use std::time::Instant;

/// A batch processed and its outcomes sent, not yet confirmed durable nor acked: what
/// [`Started::finish`] completes. Meanwhile the intake may fetch the next batch (never process
/// it: series state and checkpoints must match what is durable once this one finishes).
pub struct Started<'a> {
    seen: Vec<&'a Delivered>,
    fresh: Vec<&'a Delivered>,
    outcomes: Vec<Outcome>,
    unconfirmed: Vec<Unconfirmed>,
    /// Dead letters in flight, by the index of their candle in `fresh`.
    dead_letters: Vec<(usize, Unconfirmed)>,
    /// Candles whose dead letter the DLQ refused for good: terminated, their final outcome.
    terminate: Vec<bool>,
    published: Vec<Signal>,
    received: Instant,
    last: u64,
    ack: bool,
    counts: Counts,
}

/// What a batch yielded, for its debug line.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    signals: u64,
    already_signalled: u64,
    dead_letters: u64,
}

/// Processes `batch` through one pipeline call and sends every outcome (signals, shadow
/// signals, dead letters) without awaiting their acknowledgements.
pub(super) async fn start<'a>(
    state: &AppState,
    pipeline: &mut Router,
    covered: &mut Covered,
    batch: &'a [Delivered],
    processed_through: u64,
    ack: bool,
) -> Result<Started<'a>, TaskError> {
    let received = Instant::now();
    // Redelivered candles this process already handled (an ack lost on a
    // reconnect): their outcome is durable; ack them again, do not re-feed.
    let (seen, fresh): (Vec<&Delivered>, Vec<&Delivered>) = batch
        .iter()
        .partition(|m| m.sequence().is_some_and(|s| s <= processed_through));
    let last = fresh
        .iter()
        .filter_map(|m| m.sequence())
        .max()
        .unwrap_or(processed_through)
        .max(processed_through);
    // Candles are judged by when the stream stored them (the newest of the batch), as the warm
    // replay judges them, so a restart rebuilds exactly the state this run builds.
    let now = fresh
        .iter()
        .filter_map(|m| m.stored_at_ms())
        .max()
        .unwrap_or_else(clock::now_ms);
    let inputs: Vec<Input<'_>> = fresh.iter().map(|m| m.input()).collect();
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
                let _ = m.settle(Settle::Retry).await;
            }
            return Err(e.into());
        }
    };
    metrics::gauge!(m::IN_FLIGHT_MESSAGES).set((seen.len() + fresh.len()) as f64);
    let mut unconfirmed: Vec<Unconfirmed> = Vec::new();
    let mut dead_letters: Vec<(usize, Unconfirmed)> = Vec::new();
    let mut terminate = vec![false; fresh.len()];
    let mut published = Vec::new();
    // Series with a signal sent and not yet confirmed.
    let mut in_flight: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut counts = Counts::default();
    for (index, (message, outcome)) in fresh.iter().zip(&outcomes).enumerate() {
        match outcome {
            Outcome::Signal(signal) => {
                let key = covered_key(&signal.exchange, &signal.symbol, &signal.interval);
                if covered.get(&key).is_some_and(|&t| t >= signal.open_time) {
                    counts.already_signalled += 1;
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
                counts.signals += 1;
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
                counts.dead_letters += 1;
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
    Ok(Started {
        seen,
        fresh,
        outcomes,
        unconfirmed,
        dead_letters,
        terminate,
        published,
        received,
        last,
        ack,
        counts,
    })
}

impl Started<'_> {
    /// Waits until every outcome is durable, then acks the batch and flushes the acks, counts
    /// it and hands the live scores over. Returns the new `processed_through` and the signals.
    pub async fn finish(
        self,
        state: &AppState,
        pipeline: &mut Router,
    ) -> Result<(u64, Vec<Signal>), TaskError> {
        let Self {
            seen,
            fresh,
            outcomes,
            unconfirmed,
            dead_letters,
            mut terminate,
            published,
            received,
            last,
            ack,
            counts,
        } = self;
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
            message.settle(Settle::Done).await?;
        }
        for (message, &term) in fresh.iter().zip(&terminate).filter(|_| ack) {
            let how = if term {
                Settle::Terminate
            } else {
                Settle::Done
            };
            message.settle(how).await?;
        }
        state.bus.flush().await?;
        // Scores only once the batch's outcomes are durable: a failed batch is processed again
        // by the restarted intake, and must not be scored twice.
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
            signals = counts.signals,
            already_signalled = counts.already_signalled,
            dead_letters = counts.dead_letters,
            elapsed_us = received.elapsed().as_micros() as u64,
            "batch done"
        );
        Ok((last, published))
    }
}

/// A dead letter the DLQ refused for good (too large, or a stream limit): counted and logged;
/// its candle is terminated, so it has its one outcome and never comes back.
fn unstorable(rejection: &crate::core::Rejection, error: &crate::bus::BusError) {
    metrics::counter!(m::DEAD_LETTERS_UNSTORABLE, "reason" => rejection.code.as_str()).increment(1);
    tracing::error!(reason = rejection.code.as_str(), %error, "dead letter refused by the DLQ stream; its candle is terminated");
}

/// Counts a batch whose outcomes are all durable and acked.
///
/// Tallied per batch, then one call per metric: every `counter!`/`histogram!` call builds its
/// key and looks it up in the registry, which per candle was a measurable share of the hot path.
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
    let mut tally = Tally::default();
    for (outcome, &terminated) in outcomes.iter().zip(terminated) {
        tally.add(outcome, terminated);
    }
    tally.record(started.elapsed().as_secs_f64());
}

/// One batch's outcomes by kind, side and rejection reason.
#[derive(Default)]
struct Tally {
    accepted: u64,
    duplicate: u64,
    unrouted: u64,
    /// Signals by side, in [`Side::ALL`] order.
    signals: [u64; 3],
    /// Rejections by reason code: (code, rejected, written to the DLQ); a batch holds few codes.
    rejected: Vec<(&'static str, u64, u64)>,
}

impl Tally {
    fn add(&mut self, outcome: &Outcome, terminated: bool) {
        match outcome {
            Outcome::Signal(signal) => {
                self.accepted += 1;
                if let Some(i) = Side::ALL.iter().position(|&s| s == signal.side) {
                    self.signals[i] += 1;
                }
            }
            Outcome::Warming { .. } => self.accepted += 1,
            Outcome::Duplicate(_) => self.duplicate += 1,
            Outcome::NotClosed(_) => {}
            Outcome::Unrouted => self.unrouted += 1,
            Outcome::Rejected(r) => {
                let code = r.code.as_str();
                let written = u64::from(!terminated);
                match self.rejected.iter_mut().find(|(c, _, _)| *c == code) {
                    Some(entry) => {
                        entry.1 += 1;
                        entry.2 += written;
                    }
                    None => self.rejected.push((code, 1, written)),
                }
            }
        }
    }

    fn record(&self, to_signal_seconds: f64) {
        let nonzero = |n: u64| (n > 0).then_some(n);
        if let Some(n) = nonzero(self.accepted) {
            metrics::counter!(m::CANDLES_ACCEPTED).increment(n);
        }
        if let Some(n) = nonzero(self.duplicate) {
            metrics::counter!(m::CANDLES_DUPLICATE).increment(n);
        }
        if let Some(n) = nonzero(self.unrouted) {
            metrics::counter!(m::CANDLES_UNROUTED).increment(n);
        }
        for (side, &n) in Side::ALL.iter().zip(&self.signals).filter(|(_, n)| **n > 0) {
            metrics::counter!(m::SIGNALS_PUBLISHED, "side" => side.as_str()).increment(n);
            metrics::histogram!(m::CANDLE_TO_SIGNAL_SECONDS)
                .record_many(to_signal_seconds, n as usize);
        }
        for &(code, rejected, written) in &self.rejected {
            metrics::counter!(m::CANDLES_REJECTED, "reason" => code).increment(rejected);
            if written > 0 {
                metrics::counter!(m::DLQ_WRITES, "reason" => code).increment(written);
            }
        }
    }
}
