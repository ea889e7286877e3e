//! The persistent form of one series' whole state, so a restarted worker resumes it instead of
//! replaying the candle history.
//!
//! Besides the features (their own [`FeatureSnapshot`]), it holds what the pipeline adds: the
//! last accepted open time (ordering and duplicates survive the restart), the model-input window
//! as it was (stored, not recomputed: the feature vectors of past bars cannot be rebuilt from a
//! restored indicator state), a streaming model's recurrent state and burn-in position, and the
//! candle-stream sequence the state reflects, so the caller knows where to resume reading.

use super::feature_window::FeatureWindow;
use super::features::{FeatureError, FeatureSettings, FeatureSnapshot, SeriesFeatures};
use super::recurrent::Recurrent;
use super::series::SeriesState;
use crate::contract::SeriesKey;
use serde::{Deserialize, Serialize};

/// Format version of [`SeriesSnapshot`]; bumped whenever a field changes meaning, so an old
/// snapshot is refused rather than misread.
pub const SERIES_SNAPSHOT_VERSION: u32 = 1;

/// One series' state at a point of the candle stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSnapshot {
    /// [`SERIES_SNAPSHOT_VERSION`] when written.
    pub format_version: u32,
    /// The series.
    pub series: SeriesKey,
    /// Candle-stream sequence the state reflects: every candle at or below it was applied.
    pub through_sequence: u64,
    /// Weights hash of the model the window and recurrent state were made for.
    pub model_sha256: String,
    /// Open time of the last accepted candle.
    pub last_open_time: i64,
    /// Indicator state; `None` for a route that reads another route's features (that route's
    /// snapshot of the series holds them). Written as MessagePack nil, so a snapshot written
    /// before routes shared features still reads as `Some`.
    pub features: Option<FeatureSnapshot>,
    /// The model-input window, whole vectors, oldest first.
    pub window: Vec<f32>,
    /// Streaming model: recurrent state (empty for a windowed model).
    pub recurrent: Vec<f32>,
    /// Streaming model: steps since the series started or was reset.
    pub steps_since_reset: u64,
    /// Streaming model: the next step starts from the zero state.
    pub restart_pending: bool,
}

/// Why a snapshot cannot be used (the series then rebuilds from history instead).
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes are not a snapshot this build can read.
    #[error("undecodable snapshot: {0}")]
    Decode(String),
    /// Written by another format version.
    #[error("snapshot format version {found} (this build reads {SERIES_SNAPSHOT_VERSION})")]
    Version {
        /// The version found.
        found: u32,
    },
    /// Made with another model, whose window or recurrent state would mislead this one.
    #[error("snapshot made with model {found:.12}, running {running:.12}")]
    OtherModel {
        /// Weights hash in the snapshot.
        found: String,
        /// Weights hash of the running model.
        running: String,
    },
    /// The window or recurrent state does not fit the running model's shapes.
    #[error("snapshot does not fit the model: {0}")]
    Shape(String),
    /// The feature part is invalid.
    #[error(transparent)]
    Features(#[from] FeatureError),
    /// Kept under a route this worker does not run (the routing settings changed).
    #[error("snapshot {0:?} belongs to no route of this worker")]
    UnknownRoute(String),
}

impl SeriesSnapshot {
    /// MessagePack, compact (field order, not names): a 1,000-bar series is ~60 kB.
    pub fn encode(&self) -> Result<Vec<u8>, SnapshotError> {
        rmp_serde::to_vec(self).map_err(|e| SnapshotError::Decode(e.to_string()))
    }

    /// Reads [`SeriesSnapshot::encode`]'s bytes, refusing other format versions.
    pub fn decode(bytes: &[u8]) -> Result<Self, SnapshotError> {
        let snapshot: Self =
            rmp_serde::from_slice(bytes).map_err(|e| SnapshotError::Decode(e.to_string()))?;
        if snapshot.format_version != SERIES_SNAPSHOT_VERSION {
            return Err(SnapshotError::Version {
                found: snapshot.format_version,
            });
        }
        Ok(snapshot)
    }
}

/// The shapes a snapshot must fit: those of the running model.
#[derive(Debug, Clone, Copy)]
pub struct StateShape {
    /// Vectors in the window.
    pub steps: usize,
    /// Values per vector.
    pub width: usize,
    /// Recurrent state values (0 for a windowed model).
    pub recurrent_len: usize,
}

impl SeriesState {
    /// Captures the state (allocates: meant for periodic checkpoints, not every candle).
    pub fn snapshot(
        &self,
        series: &SeriesKey,
        last_open_time: i64,
        through_sequence: u64,
        model_sha256: &str,
    ) -> SeriesSnapshot {
        let mut window = Vec::new();
        self.window.extend_into(&mut window);
        SeriesSnapshot {
            format_version: SERIES_SNAPSHOT_VERSION,
            series: series.clone(),
            through_sequence,
            model_sha256: model_sha256.to_owned(),
            last_open_time,
            features: self.features.as_ref().map(|f| f.snapshot()),
            window,
            recurrent: self.recurrent.state().to_vec(),
            steps_since_reset: self.recurrent.steps_since_reset(),
            restart_pending: self.recurrent.restart_pending(),
        }
    }

    /// Rebuilds a series from its snapshot, checking it fits the running model; `computes`
    /// whether this route keeps the series' features (the snapshot must then hold them).
    pub fn restore(
        snapshot: &SeriesSnapshot,
        settings: &FeatureSettings,
        shape: StateShape,
        model_sha256: &str,
        computes: bool,
    ) -> Result<Self, SnapshotError> {
        if snapshot.model_sha256 != model_sha256 {
            return Err(SnapshotError::OtherModel {
                found: snapshot.model_sha256.clone(),
                running: model_sha256.to_owned(),
            });
        }
        if snapshot.recurrent.len() != shape.recurrent_len {
            return Err(SnapshotError::Shape(format!(
                "{} recurrent values, the model has {}",
                snapshot.recurrent.len(),
                shape.recurrent_len
            )));
        }
        if snapshot.window.len() > shape.steps * shape.width
            || snapshot.window.iter().any(|v| !v.is_finite())
        {
            return Err(SnapshotError::Shape(format!(
                "a window of {} values does not fit {} x {} finite values",
                snapshot.window.len(),
                shape.steps,
                shape.width
            )));
        }
        let window = FeatureWindow::from_values(shape.steps, shape.width, &snapshot.window)
            .ok_or_else(|| {
                SnapshotError::Shape(format!(
                    "{} window values are not whole vectors of {}",
                    snapshot.window.len(),
                    shape.width
                ))
            })?;
        let mut state = SeriesState::new(
            settings,
            shape.steps,
            shape.width,
            shape.recurrent_len,
            false,
        );
        if computes {
            let features = snapshot.features.as_ref().ok_or_else(|| {
                SnapshotError::Shape(
                    "no feature state: another route computed this series' features".into(),
                )
            })?;
            state.features = Some(Box::new(SeriesFeatures::restore(settings, features)?));
        }
        state.window = window;
        state.recurrent = Recurrent::resumed(
            snapshot.recurrent.clone(),
            snapshot.steps_since_reset,
            snapshot.restart_pending,
        );
        Ok(state)
    }
}
