//! The recent bars of one series: the input of every rolling window and the
//! material a snapshot replays to rebuild the ta-lib streams.

use super::WARM_UP_BARS;
use crate::core::bar::Bar;
use std::collections::VecDeque;

/// The latest `capacity` bars, oldest first, plus the OBV level at the
/// oldest retained bar.
///
/// OBV is a running total from the first bar ever seen, so dropping old bars
/// loses information that no replay of the retained ones can recover. Keeping
/// the level *at the oldest retained bar* (stepped forward with ta-lib's own
/// rule whenever a bar is dropped) lets a restore open ta-lib's OBV stream on
/// the retained bars with that level in place of the first bar's volume: OBV
/// at bar 0 is defined as volume[0], so the stream then reproduces the
/// uninterrupted totals bit for bit.
#[derive(Debug, Clone)]
pub(crate) struct BarHistory {
    /// Retained bars, oldest first; grown as bars come (nothing is held for bars not yet seen)
    /// and never beyond `capacity`.
    bars: VecDeque<Bar>,
    /// Most bars kept (the `snapshot_bars` setting).
    capacity: usize,
    /// OBV level at `bars[0]` (0.0 while empty).
    obv_at_oldest: f64,
}

/// Column copies of the history, the shape ta-lib's `*_open` functions take.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    /// High prices, oldest first.
    pub(crate) high: Vec<f64>,
    /// Low prices, oldest first.
    pub(crate) low: Vec<f64>,
    /// Close prices, oldest first.
    pub(crate) close: Vec<f64>,
    /// Volumes, oldest first, except that the first holds the OBV level at
    /// the oldest bar (see [`BarHistory`]) — only meant for `obv_open`.
    pub(crate) obv_volume: Vec<f64>,
}

impl BarHistory {
    /// An empty history that will keep up to `capacity` bars.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            bars: VecDeque::new(),
            capacity,
            obv_at_oldest: 0.0,
        }
    }

    /// A history holding `bars` (oldest first) with the given OBV level at the
    /// oldest; only the newest `capacity` bars are kept (every bar up to the warm-up while the
    /// series is `young`: its streams still open on them), the level being stepped forward over
    /// the dropped ones.
    pub(crate) fn from_parts(
        capacity: usize,
        obv_at_oldest: f64,
        bars: &[Bar],
        young: bool,
    ) -> Self {
        let mut history = Self::new(capacity);
        let mut iter = bars.iter();
        if let Some(first) = iter.next() {
            history.bars.push_back(*first);
            history.obv_at_oldest = obv_at_oldest;
        }
        for bar in iter {
            history.push(*bar, young);
        }
        history
    }

    /// Appends a bar, dropping the oldest ones beyond `capacity` — or beyond [`WARM_UP_BARS`]
    /// while the series is `young` (its streams open on those bars).
    #[inline]
    pub(crate) fn push(&mut self, bar: Bar, young: bool) {
        let limit = match young {
            true => self.capacity.max(WARM_UP_BARS),
            false => self.capacity,
        };
        if self.bars.is_empty() {
            // OBV's definition: the first bar's level is its volume.
            self.obv_at_oldest = bar.volume;
        } else {
            while self.bars.len() >= limit
                && let Some(dropped) = self.bars.pop_front()
                && let Some(oldest) = self.bars.front()
            {
                self.obv_at_oldest = obv_step(self.obv_at_oldest, dropped.close, oldest);
            }
            if self.bars.capacity() >= 2 * limit {
                // Warm now, and fewer bars kept than the warm-up needed: give the rest back.
                self.bars.shrink_to(limit);
            }
        }
        if self.bars.len() == self.bars.capacity() {
            // Doubling would overshoot `limit` by up to half of it, for good, per series.
            let wanted = (self.bars.len() * 2).max(8).min(limit);
            self.bars
                .reserve_exact(wanted.saturating_sub(self.bars.len()).max(1));
        }
        self.bars.push_back(bar);
    }

    /// Forgets every bar.
    pub(crate) fn clear(&mut self) {
        self.bars.clear();
        self.obv_at_oldest = 0.0;
    }

    /// Number of retained bars.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.bars.len()
    }

    /// The bar `age` bars before the latest (0 = latest).
    #[inline]
    pub(crate) fn back(&self, age: usize) -> Option<&Bar> {
        let idx = self.bars.len().checked_sub(age + 1)?;
        self.bars.get(idx)
    }

    /// The latest `k` bars, oldest first, or `None` if fewer are retained.
    #[inline]
    pub(crate) fn latest(&self, k: usize) -> Option<std::collections::vec_deque::Iter<'_, Bar>> {
        let start = self.bars.len().checked_sub(k)?;
        Some(self.bars.range(start..))
    }

    /// Every retained bar, oldest first.
    pub(crate) fn bars(&self) -> impl ExactSizeIterator<Item = &Bar> {
        self.bars.iter()
    }

    /// OBV level at the oldest retained bar.
    pub(crate) fn obv_at_oldest(&self) -> f64 {
        self.obv_at_oldest
    }

    /// Column copies for opening ta-lib streams. Allocates: used only while
    /// warming up (the first ~50 bars) and on restore, never per bar after.
    pub(crate) fn columns(&self) -> Columns {
        let n = self.bars.len();
        let mut cols = Columns {
            high: Vec::with_capacity(n),
            low: Vec::with_capacity(n),
            close: Vec::with_capacity(n),
            obv_volume: Vec::with_capacity(n),
        };
        for bar in &self.bars {
            cols.high.push(bar.high);
            cols.low.push(bar.low);
            cols.close.push(bar.close);
            cols.obv_volume.push(bar.volume);
        }
        if let Some(first) = cols.obv_volume.first_mut() {
            *first = self.obv_at_oldest;
        }
        cols
    }
}

/// One step of ta-lib's OBV recurrence (`obv.rs`, `obv_step_impl`): add the
/// volume on an up close, subtract it on a down close, hold on an equal one.
/// Written out with the same operations so the level stays bit-identical to
/// the stream's.
#[inline]
fn obv_step(level: f64, previous_close: f64, bar: &Bar) -> f64 {
    if bar.close > previous_close {
        level + bar.volume
    } else if bar.close < previous_close {
        level - bar.volume
    } else {
        level
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(t: i64, close: f64, volume: f64) -> Bar {
        Bar {
            open_time: t,
            open: close,
            high: close,
            low: close,
            close,
            volume,
        }
    }

    #[test]
    fn keeps_the_newest_bars_and_steps_obv_over_dropped_ones() {
        let mut h = BarHistory::new(2);
        h.push(bar(0, 10.0, 5.0), false); // obv 5
        h.push(bar(1, 11.0, 3.0), false); // obv 8
        h.push(bar(2, 9.0, 2.0), false); // obv 6, drops bar 0
        assert_eq!(h.len(), 2);
        assert_eq!(h.obv_at_oldest(), 8.0);
        h.push(bar(3, 9.0, 7.0), false); // equal close: obv 6, drops bar 1
        assert_eq!(h.obv_at_oldest(), 6.0);
        assert_eq!(h.back(0).map(|b| b.open_time), Some(3));
        assert_eq!(h.back(1).map(|b| b.open_time), Some(2));
        assert!(h.back(2).is_none());
        let cols = h.columns();
        assert_eq!(cols.obv_volume, vec![6.0, 7.0]);
        assert_eq!(cols.close, vec![9.0, 9.0]);
    }

    #[test]
    fn a_young_series_keeps_the_warm_up_bars_then_only_its_capacity() {
        let mut h = BarHistory::new(3);
        for i in 0..(WARM_UP_BARS as i64 + 10) {
            h.push(bar(i, 10.0 + (i % 4) as f64, 1.0), true);
        }
        assert_eq!(h.len(), WARM_UP_BARS);
        let young_obv = h.obv_at_oldest();
        h.push(bar(1_000, 12.0, 1.0), false);
        assert_eq!(h.len(), 3);
        assert!(h.bars.capacity() < 2 * 3 + 8, "{}", h.bars.capacity());
        assert_eq!(h.back(0).map(|b| b.open_time), Some(1_000));
        // OBV stepped over every dropped bar: the same level as a capacity-3 history from the start.
        let mut plain = BarHistory::new(3);
        for i in 0..(WARM_UP_BARS as i64 + 10) {
            plain.push(bar(i, 10.0 + (i % 4) as f64, 1.0), false);
        }
        plain.push(bar(1_000, 12.0, 1.0), false);
        assert_eq!(h.obv_at_oldest(), plain.obv_at_oldest());
        assert_ne!(young_obv, h.obv_at_oldest());
    }

    #[test]
    fn from_parts_matches_pushing() {
        let bars: Vec<Bar> = (0..5)
            .map(|i| bar(i, 10.0 + (i % 3) as f64, 1.0 + i as f64))
            .collect();
        let mut pushed = BarHistory::new(3);
        for b in &bars {
            pushed.push(*b, false);
        }
        let rebuilt = BarHistory::from_parts(3, bars[0].volume, &bars, false);
        assert_eq!(rebuilt.obv_at_oldest(), pushed.obv_at_oldest());
        assert!(rebuilt.bars().eq(pushed.bars()));
    }
}
