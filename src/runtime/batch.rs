//! One batch of candles in three steps: processed ([`process`]: through the pipeline, nothing
//! sent), sent ([`Processed::send`]: every outcome published, acknowledgements not awaited),
//! finished ([`Started::finish`]: every outcome durable, then the candles acked).
//!
//! A candle is acked only once its outcome is durable: its signal or dead letter acknowledged
//! by its stream, or its skip decided. The steps are separate so the intake can overlap them
//! across batches: the next batch is fetched and processed while the server stores this one's
//! outcomes, and is sent once this one is finished (see [`super::candles`]). Candles arrive as
//! [`Delivered`] and are settled through it: no NATS type is seen here.

use super::live_scores::{BatchScores, LiveScores};
use super::{AppState, TaskError, clock};
use crate::bus::Delivered;
use crate::bus::Settle;
use crate::bus::publish::{Timing, Unconfirmed};
use crate::bus::readback::{Covered, write_covered_key};
use crate::contract::Signal;
use crate::core::pipeline::{Input, Outcome, Stage};
use crate::core::routing::{Router, ShadowSignal};
use crate::telemetry::metrics as m;
use std::collections::HashSet;
use std::time::Instant;

/// How a batch's candles are settled once their outcomes are durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// Read back from the stream, not delivered by a consumer: nothing to settle.
    None,
    /// One ack (or terminate) per candle: a consumer with explicit acks (a partition's).
    Each,
    /// The consumer acks cumulatively (`AckPolicy::All`): every terminated candle is
    /// terminated, then the batch's highest sequence is acked, which acks everything below it.
    /// One ack per batch instead of one per candle, for the server and the client alike.
    Cumulative,
}

/// A batch through the pipeline, nothing of it sent yet: what [`Processed::send`] publishes.
pub struct Processed {
    seen: Vec<Delivered>,
    fresh: Vec<Delivered>,
    outcomes: Vec<Outcome>,
    shadows: Vec<ShadowSignal>,
    scores: BatchScores,
    received: Instant,
    /// When the candles are judged to arrive (the newest stored time of the batch).
    now: i64,
    last: u64,
    acks: Acks,
}

/// A batch processed and its outcomes sent, not yet confirmed durable nor acked: what
/// [`Started::finish`] completes. Meanwhile the intake may fetch and process the next batch,
/// never send it: a series' next signal waits until its previous one is stored.
pub struct Started {
    seen: Vec<Delivered>,
    fresh: Vec<Delivered>,
    outcomes: Vec<Outcome>,
    unconfirmed: Vec<Unconfirmed>,
    /// Dead letters in flight, by the index of their candle in `fresh`.
    dead_letters: Vec<(usize, Unconfirmed)>,
    /// Candles whose dead letter the DLQ refused for good: terminated, their final outcome.
    terminate: Vec<bool>,
    /// Indices in `outcomes` of the signals sent (the rest were already in the stream).
    published: Vec<usize>,
    scores: BatchScores,
    received: Instant,
    last: u64,
    acks: Acks,
    counts: Counts,
}

/// What a batch yielded, for its debug line.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    signals: u64,
    already_signalled: u64,
    dead_letters: u64,
}

/// Processes `batch` through one pipeline call; sends nothing. The candles at or below
/// `processed_through` were handled by this process already (an ack lost on a reconnect):
/// they are acked again, never fed again.
///
/// On a pipeline failure the batch's fresh candles are handed back for redelivery and the
/// error returned: the restarted intake rebuilds state and processes them again.
pub(super) async fn process(
    pipeline: &mut Router,
    batch: Vec<Delivered>,
    processed_through: u64,
    acks: Acks,
) -> Result<Processed, TaskError> {
    let received = Instant::now();
    let (seen, fresh): (Vec<Delivered>, Vec<Delivered>) = batch
        .into_iter()
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
            for m in fresh.iter().filter(|_| acks != Acks::None) {
                let _ = m.settle(Settle::Retry).await;
            }
            return Err(e.into());
        }
    };
    metrics::gauge!(m::IN_FLIGHT_MESSAGES).set((seen.len() + fresh.len()) as f64);
    Ok(Processed {
        seen,
        fresh,
        outcomes,
        shadows: pipeline.take_shadow_signals(),
        scores: LiveScores::take(pipeline),
        received,
        now,
        last,
        acks,
    })
}

impl Processed {
    /// Sends every outcome (signals, shadow signals, dead letters) without awaiting their
    /// acknowledgements. Only once the previous batch is finished: its signals are stored.
    pub(super) async fn send(
        self,
        state: &AppState,
        covered: &mut Covered,
    ) -> Result<Started, TaskError> {
        let Self {
            seen,
            fresh,
            outcomes,
            shadows,
            scores,
            received,
            now,
            last,
            acks,
        } = self;
        let mut unconfirmed: Vec<Unconfirmed> = Vec::new();
        let mut dead_letters: Vec<(usize, Unconfirmed)> = Vec::new();
        let mut terminate = vec![false; fresh.len()];
        let mut published = Vec::new();
        // Series with a signal sent and not yet confirmed, borrowed from the outcomes.
        let mut in_flight: HashSet<(&str, &str, &str)> = HashSet::new();
        // The series' key in `covered`, written into one buffer rather than allocated per signal.
        let mut key = String::new();
        let mut counts = Counts::default();
        for (index, (message, outcome)) in fresh.iter().zip(&outcomes).enumerate() {
            match outcome {
                Outcome::Signal(signal) => {
                    write_covered_key(&mut key, &signal.exchange, &signal.symbol, &signal.interval);
                    if covered
                        .get(key.as_str())
                        .is_some_and(|&t| t >= signal.open_time)
                    {
                        counts.already_signalled += 1;
                        continue;
                    }
                    // A series' next signal waits until its previous one is stored: on a
                    // reconnect the publish written to the dead socket is lost while later
                    // buffered ones are resent, and a stored t2 over a lost t1 would read as
                    // "signalled up to t2" at the next start, skipping t1 for good. Most batches
                    // hold one candle per series, so this costs a round trip only when one
                    // holds several.
                    let series = (
                        signal.exchange.as_str(),
                        signal.symbol.as_str(),
                        signal.interval.as_str(),
                    );
                    if in_flight.contains(&series) {
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
                    in_flight.insert(series);
                    match covered.get_mut(key.as_str()) {
                        Some(t) => *t = signal.open_time,
                        None => {
                            covered.insert(key.clone(), signal.open_time);
                        }
                    }
                    published.push(index);
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
        // Shadow routes' signals go to the shadow stream only; durable before the batch is
        // acked, deduplicated by message id like live ones (a redelivered candle repeats them).
        for shadow in shadows {
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
            scores,
            received,
            last,
            acks,
            counts,
        })
    }
}

impl Started {
    /// Candles of the batch, all delivered and none acked until [`Started::finish`].
    pub fn candles(&self) -> usize {
        self.seen.len() + self.fresh.len()
    }

    /// Waits until every outcome is durable, then acks the batch and flushes the acks, counts
    /// it and records its live scores. Returns the batch's highest stream sequence and the
    /// signals it published.
    pub async fn finish(
        self,
        state: &AppState,
        pipeline: &Router,
    ) -> Result<(u64, Vec<Signal>), TaskError> {
        let Self {
            seen,
            fresh,
            outcomes,
            unconfirmed,
            dead_letters,
            mut terminate,
            published,
            scores,
            received,
            last,
            acks,
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
        settle(acks, &seen, &fresh, &terminate).await?;
        state.bus.flush().await?;
        // Scores only once the batch's outcomes are durable: a failed batch is processed again
        // by the restarted intake, and must not be scored twice.
        state.scores.record(pipeline, scores);
        super::batch_tally::record_batch(
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
        Ok((last, signals_at(outcomes, &published)))
    }
}

/// Settles a finished batch's candles (see [`Acks`]).
async fn settle(
    acks: Acks,
    seen: &[Delivered],
    fresh: &[Delivered],
    terminate: &[bool],
) -> Result<(), TaskError> {
    let settled = |term: bool| match term {
        true => Settle::Terminate,
        false => Settle::Done,
    };
    match acks {
        Acks::None => {}
        Acks::Each => {
            for message in seen {
                message.settle(Settle::Done).await?;
            }
            for (message, &term) in fresh.iter().zip(terminate) {
                message.settle(settled(term)).await?;
            }
        }
        Acks::Cumulative => {
            for (message, _) in fresh.iter().zip(terminate).filter(|(_, term)| **term) {
                message.settle(Settle::Terminate).await?;
            }
            let last = seen
                .iter()
                .chain(fresh)
                .filter_map(|m| m.sequence().map(|s| (s, m)))
                .max_by_key(|(s, _)| *s);
            if let Some((_, message)) = last {
                message.settle(Settle::Done).await?;
            }
            // Without a readable sequence a candle cannot be placed under the cumulative ack:
            // settled on its own.
            for (message, &term) in fresh.iter().zip(terminate) {
                if message.sequence().is_none() && !term {
                    message.settle(Settle::Done).await?;
                }
            }
        }
    }
    Ok(())
}

/// The signals at `indices` (ascending) of `outcomes`, moved out rather than cloned.
fn signals_at(outcomes: Vec<Outcome>, indices: &[usize]) -> Vec<Signal> {
    let mut wanted = indices.iter().peekable();
    outcomes
        .into_iter()
        .enumerate()
        .filter_map(|(i, outcome)| match outcome {
            Outcome::Signal(signal) if wanted.next_if_eq(&&i).is_some() => Some(signal),
            _ => None,
        })
        .collect()
}

/// A dead letter the DLQ refused for good (too large, or a stream limit): counted and logged;
/// its candle is terminated, so it has its one outcome and never comes back.
fn unstorable(rejection: &crate::core::Rejection, error: &crate::bus::BusError) {
    metrics::counter!(m::DEAD_LETTERS_UNSTORABLE, "reason" => rejection.code.as_str()).increment(1);
    tracing::error!(reason = rejection.code.as_str(), %error, "dead letter refused by the DLQ stream; its candle is terminated");
}
