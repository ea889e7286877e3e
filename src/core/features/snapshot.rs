//! Persisting a series so a restarted worker resumes without a warm-up.
//!
//! ta-lib's stream handles are `Clone` but their state is private and not
//! serialisable, so a snapshot stores what rebuilds them: the retained bars
//! plus the one cumulative term they cannot give back (the OBV level at the
//! oldest retained bar) and the bar count. Restoring opens every stream on
//! those bars with `*_open`.
//!
//! What is exact after a restore, and what is not (measured by
//! `tests/pipeline/features_properties.rs` on all three bundled files):
//! - Everything, bit for bit, while the series has seen no more bars than
//!   `snapshot_bars` (the snapshot then holds its whole history).
//! - Beyond that, still bit for bit: OBV (re-opened from its stored level),
//!   every rolling feature computed here (returns, volatilities, volume
//!   ratio, OBV slope, VWAP distance), candle shape and calendar features.
//! - Beyond that, equal to rounding: the indicators ta-lib keeps as running
//!   sums (SMA, Bollinger Bands, the stochastic's smoothing, CCI's mean)
//!   accumulate their rounding from wherever they were opened. Where a
//!   formula subtracts nearly equal numbers the difference is amplified:
//!   CCI (typical price minus its mean, over a small mean deviation) and
//!   %B on narrow bands show scaled errors up to ~1e-10, other values ~1e-15.
//! - Beyond that, converged rather than identical: the exponential ones (EMA,
//!   MACD, RSI, ATR) restart from a seed taken at the oldest retained bar;
//!   the seed's error decays geometrically — by (49/51)^1000 ≈ 4e-18 for
//!   EMA(50), the slowest, with the default 1000 bars — so they agree to
//!   rounding too. With fewer retained bars the agreement is looser;
//!   `snapshot_bars` is the knob.

use super::WARM_UP_BARS;
use super::bars::BarHistory;
use super::error::FeatureError;
use super::indicators::Indicators;
use super::series_features::{SeriesFeatures, check_bar};
use super::settings::FeatureSettings;
use crate::core::bar::Bar;
use serde::{Deserialize, Serialize};

/// Format version written into every snapshot; bumped whenever the meaning of
/// a field changes, so an old snapshot is refused rather than misread.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;

/// The persistent form of a [`SeriesFeatures`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSnapshot {
    /// [`SNAPSHOT_FORMAT_VERSION`] at the time of writing.
    pub format_version: u32,
    /// Bars the series had accepted.
    pub bars_seen: u64,
    /// OBV level at `bars[0]` (OBV is a running total from the series' first
    /// bar, which may no longer be retained).
    pub obv_at_oldest: f64,
    /// The most recent bars, oldest first (at most `snapshot_bars`).
    pub bars: Vec<Bar>,
}

impl SeriesFeatures {
    /// Captures the state for persistence. Allocates (a copy of the retained
    /// bars); meant for periodic checkpoints, not for every bar.
    pub fn snapshot(&self) -> FeatureSnapshot {
        FeatureSnapshot {
            format_version: SNAPSHOT_FORMAT_VERSION,
            bars_seen: self.bars_seen,
            obv_at_oldest: self.history.obv_at_oldest(),
            bars: self.history.bars().copied().collect(),
        }
    }

    /// Rebuilds a series from a snapshot by replaying its bars through
    /// ta-lib's `*_open` functions (see the module documentation for which
    /// values come back exact). A snapshot holding more bars than
    /// `settings.snapshot_bars` keeps only the newest ones.
    ///
    /// # Errors
    ///
    /// [`FeatureError::InvalidSettings`] for bad settings;
    /// [`FeatureError::InvalidSnapshot`] for another format version, invalid
    /// or unordered bars, a non-finite OBV level, or a bar count that
    /// contradicts the bars held.
    pub fn restore(
        settings: &FeatureSettings,
        snapshot: &FeatureSnapshot,
    ) -> Result<Self, FeatureError> {
        settings.validate()?;
        check_snapshot(snapshot)?;
        let mut series = Self::new(settings);
        series.history = BarHistory::from_parts(
            settings.snapshot_bars,
            snapshot.obv_at_oldest,
            &snapshot.bars,
        );
        series.rebuild_returns();
        if series.history.len() > 0 {
            series.indicators = Indicators::open_on(&series.history)?;
        }
        series.bars_seen = snapshot.bars_seen;
        series.refresh()?;
        Ok(series)
    }
}

/// Refuses snapshots this code did not (or could not) have written.
fn check_snapshot(snapshot: &FeatureSnapshot) -> Result<(), FeatureError> {
    let invalid = |reason: String| Err(FeatureError::InvalidSnapshot { reason });
    if snapshot.format_version != SNAPSHOT_FORMAT_VERSION {
        return invalid(format!(
            "format version {} (this build reads {SNAPSHOT_FORMAT_VERSION})",
            snapshot.format_version
        ));
    }
    let held = snapshot.bars.len() as u64;
    if held > snapshot.bars_seen {
        return invalid(format!(
            "{held} bars held but only {} seen",
            snapshot.bars_seen
        ));
    }
    if held < snapshot.bars_seen && held < WARM_UP_BARS as u64 {
        return invalid(format!(
            "{held} bars held of {} seen: fewer than the {WARM_UP_BARS} a warm series needs",
            snapshot.bars_seen
        ));
    }
    if !snapshot.obv_at_oldest.is_finite() {
        return invalid(format!("obv_at_oldest is {}", snapshot.obv_at_oldest));
    }
    for (i, bar) in snapshot.bars.iter().enumerate() {
        check_bar(bar).or_else(|e| invalid(format!("bar {i}: {e}")))?;
    }
    if let Some(w) = snapshot
        .bars
        .windows(2)
        .position(|w| w[1].open_time <= w[0].open_time)
    {
        return invalid(format!("bar {} is not after bar {w}", w + 1));
    }
    Ok(())
}
