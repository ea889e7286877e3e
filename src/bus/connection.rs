//! The worker's one NATS connection and its JetStream context, as a single handle.
//!
//! Tasks outside `bus/` hold a [`Connection`] and hand it to the bus's constructors; they never
//! see an `async_nats` type, so the protocol (and its crate) can change in one layer.

use super::BusError;
use crate::config::NatsSettings;

/// A connection to NATS (reconnecting by itself) with the configured JetStream context.
/// Cloning is cheap: both are handles to the same connection.
#[derive(Debug, Clone)]
pub struct Connection {
    client: async_nats::Client,
    js: async_nats::jetstream::Context,
}

impl Connection {
    /// Connects as `name` with the settings' servers, credentials and timeouts (see
    /// [`super::connect::connect`]).
    pub async fn open(settings: &NatsSettings, name: &str) -> Result<Self, BusError> {
        let client = super::connect::connect(settings, name).await?;
        let js = super::connect::jetstream(client.clone(), settings);
        Ok(Self { client, js })
    }

    /// Whether the client is connected right now (it reconnects by itself when not).
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Writes out everything buffered (acks above all) and waits until the server has it.
    pub async fn flush(&self) -> Result<(), BusError> {
        self.client
            .flush()
            .await
            .map_err(|e| BusError::publish("acks", e))
    }

    /// Drains the connection before it is dropped: pending publishes and acks are sent.
    pub async fn drain(&self) {
        let _ = self.client.drain().await;
    }

    /// The core NATS client, for the bus's own request/reply and subscriptions.
    pub(crate) fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The JetStream context, for the bus's own streams, consumers and publishes.
    pub(crate) fn jetstream(&self) -> &async_nats::jetstream::Context {
        &self.js
    }
}
