//! What a run reports while it trains and when it is done.

use serde::{Deserialize, Serialize};

use super::TrainSettings;
use crate::model::architecture::Architecture;
use crate::model::classification::{Baselines, Metrics};
use crate::model::network::Network;
use crate::model::scaler::Scaler;
use crate::model::side::NUM_CLASSES;
use crate::model::split::Split;

/// Progress events, for a progress bar; the library itself never prints.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Data validated and split; training starts.
    Started {
        /// Training samples.
        train_samples: usize,
        /// Validation samples.
        validation_samples: usize,
        /// Test samples.
        test_samples: usize,
        /// Gradient steps per epoch.
        batches_per_epoch: usize,
        /// Maximum epochs.
        epochs: usize,
    },
    /// One gradient step done.
    Batch {
        /// Epoch (1-based).
        epoch: usize,
        /// Batch within the epoch (1-based).
        batch: usize,
        /// Batches per epoch.
        batches: usize,
        /// Cross-entropy of this batch.
        loss: f64,
    },
    /// One epoch done and validated.
    Epoch(EpochRecord),
    /// Validation loss stopped improving for `patience` epochs.
    EarlyStop {
        /// The epoch training stopped after.
        epoch: usize,
        /// The epoch whose weights are kept.
        best_epoch: usize,
    },
    /// Scoring the test slice and the baselines.
    Testing,
}

/// One epoch of the training history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Mean training cross-entropy (with dropout active).
    pub train_loss: f64,
    /// Validation log-loss.
    pub validation_loss: f64,
    /// Whether this epoch is the best so far (its weights are kept).
    pub improved: bool,
}

/// Label counts of one slice, in class order (long, short, neutral).
pub type ClassCounts = [u64; NUM_CLASSES];

/// What a training run did and how good the result is on data it never saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Epochs run.
    pub epochs_run: usize,
    /// Epoch whose weights were kept (lowest validation loss).
    pub best_epoch: usize,
    /// Whether early stopping ended training.
    pub stopped_early: bool,
    /// Lowest validation log-loss.
    pub best_validation_loss: f64,
    /// Per-epoch losses.
    pub history: Vec<EpochRecord>,
    /// Samples in train, validation, test.
    pub samples: [usize; 3],
    /// Label counts in train, validation, test.
    pub class_counts: [ClassCounts; 3],
    /// The model on the test slice.
    pub test: Metrics,
    /// The naive baselines on the test slice.
    pub baselines: Baselines,
    /// Whether the model's test log-loss is below both baselines' — stated, not implied.
    pub beats_baselines_on_log_loss: bool,
}

/// The result of training: the best network (inference mode) and everything `model.json` needs.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    /// The network with the best validation loss, without autodiff.
    pub network: Network,
    /// Its shape.
    pub architecture: Architecture,
    /// Windowed or streaming.
    pub mode: crate::model::ModelMode,
    /// Input feature names in order.
    pub feature_names: Vec<String>,
    /// The scaler fitted on the training slice.
    pub scaler: Scaler,
    /// The settings used.
    pub settings: TrainSettings,
    /// The split used (row ranges).
    pub split: Split,
    /// Open time of the first and last row of train, validation, test.
    pub split_open_times: [[i64; 2]; 3],
    /// SHA-256 of the source data.
    pub source_sha256: String,
    /// Rows of the training data (of every series).
    pub rows: usize,
    /// Every series of a multi-series run (empty for one series).
    pub series: Vec<crate::model::metadata::SeriesSource>,
    /// Metrics and history.
    pub report: TrainReport,
    /// The test slice's forecasts, sample by sample, for the report's pictures.
    pub test_trace: crate::model::trace::ForecastTrace,
}
