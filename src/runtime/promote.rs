//! `control.model.promote`: a shadow route becomes live for its subjects and the live routes it
//! overlaps become its shadows. The request's body is the shadow's route name. The new roles
//! are checked (a valid table, one live model per candle) and recorded in the models bucket;
//! every intake of the deployment applies them between two batches, keeping both models'
//! series state, and a restart keeps them.

use super::AppState;
use crate::core::routing::{PromoteError, promote, settings_roles};
use crate::error::{ErrorCode, ErrorReply};
use crate::telemetry::metrics as m;

/// Handles one promotion request and logs its outcome once: the JSON answer (the new roles),
/// or an `ErrorReply` saying why nothing changed.
pub async fn answer(state: AppState, route: String) -> Result<serde_json::Value, ErrorReply> {
    let result = handle(&state, &route).await;
    let shown: String = route.chars().take(64).collect();
    match &result {
        Ok(answer) => tracing::info!(route = %shown, %answer, "route promoted"),
        Err(reply) => {
            metrics::counter!(m::RELOADS_REFUSED, "reason" => "promote_refused").increment(1);
            tracing::warn!(route = %shown, code = %reply.error.code, reason = %reply.error.message, "promotion refused; roles unchanged");
        }
    }
    result
}

async fn handle(state: &AppState, route: &str) -> Result<serde_json::Value, ErrorReply> {
    let refuse = |code: ErrorCode, message: String| {
        ErrorReply::new(code, message, None, super::clock::now_ms())
    };
    let settings = &state.settings;
    // A route name is a subject token of at most 64 characters: anything else is not echoed.
    if route.is_empty() || route.len() > 64 {
        return Err(refuse(
            ErrorCode::InvalidField,
            format!(
                "promotion refused: the body must name a shadow route (1 to 64 characters), got {} bytes",
                route.len()
            ),
        ));
    }
    if settings.models.is_empty() {
        return Err(refuse(
            ErrorCode::Forbidden,
            "promotion refused: this worker runs one model (model.dir); promotion needs [[models]] routes"
                .into(),
        ));
    }
    let specs: Vec<_> = settings.models.iter().map(|m| m.spec()).collect();
    let unavailable = |e: crate::bus::BusError| {
        refuse(
            ErrorCode::Unavailable,
            format!("the route roles cannot be read or written: {e}"),
        )
    };
    let current = state
        .models
        .roles_or(&settings_roles(&specs))
        .await
        .map_err(unavailable)?;
    let (roles, demoted) = promote(
        &specs,
        &current,
        route,
        &settings.nats.candle_subject_prefix,
    )
    .map_err(|e| match e {
        PromoteError::UnknownRoute(_) | PromoteError::AlreadyLive(_) => {
            refuse(ErrorCode::InvalidField, format!("promotion refused: {e}"))
        }
        PromoteError::Invalid(_) => refuse(ErrorCode::Internal, format!("promotion refused: {e}")),
    })?;
    state.models.put_roles(&roles).await.map_err(unavailable)?;
    Ok(serde_json::json!({
        "promoted": route,
        "demoted": demoted,
        "roles": roles,
    }))
}
