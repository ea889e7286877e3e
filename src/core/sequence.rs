//! Per-series ordering: duplicates, out-of-order candles and gaps.
//!
//! JetStream redelivers, and engines restart and republish; ordering is
//! therefore decided per series from the last accepted `open_time`, never
//! from arrival order.

use super::session::MarketSession;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How gaps are treated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SequenceSettings {
    /// A gap of more than this many missing bars resets the series state
    /// (indicators computed across a long outage would mislead the model).
    /// 0 never resets. The default tolerates overnight and weekend breaks of
    /// hourly data and the lunch break of minute data.
    pub gap_reset_bars: u64,
    /// Most series held at once. A candle that would start one more is dead-lettered as
    /// `series_limit` and leaves no state, so made-up series cannot grow the worker without
    /// bound; [`idle_evict_ms`](Self::idle_evict_ms) makes room again. 0: no limit.
    pub max_series: usize,
    /// A series that received no candle for this long (ms, on the clock the caller passes)
    /// plus two of its bars is dropped with its snapshot; it warms up afresh if it comes back.
    /// 0: never evict.
    pub idle_evict_ms: i64,
    /// Trading sessions by exchange token (the `<exchange>` of candle subjects). A gap on a
    /// session market counts only the bars it misses inside the sessions: one that falls
    /// entirely in closures (nights, lunch breaks, weekends, holidays) is no gap. Exchanges
    /// without a session trade around the clock.
    pub sessions: BTreeMap<String, MarketSession>,
}

impl Default for SequenceSettings {
    fn default() -> Self {
        Self {
            gap_reset_bars: 1_000,
            max_series: 20_000,
            // A week: longer than any weekend or holiday closure of a session market.
            idle_evict_ms: 7 * 24 * 3_600_000,
            sessions: super::session::shipped(),
        }
    }
}

/// What an incoming `open_time` means for its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceOutcome {
    /// The first candle of the series.
    First,
    /// Exactly the next bar.
    Next,
    /// Later than the next bar: `missing` bars were skipped; `reset` says the
    /// gap exceeded the limit and the series state must start afresh.
    Gap {
        /// Number of bars missing between the last and this candle.
        missing: u64,
        /// Whether the series state must be reset.
        reset: bool,
    },
    /// The same `open_time` as the last accepted candle: skip, never a second signal.
    Duplicate,
    /// Older than the last accepted candle: dead-letter it.
    OutOfOrder {
        /// The last accepted `open_time`.
        last: i64,
    },
}

impl SequenceOutcome {
    /// Whether the candle should be fed to the series state.
    pub fn accepted(self) -> bool {
        matches!(self, Self::First | Self::Next | Self::Gap { .. })
    }
}

/// The ordering state of one series: the last accepted `open_time`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequencer {
    last_open_time: Option<i64>,
}

impl Sequencer {
    /// A sequencer that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sequencer resumed from a snapshot, whose last accepted candle opened at `open_time`.
    pub fn resumed_at(open_time: i64) -> Self {
        Self {
            last_open_time: Some(open_time),
        }
    }

    /// The last accepted `open_time`, if any.
    pub fn last_open_time(&self) -> Option<i64> {
        self.last_open_time
    }

    /// Classifies `open_time` and, when accepted, advances to it. `session` is the trading
    /// session of the series' exchange, if it has one: only the bars a gap misses inside it count.
    pub fn observe(
        &mut self,
        open_time: i64,
        interval_ms: i64,
        settings: &SequenceSettings,
        session: Option<&MarketSession>,
    ) -> SequenceOutcome {
        let outcome = match self.last_open_time {
            None => SequenceOutcome::First,
            Some(last) if open_time == last => SequenceOutcome::Duplicate,
            Some(last) if open_time < last => SequenceOutcome::OutOfOrder { last },
            Some(last) => {
                // Saturating: times are range-checked by validation, but a snapshot or a
                // caller outside it must not overflow here either.
                let steps = open_time.saturating_sub(last) / interval_ms.max(1);
                let missing = match (steps, session) {
                    (..=1, _) => 0,
                    (_, Some(session)) => session.missing_bars(last, open_time, interval_ms),
                    (_, None) => u64::try_from(steps - 1).unwrap_or(u64::MAX),
                };
                if missing == 0 {
                    SequenceOutcome::Next
                } else {
                    let reset = settings.gap_reset_bars > 0 && missing > settings.gap_reset_bars;
                    SequenceOutcome::Gap { missing, reset }
                }
            }
        };
        if outcome.accepted() {
            self.last_open_time = Some(open_time);
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn classifies_each_case() {
        let s = SequenceSettings {
            gap_reset_bars: 10,
            ..Default::default()
        };
        let mut q = Sequencer::new();
        assert_eq!(q.observe(10 * MIN, MIN, &s, None), SequenceOutcome::First);
        assert_eq!(q.observe(11 * MIN, MIN, &s, None), SequenceOutcome::Next);
        assert_eq!(
            q.observe(11 * MIN, MIN, &s, None),
            SequenceOutcome::Duplicate
        );
        assert_eq!(
            q.observe(5 * MIN, MIN, &s, None),
            SequenceOutcome::OutOfOrder { last: 11 * MIN }
        );
        assert_eq!(
            q.observe(14 * MIN, MIN, &s, None),
            SequenceOutcome::Gap {
                missing: 2,
                reset: false
            }
        );
        assert_eq!(
            q.observe(26 * MIN, MIN, &s, None),
            SequenceOutcome::Gap {
                missing: 11,
                reset: true
            }
        );
        assert_eq!(q.last_open_time(), Some(26 * MIN));
    }

    #[test]
    fn zero_limit_never_resets() {
        let s = SequenceSettings {
            gap_reset_bars: 0,
            ..Default::default()
        };
        let mut q = Sequencer::new();
        q.observe(0, MIN, &s, None);
        assert_eq!(
            q.observe(1_000_000 * MIN, MIN, &s, None),
            SequenceOutcome::Gap {
                missing: 999_999,
                reset: false
            }
        );
    }

    #[test]
    fn rejected_candles_do_not_advance() {
        let s = SequenceSettings::default();
        let mut q = Sequencer::new();
        q.observe(5 * MIN, MIN, &s, None);
        q.observe(3 * MIN, MIN, &s, None);
        q.observe(5 * MIN, MIN, &s, None);
        assert_eq!(q.observe(6 * MIN, MIN, &s, None), SequenceOutcome::Next);
    }
}
