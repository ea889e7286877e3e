//! The streaming feature engine: per-series state that turns each closed bar
//! into the standard indicators (TA-Lib semantics: transcriptions of ta-lib's streams whose
//! state is plain data, the windowed ones reading their bars back from the series: `streams`)
//! and the model's scale-free feature vector, in O(1) per bar.
//!
//! Used unchanged by serving, replays, training and benches, so live and
//! training features cannot drift. Pure: no I/O, no clock, no globals — the
//! same bars always give bit-identical output.
//!
//! Layout: [`SeriesFeatures`] (`series_features.rs`) owns the recent bars
//! (`bars.rs`), the indicator streams (`indicators.rs`: one table entry per indicator) and a window of
//! returns (`rolling.rs`); each feature group (`returns`, `relative`,
//! `oscillators`, `volume`, `candle`, `calendar`) computes its values from
//! those, and `vector.rs` concatenates them under [`FEATURE_NAMES`].
//! `snapshot.rs` persists and restores a series.

mod bars;
mod calendar;
mod candle;
mod error;
mod indicator_table;
mod indicators;
mod oscillators;
mod ratio;
mod relative;
mod returns;
mod rolling;
mod series_features;
mod settings;
mod snapshot;
mod streams;
mod vector;
mod volume;

pub use error::FeatureError;
pub use indicators::{INDICATOR_COUNT, INDICATOR_NAMES};
pub use series_features::SeriesFeatures;
pub use settings::{FeatureSettings, MAX_SNAPSHOT_BARS};
pub use snapshot::{FeatureSnapshot, SNAPSHOT_FORMAT_VERSION};
pub use vector::{FEATURE_COUNT, FEATURE_NAMES};

/// Bars a series needs before its feature vector is complete: EMA(50)'s
/// TA-Lib lookback (49) plus the bar itself — every other indicator and
/// window (MACD 34, volatility 21, …) is ready by then. A unit test checks it
/// against ta-lib's own lookbacks.
pub const WARM_UP_BARS: usize = indicators::EMA_LONG as usize;

/// The fewest bars a warm series must keep: its longest rolling window (20 one-bar returns,
/// so 21 closes). What a series retains when no snapshot will replay its bars; while it warms
/// up it keeps every bar anyway, the streams opening on them.
pub const FEWEST_RETAINED_BARS: usize = rolling::LONGEST_WINDOW + 1;
