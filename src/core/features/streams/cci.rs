//! Commodity Channel Index, reading the typical prices back from the history.

use super::{ReadsBack, Tape};
use crate::core::features::bars::Columns;
use ta_lib::RetCode;

/// ta-lib's `CciStream` over `PERIOD` bars. ta-lib keeps the typical prices `(h + l + c) / 3` in
/// a heap circular buffer whose slot for bar `k` is `k mod PERIOD`, and sums the buffer in slot
/// order; this recomputes the same typical prices (the same three additions and division) from
/// the history and sums them in that slot order, so the result is bit for bit ta-lib's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Cci<const PERIOD: usize> {
    /// Index of the next bar.
    next: i64,
}

impl<const PERIOD: usize> Cci<PERIOD> {
    /// Whether a restored state could have come from finite bars.
    pub(crate) fn is_sane(&self) -> bool {
        super::sane_count(self.next)
    }

    /// Opens on the whole history: the CCI at its last bar, as `Core::cci_open`.
    pub(crate) fn open(columns: &Columns) -> Result<(Self, f64), RetCode> {
        Self { next: 0 }.open_fresh(columns)
    }
}

impl<const PERIOD: usize> ReadsBack for Cci<PERIOD> {
    type Output = f64;

    fn next_index(&self) -> i64 {
        self.next
    }

    #[inline]
    fn step(&mut self, tape: Tape<'_>) -> Result<Option<f64>, RetCode> {
        let today = self.next;
        let period = PERIOD as i64;
        if today < period - 1 {
            self.next += 1;
            return Ok(None);
        }
        // The window's typical prices in ta-lib's slot order: slot j holds the bar of the window
        // whose index is j modulo the period.
        let mut slots = [0.0_f64; PERIOD];
        for (j, slot) in slots.iter_mut().enumerate() {
            let index = today - (today - j as i64).rem_euclid(period);
            *slot = (tape.high(index)? + tape.low(index)? + tape.close(index)?) / 3_f64;
        }
        let last = slots[(today % period) as usize];
        let mut average = 0.0;
        for &value in &slots {
            average += value;
        }
        average /= PERIOD as f64;
        let mut deviation = 0.0;
        for &value in &slots {
            deviation += (value - average).abs();
        }
        deviation /= PERIOD as f64;
        self.next += 1;
        let distance = last - average;
        let level = average.abs();
        // ta-lib's guards, relative to the window's own level: a flat window, or a divisor that
        // underflows to zero, answers 0 (a NaN fails every test and is divided, as in ta-lib).
        let flat = distance.abs() <= 1e-14 * level
            || deviation.abs() <= 1e-14 * level
            || 0.015 * deviation == 0.0;
        Ok(Some(if flat {
            0.0
        } else {
            distance / (0.015 * deviation)
        }))
    }
}
