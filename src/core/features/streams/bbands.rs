//! Bollinger Bands on a simple moving average (and that average as `sma_20`), reading the closes
//! back from the history.

use super::{ReadsBack, Tape};
use crate::core::features::bars::Columns;
use ta_lib::RetCode;

/// ta-lib's `BbandsStream` with `MAType::SMA` and equal deviations up and down: the middle band
/// is ta-lib's SMA over `PERIOD` closes, the width ta-lib's STDDEV (its VAR with a shift and
/// periodic two-pass re-seeding, `var.rs`) times `deviations`. It yields
/// `(sma, upper, middle, lower)`: ta-lib's SMA over the same closes is the middle band bit for bit,
/// so `sma_20` needs no stream of its own. Inline state only (ta-lib's BBANDS is 840 bytes plus
/// two heap rings, its SMA another ring).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Bbands<const PERIOD: usize> {
    deviations: f64,
    /// The SMA's running total (ta-lib's `periodTotal`).
    sum: f64,
    /// VAR's shift and its two running sums of shifted values and their squares.
    shift: f64,
    total1: f64,
    total2: f64,
    /// The largest `total2` since the last re-seed.
    peak2: f64,
    /// Bars until the next forced re-seed.
    until_reseed: i64,
    /// Index of the next bar.
    next: i64,
}

/// `(sma, upper, middle, lower)`.
pub(crate) type BandValues = (f64, f64, f64, f64);

impl<const PERIOD: usize> Bbands<PERIOD> {
    /// Whether a restored state could have come from finite bars.
    pub(crate) fn is_sane(&self) -> bool {
        [
            self.deviations,
            self.sum,
            self.shift,
            self.total1,
            self.total2,
            self.peak2,
        ]
        .iter()
        .all(|v| v.is_finite())
            && self.until_reseed <= 32 * PERIOD as i64
            && super::sane_count(self.next)
    }

    /// Opens on the whole history: the values at its last bar, as `Core::bbands_open` (and
    /// `Core::sma_open` for the first) with `deviations` up and down.
    pub(crate) fn open(columns: &Columns, deviations: f64) -> Result<(Self, BandValues), RetCode> {
        let fresh = Self {
            deviations,
            sum: 0.0,
            shift: 0.0,
            total1: 0.0,
            total2: 0.0,
            peak2: 0.0,
            until_reseed: 0,
            next: 0,
        };
        fresh.open_fresh(columns)
    }

    /// VAR's fresh two-pass over the window `start..=i` (the running sums had lost their
    /// precision, or the periodic re-seed is due); returns the window's variance.
    fn reseed(
        &mut self,
        tape: Tape<'_>,
        start: i64,
        i: i64,
        close: f64,
        inv_period: f64,
    ) -> Result<f64, RetCode> {
        self.until_reseed = 32 * PERIOD as i64;
        let mut sum = 0.0;
        for j in start..=i {
            sum += tape.close(j)?;
        }
        self.shift = sum * inv_period;
        let mut variance = self.sums_about_shift(tape, start, i, inv_period)?;
        if variance < 0.000001 * (self.total2 * inv_period) {
            // Flat to within its mean's rounding: anchor on one of its own values.
            self.shift = close;
            variance = self.sums_about_shift(tape, start, i, inv_period)?;
        }
        self.peak2 = self.total2;
        if variance < 0.000000000001 * (self.total2 * inv_period) {
            variance = 0.0;
        }
        let leaving = tape.close(start)? - self.shift;
        self.total1 -= leaving;
        self.total2 -= leaving * leaving;
        Ok(variance)
    }

    /// Recomputes both running sums over `start..=i` about the current shift; the variance.
    fn sums_about_shift(
        &mut self,
        tape: Tape<'_>,
        start: i64,
        i: i64,
        inv_period: f64,
    ) -> Result<f64, RetCode> {
        self.total1 = 0.0;
        self.total2 = 0.0;
        for j in start..=i {
            let shifted = tape.close(j)? - self.shift;
            self.total1 += shifted;
            self.total2 += shifted * shifted;
        }
        let mean = self.total1 * inv_period;
        Ok(self.total2 * inv_period - mean * mean)
    }
}

impl<const PERIOD: usize> ReadsBack for Bbands<PERIOD> {
    type Output = BandValues;

    fn next_index(&self) -> i64 {
        self.next
    }

    #[inline]
    fn step(&mut self, tape: Tape<'_>) -> Result<Option<BandValues>, RetCode> {
        let i = self.next;
        let lookback = PERIOD as i64 - 1;
        let inv_period = 1.0 / (PERIOD as f64);
        let close = tape.close(i)?;
        if i == 0 {
            self.shift = close;
        }
        if i < lookback {
            self.sum += close;
            let shifted = close - self.shift;
            self.total1 += shifted;
            self.total2 += shifted * shifted;
            self.next += 1;
            return Ok(None);
        }
        let trailing = tape.close(i - lookback)?;
        if i == lookback {
            self.until_reseed = 32 * PERIOD as i64;
            self.peak2 = self.total2;
        }

        // SMA: add, read, drop the oldest.
        self.sum += close;
        let middle = self.sum / PERIOD as f64;
        self.sum -= trailing;

        // VAR, as `var_step_impl`.
        let shifted = close - self.shift;
        self.total1 += shifted;
        self.total2 += shifted * shifted;
        if self.total2 > self.peak2 {
            self.peak2 = self.total2;
        }
        let mean = self.total1 * inv_period;
        let mut variance = self.total2 * inv_period - mean * mean;
        let leaving = trailing - self.shift;
        self.total1 -= leaving;
        self.total2 -= leaving * leaving;
        self.until_reseed -= 1;
        if variance < 0.000001 * (self.peak2 * inv_period) || self.until_reseed <= 0 {
            variance = self.reseed(tape, i - lookback, i, close, inv_period)?;
        }
        self.next += 1;

        // STDDEV (deviations 1: the plain square root), then the bands.
        let width = variance.sqrt() * self.deviations;
        Ok(Some((middle, middle + width, middle, middle - width)))
    }
}
