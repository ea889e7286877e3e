//! Persisting a series so a restarted worker resumes without a warm-up.
//!
//! A snapshot holds the indicator streams' own state (every stream is written here, its state
//! plain data: see `streams`), the retained bars the rolling features and the windowed streams
//! read back (at least the 21 of the longest window) and the bar count. A restore puts all of it back as it was, so the restored series continues bit for
//! bit like the uninterrupted one, whatever its age (`tests/pipeline/features_properties.rs`, on all
//! three bundled files).
//!
//! Format 1 held no stream state and up to `features.snapshot_bars` (1,000 by default) bars to
//! re-open the streams on, and so kept that many bars per series in memory while snapshots were
//! written (48 KB a series); its restores were only equal to rounding. A format-1 snapshot is
//! refused, and the series rebuilt from the candle history, like any snapshot of another format.

use super::FEWEST_RETAINED_BARS;
use super::bars::BarHistory;
use super::error::FeatureError;
use super::indicators::Indicators;
use super::series_features::{SeriesFeatures, check_bar};
use super::settings::FeatureSettings;
use crate::core::bar::Bar;
use serde::{Deserialize, Serialize};

/// Format version written into every snapshot; bumped whenever the meaning of
/// a field changes, so an old snapshot is refused rather than misread.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 2;

/// The indicator streams' state, opaque outside the feature engine: what a snapshot carries so a
/// restore continues exactly where the series was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IndicatorState(Indicators);

/// The persistent form of a [`SeriesFeatures`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSnapshot {
    /// [`SNAPSHOT_FORMAT_VERSION`] at the time of writing.
    pub format_version: u32,
    /// Bars the series had accepted.
    pub bars_seen: u64,
    /// The most recent bars, oldest first (at most `snapshot_bars`; every bar while the series
    /// is still warming up).
    pub bars: Vec<Bar>,
    /// The indicator streams at the latest bar (absent only in snapshots of another format,
    /// which are refused).
    #[serde(default)]
    pub indicators: Option<IndicatorState>,
}

impl SeriesFeatures {
    /// Captures the state for persistence. Allocates (a copy of the retained
    /// bars and the streams); meant for periodic checkpoints, not for every bar.
    pub fn snapshot(&self) -> FeatureSnapshot {
        FeatureSnapshot {
            format_version: SNAPSHOT_FORMAT_VERSION,
            bars_seen: self.bars_seen,
            bars: self.history.bars().copied().collect(),
            indicators: Some(IndicatorState(self.indicators.clone())),
        }
    }

    /// Puts a series back as a snapshot captured it: its streams' state, its bars (a snapshot
    /// holding more bars than `settings.snapshot_bars` keeps only the newest ones) and its count.
    ///
    /// # Errors
    ///
    /// [`FeatureError::InvalidSettings`] for bad settings;
    /// [`FeatureError::InvalidSnapshot`] for another format version, no or non-finite stream
    /// state, invalid or unordered bars, or bars that contradict the count or the streams'
    /// warm-up.
    pub fn restore(
        settings: &FeatureSettings,
        snapshot: &FeatureSnapshot,
    ) -> Result<Self, FeatureError> {
        settings.validate()?;
        let indicators = check_snapshot(snapshot)?;
        let mut series = Self::new(settings);
        series.history = BarHistory::from_parts(
            settings.snapshot_bars,
            &snapshot.bars,
            !indicators.all_open(),
        );
        series.rebuild_returns();
        series.indicators = indicators.clone();
        series.bars_seen = snapshot.bars_seen;
        series.refresh()?;
        Ok(series)
    }
}

/// Refuses snapshots this code did not (or could not) have written; the stream state to resume.
fn check_snapshot(snapshot: &FeatureSnapshot) -> Result<&Indicators, FeatureError> {
    let invalid = |reason: String| Err(FeatureError::InvalidSnapshot { reason });
    if snapshot.format_version != SNAPSHOT_FORMAT_VERSION {
        return invalid(format!(
            "format version {} (this build reads {SNAPSHOT_FORMAT_VERSION})",
            snapshot.format_version
        ));
    }
    let Some(IndicatorState(indicators)) = &snapshot.indicators else {
        return invalid("no indicator state".into());
    };
    if !indicators.is_sane() {
        return invalid("indicator state holds a value no finite bars give".into());
    }
    let held = snapshot.bars.len() as u64;
    if held > snapshot.bars_seen {
        return invalid(format!(
            "{held} bars held but only {} seen",
            snapshot.bars_seen
        ));
    }
    if held < snapshot.bars_seen && !indicators.all_open() {
        return invalid(format!(
            "{held} bars held of {} seen while the streams still warm up (they need every bar)",
            snapshot.bars_seen
        ));
    }
    if held < snapshot.bars_seen && held < FEWEST_RETAINED_BARS as u64 {
        return invalid(format!(
            "{held} bars held of {} seen: fewer than the {FEWEST_RETAINED_BARS} the features read",
            snapshot.bars_seen
        ));
    }
    for (i, bar) in snapshot.bars.iter().enumerate() {
        if let Err(e) = check_bar(bar) {
            return invalid(format!("bar {i}: {e}"));
        }
    }
    if let Some(w) = snapshot
        .bars
        .windows(2)
        .position(|w| w[1].open_time <= w[0].open_time)
    {
        return invalid(format!("bar {} is not after bar {w}", w + 1));
    }
    Ok(indicators)
}
