//! Labels: what the price did over the next `horizon` bars.

use serde::{Deserialize, Serialize};

use crate::contract::Side;

mod sigma;

use sigma::rolling_sigma;
pub use sigma::sigma_of;

/// What a label's thresholds are measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelKind {
    /// Fixed fractions of the price: `r = close[t + horizon] / close[t] - 1`; `r >= long_threshold`
    /// → long, `r <= short_threshold` → short. Meaningful on one market and interval only: ±0.5 %
    /// over 6 bars is mostly neutral on 1-minute bars and rarely neutral on daily ones.
    #[default]
    Fixed,
    /// Multiples of the market's own recent volatility: with `σ` the standard deviation of the
    /// one-bar log returns of the `volatility_window` bars up to and including `t` (past bars
    /// only) and `r = ln(close[t + horizon] / close[t])`, `r > k·σ·√horizon` → long,
    /// `r < -k·σ·√horizon` → short. The same spec reads alike on every market and interval.
    Volatility,
}

/// How a row is labelled (see [`LabelKind`]). Rows without `horizon` bars after them, and for
/// volatility labels rows without `volatility_window` returns before them, have no label (never
/// a guessed one).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelSpec {
    /// Fixed thresholds or volatility multiples.
    pub kind: LabelKind,
    /// Bars ahead the forward return is measured over.
    pub horizon: usize,
    /// Fixed labels: forward return at or above which a row is long.
    pub long_threshold: f64,
    /// Fixed labels: forward return at or below which a row is short.
    pub short_threshold: f64,
    /// Volatility labels: the multiple `k` of `σ·√horizon` a forward log return must pass.
    pub volatility_k: f64,
    /// Volatility labels: one-bar log returns the rolling `σ` is computed over.
    pub volatility_window: usize,
}

/// A label spec as the metadata hash reads it: the keys added with volatility labels are left
/// out while they hold their defaults, so a model sealed before they existed hashes the same.
#[derive(Serialize)]
struct Sealed {
    #[serde(skip_serializing_if = "LabelKind::is_fixed")]
    kind: LabelKind,
    horizon: usize,
    long_threshold: f64,
    short_threshold: f64,
    #[serde(skip_serializing_if = "is_default_k")]
    volatility_k: f64,
    #[serde(skip_serializing_if = "is_default_window")]
    volatility_window: usize,
}

impl LabelKind {
    fn is_fixed(&self) -> bool {
        *self == Self::Fixed
    }
}

fn is_default_k(k: &f64) -> bool {
    k.to_bits() == DEFAULT_VOLATILITY_K.to_bits()
}

fn is_default_window(window: &usize) -> bool {
    *window == DEFAULT_VOLATILITY_WINDOW
}

/// Rewrites, in serialized metadata, every `"labels":<spec>` of `spec` to its [`Sealed`] form:
/// the bytes `metadata_sha256` is computed over. `model.json` itself keeps every key. (Replacing
/// the exact serialization keeps every other byte, f32 scaler values included, as serde_json
/// wrote it; a round trip through `serde_json::Value` would not.)
pub(crate) fn seal_form(bytes: Vec<u8>, spec: &LabelSpec) -> Result<Vec<u8>, serde_json::Error> {
    let sealed = Sealed {
        kind: spec.kind,
        horizon: spec.horizon,
        long_threshold: spec.long_threshold,
        short_threshold: spec.short_threshold,
        volatility_k: spec.volatility_k,
        volatility_window: spec.volatility_window,
    };
    let mut full = b"\"labels\":".to_vec();
    full.extend(serde_json::to_vec(spec)?);
    let mut short = b"\"labels\":".to_vec();
    short.extend(serde_json::to_vec(&sealed)?);
    Ok(replace_all(&bytes, &full, &short))
}

/// `haystack` with every non-overlapping `from` replaced by `to`.
fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if !from.is_empty() && haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// Default horizon: 6 bars. On the bundled hourly BTC/USD data with ±0.5 % thresholds this gives
/// the most even classes of the horizons tried (1 bar: 17/16/66 % long/short/neutral, 4 bars:
/// 29/26/44 %, 6 bars: 33/30/38 %, 12 bars: 39/34/27 %), so the always-neutral baseline is weak
/// and every class has enough examples, while six hours is still a short-term signal.
pub const DEFAULT_HORIZON: usize = 6;

/// Default long threshold, the old service's +0.5 %, now config.
pub const DEFAULT_LONG_THRESHOLD: f64 = 0.005;

/// Default short threshold, the old service's -0.5 %, now config.
pub const DEFAULT_SHORT_THRESHOLD: f64 = -0.005;

/// Default volatility multiple: half a standard deviation of the horizon's return. Under a
/// normal walk that leaves about 31 % of rows long, 31 % short and 38 % neutral, on any market.
pub const DEFAULT_VOLATILITY_K: f64 = 0.5;

/// Default volatility window: 100 one-bar returns, long enough for a stable `σ`, short enough
/// to follow a change of regime within a few days of hourly bars or hours of minute bars.
pub const DEFAULT_VOLATILITY_WINDOW: usize = 100;

impl Default for LabelSpec {
    fn default() -> Self {
        Self {
            kind: LabelKind::Fixed,
            horizon: DEFAULT_HORIZON,
            long_threshold: DEFAULT_LONG_THRESHOLD,
            short_threshold: DEFAULT_SHORT_THRESHOLD,
            volatility_k: DEFAULT_VOLATILITY_K,
            volatility_window: DEFAULT_VOLATILITY_WINDOW,
        }
    }
}

/// Why a label spec or a close series is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LabelError {
    /// A zero horizon would label a row by itself.
    #[error("label horizon must be at least 1 bar")]
    ZeroHorizon,
    /// Thresholds that are not finite or leave no room for neutral / overlap.
    #[error(
        "label thresholds must be finite with short_threshold ({short}) < 0 < long_threshold ({long})"
    )]
    Thresholds {
        /// The long threshold.
        long: f64,
        /// The short threshold.
        short: f64,
    },
    /// A volatility multiple that is not a positive finite number, or a window under 2 returns.
    #[error(
        "volatility labels need volatility_k > 0 (got {k}) and volatility_window >= 2 (got {window})"
    )]
    Volatility {
        /// The multiple.
        k: f64,
        /// The window.
        window: usize,
    },
    /// A close that is not a positive finite number (a return cannot be computed from it).
    #[error("close at row {row} is {value}, not a positive finite price")]
    BadClose {
        /// Row index.
        row: usize,
        /// The value.
        value: f64,
    },
}

impl LabelSpec {
    /// Check the spec: horizon >= 1, finite thresholds with `short < 0 < long`, and for
    /// volatility labels `k > 0` and a window of at least 2 returns.
    pub fn validate(&self) -> Result<(), LabelError> {
        if self.horizon == 0 {
            return Err(LabelError::ZeroHorizon);
        }
        if self.kind == LabelKind::Volatility
            && !(self.volatility_k.is_finite()
                && self.volatility_k > 0.0
                && self.volatility_window >= 2)
        {
            return Err(LabelError::Volatility {
                k: self.volatility_k,
                window: self.volatility_window,
            });
        }
        let ok = self.long_threshold.is_finite()
            && self.short_threshold.is_finite()
            && self.short_threshold < 0.0
            && self.long_threshold > 0.0;
        if !ok {
            return Err(LabelError::Thresholds {
                long: self.long_threshold,
                short: self.short_threshold,
            });
        }
        Ok(())
    }

    /// The class of a forward return.
    pub fn classify(&self, forward_return: f64) -> Side {
        if forward_return >= self.long_threshold {
            Side::Long
        } else if forward_return <= self.short_threshold {
            Side::Short
        } else {
            Side::Neutral
        }
    }

    /// The label of every row: `Some` for rows with a full horizon after them (and, for
    /// volatility labels, a full window before them), `None` otherwise. Fails on a non-positive
    /// or non-finite close.
    pub fn label(&self, closes: &[f64]) -> Result<Vec<Option<Side>>, LabelError> {
        self.validate()?;
        if let Some((row, &value)) = closes
            .iter()
            .enumerate()
            .find(|(_, c)| !c.is_finite() || **c <= 0.0)
        {
            return Err(LabelError::BadClose { row, value });
        }
        Ok(match self.kind {
            LabelKind::Fixed => (0..closes.len())
                .map(|t| {
                    closes
                        .get(t + self.horizon)
                        .and_then(|future| self.realised(closes[t], *future, None))
                })
                .collect(),
            LabelKind::Volatility => {
                let sigma = rolling_sigma(closes, self.volatility_window);
                (0..closes.len())
                    .map(|t| {
                        let future = closes.get(t + self.horizon)?;
                        self.realised(closes[t], *future, sigma.get(t).copied().flatten())
                    })
                    .collect()
            }
        })
    }

    /// The label of one row from its close, the close `horizon` bars later and, for volatility
    /// labels, `σ` at the row (`None`: too little history, no label). Training and live scoring
    /// both label through here, so a signal is scored by the rule its model was trained for.
    pub fn realised(&self, close: f64, future: f64, sigma: Option<f64>) -> Option<Side> {
        match self.kind {
            LabelKind::Fixed => Some(self.classify(future / close - 1.0)),
            LabelKind::Volatility => {
                let bound = self.volatility_k * (self.horizon as f64).sqrt() * sigma?;
                let r = (future / close).ln();
                Some(if r > bound {
                    Side::Long
                } else if r < -bound {
                    Side::Short
                } else {
                    Side::Neutral
                })
            }
        }
    }

    /// Closes a row's label and baselines need up to and including the row: the previous-return
    /// rule reads `horizon` bars back, volatility labels `volatility_window` returns back.
    pub fn lookback(&self) -> usize {
        match self.kind {
            LabelKind::Fixed => self.horizon + 1,
            LabelKind::Volatility => self.horizon.max(self.volatility_window) + 1,
        }
    }

    /// One line saying how rows are labelled, for reports.
    pub fn describe(&self) -> String {
        match self.kind {
            LabelKind::Fixed => format!(
                "fixed: forward return over {} bars; long >= {}, short <= {}",
                self.horizon, self.long_threshold, self.short_threshold
            ),
            LabelKind::Volatility => format!(
                "volatility-scaled: forward log return over {h} bars beyond ±{k}·σ·√{h}, σ the \
                 standard deviation of the last {w} one-bar log returns (past bars only)",
                h = self.horizon,
                k = self.volatility_k,
                w = self.volatility_window
            ),
        }
    }
}

#[cfg(test)]
mod tests;
