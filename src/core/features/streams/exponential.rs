//! The exponentially smoothed indicators: EMA, MACD, RSI (Wilder), ATR (Wilder) and OBV.
//!
//! Each is a transcription of ta-lib 0.8.3's stream and its opener (same seeding, the same
//! `mul_add`s in the same order), fed from the first bar. They need no bar history, only a few
//! running values, and unlike ta-lib's handles their state is public to serde, so a snapshot can
//! carry it exactly instead of the hundreds of bars a re-opened exponential stream needs to
//! converge.

use super::TakesBars;
use serde::{Deserialize, Serialize};

/// ta-lib's EMA coefficients for `period`: `(beta, k)`, `k = 1 − beta`, beta re-derived from k
/// when below one half (exactly as `ema.rs` and `macd.rs` compute them).
#[inline]
fn coefficients(period: usize) -> (f64, f64) {
    let mut beta = (period as f64 - 1.0) / (period as f64 + 1.0);
    let k = 1.0 - beta;
    if beta < 0.5 {
        beta = 1.0 - k;
    }
    (beta, k)
}

/// ta-lib's exponential moving average over `PERIOD` values: seeded with the plain average of
/// the first `PERIOD`, then `beta·previous + k·value` as one fused multiply-add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Ema<const PERIOD: usize> {
    /// The running sum while seeding, the average after.
    value: f64,
    /// Values seen.
    seen: u64,
}

impl<const PERIOD: usize> Default for Ema<PERIOD> {
    fn default() -> Self {
        Self {
            value: 0.0,
            seen: 0,
        }
    }
}

impl<const PERIOD: usize> Ema<PERIOD> {
    /// Takes the next value; the average once `PERIOD` values have been seen.
    #[inline]
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        if PERIOD == 1 {
            return Some(x);
        }
        self.seen += 1;
        let period = PERIOD as u64;
        if self.seen < period {
            self.value += x;
            return None;
        }
        if self.seen == period {
            self.value += x;
            self.value /= PERIOD as f64;
        } else {
            let (beta, k) = coefficients(PERIOD);
            self.value = beta.mul_add(self.value, k * x);
        }
        Some(self.value)
    }

    /// Whether every value is one this stream could have computed from finite bars.
    pub(crate) fn is_sane(&self) -> bool {
        self.value.is_finite() && self.seen < super::MAX_SANE_COUNT as u64
    }
}

/// ta-lib's MACD with EMA periods `FAST` < `SLOW` and signal period `SIGNAL` (all above 1):
/// the slow EMA seeded on the first `SLOW` closes, the fast one on the last `FAST` of those, the
/// signal line on the plain average of the first `SIGNAL` MACD values; `(macd, signal, hist)`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Macd<const FAST: usize, const SLOW: usize, const SIGNAL: usize> {
    fast: f64,
    slow: f64,
    /// The running sum of MACD values while seeding, the signal line after.
    signal: f64,
    /// Closes seen.
    seen: u64,
}

impl<const FAST: usize, const SLOW: usize, const SIGNAL: usize> Macd<FAST, SLOW, SIGNAL> {
    /// Takes the next close.
    #[inline]
    pub(crate) fn push(&mut self, x: f64) -> Option<(f64, f64, f64)> {
        let today = self.seen;
        self.seen += 1;
        let (slow_end, fast_start) = ((SLOW - 1) as u64, (SLOW - FAST) as u64);
        if today <= slow_end {
            self.slow += x;
            if today >= fast_start {
                self.fast += x;
            }
            if today < slow_end {
                return None;
            }
            self.slow /= SLOW as f64;
            self.fast /= FAST as f64;
            let macd = self.fast - self.slow;
            self.signal = 0.0;
            self.signal += macd;
            return self.signal_seeded(today, macd);
        }
        let (fast_beta, fast_k) = coefficients(FAST);
        let (slow_beta, slow_k) = coefficients(SLOW);
        self.fast = fast_beta.mul_add(self.fast, fast_k * x);
        self.slow = slow_beta.mul_add(self.slow, slow_k * x);
        let macd = self.fast - self.slow;
        if today < slow_end + SIGNAL as u64 {
            self.signal += macd;
            return self.signal_seeded(today, macd);
        }
        let (signal_beta, signal_k) = coefficients(SIGNAL);
        self.signal = signal_beta.mul_add(self.signal, signal_k * macd);
        Some((macd, self.signal, macd - self.signal))
    }

    /// While the signal line seeds: its first value once `SIGNAL` MACD values are summed.
    #[inline]
    fn signal_seeded(&mut self, today: u64, macd: f64) -> Option<(f64, f64, f64)> {
        if today + 1 < SLOW as u64 + SIGNAL as u64 - 1 {
            return None;
        }
        self.signal /= SIGNAL as f64;
        Some((macd, self.signal, macd - self.signal))
    }

    /// Whether every value is one this stream could have computed from finite bars.
    pub(crate) fn is_sane(&self) -> bool {
        self.fast.is_finite()
            && self.slow.is_finite()
            && self.signal.is_finite()
            && self.seen < super::MAX_SANE_COUNT as u64
    }
}

/// ta-lib's RSI over `PERIOD` (Wilder's smoothing, no unstable period): average gain and loss
/// over the first `PERIOD` changes, then `(previous·(PERIOD−1) + change)/PERIOD` each.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Rsi<const PERIOD: usize> {
    previous: f64,
    gain: f64,
    loss: f64,
    /// Closes seen.
    seen: u64,
}

impl<const PERIOD: usize> Rsi<PERIOD> {
    /// Takes the next close.
    #[inline]
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        let today = self.seen;
        self.seen += 1;
        if today == 0 {
            self.previous = x;
            return None;
        }
        let change = x - self.previous;
        self.previous = x;
        let inv_period = 1.0 / (PERIOD as f64);
        let period = PERIOD as u64;
        if today > period {
            self.loss *= (PERIOD - 1) as f64;
            self.gain *= (PERIOD - 1) as f64;
        }
        let gain = if change > 0.0 { change } else { 0.0 };
        self.gain += gain;
        self.loss += gain - change;
        if today < period {
            return None;
        }
        self.loss *= inv_period;
        self.gain *= inv_period;
        let total = self.gain + self.loss;
        Some(if total > 0.0 {
            100.0 * (self.gain / total)
        } else {
            50.0
        })
    }

    /// Whether every value is one this stream could have computed from finite bars.
    pub(crate) fn is_sane(&self) -> bool {
        self.previous.is_finite()
            && self.gain.is_finite()
            && self.loss.is_finite()
            && self.seen < super::MAX_SANE_COUNT as u64
    }
}

/// ta-lib's ATR over `PERIOD` (Wilder's smoothing, no unstable period): the plain average of the
/// first `PERIOD` true ranges (from the second bar), then `beta·previous + alpha·range` fused.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Atr<const PERIOD: usize> {
    previous_close: f64,
    /// The running sum of true ranges while seeding, the ATR after.
    value: f64,
    /// Bars seen.
    seen: u64,
}

impl<const PERIOD: usize> Atr<PERIOD> {
    /// Takes the next bar's high, low and close.
    #[inline]
    pub(crate) fn push(&mut self, high: f64, low: f64, close: f64) -> Option<f64> {
        let today = self.seen;
        self.seen += 1;
        let previous = self.previous_close;
        self.previous_close = close;
        if today == 0 {
            return None;
        }
        let mut greatest = high - low;
        let to_high = (previous - high).abs();
        greatest = if to_high > greatest {
            to_high
        } else {
            greatest
        };
        let to_low = (previous - low).abs();
        greatest = if to_low > greatest { to_low } else { greatest };
        let period = PERIOD as u64;
        if today <= period {
            self.value += greatest;
            if today < period {
                return None;
            }
            self.value /= PERIOD as f64;
        } else {
            let beta = (PERIOD as f64 - 1.0) / (PERIOD as f64);
            let alpha = 1.0 - beta;
            self.value = beta.mul_add(self.value, alpha * greatest);
        }
        Some(self.value)
    }

    /// Whether every value is one this stream could have computed from finite bars.
    pub(crate) fn is_sane(&self) -> bool {
        self.previous_close.is_finite()
            && self.value.is_finite()
            && self.seen < super::MAX_SANE_COUNT as u64
    }
}

/// ta-lib's OBV: the first bar's volume, then plus the volume on an up close, minus it on a down
/// close. Opened at a series' first bar, it carries its level itself (a snapshot holds it).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Obv {
    previous_close: f64,
    level: f64,
    started: bool,
}

impl Obv {
    /// Takes the next close and volume.
    #[inline]
    pub(crate) fn push(&mut self, close: f64, volume: f64) -> f64 {
        if !self.started {
            self.started = true;
            self.level = volume;
        } else if close > self.previous_close {
            self.level += volume;
        } else if close < self.previous_close {
            self.level -= volume;
        }
        self.previous_close = close;
        self.level
    }

    /// Whether every value is one this stream could have computed from finite bars.
    pub(crate) fn is_sane(&self) -> bool {
        self.previous_close.is_finite() && self.level.is_finite()
    }
}

impl<const PERIOD: usize> TakesBars for Ema<PERIOD> {
    type Output = f64;

    #[inline]
    fn take(&mut self, [_, _, close, _]: [f64; 4]) -> Option<f64> {
        self.push(close)
    }
}

impl<const FAST: usize, const SLOW: usize, const SIGNAL: usize> TakesBars
    for Macd<FAST, SLOW, SIGNAL>
{
    type Output = (f64, f64, f64);

    #[inline]
    fn take(&mut self, [_, _, close, _]: [f64; 4]) -> Option<(f64, f64, f64)> {
        self.push(close)
    }
}

impl<const PERIOD: usize> TakesBars for Rsi<PERIOD> {
    type Output = f64;

    #[inline]
    fn take(&mut self, [_, _, close, _]: [f64; 4]) -> Option<f64> {
        self.push(close)
    }
}

impl<const PERIOD: usize> TakesBars for Atr<PERIOD> {
    type Output = f64;

    #[inline]
    fn take(&mut self, [high, low, close, _]: [f64; 4]) -> Option<f64> {
        self.push(high, low, close)
    }
}

impl TakesBars for Obv {
    type Output = f64;

    #[inline]
    fn take(&mut self, [_, _, close, volume]: [f64; 4]) -> Option<f64> {
        Some(self.push(close, volume))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a snapshot's restore relies on: a stream state no finite bars give is not sane.
    #[test]
    fn a_non_finite_state_is_not_sane() {
        let mut obv = Obv::default();
        obv.take([1.0, 1.0, 1.0, 5.0]);
        assert!(obv.is_sane());
        obv.level = f64::INFINITY;
        assert!(!obv.is_sane());
        let mut ema = Ema::<3>::default();
        assert!(ema.is_sane());
        ema.value = f64::NAN;
        assert!(!ema.is_sane());
        let rsi = Rsi::<14> {
            loss: f64::NEG_INFINITY,
            ..Rsi::default()
        };
        assert!(!rsi.is_sane());
    }
}
