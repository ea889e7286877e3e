//! Loading a verified model and building the pure pipeline around it.

use crate::config::Settings;
use crate::core::features::FEATURE_NAMES;
use crate::core::pipeline::{Pipeline, PipelineError, PipelineSettings};
use crate::model::{ArtifactError, BackendKind, InferenceEngine, Predictor};
use std::path::Path;

/// The pipeline's settings, taken from the worker's settings: the one place settings become a
/// pipeline, for `serve` and for every command.
pub fn pipeline_settings(settings: &Settings) -> PipelineSettings {
    PipelineSettings {
        validation: settings.validation.clone(),
        sequence: settings.sequence.clone(),
        features: settings.features.clone(),
        decision: settings.decision,
        candle_subject_prefix: settings.nats.candle_subject_prefix.clone(),
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
