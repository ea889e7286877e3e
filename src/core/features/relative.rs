//! Price-level indicators made scale-free: each is taken relative to the
//! close (or to its own band), so BTC at 60 000 and a future at 5 000 look
//! alike to the model.

use super::indicators::*;
use super::ratio::ratio_or;
use super::vector::Inputs;

/// Names of this group's features, in vector order.
pub(crate) const NAMES: [&str; 8] = [
    "close_to_ema_9",
    "close_to_ema_21",
    "close_to_ema_50",
    "macd_to_close",
    "macd_hist_to_close",
    "bb_percent_b",
    "bb_width",
    "atr_to_close",
];

/// A band narrower than this fraction of its middle is treated as flat. A
/// window of equal closes leaves ta-lib's standard deviation at rounding
/// level (~1e-16 of the price), and %B would divide by that noise; any real
/// band (one tick on a 5 000 future is ~4e-5) is far wider.
const FLAT_BAND_TOLERANCE: f64 = 1e-12;

/// %B of a flat band: the close sits on the middle.
const FLAT_PERCENT_B: f64 = 0.5;

/// Computes the group, `None` until every indicator it uses is defined.
///
/// `close_to_ema_n` = close / ema_n - 1; MACD and its histogram and ATR are
/// divided by the close; `bb_percent_b` = (close - lower) / (upper - lower);
/// `bb_width` = (upper - lower) / middle.
#[inline]
pub(crate) fn compute(inputs: &Inputs<'_>) -> Option<[f64; NAMES.len()]> {
    let ind = inputs.indicators;
    let close = inputs.bar.close;
    // A zero EMA cannot come from positive prices; 0 means "at the average".
    let to_close = |level: f64| ratio_or(close, level, 1.0) - 1.0;
    let (upper, middle, lower) = (ind[BB_UPPER]?, ind[BB_MIDDLE]?, ind[BB_LOWER]?);
    let width = upper - lower;
    let percent_b = if width > FLAT_BAND_TOLERANCE * middle.abs() {
        ratio_or(close - lower, width, FLAT_PERCENT_B)
    } else {
        FLAT_PERCENT_B
    };
    Some([
        to_close(ind[EMA_9]?),
        to_close(ind[EMA_21]?),
        to_close(ind[EMA_50]?),
        ratio_or(ind[MACD]?, close, 0.0),
        ratio_or(ind[MACD_HIST]?, close, 0.0),
        percent_b,
        ratio_or(width, middle, 0.0),
        ratio_or(ind[ATR_14]?, close, 0.0),
    ])
}
