//! Volume features: activity relative to its recent level, the direction of
//! that activity, and where the close sits against the volume-weighted price.

use super::ratio::ratio_or;
use super::rolling::LONGEST_WINDOW;
use super::vector::Inputs;

/// Names of this group's features, in vector order.
pub(crate) const NAMES: [&str; 3] = ["volume_ratio_20", "obv_slope_10", "vwap_distance_20"];

/// Bars in the volume mean and in the rolling VWAP (the `_20` of their names).
const VOLUME_WINDOW: usize = LONGEST_WINDOW;
/// Bars over which the OBV change is measured (`obv_slope_10`). Each is
/// compared with the bar before it, so it must be shorter than
/// `VOLUME_WINDOW`, whose bars it reuses (checked at compile time).
const OBV_WINDOW: usize = 10;
const _: () = assert!(VOLUME_WINDOW == 20 && OBV_WINDOW < VOLUME_WINDOW);

/// Volume ratio when the whole window traded nothing (the current bar
/// included): the bar is exactly as active as its window.
const IDLE_VOLUME_RATIO: f64 = 1.0;

/// Computes the group, `None` until 20 bars exist.
///
/// - `volume_ratio_20` = volume_t / mean(volume over the last 20 bars, t included).
/// - `obv_slope_10` = (OBV_t - OBV_{t-10}) / sum(volume_{t-9..=t}), the net
///   signed fraction of the window's volume, in [-1, 1]. It is summed from the
///   bars (up close +v, down close -v, equal 0 — ta-lib's OBV rule) rather than
///   by differencing two OBV levels, which would cancel catastrophically once
///   the cumulative level dwarfs ten bars of volume. 0 for a silent window.
/// - `vwap_distance_20` = close / VWAP_20 - 1, VWAP_20 = sum(typical * volume)
///   / sum(volume) over 20 bars, typical = (high + low + close) / 3. With no
///   volume in the window the VWAP falls back to the plain mean typical price.
#[inline]
pub(crate) fn compute(inputs: &Inputs<'_>) -> Option<[f64; NAMES.len()]> {
    let bar = inputs.bar;
    // One pass over the longest window; the OBV sums take its last
    // OBV_WINDOW bars, each compared with the bar before it.
    let obv_from = VOLUME_WINDOW - OBV_WINDOW;
    let (mut volume_sum, mut price_volume, mut typical_sum) = (0.0, 0.0, 0.0);
    let (mut signed, mut traded) = (0.0, 0.0);
    let mut previous_close = f64::NAN;
    for (i, b) in inputs.history.latest(VOLUME_WINDOW)?.enumerate() {
        let typical = (b.high + b.low + b.close) / 3.0;
        volume_sum += b.volume;
        price_volume += typical * b.volume;
        typical_sum += typical;
        if i >= obv_from {
            if b.close > previous_close {
                signed += b.volume;
            } else if b.close < previous_close {
                signed -= b.volume;
            }
            traded += b.volume;
        }
        previous_close = b.close;
    }
    let window = VOLUME_WINDOW as f64;
    let volume_ratio = ratio_or(bar.volume, volume_sum / window, IDLE_VOLUME_RATIO);
    let obv_slope = ratio_or(signed, traded, 0.0);
    let vwap = ratio_or(price_volume, volume_sum, typical_sum / window);
    let vwap_distance = ratio_or(bar.close, vwap, 1.0) - 1.0;
    Some([volume_ratio, obv_slope, vwap_distance])
}
