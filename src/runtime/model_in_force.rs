//! Following the model in force: one protocol for every intake, partitioned or not.
//!
//! A reload verifies a model and records it (directory and weights SHA-256) in the models
//! bucket; each intake reads the record between batches (every `serve.model_poll_ms`) and,
//! when its weights differ from the model it runs, loads the recorded directory, checks that its
//! weights are the recorded ones, and swaps it in keeping every series' state. Models are told
//! apart by their hash, never by their path: a model updated in place under the same path is a
//! new model, and one whose files changed since they were recorded is refused.

use super::loaded_models::LoadedModels;
use super::{AppState, TaskError};
use crate::bus::model_record::ModelRecord;
use crate::config::Settings;
use crate::core::routing::Router;
use crate::model::{ArtifactError, Predictor};
use crate::telemetry::metrics as m;
use std::path::Path;
use std::time::{Duration, Instant};

/// The record a deployment starts from when none is stored: the settings' `model.dir`.
pub fn first_record(settings: &Settings) -> Result<ModelRecord, ArtifactError> {
    let metadata =
        crate::model::artifact::read_unverified_metadata(Path::new(&settings.model.dir))?;
    Ok(ModelRecord {
        dir: settings.model.dir.clone(),
        weights_sha256: metadata.weights_sha256,
    })
}

/// The model in force, read from the bucket (stored from the settings if none is yet).
pub async fn current(state: &AppState) -> Result<ModelRecord, TaskError> {
    let first = first_record(&state.settings)?;
    Ok(state.models.current_or(first).await?)
}

/// The model `record` names, from the process's loaded models (loaded and verified when it is
/// not there yet); refuses files whose weights are not the recorded ones (they changed since
/// the reload that recorded them). Blocking.
pub fn load(
    loaded: &LoadedModels,
    settings: &Settings,
    record: &ModelRecord,
) -> Result<Predictor, String> {
    let predictor = loaded
        .predictor(Path::new(&record.dir))
        .map_err(|e| e.to_string())?;
    let found = &predictor.metadata().weights_sha256;
    super::model_source::check_allowed(&settings.model, found).map_err(|r| r.reason)?;
    if *found != record.weights_sha256 {
        return Err(format!(
            "the model directory now holds weights {}…, not the recorded {}…",
            found.get(..12).unwrap_or(found),
            record
                .weights_sha256
                .get(..12)
                .unwrap_or(&record.weights_sha256)
        ));
    }
    Ok(predictor)
}

impl ModelFollower {
    /// With routes: applies the deployment's recorded roles (a promotion) between two batches.
    async fn follow_roles(&mut self, state: &AppState, pipeline: &mut Router) {
        let roles = match state.models.roles().await {
            Ok(Some(roles)) => roles,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(error = %e, "route roles unreadable; retried at the next tick");
                return;
            }
        };
        match pipeline.set_roles(&roles) {
            Ok(false) => {}
            Ok(true) => {
                self.refused = None;
                metrics::counter!(m::ROUTE_ROLE_CHANGES).increment(1);
                tracing::info!(roles = ?roles, "route roles changed (a promotion); series state kept");
            }
            Err(e) => {
                let seen = format!("{roles:?}");
                if self.refused.as_ref() != Some(&seen) {
                    metrics::counter!(m::RELOADS_REFUSED, "reason" => "roles_invalid").increment(1);
                    tracing::error!(roles = %seen, error = %e, "recorded route roles do not fit these routes; the current roles stay");
                    self.refused = Some(seen);
                }
            }
        }
    }
}

/// One intake's view of the model in force.
#[derive(Debug)]
pub struct ModelFollower {
    every: Duration,
    last: Instant,
    /// Weights of a record that could not be swapped in: not retried until the record changes.
    refused: Option<String>,
}

impl ModelFollower {
    /// Reads the record every `every_ms`.
    pub fn new(every_ms: u64) -> Self {
        Self {
            every: Duration::from_millis(every_ms),
            last: Instant::now(),
            refused: None,
        }
    }

    /// Whether the next tick does something.
    pub fn due(&self) -> bool {
        self.last.elapsed() >= self.every
    }

    /// Between batches, when due: swaps to the recorded model if its weights differ from the
    /// pipeline's. A record that cannot be read is retried at the next tick; a model that cannot
    /// be loaded or does not fit leaves the old one in force (logged and counted once).
    pub async fn tick(&mut self, state: &AppState, pipeline: &mut Router) {
        if !self.due() {
            return;
        }
        self.last = Instant::now();
        if !pipeline.specs().is_empty() {
            return self.follow_roles(state, pipeline).await;
        }
        let record = match state.models.current().await {
            Ok(Some(record)) => record,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(error = %e, "model record unreadable; retried at the next tick");
                return;
            }
        };
        let sha = &record.weights_sha256;
        if *sha == pipeline.model().sha256 || self.refused.as_ref() == Some(sha) {
            return;
        }
        let old = pipeline.model().clone();
        let swapped = tokio::task::block_in_place(|| {
            load(&state.loaded, &state.settings, &record)
                .and_then(|p| pipeline.replace_predictor(p).map_err(|e| e.to_string()))
        });
        match swapped {
            Ok(()) => {
                self.refused = None;
                super::serving::model_gauge(&old, 0.0);
                super::serving::model_gauge(pipeline.model(), 1.0);
                tracing::info!(dir = %record.dir, model = %pipeline.model().name, sha = %sha, "model swapped in");
            }
            Err(e) => {
                self.refused = Some(sha.clone());
                metrics::counter!(m::RELOADS_REFUSED, "reason" => "swap_failed").increment(1);
                tracing::error!(dir = %record.dir, error = %e, "the model in force cannot be swapped in here; the old one stays");
            }
        }
    }
}
