//! Feature drift: the rolling mean and standard deviation of each scaled model input over the
//! last `window` scored candles. The training scaler makes them 0 and 1 on the training data,
//! so a mean past ±0.5 or a deviation outside [0.5, 2] ([`DRIFT_THRESHOLD`]) says the market
//! no longer looks like the one the model learnt.

/// The documented drift bounds: `|mean| > max_abs_mean`, or `std` outside
/// `[min_std, max_std]`, is drift (the alert rules use the same numbers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftThreshold {
    /// Largest tolerated |mean| of a scaled feature.
    pub max_abs_mean: f64,
    /// Smallest tolerated standard deviation.
    pub min_std: f64,
    /// Largest tolerated standard deviation.
    pub max_std: f64,
}

/// See [`DriftThreshold`].
pub const DRIFT_THRESHOLD: DriftThreshold = DriftThreshold {
    max_abs_mean: 0.5,
    min_std: 0.5,
    max_std: 2.0,
};

/// One feature's rolling figures.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureStats {
    /// Rolling mean of the scaled feature.
    pub mean: f64,
    /// Rolling standard deviation (n − 1) of the scaled feature.
    pub std: f64,
}

impl FeatureStats {
    /// Whether it is past [`DRIFT_THRESHOLD`].
    pub fn drifted(&self) -> bool {
        let t = DRIFT_THRESHOLD;
        self.mean.abs() > t.max_abs_mean || self.std < t.min_std || self.std > t.max_std
    }
}

/// The last `window` scaled input vectors of a model and their per-feature sums.
#[derive(Debug, Clone)]
pub struct FeatureDrift {
    width: usize,
    window: usize,
    ring: Vec<f32>,
    /// Next slot to write.
    next: usize,
    filled: usize,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
    /// Pushes since the sums were last rebuilt exactly (running sums drift by rounding).
    since_rebuild: usize,
}

impl FeatureDrift {
    /// Drift of `width` features over the last `window` vectors (at least 2).
    pub fn new(width: usize, window: usize) -> Self {
        Self {
            width,
            window: window.max(2),
            ring: Vec::new(),
            next: 0,
            filled: 0,
            sum: vec![0.0; width],
            sum_sq: vec![0.0; width],
            since_rebuild: 0,
        }
    }

    /// Adds vectors (`width` values each, already scaled); a trailing partial vector is ignored.
    pub fn push(&mut self, vectors: &[f32]) {
        if self.width == 0 {
            return;
        }
        for vector in vectors.chunks_exact(self.width) {
            if self.ring.len() < self.window * self.width {
                self.ring.extend_from_slice(vector);
            } else {
                let slot = &mut self.ring[self.next * self.width..(self.next + 1) * self.width];
                for (i, old) in slot.iter().enumerate() {
                    let old = f64::from(*old);
                    self.sum[i] -= old;
                    self.sum_sq[i] -= old * old;
                }
                slot.copy_from_slice(vector);
            }
            for (i, v) in vector.iter().enumerate() {
                let v = f64::from(*v);
                self.sum[i] += v;
                self.sum_sq[i] += v * v;
            }
            self.next = (self.next + 1) % self.window;
            self.filled = (self.filled + 1).min(self.window);
            self.since_rebuild += 1;
            if self.since_rebuild >= self.window {
                self.rebuild();
            }
        }
    }

    fn rebuild(&mut self) {
        self.since_rebuild = 0;
        self.sum.iter_mut().for_each(|s| *s = 0.0);
        self.sum_sq.iter_mut().for_each(|s| *s = 0.0);
        for vector in self.ring.chunks_exact(self.width) {
            for (i, v) in vector.iter().enumerate() {
                let v = f64::from(*v);
                self.sum[i] += v;
                self.sum_sq[i] += v * v;
            }
        }
    }

    /// Vectors in the window.
    pub fn samples(&self) -> usize {
        self.filled
    }

    /// Each feature's rolling mean and deviation; empty before two vectors were seen.
    pub fn stats(&self) -> Vec<FeatureStats> {
        if self.filled < 2 {
            return Vec::new();
        }
        let n = self.filled as f64;
        self.sum
            .iter()
            .zip(&self.sum_sq)
            .map(|(&s, &q)| {
                let mean = s / n;
                FeatureStats {
                    mean,
                    std: ((q - n * mean * mean) / (n - 1.0)).max(0.0).sqrt(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_stats_equal_the_direct_computation_over_the_last_window() {
        let mut drift = FeatureDrift::new(2, 50);
        let values: Vec<f32> = (0..400)
            .flat_map(|i| [(i as f32 * 0.37).sin(), 3.0 + (i % 7) as f32])
            .collect();
        drift.push(&values);
        let stats = drift.stats();
        let last: Vec<f32> = values[values.len() - 100..].to_vec();
        for (f, got) in stats.iter().enumerate() {
            let xs: Vec<f64> = last
                .iter()
                .skip(f)
                .step_by(2)
                .map(|&v| f64::from(v))
                .collect();
            let mean = xs.iter().sum::<f64>() / 50.0;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 49.0;
            assert!((got.mean - mean).abs() < 1e-9, "{f}");
            assert!((got.std - var.sqrt()).abs() < 1e-9, "{f}");
        }
        assert_eq!(drift.samples(), 50);
        assert!(stats[1].drifted(), "mean 6 is far from 0");
    }

    #[test]
    fn standard_inputs_do_not_drift() {
        let mut drift = FeatureDrift::new(1, 1000);
        // A symmetric ±1 pattern: mean 0, deviation 1.
        let values: Vec<f32> = (0..1000)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        drift.push(&values);
        let s = drift.stats()[0];
        assert!(!s.drifted(), "{s:?}");
    }
}
