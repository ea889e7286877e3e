//! Stateless rules plus per-series ordering: the verdict on every candle.

use super::rejection::Rejection;
use super::sequence::{SequenceOutcome, SequenceSettings, Sequencer};
use super::validate::{ValidationSettings, validate_candle};
use crate::contract::subject::SubjectTokens;
use crate::contract::{Candle, CandleMessage, SeriesKey};
use crate::error::ErrorCode;
use std::collections::HashMap;

/// What happens to one candle.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Valid and in order: feed it to the series state.
    Accepted {
        /// The typed candle.
        candle: Candle,
        /// Where it sits in its series (first, next, or after a gap).
        sequence: SequenceOutcome,
    },
    /// A repeat of the last candle of its series: skip it, counted, no second signal.
    Duplicate(Candle),
    /// A bar that is not closed yet: signals are only made on closed bars.
    NotClosed(Candle),
    /// Refused: dead-letter it with this reason.
    Rejected(Rejection),
}

/// Validates candles and tracks the order of every series it has seen.
#[derive(Debug, Default)]
pub struct Intake {
    validation: ValidationSettings,
    sequence: SequenceSettings,
    series: HashMap<SeriesKey, Sequencer>,
}

impl Intake {
    /// An intake with no series yet.
    pub fn new(validation: ValidationSettings, sequence: SequenceSettings) -> Self {
        Self {
            validation,
            sequence,
            series: HashMap::new(),
        }
    }

    /// Number of series seen.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Judges one decoded candle; `subject` and `now_ms` as in [`validate_candle`].
    pub fn judge(
        &mut self,
        msg: &CandleMessage,
        subject: Option<&SubjectTokens<'_>>,
        now_ms: Option<i64>,
    ) -> Verdict {
        let candle = match validate_candle(msg, subject, now_ms, &self.validation) {
            Ok(c) => c,
            Err(r) => return Verdict::Rejected(r),
        };
        if !candle.is_closed {
            return Verdict::NotClosed(candle);
        }
        let interval_ms = candle.series.interval.millis();
        let sequencer = self.series.entry(candle.series.clone()).or_default();
        match sequencer.observe(candle.open_time, interval_ms, &self.sequence) {
            SequenceOutcome::Duplicate => Verdict::Duplicate(candle),
            SequenceOutcome::OutOfOrder { last } => Verdict::Rejected(Rejection::new(
                ErrorCode::OutOfOrder,
                format!(
                    "open_time {} is older than the last accepted {last} of {}",
                    candle.open_time, candle.series
                ),
            )),
            sequence => Verdict::Accepted { candle, sequence },
        }
    }
}
