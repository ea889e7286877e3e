//! The routed pipeline an intake (or partition) runs: the model in force alone when the
//! settings have no `[[models]]`, else one verified model per route.

use super::model::build_pipeline;
use super::{AppState, TaskError};
use crate::config::Settings;
use crate::core::routing::{Role, Router, settings_roles};
use std::path::Path;

/// Builds the intake's router. `settings` are the intake's own (a partition's candle prefix);
/// the routes' filters are over the worker's canonical candle subjects.
pub async fn open_router(state: &AppState, settings: &Settings) -> Result<Router, TaskError> {
    let prefix = &settings.nats.candle_subject_prefix;
    if settings.models.is_empty() {
        let record = super::model_in_force::current(state).await?;
        let predictor = tokio::task::block_in_place(|| {
            super::model_in_force::load(&state.loaded, settings, &record)
        })
        .map_err(TaskError::ModelInForce)?;
        let pipeline = build_pipeline(settings, predictor)?;
        let name = pipeline.model().name.clone();
        return Ok(Router::single(&name, pipeline, prefix));
    }
    let pipelines = tokio::task::block_in_place(|| {
        settings
            .models
            .iter()
            .map(|route| {
                let predictor = state.loaded.predictor(Path::new(&route.dir))?;
                let sha = &predictor.metadata().weights_sha256;
                super::model_source::check_allowed(&settings.model, sha).map_err(|r| {
                    TaskError::ModelInForce(format!("route {:?}: {}", route.name, r.reason))
                })?;
                Ok(build_pipeline(settings, predictor)?)
            })
            .collect::<Result<Vec<_>, TaskError>>()
    })?;
    let specs: Vec<_> = settings.models.iter().map(|m| m.spec()).collect();
    let mut router = Router::new(
        &specs,
        pipelines,
        &state.settings.nats.candle_subject_prefix,
        prefix,
    )
    .map_err(|e| TaskError::ModelInForce(e.to_string()))?;
    // The deployment's recorded roles (a promotion survives restarts); the settings' at first.
    let roles = state.models.roles_or(&settings_roles(&specs)).await?;
    if let Err(e) = router.set_roles(&roles) {
        tracing::error!(roles = ?roles, error = %e, "recorded route roles do not fit these routes; the settings' roles are used");
    }
    Ok(router)
}

/// Whether the settings run a shadow route (the shadow stream is then needed).
pub fn has_shadow(settings: &Settings) -> bool {
    settings.models.iter().any(|m| m.role == Role::Shadow)
}

/// Sets the `model_info` gauge of every route's model (1: in force).
pub fn report_models(router: &Router) {
    for lane in router.lanes() {
        super::serving::model_gauge(lane.pipeline.model(), 1.0);
    }
}
