//! Runtime settings of the feature engine.
//!
//! Indicator periods and feature windows are *not* settings: they are part of
//! the feature names (`rsi_14`, `volatility_20`, …) that models are trained
//! against, so changing one means new names, not a new config value.

use super::FEWEST_RETAINED_BARS;
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
    /// How many recent bars each series keeps while snapshots are written (and a snapshot
    /// holds). Snapshots carry the indicator streams' own state, so the default, the 21 bars the
    /// longest rolling window reads, restores every feature bit for bit; more only costs 48
    /// bytes a bar a series. `serve` uses it only when it writes series snapshots
    /// (`redis.snapshots`); otherwise a warm series keeps those 21 bars. At least
    /// [`FEWEST_RETAINED_BARS`], at most [`MAX_SNAPSHOT_BARS`].
    pub snapshot_bars: usize,
}

impl Default for FeatureSettings {
    fn default() -> Self {
        Self {
            snapshot_bars: FEWEST_RETAINED_BARS,
        }
    }
}

impl FeatureSettings {
    /// Checks every setting, naming the bad key in the error.
    pub fn validate(&self) -> Result<(), FeatureError> {
        if !(FEWEST_RETAINED_BARS..=MAX_SNAPSHOT_BARS).contains(&self.snapshot_bars) {
            return Err(FeatureError::InvalidSettings {
                field: "snapshot_bars",
                reason: format!(
                    "{} is outside {FEWEST_RETAINED_BARS}..={MAX_SNAPSHOT_BARS} (the features read \
                     back {FEWEST_RETAINED_BARS} bars; snapshots carry the streams' state, so more \
                     only costs memory)",
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
            snapshot_bars: FEWEST_RETAINED_BARS - 1,
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
