//! STOCH with simple-moving-average smoothing (slow %K and %D), reading its bars from the history.

use super::extremes::Extremes;
use super::{ReadsBack, Sma, Tape};
use crate::core::features::bars::Columns;
use ta_lib::RetCode;

/// ta-lib's `StochStream` with `MAType::SMA` for both smoothings: fast %K over `FAST_K` bars,
/// slow %K its `SLOW_K`-bar average, %D the `SLOW_D`-bar average of slow %K. Inline state only
/// (about 150 bytes against ta-lib's 1,360 plus three heap rings).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Stoch<const FAST_K: usize, const SLOW_K: usize, const SLOW_D: usize> {
    extremes: Extremes,
    slow_k: Sma<SLOW_K>,
    slow_d: Sma<SLOW_D>,
    /// Index of the next bar.
    next: i64,
}

impl<const FAST_K: usize, const SLOW_K: usize, const SLOW_D: usize> Stoch<FAST_K, SLOW_K, SLOW_D> {
    /// Whether a restored state could have come from finite bars.
    pub(crate) fn is_sane(&self) -> bool {
        self.extremes.is_sane()
            && self.slow_k.is_sane()
            && self.slow_d.is_sane()
            && super::sane_count(self.next)
    }

    /// Opens on the whole history: `(slow %K, %D)` at its last bar, as `Core::stoch_open`.
    pub(crate) fn open(columns: &Columns) -> Result<(Self, (f64, f64)), RetCode> {
        let fresh = Self {
            extremes: Extremes::default(),
            slow_k: Sma::default(),
            slow_d: Sma::default(),
            next: 0,
        };
        fresh.open_fresh(columns)
    }
}

impl<const FAST_K: usize, const SLOW_K: usize, const SLOW_D: usize> ReadsBack
    for Stoch<FAST_K, SLOW_K, SLOW_D>
{
    type Output = (f64, f64);

    fn next_index(&self) -> i64 {
        self.next
    }

    #[inline]
    fn step(&mut self, tape: Tape<'_>) -> Result<Option<(f64, f64)>, RetCode> {
        let today = self.next;
        let lookback = FAST_K as i64 - 1;
        if today < lookback {
            self.next += 1;
            return Ok(None);
        }
        self.extremes.step(tape, today, today - lookback)?;
        let fast_k = if self.extremes.is_flat() {
            0.0
        } else {
            let (low, high) = (self.extremes.lowest(), self.extremes.highest());
            (tape.close(today)? - low) / (high - low) * 100.0
        };
        self.next += 1;
        let Some(slow_k) = self.slow_k.push(fast_k) else {
            return Ok(None);
        };
        Ok(self.slow_d.push(slow_k).map(|slow_d| (slow_k, slow_d)))
    }
}
