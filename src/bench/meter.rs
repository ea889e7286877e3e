//! The meter: timestamps every signal as it arrives and turns arrivals into
//! candle-to-signal latencies.
//!
//! It listens on the signal subjects of the bench's exchange with a plain
//! subscription (JetStream delivers every stored signal to it, without a
//! consumer's extra hop), parses the signal's `Nats-Msg-Id`
//! (`<exchange>:<symbol>:<interval>:<open_time>:<hash>`) back into the
//! candle's key and stamps it with the arrival instant in its own task, so
//! arrivals are timed while the bench is still publishing.

use super::load::series_index;
use super::{BenchError, CandleKey};
use crate::bus::headers;
use futures::StreamExt;
use hdrhistogram::Histogram;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Highest latency the histogram resolves (µs): one hour; anything slower is
/// clamped, and a phase would have timed out long before.
const MAX_LATENCY_US: u64 = 3_600_000_000;
/// Significant decimal digits of the histogram (0.1 % relative error).
const SIGNIFICANT_DIGITS: u8 = 3;

/// One signal, identified by the candle it answers, and when it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// The candle's key.
    pub key: CandleKey,
    /// When the bench received the signal.
    pub at: Instant,
}

/// Signals of one phase.
#[derive(Debug, Default)]
pub struct Collected {
    /// The first arrival of each expected key.
    pub arrivals: Vec<Arrival>,
    /// Arrivals for keys this phase did not publish, or repeated ones.
    pub stray: u64,
}

/// A running subscription to the bench's signals.
#[derive(Debug)]
pub struct Meter {
    rx: mpsc::UnboundedReceiver<Arrival>,
    task: tokio::task::JoinHandle<()>,
}

impl Meter {
    /// Subscribes to `subject` (e.g. `signals.bench.>`); must be called
    /// before the first candle is published so no signal is missed.
    pub async fn subscribe(
        client: &async_nats::Client,
        subject: String,
    ) -> Result<Self, BenchError> {
        let mut subscriber = client
            .subscribe(subject.clone())
            .await
            .map_err(|e| crate::bus::BusError::read(&subject, e))?;
        // The core client's subscribe returns before the server has seen the
        // SUB; a flush round trip guarantees it has.
        client
            .flush()
            .await
            .map_err(|e| crate::bus::BusError::read(&subject, e))?;
        let (tx, rx) = mpsc::unbounded_channel();
        // Unbounded on purpose: the arrival time is taken here, as the
        // message comes in; the bench drains the channel after publishing.
        // At most one phase's signals are ever queued.
        let task = tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                let at = Instant::now();
                let key =
                    headers::get(message.headers.as_ref(), headers::MSG_ID).and_then(parse_key);
                if let Some(key) = key
                    && tx.send(Arrival { key, at }).is_err()
                {
                    break;
                }
            }
        });
        Ok(Self { rx, task })
    }

    /// Waits until `expected` distinct signals whose keys `belongs` accepts
    /// have arrived, or `deadline` passes (then `Err(received)`).
    pub async fn collect(
        &mut self,
        expected: u64,
        belongs: impl Fn(&CandleKey) -> bool,
        deadline: Instant,
    ) -> Result<Collected, u64> {
        let mut collected = Collected::default();
        let mut seen = HashSet::with_capacity(expected as usize);
        while (collected.arrivals.len() as u64) < expected {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(arrival)) => {
                    if belongs(&arrival.key) && seen.insert(arrival.key) {
                        collected.arrivals.push(arrival);
                    } else {
                        collected.stray += 1;
                    }
                }
                Ok(None) | Err(_) => return Err(collected.arrivals.len() as u64),
            }
        }
        Ok(collected)
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The candle key in a signal's `Nats-Msg-Id`, if it is one of the bench's.
pub fn parse_key(msg_id: &str) -> Option<CandleKey> {
    let mut parts = msg_id.split(':');
    let (_exchange, symbol, _interval, open_time) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    Some((series_index(symbol)?, open_time.parse().ok()?))
}

/// Latency percentiles of one phase, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LatencySummary {
    /// Signals measured.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// Candle-to-signal latency of every arrival whose candle's send instant is
/// known: from just before the candle was handed to the client to the
/// signal's arrival, recorded in µs in an HDR histogram.
pub fn latencies(sent: &HashMap<CandleKey, Instant>, arrivals: &[Arrival]) -> LatencySummary {
    let mut histogram =
        match Histogram::<u64>::new_with_bounds(1, MAX_LATENCY_US, SIGNIFICANT_DIGITS) {
            Ok(h) => h,
            // The bounds are constants the library accepts; an empty summary
            // beats a panic should that ever change.
            Err(_) => return summary(None),
        };
    for arrival in arrivals {
        if let Some(&at) = sent.get(&arrival.key) {
            let us = arrival.at.saturating_duration_since(at).as_micros() as u64;
            histogram.saturating_record(us.clamp(1, MAX_LATENCY_US));
        }
    }
    summary(Some(&histogram))
}

fn summary(histogram: Option<&Histogram<u64>>) -> LatencySummary {
    let ms = |us: u64| Duration::from_micros(us).as_secs_f64() * 1_000.0;
    match histogram.filter(|h| !h.is_empty()) {
        Some(h) => LatencySummary {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        },
        None => LatencySummary {
            count: 0,
            p50_ms: 0.0,
            p90_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_come_back_from_message_ids() {
        assert_eq!(
            parse_key("bench:S00007:1h:1498906800000:0123456789ab"),
            Some((7, 1_498_906_800_000))
        );
        assert_eq!(parse_key("coinbase:BTCUSD:1h:1:ab"), None);
        assert_eq!(parse_key("garbage"), None);
    }

    #[test]
    fn percentiles_are_ordered_and_in_milliseconds() {
        let t0 = Instant::now();
        let mut sent = HashMap::new();
        let mut arrivals = Vec::new();
        for i in 0..100u32 {
            sent.insert((i, 0), t0);
            arrivals.push(Arrival {
                key: (i, 0),
                at: t0 + Duration::from_millis(u64::from(i) + 1),
            });
        }
        // An arrival for a candle this phase never sent is not a latency.
        arrivals.push(Arrival {
            key: (999, 0),
            at: t0,
        });
        let s = latencies(&sent, &arrivals);
        assert_eq!(s.count, 100);
        assert!((s.p50_ms - 50.0).abs() < 0.1, "{s:?}");
        assert!(s.p50_ms <= s.p90_ms && s.p90_ms <= s.p99_ms && s.p99_ms <= s.max_ms);
        assert!((s.max_ms - 100.0).abs() < 0.1, "{s:?}");
    }
}
