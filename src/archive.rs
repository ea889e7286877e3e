//! The MongoDB archive of signals: idempotent batched inserts.
//!
//! Each document's `_id` is the signal's `Nats-Msg-Id`, so a redelivered
//! signal (the archiver acks only after an insert succeeded) is a duplicate-key
//! no-op instead of a second row; an index on (exchange, symbol, interval,
//! open_time) serves the usual queries. The consumer that feeds it from the
//! SIGNALS stream belongs to the bus.

use crate::config::MongoSettings;
use crate::config::secret::redact_url;
use crate::contract::Signal;
use mongodb::bson::{Document, doc};
use mongodb::options::{AuthMechanism, ClientOptions, IndexOptions, Tls, TlsOptions, WriteConcern};
use mongodb::{Client, Collection, IndexModel};
use std::path::PathBuf;

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11_000;

/// Why archiving failed (the caller naks and retries later: nothing is lost).
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Connection, server or write failure other than duplicates.
    #[error("mongodb: {0}")]
    Mongo(#[from] mongodb::error::Error),
    /// The URL, credentials or TLS files are unusable (reported at startup).
    #[error("mongodb settings: {0}")]
    Config(String),
    /// A signal could not be turned into a document.
    #[error("encode signal {id}: {message}")]
    Encode {
        /// The signal id.
        id: String,
        /// What failed.
        message: String,
    },
}

/// The driver options of the configured URL, credentials and TLS files. A URL the driver
/// refuses is reported without its password.
pub async fn client_options(settings: &MongoSettings) -> Result<ClientOptions, ArchiveError> {
    let mut options = ClientOptions::parse(&settings.url).await.map_err(|e| {
        ArchiveError::Config(format!(
            "mongodb.url {} is unusable: {}",
            redact_url(&settings.url),
            redact_url(&e.kind.to_string())
        ))
    })?;
    if !settings.username.is_empty() {
        let mut credential = options.credential.take().unwrap_or_default();
        credential.username = Some(settings.username.clone());
        credential.password = Some(settings.password.expose().to_owned());
        if !settings.auth_source.is_empty() {
            credential.source = Some(settings.auth_source.clone());
        }
        if !settings.auth_mechanism.is_empty() {
            let mechanism = settings
                .auth_mechanism
                .parse::<AuthMechanism>()
                .map_err(|e| {
                    ArchiveError::Config(format!("mongodb.auth_mechanism is unusable: {}", e.kind))
                })?;
            credential.mechanism = Some(mechanism);
        }
        options.credential = Some(credential);
    }
    let files = !settings.tls_ca_file.is_empty() || !settings.tls_cert_key_file.is_empty();
    if settings.tls || files {
        for (key, path) in [
            ("mongodb.tls_ca_file", &settings.tls_ca_file),
            ("mongodb.tls_cert_key_file", &settings.tls_cert_key_file),
        ] {
            if !path.is_empty() && std::fs::metadata(path).is_err() {
                return Err(ArchiveError::Config(format!("{key} is unreadable")));
            }
        }
        let nonempty = |p: &String| (!p.is_empty()).then(|| PathBuf::from(p));
        options.tls = Some(Tls::Enabled(
            TlsOptions::builder()
                .ca_file_path(nonempty(&settings.tls_ca_file))
                .cert_key_file_path(nonempty(&settings.tls_cert_key_file))
                .build(),
        ));
    }
    Ok(options)
}

/// What one batch insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Archived {
    /// Newly stored signals.
    pub inserted: usize,
    /// Signals that were already archived (redeliveries).
    pub duplicates: usize,
}

/// The archive collection.
#[derive(Debug, Clone)]
pub struct Archive {
    client: Client,
    signals: Collection<Document>,
}

impl Archive {
    /// Connects (lazily: the driver connects on first use) and names the collection.
    pub async fn connect(settings: &MongoSettings) -> Result<Self, ArchiveError> {
        let client = Client::with_options(client_options(settings).await?)?;
        let signals = client
            .database(&settings.database)
            .collection::<Document>(&settings.collection);
        Ok(Self { client, signals })
    }

    /// Creates the query index (idempotent; `_id` is unique by itself).
    pub async fn ensure_indexes(&self) -> Result<(), ArchiveError> {
        let series_time = IndexModel::builder()
            .keys(doc! { "exchange": 1, "symbol": 1, "interval": 1, "open_time": 1 })
            .options(
                IndexOptions::builder()
                    .name("series_open_time".to_owned())
                    .build(),
            )
            .build();
        self.signals.create_index(series_time).await?;
        Ok(())
    }

    /// Inserts a batch of `(signal id, signal)`; duplicates of archived ids
    /// are counted, not errors, so redelivery is harmless.
    pub async fn insert(&self, batch: &[(String, Signal)]) -> Result<Archived, ArchiveError> {
        if batch.is_empty() {
            return Ok(Archived::default());
        }
        let mut docs = Vec::with_capacity(batch.len());
        for (id, signal) in batch {
            let mut d = mongodb::bson::to_document(signal).map_err(|e| ArchiveError::Encode {
                id: id.clone(),
                message: e.to_string(),
            })?;
            d.insert("_id", id.as_str());
            docs.push(d);
        }
        // Journaled before the archiver acks the signals: a MongoDB that crashes right after
        // answering must not lose what the stream no longer redelivers.
        let journaled = WriteConcern::builder().journal(true).build();
        match self
            .signals
            .insert_many(docs)
            .ordered(false)
            .write_concern(journaled)
            .await
        {
            Ok(r) => Ok(Archived {
                inserted: r.inserted_ids.len(),
                duplicates: 0,
            }),
            Err(e) => match *e.kind {
                mongodb::error::ErrorKind::InsertMany(ref failure)
                    if failure.write_concern_error.is_none()
                        && failure
                            .write_errors
                            .as_ref()
                            .is_some_and(|w| w.iter().all(|we| we.code == DUPLICATE_KEY)) =>
                {
                    let duplicates = failure.write_errors.as_ref().map_or(0, Vec::len);
                    Ok(Archived {
                        inserted: batch.len() - duplicates,
                        duplicates,
                    })
                }
                _ => Err(e.into()),
            },
        }
    }

    /// Number of archived signals (for operators and tests).
    pub async fn count(&self) -> Result<u64, ArchiveError> {
        Ok(self.signals.count_documents(doc! {}).await?)
    }

    /// Closes the client's connections (clean shutdown).
    pub async fn close(self) {
        self.client.shutdown().await;
    }
}
