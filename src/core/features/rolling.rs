//! A fixed-size ring of the latest values, for O(1) rolling statistics.
//!
//! The windows here hold at most 20 values, so statistics are recomputed
//! exactly from the stored values on every bar instead of being kept as
//! running sums: still O(1) per bar, and free of the drift that add/subtract
//! running sums accumulate over millions of bars (which would also make a
//! restored series differ from an uninterrupted one).

/// The latest `N` values pushed, on the stack, no allocation.
#[derive(Debug, Clone)]
pub(crate) struct Window<const N: usize> {
    /// Storage; `buf[next]` is the slot the next push overwrites.
    buf: [f64; N],
    /// Index of the next write.
    next: usize,
    /// How many slots hold pushed values (saturates at `N`).
    len: usize,
}

impl<const N: usize> Window<N> {
    /// An empty window.
    pub(crate) const fn new() -> Self {
        Self {
            buf: [0.0; N],
            next: 0,
            len: 0,
        }
    }

    /// Appends a value, dropping the oldest once `N` are held.
    #[inline]
    pub(crate) fn push(&mut self, x: f64) {
        if let Some(slot) = self.buf.get_mut(self.next) {
            *slot = x;
        }
        self.next = if self.next + 1 >= N { 0 } else { self.next + 1 };
        if self.len < N {
            self.len += 1;
        }
    }

    /// Forgets every value.
    pub(crate) fn clear(&mut self) {
        self.next = 0;
        self.len = 0;
    }

    /// The latest `k` values as two slices (older part first), or `None` when
    /// fewer than `k` values have been pushed or `k > N`. Two slices rather
    /// than an index per element keep the hot loops free of modulo work.
    #[inline]
    pub(crate) fn latest(&self, k: usize) -> Option<(&[f64], &[f64])> {
        if k > self.len {
            return None;
        }
        if k <= self.next {
            Some((self.buf.get(self.next - k..self.next)?, &[]))
        } else {
            let wrapped = k - self.next;
            Some((self.buf.get(N - wrapped..)?, self.buf.get(..self.next)?))
        }
    }
}

/// Sample standard deviation (n - 1 denominator) of the values in
/// `a` and `b` taken together, or `None` for fewer than two values.
///
/// Two passes over values shifted by the first one: the shift keeps the
/// squares small (no cancellation), and a window of equal values gives
/// exactly zero rather than rounding noise that a later ratio would amplify.
#[inline]
pub(crate) fn sample_std(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() + b.len();
    let shift = *a.first().or(b.first())?;
    if n < 2 {
        return None;
    }
    let count = n as f64;
    let mean_shifted = a.iter().chain(b).map(|x| x - shift).sum::<f64>() / count;
    let squares = a
        .iter()
        .chain(b)
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

    fn collect(w: &Window<4>, k: usize) -> Option<Vec<f64>> {
        w.latest(k)
            .map(|(a, b)| a.iter().chain(b).copied().collect())
    }

    #[test]
    fn latest_returns_the_newest_values_in_order() {
        let mut w = Window::<4>::new();
        assert_eq!(collect(&w, 1), None);
        for x in 1..=6 {
            w.push(f64::from(x));
        }
        assert_eq!(collect(&w, 4), Some(vec![3.0, 4.0, 5.0, 6.0]));
        assert_eq!(collect(&w, 2), Some(vec![5.0, 6.0]));
        assert_eq!(collect(&w, 3), Some(vec![4.0, 5.0, 6.0]));
        assert_eq!(collect(&w, 5), None);
        w.clear();
        assert_eq!(collect(&w, 1), None);
    }

    #[test]
    fn std_of_equal_values_is_exactly_zero() {
        let xs = [0.1; 20];
        assert_eq!(sample_std(&xs[..7], &xs[7..]), Some(0.0));
    }

    #[test]
    fn std_matches_the_textbook_formula() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let std = sample_std(&xs[..3], &xs[3..]).unwrap_or(f64::NAN);
        assert!((std - (32.0_f64 / 7.0).sqrt()).abs() < 1e-15, "{std}");
        assert_eq!(sample_std(&xs[..1], &[]), None);
    }
}
