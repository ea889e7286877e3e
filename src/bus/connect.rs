//! Connecting to NATS and building the JetStream context.

use super::BusError;
use crate::config::NatsSettings;
use std::time::Duration;

/// Connects with the configured timeout. After the first connection the
/// client reconnects by itself, with backoff, forever; tasks that meet a dead
/// connection fail and are restarted by the supervisor.
pub async fn connect(settings: &NatsSettings, name: &str) -> Result<async_nats::Client, BusError> {
    async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_millis(settings.connect_timeout_ms))
        .request_timeout(Some(Duration::from_millis(settings.request_timeout_ms)))
        .max_reconnects(None)
        .event_callback(|event| async move {
            tracing::info!(%event, "nats connection event");
        })
        .connect(&settings.url)
        .await
        .map_err(|e| BusError::Connect {
            url: settings.url.clone(),
            message: e.to_string(),
        })
}

/// The JetStream context with the configured API and ack timeouts.
pub fn jetstream(
    client: async_nats::Client,
    settings: &NatsSettings,
) -> async_nats::jetstream::Context {
    let timeout = Duration::from_millis(settings.request_timeout_ms);
    async_nats::jetstream::ContextBuilder::new()
        .timeout(timeout)
        .ack_timeout(timeout)
        .build(client)
}
