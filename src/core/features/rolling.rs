//! A fixed-size window of the latest values, for O(1) rolling statistics.
//!
//! The windows here hold at most [`LONGEST_WINDOW`] values, so statistics are
//! recomputed exactly from the stored values on every bar instead of being
//! kept as running sums: still O(1) per bar, and free of the drift that
//! add/subtract running sums accumulate over millions of bars (which would
//! also make a restored series differ from an uninterrupted one).

/// The longest rolling window of any feature (`volatility_20`,
/// `volume_ratio_20`, `vwap_distance_20`).
pub(crate) const LONGEST_WINDOW: usize = 20;

/// The latest [`LONGEST_WINDOW`] values pushed, on the stack.
///
/// Every value is written twice, at `i` and `i + LONGEST_WINDOW`, so the
/// latest `k` values are always one contiguous slice: the hot loops that sum
/// them run over a plain slice, with no wrap-around logic.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    /// Two mirrored copies of the ring.
    buf: [f64; 2 * LONGEST_WINDOW],
    /// Ring slot of the next write, in `0..LONGEST_WINDOW`.
    next: usize,
    /// How many values are held (saturates at `LONGEST_WINDOW`).
    len: usize,
}

impl Window {
    /// An empty window.
    pub(crate) const fn new() -> Self {
        Self {
            buf: [0.0; 2 * LONGEST_WINDOW],
            next: 0,
            len: 0,
        }
    }

    /// Appends a value, dropping the oldest once the window is full.
    #[inline]
    pub(crate) fn push(&mut self, x: f64) {
        if let Some(slot) = self.buf.get_mut(self.next) {
            *slot = x;
        }
        if let Some(slot) = self.buf.get_mut(self.next + LONGEST_WINDOW) {
            *slot = x;
        }
        self.next = if self.next + 1 >= LONGEST_WINDOW {
            0
        } else {
            self.next + 1
        };
        if self.len < LONGEST_WINDOW {
            self.len += 1;
        }
    }

    /// Forgets every value.
    pub(crate) fn clear(&mut self) {
        self.next = 0;
        self.len = 0;
    }

    /// The latest `k` values, oldest first, or `None` when fewer than `k`
    /// have been pushed.
    #[inline]
    pub(crate) fn latest(&self, k: usize) -> Option<&[f64]> {
        if k > self.len {
            return None;
        }
        let end = self.next + LONGEST_WINDOW;
        self.buf.get(end - k..end)
    }
}

/// Sample standard deviation (n - 1 denominator) of `xs`, or `None` for
/// fewer than two values.
///
/// Two passes over values shifted by the first one: the shift keeps the
/// squares small (no cancellation), and a window of equal values gives
/// exactly zero rather than rounding noise that a later ratio would amplify.
#[inline]
pub(crate) fn sample_std(xs: &[f64]) -> Option<f64> {
    let shift = *xs.first()?;
    if xs.len() < 2 {
        return None;
    }
    let count = xs.len() as f64;
    let mean_shifted = xs.iter().map(|x| x - shift).sum::<f64>() / count;
    let squares = xs
        .iter()
        .map(|x| {
            let d = x - shift - mean_shifted;
            d * d
        })
        .sum::<f64>();
    Some((squares / (count - 1.0)).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_returns_the_newest_values_in_order() {
        let mut w = Window::new();
        assert_eq!(w.latest(1), None);
        assert_eq!(w.latest(0), Some(&[][..]));
        for x in 1..=3 {
            w.push(f64::from(x));
        }
        assert_eq!(w.latest(3), Some(&[1.0, 2.0, 3.0][..]));
        assert_eq!(w.latest(4), None);
        for x in 4..=(LONGEST_WINDOW as i32 + 7) {
            w.push(f64::from(x));
            let newest = f64::from(x);
            let k = (x as usize).min(LONGEST_WINDOW);
            let expected: Vec<f64> = (0..k).rev().map(|age| newest - age as f64).collect();
            assert_eq!(
                w.latest(k).map(<[f64]>::to_vec),
                Some(expected),
                "after pushing {x}"
            );
        }
        assert_eq!(w.latest(LONGEST_WINDOW + 1), None);
        w.clear();
        assert_eq!(w.latest(1), None);
    }

    #[test]
    fn std_of_equal_values_is_exactly_zero() {
        assert_eq!(sample_std(&[0.1; 20]), Some(0.0));
    }

    #[test]
    fn std_matches_the_textbook_formula() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let std = sample_std(&xs).unwrap_or(f64::NAN);
        assert!((std - (32.0_f64 / 7.0).sqrt()).abs() < 1e-15, "{std}");
        assert_eq!(sample_std(&xs[..1]), None);
        assert_eq!(sample_std(&[]), None);
    }
}
