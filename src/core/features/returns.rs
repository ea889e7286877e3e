//! Return and volatility features: how far and how noisily the close moved.

use super::ratio::ratio_or;
use super::rolling::{LONGEST_WINDOW, sample_std};
use super::vector::Inputs;

/// Names of this group's features, in vector order.
pub(crate) const NAMES: [&str; 8] = [
    "log_return_1",
    "log_return_5",
    "log_return_10",
    "volatility_5",
    "volatility_10",
    "volatility_20",
    "volatility_ratio_5_20",
    "volatility_ratio_10_20",
];

/// Volatility ratio when the long window did not move at all (so neither did
/// the short one): "the same regime", the value a ratio of equals has.
const FLAT_VOLATILITY_RATIO: f64 = 1.0;

/// Computes the group, `None` until 10 bars back and 20 returns exist.
///
/// `log_return_k` = ln(close_t / close_{t-k}); `volatility_k` = sample
/// standard deviation of the last k one-bar log returns (not annualised:
/// the model sees one interval per series); ratios are short over long.
#[inline]
pub(crate) fn compute(inputs: &Inputs<'_>) -> Option<[f64; NAMES.len()]> {
    let close = inputs.bar.close;
    let log_return = |k: usize| Some((close / inputs.history.back(k)?.close).ln());
    let volatility = |k: usize| sample_std(inputs.returns.latest(k)?);
    // The 20-return window is the longest the series keeps.
    let (v5, v10, v20) = (volatility(5)?, volatility(10)?, volatility(LONGEST_WINDOW)?);
    Some([
        log_return(1)?,
        log_return(5)?,
        log_return(10)?,
        v5,
        v10,
        v20,
        ratio_or(v5, v20, FLAT_VOLATILITY_RATIO),
        ratio_or(v10, v20, FLAT_VOLATILITY_RATIO),
    ])
}
