//! Loading the model and building the pipeline for a command: the command-line flags over the
//! settings, then the same construction `serve` uses (`runtime::model`).

use crate::config::Settings;
use crate::core::pipeline::Pipeline;
use crate::model::{BackendKind, InferenceEngine};
use crate::runtime::model::{build_pipeline, load_predictor_on};
use std::path::Path;

/// The backend named on the command line, else the settings'.
fn backend(settings: &Settings, flag: Option<&str>) -> Result<BackendKind, String> {
    match flag {
        Some(name) => name.parse::<BackendKind>().map_err(|e| e.to_string()),
        None => Ok(settings.model.backend),
    }
}

/// The inference engine named on the command line, else the settings'.
fn engine(settings: &Settings, flag: Option<&str>) -> Result<InferenceEngine, String> {
    match flag {
        Some(name) => name.parse::<InferenceEngine>().map_err(|e| e.to_string()),
        None => Ok(settings.model.engine),
    }
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
    let predictor = load_predictor_on(dir, backend, engine).map_err(|e| e.to_string())?;
    build_pipeline(settings, predictor).map_err(|e| e.to_string())
}
