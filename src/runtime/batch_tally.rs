//! A finished batch's metrics: its outcomes tallied by kind, side and reason, then one call per
//! metric (every `counter!`/`histogram!` call builds its key and looks it up in the registry,
//! which per candle was a measurable share of the hot path).

use crate::contract::Side;
use crate::core::pipeline::Outcome;
use crate::core::routing::Router;
use crate::telemetry::metrics as m;
use std::time::Instant;

/// Counts a batch whose outcomes are all durable and acked.
///
/// Tallied per batch, then one call per metric: every `counter!`/`histogram!` call builds its
/// key and looks it up in the registry, which per candle was a measurable share of the hot path.
pub(super) fn record_batch(
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
