//! Hot model reload: verify a new model off the async threads, record it as the model in force
//! (the models bucket, see [`super::model_in_force`]), and answer. Every intake of the deployment
//! — the unpartitioned one or each partition task, on every worker — swaps it in between two of
//! its batches; a restart keeps it.

use super::AppState;
use super::model_source::{self, Refusal};
use crate::bus::model_record::ModelRecord;
use crate::contract::ModelRef;
use crate::error::{ErrorCode, ErrorReply};
use crate::model::ModelMetadata;
use crate::telemetry::metrics as m;
use std::time::Duration;

/// Handles one reload request and logs its outcome once: the JSON answer, or an `ErrorReply`
/// when the model is refused (the old one stays in force).
pub async fn answer(state: AppState, dir: String) -> Result<serde_json::Value, ErrorReply> {
    let result = handle(state, dir).await;
    match &result {
        Ok(_) => tracing::info!("model reload accepted"),
        Err(reply) => {
            tracing::warn!(code = %reply.error.code, reason = %reply.error.message, "model reload refused; the old model stays")
        }
    }
    result
}

/// Handles one reload request: the JSON answer, or an `ErrorReply` when the
/// model is refused (the old one stays in force).
///
/// The request names a directory under `model.root` (see [`super::model_source`]); it is
/// loaded and verified off the async threads within `model.load_timeout_ms`, and must be in
/// `model.allowed_sha256` when that list is set. A refusal says why without paths or OS
/// errors; the log line has the full story.
pub async fn handle(state: AppState, dir: String) -> Result<serde_json::Value, ErrorReply> {
    let now = super::clock::now_ms;
    let refuse = |code: ErrorCode, message: String| ErrorReply::new(code, message, None, now());
    let refusal = |r: Refusal| {
        metrics::counter!(m::RELOADS_REFUSED, "reason" => r.label).increment(1);
        refuse(r.code, format!("model refused: {}", r.reason))
    };
    if !state.settings.models.is_empty() {
        metrics::counter!(m::RELOADS_REFUSED, "reason" => "routed").increment(1);
        return Err(refuse(
            ErrorCode::Forbidden,
            "model refused: this worker runs [[models]] routes; their models change with the \
             routing settings (a reload swaps the model of a single-model worker)"
                .into(),
        ));
    }
    let model = &state.settings.model;
    let root = model_source::root(model).map_err(refusal)?;
    let path = model_source::resolve(&root, &dir, model.max_file_bytes).map_err(refusal)?;
    let loaded = state.loaded.clone();
    let load_path = path.clone();
    // Through the process's loaded models: the intakes then swap in this very load.
    let loading = tokio::task::spawn_blocking(move || loaded.predictor(&load_path));
    let wait = Duration::from_millis(model.load_timeout_ms);
    let loaded = match tokio::time::timeout(wait, loading).await {
        Ok(joined) => {
            joined.map_err(|e| refuse(ErrorCode::Internal, format!("model loader stopped: {e}")))?
        }
        Err(_) => {
            metrics::counter!(m::RELOADS_REFUSED, "reason" => "timeout").increment(1);
            return Err(refuse(
                ErrorCode::ModelError,
                format!("model refused: loading took longer than model.load_timeout_ms ({wait:?})"),
            ));
        }
    };
    let predictor = loaded.map_err(|e| {
        tracing::warn!(dir = %path.display(), error = %e, "model reload: the model does not verify");
        metrics::counter!(m::RELOADS_REFUSED, "reason" => "invalid").increment(1);
        refuse(ErrorCode::ModelError, format!("model refused: {}", e.reason()))
    })?;
    model_source::check_allowed(model, &predictor.metadata().weights_sha256).map_err(refusal)?;
    let new = predictor.metadata();
    let model = ModelRef {
        name: new.name.as_str().into(),
        version: new.version.as_str().into(),
        sha256: new.weights_sha256.as_str().into(),
    };
    let current = super::model_in_force::current(&state).await.map_err(|e| {
        refuse(
            ErrorCode::Unavailable,
            format!("the model in force cannot be read: {e}"),
        )
    })?;
    // Decided by the weights, never by the path: the same files under another path are the same
    // model, and new files under the same path are a new one.
    if new.weights_sha256 == current.weights_sha256 {
        return Ok(serde_json::json!({ "reloaded": false, "unchanged": true, "model": model }));
    }
    let old = crate::model::artifact::read_unverified_metadata(std::path::Path::new(&current.dir))
        .map_err(|e| {
            refuse(
                ErrorCode::ModelError,
                format!(
                    "the model in force cannot be read to compare: {}",
                    e.reason()
                ),
            )
        })?;
    if let Some(reason) = incompatibility(&old, new) {
        metrics::counter!(m::RELOADS_REFUSED, "reason" => "incompatible").increment(1);
        return Err(refuse(
            ErrorCode::ModelError,
            format!(
                "model refused: {} v{} cannot take over the series state of {} v{}: {reason} (restart with it instead)",
                new.name, new.version, old.name, old.version
            ),
        ));
    }
    let record = ModelRecord {
        dir: path.display().to_string(),
        weights_sha256: new.weights_sha256.clone(),
    };
    state.models.put(&record).await.map_err(|e| {
        refuse(
            ErrorCode::Unavailable,
            format!("the model in force cannot be recorded: {e}"),
        )
    })?;
    tracing::info!(dir = %record.dir, sha = %record.weights_sha256, "model recorded in force; every intake swaps it in between batches");
    Ok(serde_json::json!({
        "reloaded": true,
        "model": model,
        "applies": "between batches, on every worker of this deployment"
    }))
}

/// Why `new` cannot take over the series state built for `old` (the features, the window or the
/// recurrent state differ), or `None` when it can.
pub fn incompatibility(old: &ModelMetadata, new: &ModelMetadata) -> Option<&'static str> {
    let (a, b) = (&old.architecture, &new.architecture);
    if new.feature_names != old.feature_names {
        Some("different features")
    } else if new.mode != old.mode {
        Some("different inference mode")
    } else if new.mode.is_windowed() && a.sequence_length != b.sequence_length {
        Some("different window length")
    } else if !new.mode.is_windowed()
        && (a.kind != b.kind || a.layers != b.layers || a.hidden != b.hidden)
    {
        Some("different recurrent state size")
    } else {
        None
    }
}
