//! A tiny seeded pseudo-random generator owned by the caller.
//!
//! Why not burn's RNG: burn seeds a process-global generator (`Device::seed`), so two trainings in
//! one process (parallel tests, a CLI that trains twice) would perturb each other and "same seed →
//! same weights" would not hold. Weight initialisation, shuffling and dropout masks all draw from
//! this generator instead, which lives in the training run and dies with it.

/// SplitMix64: small, fast, statistically good enough for initialisation, shuffling and dropout,
/// and fully specified (so a seed means the same thing on every platform and release).
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform `f64` in `[0, 1)` (53 random mantissa bits).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform `f32` in `[low, high)`.
    pub fn uniform(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.next_f64() as f32
    }

    /// A uniform index in `0..bound` (`bound` > 0), by multiply-shift (bias < 2^-32 for the
    /// sizes used here, irrelevant for shuffling).
    pub fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// Fisher–Yates shuffle in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_values_in_range() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        for _ in 0..1000 {
            let x = a.uniform(-0.5, 0.5);
            assert_eq!(x.to_bits(), b.uniform(-0.5, 0.5).to_bits());
            assert!((-0.5..0.5).contains(&x));
            assert!(a.below(10) < 10);
            b.below(10);
        }
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = SplitMix64::new(1);
        let mut v: Vec<usize> = (0..100).collect();
        rng.shuffle(&mut v);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(v, sorted);
    }
}
