//! Vectorisable `exp`, sigmoid and tanh for the gate blocks.
//!
//! `f32::exp` is a libm call per value, which the compiler cannot vectorise; a recurrent step
//! spends most of its time there (an LSTM of hidden size 64 evaluates 320 transcendental
//! functions per sample per step). These are straight-line polynomial forms the compiler turns
//! into SIMD: Cephes' `expf` (range reduction by `ln 2`, degree-6 minimax polynomial, relative
//! error below 2e-7 on the clamped range), and sigmoid/tanh written through it. A test compares
//! them with the standard library over the whole useful range.

/// Largest argument whose `exp` is finite in `f32`.
const EXP_MAX: f32 = 88.37;
/// Smallest argument whose `exp` is a normal `f32`.
const EXP_MIN: f32 = -87.33;
const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// `ln 2` split in a part exact in few bits and the rest, so `x - n ln 2` loses no precision.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `e^x`, clamped to the normal `f32` range.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // max/min rather than clamp: they compile to vector min/max, clamp to compares and branches.
    #[allow(clippy::manual_clamp)]
    let x = x.max(EXP_MIN).min(EXP_MAX);
    let n = (x * LOG2_E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let p = p * r * r + r + 1.0;
    // 2^n built in the exponent field, n within [-126, 127] after the clamp. `n as i32` would
    // be a saturating, NaN-checking conversion the compiler cannot vectorise; adding 1.5 * 2^23
    // instead puts n (two's complement) in the low mantissa bits, read back with plain integer
    // arithmetic.
    let shifted = n + 12_582_912.0;
    let exponent = shifted
        .to_bits()
        .wrapping_sub(0x4B40_0000)
        .wrapping_add(127);
    let scale = f32::from_bits(exponent << 23);
    p * scale
}

/// The logistic function `1 / (1 + e^-x)`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// The hyperbolic tangent, as `2 sigmoid(2x) - 1` (absolute error below 1e-6 everywhere).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    2.0 / (1.0 + exp(-2.0 * x)) - 1.0
}

/// Numerically stable softmax of one logit row (exact `exp`: three values per sample).
pub(super) fn softmax(logits: &[f32]) -> [f32; crate::model::side::NUM_CLASSES] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut row = [0.0; crate::model::side::NUM_CLASSES];
    for (slot, &v) in row.iter_mut().zip(logits) {
        *slot = (v - max).exp();
    }
    let sum: f32 = row.iter().sum();
    for slot in &mut row {
        *slot /= sum;
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agree_with_the_standard_library() {
        let mut worst = [0.0f32; 3];
        let mut x = -30.0f32;
        while x <= 30.0 {
            let e = (exp(x) - x.exp()).abs() / x.exp();
            let s = (sigmoid(x) - 1.0 / (1.0 + (-x).exp())).abs();
            let t = (tanh(x) - x.tanh()).abs();
            worst = [worst[0].max(e), worst[1].max(s), worst[2].max(t)];
            x += 0.001_3;
        }
        assert!(worst[0] < 5e-7, "exp relative error {}", worst[0]);
        assert!(worst[1] < 1e-6, "sigmoid error {}", worst[1]);
        assert!(worst[2] < 2e-6, "tanh error {}", worst[2]);
    }

    #[test]
    fn saturate_without_nan_or_infinity() {
        for x in [
            -1e30f32,
            -1000.0,
            -88.5,
            88.5,
            1000.0,
            1e30,
            f32::MAX,
            f32::MIN,
        ] {
            for v in [exp(x), sigmoid(x), tanh(x)] {
                assert!(v.is_finite(), "{x} -> {v}");
            }
        }
        assert_eq!(sigmoid(1000.0), 1.0);
        assert!(sigmoid(-1000.0) < 1e-37);
        assert_eq!(tanh(1000.0), 1.0);
        assert_eq!(tanh(-1000.0), -1.0);
    }
}
