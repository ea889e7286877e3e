//! `AppState`: everything the tasks share, built once at startup and passed down.

use super::reload::Reload;
use crate::bus::publish::Publisher;
use crate::config::Settings;
use crate::telemetry::health::Health;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, watch};

/// Shared handles of the running worker. Cloning is cheap (handles and `Arc`s).
#[derive(Debug, Clone)]
pub struct AppState {
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// The NATS connection (reconnects by itself).
    pub client: async_nats::Client,
    /// JetStream over that connection.
    pub js: async_nats::jetstream::Context,
    /// Signal and dead-letter publisher.
    pub publisher: Publisher,
    /// The model directory in force: where a restarted intake loads its model from.
    pub model_dir: Arc<watch::Sender<PathBuf>>,
    /// Verified models waiting to be swapped in between batches.
    pub reload_tx: mpsc::Sender<Reload>,
    /// The receiving end, held by whichever incarnation of the intake task runs.
    pub reload_rx: Arc<Mutex<mpsc::Receiver<Reload>>>,
    /// What `/readyz` reports; tasks flip it as dependencies come and go.
    pub health: Arc<Health>,
}

impl AppState {
    /// Builds the state around a connection.
    pub fn new(settings: Arc<Settings>, client: async_nats::Client) -> Self {
        let js = crate::bus::connect::jetstream(client.clone(), &settings.nats);
        let publisher = Publisher::new(js.clone(), &settings.nats);
        let (reload_tx, reload_rx) = mpsc::channel(1);
        let model_dir = Arc::new(watch::Sender::new(PathBuf::from(&settings.model.dir)));
        Self {
            settings,
            client,
            js,
            publisher,
            model_dir,
            reload_tx,
            reload_rx: Arc::new(Mutex::new(reload_rx)),
            health: Arc::new(Health::default()),
        }
    }
}
