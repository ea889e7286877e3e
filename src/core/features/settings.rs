//! Runtime settings of the feature engine.
//!
//! Indicator periods and feature windows are *not* settings: they are part of
//! the feature names (`rsi_14`, `volatility_20`, …) that models are trained
//! against, so changing one means new names, not a new config value.

use super::WARM_UP_BARS;
use super::error::FeatureError;
use serde::{Deserialize, Serialize};

/// Largest accepted `snapshot_bars`. A retained bar costs 48 bytes per
/// series; 100 000 bars is ~4.8 MB per series, already far beyond what any
/// indicator here remembers, so a larger value is a typo, not a wish.
pub const MAX_SNAPSHOT_BARS: usize = 100_000;

/// Settings of [`super::SeriesFeatures`], the `features` section of the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureSettings {
    /// How many recent bars each series keeps so that a snapshot can rebuild
    /// the ta-lib streams by replaying them (the streams themselves cannot be
    /// serialised). The slowest memory is EMA(50): a start-up error decays as
    /// (49/51)^n, ~4e-18 after 1000 bars, so restored exponential indicators
    /// match an uninterrupted run to rounding. Costs 48 bytes per bar per
    /// series (48 KB at the default) once a series has seen that many. `serve` retains them
    /// only when it writes series snapshots (`redis.snapshots`); otherwise a warm series keeps
    /// its longest rolling window (21 bars, 1 KB), which gives the same features. At least [`WARM_UP_BARS`], at
    /// most [`MAX_SNAPSHOT_BARS`].
    pub snapshot_bars: usize,
}

impl Default for FeatureSettings {
    fn default() -> Self {
        Self {
            snapshot_bars: 1000,
        }
    }
}

impl FeatureSettings {
    /// Checks every setting, naming the bad key in the error.
    pub fn validate(&self) -> Result<(), FeatureError> {
        if !(WARM_UP_BARS..=MAX_SNAPSHOT_BARS).contains(&self.snapshot_bars) {
            return Err(FeatureError::InvalidSettings {
                field: "snapshot_bars",
                reason: format!(
                    "{} is outside {WARM_UP_BARS}..={MAX_SNAPSHOT_BARS} (a restore needs at least \
                     the warm-up bars; more than the maximum only wastes memory)",
                    self.snapshot_bars
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert!(FeatureSettings::default().validate().is_ok());
    }

    #[test]
    fn too_few_snapshot_bars_names_the_field() {
        let s = FeatureSettings {
            snapshot_bars: WARM_UP_BARS - 1,
        };
        let err = s
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("features.snapshot_bars"), "{err}");
    }

    #[test]
    fn too_many_snapshot_bars_is_refused() {
        let s = FeatureSettings {
            snapshot_bars: MAX_SNAPSHOT_BARS + 1,
        };
        assert!(s.validate().is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let parsed: Result<FeatureSettings, _> = toml::from_str("snapshot_bar = 10");
        assert!(parsed.is_err());
        let parsed: Result<FeatureSettings, _> = toml::from_str("");
        assert_eq!(parsed.ok(), Some(FeatureSettings::default()));
    }
}
