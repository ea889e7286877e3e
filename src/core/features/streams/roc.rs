//! Rate of change, reading the close `PERIOD` bars back from the history.

use super::{ReadsBack, Tape};
use crate::core::features::bars::Columns;
use ta_lib::RetCode;

/// ta-lib's `RocStream`: `(close / close PERIOD bars ago − 1) × 100`, 0 when that close is 0.
/// It needs nothing but the bar count: ta-lib's keeps a heap ring of `PERIOD` closes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Roc<const PERIOD: usize> {
    /// Index of the next bar.
    next: i64,
}

impl<const PERIOD: usize> Roc<PERIOD> {
    /// Whether a restored state could have come from finite bars.
    pub(crate) fn is_sane(&self) -> bool {
        super::sane_count(self.next)
    }

    /// Opens on the whole history: the rate at its last bar, as `Core::roc_open`.
    pub(crate) fn open(columns: &Columns) -> Result<(Self, f64), RetCode> {
        Self { next: 0 }.open_fresh(columns)
    }
}

impl<const PERIOD: usize> ReadsBack for Roc<PERIOD> {
    type Output = f64;

    fn next_index(&self) -> i64 {
        self.next
    }

    #[inline]
    fn step(&mut self, tape: Tape<'_>) -> Result<Option<f64>, RetCode> {
        let today = self.next;
        let back = PERIOD as i64;
        if today < back {
            self.next += 1;
            return Ok(None);
        }
        let then = tape.close(today - back)?;
        let now = tape.close(today)?;
        self.next += 1;
        Ok(Some(if then != 0.0 {
            (now / then - 1.0) * 100.0
        } else {
            0.0
        }))
    }
}
