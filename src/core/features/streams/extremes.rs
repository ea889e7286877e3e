//! The highest high and lowest low of the last bars, as ta-lib's STOCH and WILLR track them.

use super::Tape;
use ta_lib::RetCode;

/// The extremes of a sliding window of bars and where they were, updated the way ta-lib's
/// `stoch_step_impl` and `willr_step_impl` do: a new bar at or beyond an extreme takes its place;
/// an extreme that leaves the window is found again by scanning the window (read back from the
/// tape, so no copy of the window is kept).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Extremes {
    lowest: f64,
    highest: f64,
    lowest_index: i64,
    highest_index: i64,
}

impl Default for Extremes {
    /// ta-lib's start: no extreme yet (index -1, below any window).
    fn default() -> Self {
        Self {
            lowest: 0.0,
            highest: 0.0,
            lowest_index: -1,
            highest_index: -1,
        }
    }
}

impl Extremes {
    /// Whether a restored state could have come from finite bars (see `streams::sane_count`).
    pub(crate) fn is_sane(&self) -> bool {
        self.lowest.is_finite()
            && self.highest.is_finite()
            && self.lowest_index >= -1
            && self.highest_index >= -1
            && self.lowest_index < super::MAX_SANE_COUNT
            && self.highest_index < super::MAX_SANE_COUNT
    }

    /// Takes bar `today`, the window being `trailing..=today`.
    #[inline]
    pub(crate) fn step(
        &mut self,
        tape: Tape<'_>,
        today: i64,
        trailing: i64,
    ) -> Result<(), RetCode> {
        let low = tape.low(today)?;
        if self.lowest_index < trailing {
            self.lowest_index = trailing;
            self.lowest = tape.low(trailing)?;
            for i in trailing + 1..=today {
                let candidate = tape.low(i)?;
                if candidate < self.lowest {
                    self.lowest_index = i;
                    self.lowest = candidate;
                }
            }
        } else if low <= self.lowest {
            self.lowest_index = today;
            self.lowest = low;
        }
        let high = tape.high(today)?;
        if self.highest_index < trailing {
            self.highest_index = trailing;
            self.highest = tape.high(trailing)?;
            for i in trailing + 1..=today {
                let candidate = tape.high(i)?;
                if candidate > self.highest {
                    self.highest_index = i;
                    self.highest = candidate;
                }
            }
        } else if high >= self.highest {
            self.highest_index = today;
            self.highest = high;
        }
        Ok(())
    }

    /// The lowest low of the window.
    #[inline]
    pub(crate) fn lowest(&self) -> f64 {
        self.lowest
    }

    /// The highest high of the window.
    #[inline]
    pub(crate) fn highest(&self) -> f64 {
        self.highest
    }

    /// ta-lib's flat-range guard: the range is within rounding of its own two extremes, so
    /// dividing by it would turn noise into a full-scale reading (the oscillators answer 0).
    #[inline]
    pub(crate) fn is_flat(&self) -> bool {
        let (high, low) = (self.highest, self.lowest);
        (high - low).abs() <= 1e-14 * (high.abs() + low.abs())
    }
}
