//! Vectorisable `exp`, sigmoid and tanh for the gate blocks.
//!
//! `f32::exp` is a libm call per value, which the compiler cannot vectorise; a recurrent step
//! spends most of its time there (an LSTM of hidden size 64 evaluates 320 transcendental
//! functions per sample per step). These are straight-line polynomial forms the compiler turns
//! into SIMD: Cephes' `expf` (range reduction by `ln 2`, degree-6 minimax polynomial, relative
//! error below 2e-7 on the clamped range), and sigmoid/tanh written through it. A test compares
//! them with the standard library over the whole useful range.
//!
//! Each comes in a fused-multiply-add form for the AVX2/AVX-512 builds of the cell updates. The
//! LSTM unit ([`lstm_cell`]) puts its five activations over common denominators so it divides
//! twice instead of five times: on the windowed model that made the forward pass 10 % faster at
//! 8 windows and 5-8 % at 256 (`cargo bench --bench inference`, 2026-12-07).

use super::fma::madd;

/// Largest argument whose `exp` is finite in `f32`.
const EXP_MAX: f32 = 88.37;
/// Smallest argument whose `exp` is a normal `f32`.
const EXP_MIN: f32 = -87.33;
const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// `ln 2` split in a part exact in few bits and the rest, so `x - n ln 2` loses no precision.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `e^x`, clamped to the normal `f32` range; with fused multiply-adds when `FMA` (the
/// polynomial is a chain of them: fused, it is half the instructions and a little more accurate).
#[inline(always)]
pub(super) fn exp_with<const FMA: bool>(x: f32) -> f32 {
    // max/min rather than clamp: they compile to vector min/max, clamp to compares and branches.
    #[allow(clippy::manual_clamp)]
    let x = x.max(EXP_MIN).min(EXP_MAX);
    exp_in_range::<FMA>(x)
}

/// `e^x` for `x` already within `[EXP_MIN, EXP_MAX]`.
#[inline(always)]
fn exp_in_range<const FMA: bool>(x: f32) -> f32 {
    let n = (x * LOG2_E + 0.5).floor();
    let r = madd::<FMA>(-n, LN2_LO, madd::<FMA>(-n, LN2_HI, x));
    let p = 1.987_569_1e-4_f32;
    let p = madd::<FMA>(p, r, 1.398_199_9e-3);
    let p = madd::<FMA>(p, r, 8.333_452e-3);
    let p = madd::<FMA>(p, r, 4.166_579_6e-2);
    let p = madd::<FMA>(p, r, 1.666_666_5e-1);
    let p = madd::<FMA>(p, r, 0.5);
    let p = madd::<FMA>(p * r, r, r) + 1.0;
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

/// The logistic function `1 / (1 + e^-x)`, fused when `FMA`.
#[inline(always)]
pub(super) fn sigmoid_with<const FMA: bool>(x: f32) -> f32 {
    1.0 / (1.0 + exp_with::<FMA>(-x))
}

/// The hyperbolic tangent, as `2 sigmoid(2x) - 1` (absolute error below 1e-6 everywhere), fused
/// when `FMA`.
#[inline(always)]
pub(super) fn tanh_with<const FMA: bool>(x: f32) -> f32 {
    2.0 / (1.0 + exp_with::<FMA>(-2.0 * x)) - 1.0
}

/// Bound on the arguments of the exponentials in [`lstm_cell`]: a product of three
/// `1 + e^25` stays far below `f32::MAX` (e^75 ≈ 4e32), and a sigmoid or tanh is saturated
/// well before it (`sigmoid(-25)` ≈ 1.4e-11).
const CELL_BOUND: f32 = 25.0;

/// `e^-x` with `x` clamped to `±CELL_BOUND`.
#[inline(always)]
fn exp_neg_bounded<const FMA: bool>(x: f32) -> f32 {
    #[allow(clippy::manual_clamp)]
    let x = x.max(-CELL_BOUND).min(CELL_BOUND);
    exp_in_range::<FMA>(-x)
}

/// One LSTM unit: from its gate pre-activations `[input, forget, output, candidate]` and
/// previous cell state, the new `(cell, hidden)`.
///
/// Written as `c' = σ(f) c + σ(i) tanh(g)` and `h = σ(o) tanh(c')` over common denominators:
/// with `a = e^-i`, `b = e^-f`, `e = e^-2g`, `c' = (c (1+a)(1+e) + (1-e)(1+b)) / ((1+b)(1+a)(1+e))`,
/// and `h` likewise, so the unit costs two divisions instead of five (a division is the slowest
/// vector instruction here; measured in `BENCHMARKS.md`). The exponents are bounded (see
/// [`CELL_BOUND`]) so no product overflows.
#[inline(always)]
pub(super) fn lstm_cell<const FMA: bool>(
    input: f32,
    forget: f32,
    output: f32,
    candidate: f32,
    cell: f32,
) -> (f32, f32) {
    let a = 1.0 + exp_neg_bounded::<FMA>(input);
    let b = 1.0 + exp_neg_bounded::<FMA>(forget);
    let e = exp_neg_bounded::<FMA>(2.0 * candidate);
    let ab = a * (1.0 + e);
    let new_cell = madd::<FMA>(cell, ab, (1.0 - e) * b) / (b * ab);
    let o = 1.0 + exp_neg_bounded::<FMA>(output);
    let ec = exp_neg_bounded::<FMA>(2.0 * new_cell);
    let hidden = (1.0 - ec) / (o * (1.0 + ec));
    (new_cell, hidden)
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

    fn exp(x: f32) -> f32 {
        exp_with::<false>(x)
    }

    fn sigmoid(x: f32) -> f32 {
        sigmoid_with::<false>(x)
    }

    fn tanh(x: f32) -> f32 {
        tanh_with::<false>(x)
    }

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

    /// The two-division LSTM unit against the textbook formula in `f64`, fused and not, over
    /// saturated and ordinary pre-activations and cell states.
    #[test]
    fn lstm_cell_agrees_with_the_textbook_formula() {
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let values = [
            -1e4f32, -90.0, -30.0, -8.0, -1.3, -0.2, 0.0, 0.4, 2.5, 9.0, 31.0, 1e4,
        ];
        let cells = [-40.0f32, -3.0, -0.5, 0.0, 0.7, 5.0, 40.0];
        let mut worst = 0.0f64;
        for &i in &values {
            for &f in &values {
                for &g in &values {
                    for &c in &cells {
                        let o = (i + g) * 0.5;
                        let (i64_, f64_, g64, o64, c64) =
                            (i as f64, f as f64, g as f64, o as f64, c as f64);
                        let cell = sig(f64_) * c64 + sig(i64_) * g64.tanh();
                        let hidden = sig(o64) * cell.tanh();
                        for (nc, nh) in [
                            lstm_cell::<false>(i, f, o, g, c),
                            lstm_cell::<true>(i, f, o, g, c),
                        ] {
                            assert!(nc.is_finite() && nh.is_finite(), "{i} {f} {o} {g} {c}");
                            let err = ((nc as f64 - cell).abs() / (1.0 + cell.abs()))
                                .max((nh as f64 - hidden).abs());
                            worst = worst.max(err);
                        }
                    }
                }
            }
        }
        assert!(worst < 2e-6, "worst error {worst}");
    }

    #[test]
    fn fused_and_plain_exponentials_agree() {
        let mut x = -90.0f32;
        while x <= 90.0 {
            let (plain, fused) = (exp_with::<false>(x), exp_with::<true>(x));
            assert!(
                (plain - fused).abs() <= 1e-6 * plain.abs(),
                "{x}: {plain} vs {fused}"
            );
            x += 0.0371;
        }
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
