//! The archiver: its own durable consumer on SIGNALS feeding the MongoDB
//! archive, acking only after a batch insert succeeded.
//!
//! A MongoDB outage therefore delays the archive but loses nothing: the batch
//! is nak'ed, the task fails, the supervisor restarts it with backoff, and the
//! same signals come again. Redelivery is harmless because the archive keys
//! every document by the signal's `Nats-Msg-Id`.

use super::{BusError, headers};
use crate::archive::{Archive, ArchiveError};
use crate::config::{MongoSettings, NatsSettings, ServeSettings};
use crate::contract::Signal;
use crate::contract::codec::{self, Encoding};
use crate::telemetry::health::{Dependency, Health};
use async_nats::jetstream::consumer::{self, AckPolicy};
use async_nats::jetstream::{self, AckKind};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Why the archiver stopped (the supervisor restarts it).
#[derive(Debug, thiserror::Error)]
pub enum ArchiverError {
    /// NATS side.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// MongoDB side.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// Settings the archiver reads.
#[derive(Debug, Clone)]
pub struct ArchiverConfig {
    /// Streams and subjects.
    pub nats: NatsSettings,
    /// Batch size, max wait, ack wait, max ack pending.
    pub serve: ServeSettings,
    /// The archive.
    pub mongo: MongoSettings,
}

/// Archives SIGNALS until `token` fires.
pub async fn run(
    connection: super::Connection,
    config: ArchiverConfig,
    health: Arc<Health>,
    token: CancellationToken,
) -> Result<(), ArchiverError> {
    let archive = Archive::connect(&config.mongo).await?;
    let js = connection.jetstream();
    let result = archive_loop(js, &config, &archive, &health, &token).await;
    if result.is_err() {
        health.set(Dependency::Mongodb, false);
    }
    archive.close().await;
    result
}

async fn archive_loop(
    js: &jetstream::Context,
    config: &ArchiverConfig,
    archive: &Archive,
    health: &Health,
    token: &CancellationToken,
) -> Result<(), ArchiverError> {
    archive.ensure_indexes().await?;
    health.set(Dependency::Mongodb, true);
    let name = config.mongo.archive_durable.clone();
    let stream = js
        .get_stream(&config.nats.signals_stream)
        .await
        .map_err(|e| BusError::api("get stream", &config.nats.signals_stream, e))?;
    let consumer = stream
        .get_or_create_consumer(
            &name,
            consumer::pull::Config {
                durable_name: Some(name.clone()),
                description: Some("signal-worker MongoDB archiver".into()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_millis(config.serve.ack_wait_ms),
                max_ack_pending: config.serve.max_ack_pending,
                // As many copies as its stream: a cluster node lost loses no ack state.
                num_replicas: config.nats.replicas,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| BusError::api("create consumer", &name, e))?;
    let max_wait = Duration::from_millis(config.serve.max_wait_ms);
    while !token.is_cancelled() {
        let mut fetched = consumer
            .batch()
            .max_messages(config.serve.batch_size)
            .expires(max_wait)
            .messages()
            .await
            .map_err(|e| BusError::read(&name, e))?;
        let mut messages = Vec::new();
        while let Some(m) = fetched.next().await {
            messages.push(m.map_err(|e| BusError::read(&name, e))?);
        }
        if messages.is_empty() {
            continue;
        }
        let mut batch = Vec::with_capacity(messages.len());
        for m in &messages {
            let encoding = Encoding::from_content_type(headers::get(
                m.headers.as_ref(),
                headers::CONTENT_TYPE,
            ));
            match codec::decode::<Signal>(&m.payload, encoding) {
                Ok(signal) => {
                    let id = headers::get(m.headers.as_ref(), headers::MSG_ID)
                        .map(str::to_owned)
                        .unwrap_or_else(|| signal.message_id(config.nats.msg_id_hash_prefix_len));
                    batch.push((id, signal));
                }
                // Only this worker writes SIGNALS, so this is a bug or a foreign
                // publisher: logged and terminated instead of blocking the archive.
                Err(e) => {
                    tracing::error!(subject = %m.subject, error = %e, "undecodable signal; not archived");
                    let _ = m.ack_with(AckKind::Term).await;
                }
            }
        }
        match archive.insert(&batch).await {
            Ok(done) => {
                health.set(Dependency::Mongodb, true);
                for m in &messages {
                    m.ack().await.map_err(|e| BusError::publish("ack", e))?;
                }
                metrics::counter!(crate::telemetry::metrics::SIGNALS_ARCHIVED)
                    .increment(done.inserted as u64);
                tracing::debug!(
                    inserted = done.inserted,
                    duplicates = done.duplicates,
                    "archived"
                );
            }
            Err(e) => {
                for m in &messages {
                    let _ = m.ack_with(AckKind::Nak(Some(max_wait))).await;
                }
                return Err(e.into());
            }
        }
    }
    Ok(())
}
