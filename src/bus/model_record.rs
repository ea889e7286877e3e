//! The model in force, recorded durably in a NATS KV bucket: which model directory every worker of
//! a deployment runs, identified by its weights SHA-256.
//!
//! A reload writes the record; every intake (each partition task, or the one unpartitioned
//! intake) reads it between batches and swaps to it when its weights differ from the model it
//! runs. So a restart keeps the reloaded model, every worker of a partitioned deployment ends up
//! on the same weights, and a model updated in place under the same path is told apart by its
//! hash, never by its path. The first value is the settings' `model.dir`.
//!
//! With `[[models]]` routes, the bucket records the routes' roles instead (key
//! `<deployment>.routes`, first value the settings' roles): a promotion writes it and every
//! intake follows it, so a promoted shadow stays live across restarts and on every worker.

use super::BusError;
use crate::config::NatsSettings;
use crate::core::routing::Roles;
use async_nats::jetstream::kv;
use serde::{Deserialize, Serialize};

/// One model in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// Where its files are, as the worker resolved them.
    pub dir: String,
    /// SHA-256 (hex) of its weights: what a worker compares with the model it runs.
    pub weights_sha256: String,
}

/// The record of one deployment (key = its durable consumer name) in the models bucket.
#[derive(Clone)]
pub struct ModelRecords {
    store: kv::Store,
    key: String,
    /// How long a read or first write is tried again while a cluster elects the bucket's leader.
    bound: std::time::Duration,
}

impl std::fmt::Debug for ModelRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelRecords")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl ModelRecords {
    /// Opens (creating when missing) the bucket `nats.model_bucket`; `key` names the deployment.
    pub async fn open(
        connection: &super::Connection,
        nats: &NatsSettings,
        key: &str,
    ) -> Result<Self, BusError> {
        let js = connection.jetstream();
        let bucket = &nats.model_bucket;
        let bound = std::time::Duration::from_millis(nats.request_timeout_ms.saturating_mul(6));
        // Idempotent (get, or create the same bucket), so tried again through an election.
        let store = super::retry::through_elections("open model bucket", bound, || async {
            match js.get_key_value(bucket.clone()).await {
                Ok(store) => Ok(store),
                Err(_) => js
                    .create_key_value(kv::Config {
                        bucket: bucket.clone(),
                        description: "signal-worker: the model in force per deployment".into(),
                        history: 8,
                        max_value_size: 4_096,
                        num_replicas: nats.replicas,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| BusError::api("create key-value bucket", bucket, e)),
            }
        })
        .await?;
        Ok(Self {
            store,
            key: key.to_owned(),
            bound,
        })
    }

    /// The record, if one was written (an undecodable one counts as none, and is logged).
    pub async fn current(&self) -> Result<Option<ModelRecord>, BusError> {
        let value = self
            .store
            .get(self.key.clone())
            .await
            .map_err(|e| BusError::read(&self.key, e))?;
        Ok(value.and_then(|bytes| match serde_json::from_slice(&bytes) {
            Ok(record) => Some(record),
            Err(e) => {
                tracing::error!(key = %self.key, error = %e, "model record undecodable; ignored");
                None
            }
        }))
    }

    /// The record in force: the one stored, or `first` stored now when there is none (several
    /// workers starting at once agree on whichever was stored first). Tried again through a
    /// leader election: a fresh R3 bucket answers "no responders" until it has a leader.
    pub async fn current_or(&self, first: ModelRecord) -> Result<ModelRecord, BusError> {
        super::retry::through_elections("read the model in force", self.bound, || {
            self.read_or_create(first.clone())
        })
        .await
    }

    async fn read_or_create(&self, first: ModelRecord) -> Result<ModelRecord, BusError> {
        if let Some(record) = self.current().await? {
            return Ok(record);
        }
        let body = serde_json::to_vec(&first).map_err(|e| BusError::Encode {
            subject: self.key.clone(),
            message: e.to_string(),
        })?;
        match self.store.create(&self.key, body.into()).await {
            Ok(_) => Ok(first),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                Ok(self.current().await?.unwrap_or(first))
            }
            Err(e) => Err(BusError::publish(&self.key, e)),
        }
    }

    /// The key of the deployment's route roles (a promotion's record).
    fn roles_key(&self) -> String {
        format!("{}.routes", self.key)
    }

    /// The route roles recorded for the deployment, or `first` (the settings') stored now when
    /// none is: every worker of the deployment, and every restart, follows one record.
    pub async fn roles_or(&self, first: &Roles) -> Result<Roles, BusError> {
        let key = self.roles_key();
        super::retry::through_elections("read the route roles", self.bound, || async {
            if let Some(roles) = self.roles().await? {
                return Ok(roles);
            }
            let body = serde_json::to_vec(first).map_err(|e| BusError::Encode {
                subject: key.clone(),
                message: e.to_string(),
            })?;
            match self.store.create(&key, body.into()).await {
                Ok(_) => Ok(first.clone()),
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                    Ok(self.roles().await?.unwrap_or_else(|| first.clone()))
                }
                Err(e) => Err(BusError::publish(&key, e)),
            }
        })
        .await
    }

    /// The route roles recorded, if any (an undecodable record counts as none, and is logged).
    pub async fn roles(&self) -> Result<Option<Roles>, BusError> {
        let key = self.roles_key();
        let value = self
            .store
            .get(key.clone())
            .await
            .map_err(|e| BusError::read(&key, e))?;
        Ok(
            value.and_then(|bytes| match serde_json::from_slice(&bytes) {
                Ok(roles) => Some(roles),
                Err(e) => {
                    tracing::error!(key = %key, error = %e, "route roles undecodable; ignored");
                    None
                }
            }),
        )
    }

    /// Records `roles` for the deployment (a promotion).
    pub async fn put_roles(&self, roles: &Roles) -> Result<(), BusError> {
        let key = self.roles_key();
        let body = serde_json::to_vec(roles).map_err(|e| BusError::Encode {
            subject: key.clone(),
            message: e.to_string(),
        })?;
        self.store
            .put(&key, body.into())
            .await
            .map(|_| ())
            .map_err(|e| BusError::publish(&key, e))
    }

    /// Makes `record` the model in force.
    pub async fn put(&self, record: &ModelRecord) -> Result<(), BusError> {
        let body = serde_json::to_vec(record).map_err(|e| BusError::Encode {
            subject: self.key.clone(),
            message: e.to_string(),
        })?;
        self.store
            .put(&self.key, body.into())
            .await
            .map(|_| ())
            .map_err(|e| BusError::publish(&self.key, e))
    }
}
