//! `AppState`: everything the tasks share, built once at startup and passed down.

use crate::bus::Connection;
use crate::bus::model_record::ModelRecords;
use crate::bus::publish::Publisher;
use crate::config::Settings;
use crate::telemetry::health::Health;
use std::sync::Arc;

/// Shared handles of the running worker. Cloning is cheap (handles and `Arc`s).
#[derive(Debug, Clone)]
pub struct AppState {
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// The NATS connection and its JetStream context (reconnects by itself): handed to the
    /// bus, never used directly.
    pub bus: Connection,
    /// Signal and dead-letter publisher.
    pub publisher: Publisher,
    /// The model in force, recorded in the models bucket (see [`super::model_in_force`]).
    pub models: ModelRecords,
    /// What `/readyz` reports; tasks flip it as dependencies come and go.
    pub health: Arc<Health>,
    /// Live scores of the signals, per model (see [`super::live_scores`]).
    pub scores: super::live_scores::LiveScores,
    /// The models this process has loaded, each once, shared by every intake running it.
    pub loaded: super::loaded_models::LoadedModels,
}

impl AppState {
    /// Builds the state around a connection.
    pub fn new(settings: Arc<Settings>, bus: Connection, models: ModelRecords) -> Self {
        let publisher = Publisher::new(&bus, &settings.nats);
        let scores = super::live_scores::LiveScores::new(settings.serve.score_window);
        let loaded = super::loaded_models::LoadedModels::new(&settings);
        Self {
            settings,
            bus,
            publisher,
            models,
            health: Arc::new(Health::default()),
            scores,
            loaded,
        }
    }
}
