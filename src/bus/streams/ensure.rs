//! Creating the missing streams and checking the existing ones, through leader elections.

use super::check::{config, mismatches, show_age, show_bytes};
use super::{StreamSpec, shadow_spec, specs};
use crate::bus::BusError;
use crate::config::NatsSettings;
use async_nats::jetstream;
use std::time::Duration;

/// Creates every missing stream and checks the existing ones; a stream whose retention,
/// storage, replicas, subjects, ack mode, transform or limits differ is an error naming each
/// difference (changing them silently could drop or divert messages another deployment relies
/// on, and a wrong retention deletes the history a restart needs).
pub async fn ensure_streams(
    js: &jetstream::Context,
    settings: &NatsSettings,
) -> Result<(), BusError> {
    ensure_all(js, settings, &specs(settings)).await
}

/// Creates or checks the streams a worker serves on: every stream of [`ensure_streams`], and
/// the shadow stream when `shadow` routes publish there.
pub async fn ensure_worker_streams(
    connection: &crate::bus::Connection,
    settings: &NatsSettings,
    shadow: bool,
) -> Result<(), BusError> {
    let js = connection.jetstream();
    ensure_streams(js, settings).await?;
    match shadow {
        true => ensure_shadow_stream(js, settings).await,
        false => Ok(()),
    }
}

/// Creates the shadow stream if missing and checks it if found, like [`ensure_streams`].
pub async fn ensure_shadow_stream(
    js: &jetstream::Context,
    settings: &NatsSettings,
) -> Result<(), BusError> {
    ensure_all(js, settings, &[shadow_spec(settings)]).await
}

/// Ensures each of `specs` in turn, each retried through leader elections.
async fn ensure_all(
    js: &jetstream::Context,
    settings: &NatsSettings,
    specs: &[StreamSpec],
) -> Result<(), BusError> {
    // Bounded by the connect timeout plus a few election rounds: a cluster that lost a node
    // elects new leaders within seconds.
    let bound = Duration::from_millis(settings.request_timeout_ms.saturating_mul(6));
    for spec in specs {
        crate::bus::retry::through_elections("ensure stream", bound, || ensure(js, settings, spec))
            .await?;
    }
    Ok(())
}

async fn ensure(
    js: &jetstream::Context,
    settings: &NatsSettings,
    spec: &StreamSpec,
) -> Result<(), BusError> {
    match js.get_stream(&spec.name).await {
        Ok(mut existing) => {
            let info = existing
                .info()
                .await
                .map_err(|e| BusError::api("stream info", &spec.name, e))?;
            let problems = mismatches(spec, &info.config);
            if !problems.is_empty() {
                return Err(BusError::StreamMismatch {
                    stream: spec.name.clone(),
                    message: problems.join("; "),
                });
            }
            tracing::debug!(stream = %spec.name, "stream checked");
            Ok(())
        }
        Err(e) if is_not_found(&e) => {
            let window = Duration::from_millis(settings.duplicate_window_ms);
            js.create_stream(config(spec, window))
                .await
                .map_err(|e| create_error(spec, e))?;
            tracing::info!(
                stream = %spec.name,
                subjects = ?spec.subjects,
                max_age = %show_age(spec.max_age),
                max_bytes = %show_bytes(spec.max_bytes),
                max_msg_size = %show_bytes(i64::from(spec.max_msg_size)),
                "stream created"
            );
            Ok(())
        }
        Err(e) => Err(BusError::api("get stream", &spec.name, e)),
    }
}

/// A refused creation; one for want of storage names the byte limit, which the server
/// reserves in full when the stream is created.
fn create_error(spec: &StreamSpec, e: jetstream::context::CreateStreamError) -> BusError {
    use jetstream::ErrorCode;
    let short_of_storage = matches!(
        e.kind(),
        jetstream::context::CreateStreamErrorKind::JetStream(inner)
            if [
                ErrorCode::STORAGE_RESOURCES_EXCEEDED,
                ErrorCode::ACCOUNT_RESOURCES_EXCEEDED,
                ErrorCode::INSUFFICIENT_RESOURCES,
            ]
            .contains(&inner.error_code())
    );
    // Not retried: waiting cannot give the server the storage (this took the whole retry bound,
    // 27 s by default, before failing).
    match short_of_storage {
        true => BusError::StreamRefused {
            stream: spec.name.clone(),
            message: format!(
                "{e} (the server reserves a stream's max_bytes, here {}, of its JetStream storage: lower {}_max_bytes or give the server more)",
                show_bytes(spec.max_bytes),
                spec.settings
            ),
        },
        false => BusError::api("create stream", &spec.name, e),
    }
}

/// Whether a get-stream failure means "no such stream" (as opposed to a dead connection).
fn is_not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(
        e.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(inner)
            if inner.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}
