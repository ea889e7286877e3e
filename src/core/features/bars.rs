//! The recent bars of one series: the input of every rolling window, the bars the windowed
//! indicator streams read back, and the bars a snapshot holds.

use super::WARM_UP_BARS;
use crate::core::bar::Bar;
use std::collections::VecDeque;

/// The latest `capacity` bars, oldest first (every bar up to the warm-up while the series is
/// young: its streams open on them).
#[derive(Debug, Clone)]
pub(crate) struct BarHistory {
    /// Retained bars, oldest first; grown as bars come (nothing is held for bars not yet seen)
    /// and never beyond `capacity`.
    bars: VecDeque<Bar>,
    /// Most bars kept (the `snapshot_bars` setting).
    capacity: usize,
}

/// Column copies of the history, the shape a stream opens on.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    /// High prices, oldest first.
    pub(crate) high: Vec<f64>,
    /// Low prices, oldest first.
    pub(crate) low: Vec<f64>,
    /// Close prices, oldest first.
    pub(crate) close: Vec<f64>,
    /// Volumes, oldest first.
    pub(crate) volume: Vec<f64>,
}

impl BarHistory {
    /// An empty history that will keep up to `capacity` bars.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            bars: VecDeque::new(),
            capacity,
        }
    }

    /// A history holding `bars` (oldest first); only the newest `capacity` bars are kept (every
    /// bar up to the warm-up while the series is `young`).
    pub(crate) fn from_parts(capacity: usize, bars: &[Bar], young: bool) -> Self {
        let mut history = Self::new(capacity);
        for bar in bars {
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
        while self.bars.len() >= limit.max(1) {
            self.bars.pop_front();
        }
        if self.bars.capacity() >= 2 * limit {
            // Warm now, and fewer bars kept than the warm-up needed: give the rest back.
            self.bars.shrink_to(limit);
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

    /// Column copies for opening the streams. Allocates: used only while warming up (the first
    /// ~50 bars), never per bar after.
    pub(crate) fn columns(&self) -> Columns {
        let n = self.bars.len();
        let mut cols = Columns {
            high: Vec::with_capacity(n),
            low: Vec::with_capacity(n),
            close: Vec::with_capacity(n),
            volume: Vec::with_capacity(n),
        };
        for bar in &self.bars {
            cols.high.push(bar.high);
            cols.low.push(bar.low);
            cols.close.push(bar.close);
            cols.volume.push(bar.volume);
        }
        cols
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
    fn keeps_the_newest_bars() {
        let mut h = BarHistory::new(2);
        h.push(bar(0, 10.0, 5.0), false);
        h.push(bar(1, 11.0, 3.0), false);
        h.push(bar(2, 9.0, 2.0), false); // drops bar 0
        assert_eq!(h.len(), 2);
        h.push(bar(3, 9.0, 7.0), false); // drops bar 1
        assert_eq!(h.back(0).map(|b| b.open_time), Some(3));
        assert_eq!(h.back(1).map(|b| b.open_time), Some(2));
        assert!(h.back(2).is_none());
        let cols = h.columns();
        assert_eq!(cols.volume, vec![2.0, 7.0]);
        assert_eq!(cols.close, vec![9.0, 9.0]);
    }

    #[test]
    fn a_young_series_keeps_the_warm_up_bars_then_only_its_capacity() {
        let mut h = BarHistory::new(3);
        for i in 0..(WARM_UP_BARS as i64 + 10) {
            h.push(bar(i, 10.0 + (i % 4) as f64, 1.0), true);
        }
        assert_eq!(h.len(), WARM_UP_BARS);
        assert_eq!(h.back(WARM_UP_BARS - 1).map(|b| b.open_time), Some(10));
        h.push(bar(1_000, 12.0, 1.0), false);
        assert_eq!(h.len(), 3);
        assert!(h.bars.capacity() < 2 * 3 + 8, "{}", h.bars.capacity());
        assert_eq!(h.back(0).map(|b| b.open_time), Some(1_000));
        assert_eq!(
            h.back(2).map(|b| b.open_time),
            Some(WARM_UP_BARS as i64 + 8)
        );
    }

    #[test]
    fn from_parts_matches_pushing() {
        let bars: Vec<Bar> = (0..5)
            .map(|i| bar(i, 10.0 + (i % 3) as f64, 1.0 + i as f64))
            .collect();
        for young in [false, true] {
            let mut pushed = BarHistory::new(3);
            for b in &bars {
                pushed.push(*b, young);
            }
            let rebuilt = BarHistory::from_parts(3, &bars, young);
            assert!(rebuilt.bars().eq(pushed.bars()));
        }
    }
}
