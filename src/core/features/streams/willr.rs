//! Williams %R, reading its bars from the history.

use super::extremes::Extremes;
use super::{ReadsBack, Tape};
use crate::core::features::bars::Columns;
use ta_lib::RetCode;

/// ta-lib's `WillrStream` over `PERIOD` bars: `(highest − close) / (highest − lowest) × −100`,
/// clamped to [−100, 0], 0 on a flat range. Inline state only (ta-lib's keeps three heap rings).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Willr<const PERIOD: usize> {
    extremes: Extremes,
    /// Index of the next bar.
    next: i64,
}

impl<const PERIOD: usize> Willr<PERIOD> {
    /// Whether a restored state could have come from finite bars.
    pub(crate) fn is_sane(&self) -> bool {
        self.extremes.is_sane() && super::sane_count(self.next)
    }

    /// Opens on the whole history: %R at its last bar, as `Core::willr_open`.
    pub(crate) fn open(columns: &Columns) -> Result<(Self, f64), RetCode> {
        let fresh = Self {
            extremes: Extremes::default(),
            next: 0,
        };
        fresh.open_fresh(columns)
    }
}

impl<const PERIOD: usize> ReadsBack for Willr<PERIOD> {
    type Output = f64;

    fn next_index(&self) -> i64 {
        self.next
    }

    #[inline]
    fn step(&mut self, tape: Tape<'_>) -> Result<Option<f64>, RetCode> {
        let today = self.next;
        let lookback = PERIOD as i64 - 1;
        self.next += 1;
        if today < lookback {
            return Ok(None);
        }
        self.extremes.step(tape, today, today - lookback)?;
        if self.extremes.is_flat() {
            return Ok(Some(0.0));
        }
        let (low, high) = (self.extremes.lowest(), self.extremes.highest());
        let r = (high - tape.close(today)?) / (high - low) * -100.0;
        Ok(Some(r.clamp(-100.0, 0.0)))
    }
}
