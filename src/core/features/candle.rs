//! Candle shape: where the bar opened and closed inside its own range, and
//! how wide that range was. Needs only the bar itself.

use super::ratio::ratio_or;
use super::vector::Inputs;

/// Names of this group's features, in vector order.
pub(crate) const NAMES: [&str; 4] = [
    "body_to_range",
    "upper_wick_to_range",
    "lower_wick_to_range",
    "range_to_close",
];

/// Computes the group; always defined.
///
/// `body_to_range` = (close - open) / (high - low), signed, in [-1, 1]; the
/// wicks are the parts of the range above and below the body. A flat bar
/// (high == low, e.g. a zero-volume bar) has no shape: all four are 0.
#[inline]
pub(crate) fn compute(inputs: &Inputs<'_>) -> Option<[f64; NAMES.len()]> {
    let b = inputs.bar;
    let range = b.high - b.low;
    let (body_top, body_bottom) = (b.open.max(b.close), b.open.min(b.close));
    Some([
        ratio_or(b.close - b.open, range, 0.0),
        ratio_or(b.high - body_top, range, 0.0),
        ratio_or(body_bottom - b.low, range, 0.0),
        ratio_or(range, b.close, 0.0),
    ])
}
