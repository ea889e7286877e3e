//! Settings: one TOML file plus `SIGNAL_WORKER_*` environment overrides,
//! validated at startup. Every threshold, period, subject, URL, timeout and
//! limit lives here with a documented default; none lives in code.

mod checks;
mod error;
mod merge;
pub(crate) mod nats;
pub(crate) mod routes;
pub mod secret;
pub(crate) mod sections;
pub(crate) mod stores;

pub use error::ConfigError;
pub use merge::ENV_PREFIX;
pub use nats::NatsSettings;
pub use sections::{
    LogFormat, LogSettings, MetricsSettings, ModelSettings, ServeSettings, ShutdownSettings,
};
pub use stores::{MongoSettings, RedisSettings};

use crate::core::features::FeatureSettings;
use crate::core::sequence::SequenceSettings;
use crate::core::validate::ValidationSettings;
use crate::model::{DecisionConfig, TrainSettings};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Every setting of the worker. `signal-worker.example.toml` documents each one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// NATS connection, subjects and streams.
    pub nats: NatsSettings,
    /// Redis cache.
    pub redis: RedisSettings,
    /// MongoDB archive.
    pub mongodb: MongoSettings,
    /// Metrics and health HTTP server.
    pub metrics: MetricsSettings,
    /// Model location and backend.
    pub model: ModelSettings,
    /// Several models, each bound to candle subjects (`[[models]]`); empty: `model.dir` scores
    /// every candle.
    pub models: Vec<routes::ModelRouteSettings>,
    /// Logging.
    pub log: LogSettings,
    /// Candle validation limits.
    pub validation: ValidationSettings,
    /// Per-series ordering and gap handling.
    pub sequence: SequenceSettings,
    /// Feature engine (snapshot depth).
    pub features: FeatureSettings,
    /// Decision rule from class probabilities to a side.
    pub decision: DecisionConfig,
    /// Training (`train`): labels, split, network, optimiser.
    pub training: TrainSettings,
    /// The worker: intake batches, in-flight bounds, supervision.
    pub serve: ServeSettings,
    /// Orderly shutdown.
    pub shutdown: ShutdownSettings,
}

impl Settings {
    /// Loads defaults, then `file` (if any), then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let text = match file {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                        path: path.display().to_string(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let name = file.map(|p| p.display().to_string()).unwrap_or_default();
        Self::from_sources(
            text.as_deref().map(|t| (name.as_str(), t)),
            std::env::vars(),
        )
    }

    /// Builds settings from an optional `(name, TOML text)` and environment
    /// pairs; the testable core of [`Settings::load`].
    pub fn from_sources<I>(file: Option<(&str, &str)>, env: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut table = toml::Table::try_from(Settings::default())
            .map_err(|e| ConfigError::Invalid(format!("defaults do not serialise: {e}")))?;
        if let Some((path, text)) = file {
            let overlay: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
            merge::merge(&mut table, overlay, "")?;
        }
        merge::apply_env(&mut table, env)?;
        let settings: Settings = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }
}
