//! The last `sequence_length` model-input vectors of one series, in a ring.
//!
//! Filled in place from the feature state (no allocation per candle) and
//! copied out oldest-first straight into the inference batch buffer.

/// A fixed-capacity ring of feature vectors, allocated by its first vector (a series that never
/// warms up holds none).
#[derive(Debug, Clone)]
pub struct FeatureWindow {
    width: usize,
    steps: usize,
    data: Vec<f32>,
    /// Index (in vectors) of the slot the next push writes.
    next: usize,
    len: usize,
    /// Pushes until the newest vector holding a non-finite value leaves the window (0: none
    /// in it), so the finiteness of a window is known without scanning it per candle.
    tainted: usize,
}

impl FeatureWindow {
    /// A window of `steps` vectors of `width` values.
    pub fn new(steps: usize, width: usize) -> Self {
        Self {
            width,
            steps,
            data: Vec::new(),
            next: 0,
            len: 0,
            tainted: 0,
        }
    }

    /// Appends one vector, taking `width` values from `values` by index
    /// (`order[i]` is the engine column of model input `i`), dropping the oldest when full.
    pub fn push_gathered(&mut self, values: &[f32], order: &[usize]) {
        if self.steps == 0 {
            return;
        }
        if self.data.is_empty() {
            self.data = vec![0.0; self.steps * self.width];
        }
        let start = self.next * self.width;
        let mut finite = true;
        for (slot, &column) in self.data[start..start + self.width].iter_mut().zip(order) {
            *slot = values.get(column).copied().unwrap_or(f32::NAN);
            finite &= slot.is_finite();
        }
        self.tainted = if finite {
            self.tainted.saturating_sub(1)
        } else {
            self.steps
        };
        self.next = (self.next + 1) % self.steps;
        self.len = (self.len + 1).min(self.steps);
    }

    /// Whether `steps` vectors have been pushed since the last clear.
    pub fn is_full(&self) -> bool {
        self.len == self.steps
    }

    /// Whether every vector in the window is finite (a window that is not is never scored).
    pub fn is_finite(&self) -> bool {
        self.tainted == 0
    }

    /// Forgets every vector (after a state reset).
    pub fn clear(&mut self) {
        self.next = 0;
        self.len = 0;
        self.tainted = 0;
    }

    /// A window holding `values` (whole vectors, oldest first; the newest `steps` are kept), as
    /// [`FeatureWindow::extend_into`] wrote them. `None` if `values` is not a whole number of
    /// vectors.
    pub fn from_values(steps: usize, width: usize, values: &[f32]) -> Option<Self> {
        if width == 0 || !values.len().is_multiple_of(width) {
            return None;
        }
        let mut window = Self::new(steps, width);
        let identity: Vec<usize> = (0..width).collect();
        for vector in values.chunks_exact(width) {
            window.push_gathered(vector, &identity);
        }
        Some(window)
    }

    /// Appends the window, oldest vector first, to `out`.
    pub fn extend_into(&self, out: &mut Vec<f32>) {
        if self.is_full() {
            let split = self.next * self.width;
            out.extend_from_slice(&self.data[split..]);
            out.extend_from_slice(&self.data[..split]);
        } else {
            out.extend_from_slice(&self.data[..self.len * self.width]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_vectors_oldest_first() {
        let mut w = FeatureWindow::new(3, 2);
        let order = [1, 0];
        for i in 0..5 {
            let v = [i as f32, 10.0 + i as f32];
            w.push_gathered(&v, &order);
        }
        assert!(w.is_full());
        let mut out = Vec::new();
        w.extend_into(&mut out);
        assert_eq!(out, vec![12.0, 2.0, 13.0, 3.0, 14.0, 4.0]);
        w.clear();
        assert!(!w.is_full());
    }

    #[test]
    fn knows_when_a_non_finite_vector_has_left() {
        let mut w = FeatureWindow::new(3, 1);
        w.push_gathered(&[1.0], &[0]);
        w.push_gathered(&[f32::NAN], &[0]);
        for _ in 0..2 {
            w.push_gathered(&[2.0], &[0]);
            assert!(!w.is_finite(), "the NaN is still inside");
        }
        w.push_gathered(&[3.0], &[0]);
        assert!(w.is_finite(), "the NaN has left the window");
        w.push_gathered(&[f32::INFINITY], &[0]);
        assert!(!w.is_finite());
        w.clear();
        assert!(w.is_finite());
    }

    #[test]
    fn round_trips_through_its_values() {
        let mut w = FeatureWindow::new(3, 2);
        for i in 0..4 {
            w.push_gathered(&[i as f32, -(i as f32)], &[0, 1]);
        }
        let mut values = Vec::new();
        w.extend_into(&mut values);
        let back = FeatureWindow::from_values(3, 2, &values).unwrap();
        let mut again = Vec::new();
        back.extend_into(&mut again);
        assert_eq!(again, values);
        assert!(back.is_full());
        assert!(FeatureWindow::from_values(3, 2, &[1.0]).is_none());
    }
}
