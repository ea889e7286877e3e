//! Hot model reload: verify a new model off the async threads, hand it to the
//! intake, which swaps it in between batches, and answer with the outcome.

use super::AppState;
use super::model_source::{self, Refusal};
use crate::contract::ModelRef;
use crate::core::pipeline::PipelineError;
use crate::error::{ErrorCode, ErrorReply};
use crate::model::Predictor;
use crate::telemetry::metrics as m;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::oneshot;

/// A verified model on its way to the intake.
#[derive(Debug)]
pub struct Reload {
    /// Where it was loaded from (becomes the model directory in force).
    pub dir: PathBuf,
    /// The verified model.
    pub predictor: Predictor,
    /// Told whether the swap happened.
    pub done: oneshot::Sender<Result<ModelRef, PipelineError>>,
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
    let model = &state.settings.model;
    let root = model_source::root(model).map_err(refusal)?;
    let path = model_source::resolve(&root, &dir, model.max_file_bytes).map_err(refusal)?;
    let settings = state.settings.clone();
    let load_path = path.clone();
    let loading =
        tokio::task::spawn_blocking(move || super::model::load_predictor(&settings, &load_path));
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
    if state.settings.nats.partitions > 0 {
        return publish_to_partitions(&state, path, predictor)
            .await
            .map_err(|(code, message)| refuse(code, message));
    }
    let (done, answer) = oneshot::channel();
    let wait = Duration::from_millis(state.settings.nats.request_timeout_ms);
    let reload = Reload {
        dir: path,
        predictor,
        done,
    };
    // Bounded: a wedged intake must not hold the control task (and its requester) for good.
    match tokio::time::timeout(wait, state.reload_tx.send(reload)).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => {
            return Err(refuse(
                ErrorCode::Unavailable,
                "the candle intake is not running".into(),
            ));
        }
        Err(_) => {
            return Err(refuse(
                ErrorCode::Unavailable,
                "the candle intake did not take the model in time".into(),
            ));
        }
    }
    match tokio::time::timeout(wait, answer).await {
        Ok(Ok(Ok(model))) => Ok(serde_json::json!({ "reloaded": true, "model": model })),
        Ok(Ok(Err(e))) => Err(refuse(ErrorCode::ModelError, format!("model refused: {e}"))),
        Ok(Err(_)) => Err(refuse(
            ErrorCode::Unavailable,
            "the candle intake restarted before the swap".into(),
        )),
        Err(_) => Err(refuse(
            ErrorCode::Unavailable,
            "the candle intake did not take the model in time (it will once it runs)".into(),
        )),
    }
}

/// With a partitioned stream every partition task holds its own pipeline: the new model is
/// checked against the one in force (same features and shapes), then made the model directory
/// in force, which each partition swaps in between two of its batches.
async fn publish_to_partitions(
    state: &AppState,
    path: PathBuf,
    predictor: Predictor,
) -> Result<serde_json::Value, (ErrorCode, String)> {
    let settings = state.settings.clone();
    let current = state.model_dir.borrow().clone();
    let checked = tokio::task::spawn_blocking(move || {
        let old = super::model::load_predictor(&settings, &current).map_err(|e| {
            (
                ErrorCode::ModelError,
                format!(
                    "the model in force cannot be reloaded to compare: {}",
                    e.reason()
                ),
            )
        })?;
        let mut pipeline = super::model::build_pipeline(&settings, old)
            .map_err(|e| (ErrorCode::Internal, e.to_string()))?;
        pipeline
            .replace_predictor(predictor)
            .map_err(|e| (ErrorCode::ModelError, format!("model refused: {e}")))?;
        Ok::<ModelRef, (ErrorCode, String)>(pipeline.model().clone())
    })
    .await
    .map_err(|e| (ErrorCode::Internal, format!("model check stopped: {e}")))??;
    state.model_dir.send_replace(path);
    Ok(
        serde_json::json!({ "reloaded": true, "model": checked, "applies": "per partition, between batches" }),
    )
}
