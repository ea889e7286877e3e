//! Bounded oscillators, rescaled from ta-lib's percent units to fractions so
//! they sit near the other features' magnitudes.

use super::indicators::*;
use super::vector::Inputs;

/// Names of this group's features, in vector order.
pub(crate) const NAMES: [&str; 6] = [
    "rsi_14_over_100",
    "stoch_k_over_100",
    "stoch_d_over_100",
    "willr_14_over_100",
    "cci_20_over_100",
    "roc_12_over_100",
];

/// ta-lib reports these oscillators in percent.
const PERCENT: f64 = 100.0;

/// Computes the group, `None` until every oscillator is defined. ta-lib
/// already maps a zero range or zero deviation to a finite value (RSI 50,
/// %K/%R/CCI 0), so a plain division suffices.
#[inline]
pub(crate) fn compute(inputs: &Inputs<'_>) -> Option<[f64; NAMES.len()]> {
    let ind = inputs.indicators;
    Some([
        ind[RSI_14]? / PERCENT,
        ind[STOCH_K]? / PERCENT,
        ind[STOCH_D]? / PERCENT,
        ind[WILLR_14]? / PERCENT,
        ind[CCI_20]? / PERCENT,
        ind[ROC_12]? / PERCENT,
    ])
}
