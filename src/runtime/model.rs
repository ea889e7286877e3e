//! Loading a verified model and building the pure pipeline around it.

use crate::config::Settings;
use crate::core::features::{FEATURE_NAMES, FEWEST_RETAINED_BARS, FeatureSettings};
use crate::core::pipeline::{Pipeline, PipelineError, PipelineSettings};
use crate::model::{ArtifactError, BackendKind, InferenceEngine, Predictor};
use std::path::Path;

/// The pipeline's settings, taken from the worker's settings: the one place settings become a
/// pipeline, for `serve` and for every command.
pub fn pipeline_settings(settings: &Settings) -> PipelineSettings {
    PipelineSettings {
        validation: settings.validation.clone(),
        sequence: settings.sequence.clone(),
        features: retained_bars(settings),
        decision: settings.decision,
        candle_subject_prefix: settings.nats.candle_subject_prefix.clone(),
    }
}

/// The feature settings with the bars a series retains: `features.snapshot_bars` only when
/// series snapshots are written (the retained bars are what a snapshot replays); otherwise the
/// fewest a warm series' features need ([`FEWEST_RETAINED_BARS`]), since nothing else reads
/// older bars. The features are the same either way (`tests/pipeline/features_properties.rs`); a
/// series' memory is not (48 bytes a bar: 48 KB at the default 1,000, 1 KB at 21).
fn retained_bars(settings: &Settings) -> FeatureSettings {
    let snapshots = settings.redis.enabled && settings.redis.snapshots;
    FeatureSettings {
        snapshot_bars: match snapshots {
            true => settings.features.snapshot_bars,
            false => FEWEST_RETAINED_BARS,
        },
    }
}

/// Loads and verifies (weights hash, features, shapes) the model in `dir` on
/// the configured backend. Blocking: call it off the async threads.
pub fn load_predictor(settings: &Settings, dir: &Path) -> Result<Predictor, ArtifactError> {
    load_predictor_on(dir, settings.model.backend, settings.model.engine)
}

/// [`load_predictor`] on a backend and engine chosen by the caller (a command-line flag).
pub fn load_predictor_on(
    dir: &Path,
    backend: BackendKind,
    engine: InferenceEngine,
) -> Result<Predictor, ArtifactError> {
    Predictor::load_with(dir, &FEATURE_NAMES, backend, engine)
}

/// A fresh pipeline (no series state) around `predictor`.
pub fn build_pipeline(
    settings: &Settings,
    predictor: Predictor,
) -> Result<Pipeline, PipelineError> {
    Pipeline::new(predictor, pipeline_settings(settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_retain_snapshot_bars_only_when_snapshots_are_written() {
        let mut settings = Settings::default();
        settings.features.snapshot_bars = 700;
        assert_eq!(
            pipeline_settings(&settings).features.snapshot_bars,
            FEWEST_RETAINED_BARS
        );
        settings.redis.enabled = true;
        settings.redis.snapshots = false;
        assert_eq!(
            pipeline_settings(&settings).features.snapshot_bars,
            FEWEST_RETAINED_BARS
        );
        settings.redis.snapshots = true;
        assert_eq!(pipeline_settings(&settings).features.snapshot_bars, 700);
    }
}
