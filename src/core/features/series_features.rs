//! The per-series feature state: one per (exchange, symbol, interval).

use super::FEWEST_RETAINED_BARS;
use super::bars::BarHistory;
use super::error::FeatureError;
use super::indicators::INDICATOR_COUNT;
use super::indicators::Indicators;
use super::rolling::{LONGEST_WINDOW, Window};
use super::settings::{FeatureSettings, MAX_SNAPSHOT_BARS};
use super::vector::{self, FEATURE_COUNT, Inputs};
use crate::core::bar::Bar;

/// Streaming indicator and feature state of one series.
///
/// Each [`update`](Self::update) costs O(1): a fixed number of ta-lib stream
/// steps plus sums over windows of at most 20 bars; nothing allocates after
/// the warm-up. The model vector is kept in an internal buffer and lent out
/// by [`features`](Self::features).
#[derive(Debug, Clone)]
pub struct SeriesFeatures {
    /// Recent bars: rolling windows read them, snapshots persist them.
    pub(super) history: BarHistory,
    /// One-bar log returns for the volatility windows.
    pub(super) returns: Window,
    /// The ta-lib streams and their latest values.
    pub(super) indicators: Indicators,
    /// Features at the latest bar, f64 (valid only when `ready`).
    pub(super) values: [f64; FEATURE_COUNT],
    /// The same, as the f32 vector the network eats.
    pub(super) vector: [f32; FEATURE_COUNT],
    /// Every feature at the latest bar is defined and finite.
    pub(super) ready: bool,
    /// Bars accepted since the series began (survives snapshots).
    pub(super) bars_seen: u64,
}

impl SeriesFeatures {
    /// An empty series. `settings` should have passed
    /// [`FeatureSettings::validate`]; an out-of-range `snapshot_bars` is
    /// clamped into range here, because a state that can never warm up would
    /// be worse than a slightly different memory budget.
    pub fn new(settings: &FeatureSettings) -> Self {
        let capacity = settings
            .snapshot_bars
            .clamp(FEWEST_RETAINED_BARS, MAX_SNAPSHOT_BARS);
        Self {
            history: BarHistory::new(capacity),
            returns: Window::new(),
            indicators: Indicators::default(),
            values: [0.0; FEATURE_COUNT],
            vector: [0.0; FEATURE_COUNT],
            ready: false,
            bars_seen: 0,
        }
    }

    /// Takes the next closed bar of the series.
    ///
    /// The caller delivers validated bars in increasing `open_time`
    /// (sequencing, duplicates and gaps are its business); a gap is simply the
    /// next bar. As a last line of defence a non-finite or non-positive
    /// price, a negative or non-finite volume, or an `open_time` not after the
    /// previous bar's is refused *before anything changes*.
    ///
    /// # Errors
    ///
    /// [`FeatureError::InvalidBar`], [`FeatureError::OutOfOrder`],
    /// [`FeatureError::SeriesTooLong`]: refused, state unchanged.
    /// [`FeatureError::Indicator`]: cannot happen for a checked bar; the
    /// state is reset. A feature that cannot be computed finitely is NaN in the vector
    /// (values past f32's range are clamped to it): the caller decides not to score it.
    pub fn update(&mut self, bar: &Bar) -> Result<(), FeatureError> {
        check_bar(bar)?;
        if let Some(last) = self.history.back(0)
            && bar.open_time <= last.open_time
        {
            return Err(FeatureError::OutOfOrder {
                previous: last.open_time,
                open_time: bar.open_time,
            });
        }
        self.indicators.check_room()?;

        if let Some(previous) = self.history.back(0) {
            self.returns.push((bar.close / previous.close).ln());
        }
        self.history.push(*bar, !self.indicators.all_open());
        self.bars_seen += 1;
        if let Err(e) = self.indicators.update(bar, &self.history) {
            self.reset();
            return Err(e);
        }
        self.refresh()
    }

    /// The latest value of each indicator, in [`super::INDICATOR_NAMES`]
    /// order; `None` while that indicator is in its TA-Lib warm-up (exactly
    /// where TA-Lib's batch output is NaN).
    pub fn indicators(&self) -> [Option<f64>; INDICATOR_COUNT] {
        *self.indicators.values()
    }

    /// The model feature vector at the latest bar, in
    /// [`super::FEATURE_NAMES`] order — `Some` only when every feature is
    /// defined, and then every value is finite.
    pub fn features(&self) -> Option<&[f32]> {
        self.ready.then_some(&self.vector[..])
    }

    /// [`features`](Self::features) as a fixed-size vector (what routes sharing the series copy).
    pub fn vector(&self) -> Option<&[f32; FEATURE_COUNT]> {
        self.ready.then_some(&self.vector)
    }

    /// The same features at full precision, for CSV output and for tests
    /// that compare runs tighter than f32 can express.
    pub fn features_f64(&self) -> Option<&[f64]> {
        self.ready.then_some(&self.values[..])
    }

    /// Whether [`features`](Self::features) is `Some`.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Bars accepted since the series began, across snapshots and restores.
    pub fn bars_seen(&self) -> u64 {
        self.bars_seen
    }

    /// Forgets everything: the series warms up again from its next bar (e.g.
    /// after a gap the caller decides breaks continuity).
    pub fn reset(&mut self) {
        self.history.clear();
        self.returns.clear();
        self.indicators = Indicators::default();
        self.values = [0.0; FEATURE_COUNT];
        self.vector = [0.0; FEATURE_COUNT];
        self.ready = false;
        self.bars_seen = 0;
    }

    /// Recomputes the feature vector from the current state (after a bar or
    /// a restore).
    pub(super) fn refresh(&mut self) -> Result<(), FeatureError> {
        self.ready = false;
        let Some(bar) = self.history.back(0) else {
            return Ok(());
        };
        let inputs = Inputs {
            bar,
            history: &self.history,
            returns: &self.returns,
            indicators: self.indicators.values(),
        };
        if !vector::compute(&inputs, &mut self.values) {
            return Ok(());
        }
        for (slot, &value) in self.vector.iter_mut().zip(&self.values) {
            // A value past f32's range (a price spike over many orders of magnitude) is clamped
            // to f32's largest finite value instead of becoming infinite in the cast; the
            // model's scaler bounds it further. A NaN stays NaN: the window holding it is not
            // scored (the candle's outcome says so) until it has left the window.
            *slot = value.clamp(-F32_MAX, F32_MAX) as f32;
        }
        self.ready = true;
        Ok(())
    }

    /// Rebuilds the return window from the retained bars (after a restore);
    /// the same divisions and logarithms as [`update`](Self::update), so
    /// bit-identical.
    pub(super) fn rebuild_returns(&mut self) {
        self.returns.clear();
        let mut previous: Option<f64> = None;
        if let Some(bars) = self
            .history
            .latest(self.history.len().min(LONGEST_WINDOW + 1))
        {
            for bar in bars {
                if let Some(p) = previous {
                    self.returns.push((bar.close / p).ln());
                }
                previous = Some(bar.close);
            }
        }
    }
}

/// The checks the engine needs to stay finite: finite values, positive
/// prices (logarithms, ratios to the close) and a non-negative volume.
pub(super) fn check_bar(bar: &Bar) -> Result<(), FeatureError> {
    let prices = [
        ("open", bar.open),
        ("high", bar.high),
        ("low", bar.low),
        ("close", bar.close),
    ];
    for (field, value) in prices {
        if !value.is_finite() {
            return Err(FeatureError::InvalidBar {
                field,
                value,
                reason: "not finite",
            });
        }
        if value <= 0.0 {
            return Err(FeatureError::InvalidBar {
                field,
                value,
                reason: "price must be positive",
            });
        }
    }
    if !bar.volume.is_finite() {
        return Err(FeatureError::InvalidBar {
            field: "volume",
            value: bar.volume,
            reason: "not finite",
        });
    }
    if bar.volume < 0.0 {
        return Err(FeatureError::InvalidBar {
            field: "volume",
            value: bar.volume,
            reason: "volume must not be negative",
        });
    }
    Ok(())
}

/// f32's largest finite value, as f64: the clamp before the cast to the model's precision.
const F32_MAX: f64 = f32::MAX as f64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::features::WARM_UP_BARS;

    /// Series states are moved between worker tasks and cloned for
    /// what-if evaluation; losing either property would break callers.
    #[test]
    fn series_state_is_send_sync_and_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<SeriesFeatures>();
    }

    #[test]
    fn features_appear_exactly_after_the_warm_up() {
        let mut series = SeriesFeatures::new(&FeatureSettings::default());
        for i in 0..WARM_UP_BARS as i64 {
            assert!(series.features().is_none(), "vector before bar {i}");
            let close = 100.0 + (i % 5) as f64;
            let bar = Bar {
                open_time: i * 60_000,
                open: close,
                high: close + 1.0,
                low: close - 1.0,
                close,
                volume: 3.0,
            };
            assert!(series.update(&bar).is_ok());
        }
        assert_eq!(series.features().map(<[f32]>::len), Some(FEATURE_COUNT));
    }
}
