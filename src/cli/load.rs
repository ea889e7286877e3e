//! Loading the model and building the pipeline from settings (shared by the subcommands).

use crate::config::Settings;
use crate::core::features::FEATURE_NAMES;
use crate::core::pipeline::{Pipeline, PipelineSettings};
use crate::model::{BackendKind, InferenceEngine, Predictor};
use std::path::Path;

/// The backend named on the command line or in the settings.
pub fn backend(settings: &Settings, flag: Option<&str>) -> Result<BackendKind, String> {
    let name = flag.unwrap_or(&settings.model.backend);
    name.parse::<BackendKind>().map_err(|e| e.to_string())
}

/// The inference engine named on the command line or in the settings.
pub fn engine(settings: &Settings, flag: Option<&str>) -> Result<InferenceEngine, String> {
    let name = flag.unwrap_or(&settings.model.engine);
    name.parse::<InferenceEngine>().map_err(|e| e.to_string())
}

/// Loads and verifies the model, then builds the pure pipeline around it.
pub fn pipeline(
    settings: &Settings,
    model_dir: Option<&Path>,
    backend_flag: Option<&str>,
    engine_flag: Option<&str>,
) -> Result<Pipeline, String> {
    let backend = backend(settings, backend_flag)?;
    let engine = engine(settings, engine_flag)?;
    let dir = model_dir.unwrap_or_else(|| Path::new(&settings.model.dir));
    let predictor =
        Predictor::load_with(dir, &FEATURE_NAMES, backend, engine).map_err(|e| e.to_string())?;
    let pipeline_settings = PipelineSettings {
        validation: settings.validation.clone(),
        sequence: settings.sequence.clone(),
        features: settings.features.clone(),
        decision: settings.decision,
        candle_subject_prefix: settings.nats.candle_subject_prefix.clone(),
    };
    Pipeline::new(predictor, pipeline_settings).map_err(|e| e.to_string())
}
