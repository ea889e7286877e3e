//! Why a supervised task stopped.

use crate::bus::BusError;
use crate::core::pipeline::PipelineError;
use crate::model::ArtifactError;

/// A task failure; the supervisor logs it with the task's name, counts it
/// and restarts the task (or shuts the worker down if it is essential and
/// keeps failing).
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// NATS refused or lost something.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The model could not be loaded or verified.
    #[error("model: {0}")]
    Model(#[from] ArtifactError),
    /// The model in force cannot be run here (its files changed since it was recorded, or it
    /// is not allow-listed).
    #[error("model in force: {0}")]
    ModelInForce(String),
    /// The pipeline could not be built or a batch could not be scored.
    #[error("pipeline: {0}")]
    Pipeline(#[from] PipelineError),
    /// The MongoDB archiver.
    #[error("archiver: {0}")]
    Archiver(#[from] crate::bus::archiver::ArchiverError),
    /// A socket of the task (e.g. the metrics/health listener) failed.
    #[error("io: {0}")]
    Io(String),
    /// A stop arrived while the task was rebuilding state (a warm start or a takeover): the
    /// half-rebuilt state is dropped, never checkpointed nor published from.
    #[error("interrupted during {0}; the partial state is dropped")]
    Interrupted(&'static str),
    /// The task panicked (a bug); caught so it is restarted like any failure.
    #[error("panicked: {0}")]
    Panicked(String),
}
