//! `model.json`: everything needed to use the weights correctly, sealed by two hashes.

use serde::{Deserialize, Serialize};

use super::architecture::Architecture;
use super::decide::DecisionConfig;
use super::labels::LabelSpec;
use super::mode::ModelMode;
use super::scaler::Scaler;
use super::split::Split;
use super::train::{TrainReport, TrainSettings};

/// Version of the `model.json` layout. Bumped on any incompatible change; loading refuses other
/// versions rather than guessing.
pub const FORMAT_VERSION: u32 = 1;

/// Who the model is. `created_at` is passed in (the library reads no clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelIdentity {
    /// Model name (the directory name by convention).
    pub name: String,
    /// Model version, free-form (e.g. semver or a date).
    pub version: String,
    /// Creation time, RFC 3339, supplied by the caller.
    pub created_at: String,
}

/// Where the model came from and how good it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// SHA-256 of the training data file.
    pub source_sha256: String,
    /// Rows of the training data.
    pub rows: usize,
    /// Row ranges of train / validation / test (and the window and horizon they were cut for).
    pub split: Split,
    /// Open time (Unix ms) of the first and last row of train, validation and test.
    pub split_open_times: [[i64; 2]; 3],
    /// The full training settings, so the run can be repeated.
    pub settings: TrainSettings,
    /// Epochs, history, test metrics and baselines (empty for an imported model).
    pub report: TrainReport,
    /// Set when the model was imported rather than trained here: from what, with which hashes.
    /// Left out of the file (and so of the hashed form) when absent, so models sealed before it
    /// existed hash the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<super::import::Imported>,
}

/// The content of `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelMetadata {
    /// Layout version, [`FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Creation time (RFC 3339, from the caller).
    pub created_at: String,
    /// Network shape.
    pub architecture: Architecture,
    /// Windowed or streaming; omitted from the file when windowed.
    #[serde(default, skip_serializing_if = "ModelMode::is_windowed")]
    pub mode: ModelMode,
    /// Input features in order; names of the feature engine's columns.
    pub feature_names: Vec<String>,
    /// Standardisation fitted on the training slice.
    pub scaler: Scaler,
    /// Label definition the model was trained for.
    pub labels: LabelSpec,
    /// Default decision thresholds (the worker's config may override them).
    pub decision: DecisionConfig,
    /// Training provenance, metrics and baselines.
    pub provenance: Provenance,
    /// SHA-256 (hex) of `model.bpk`.
    pub weights_sha256: String,
    /// SHA-256 (hex) of this metadata serialised as compact JSON with this field empty; any edit
    /// of `model.json` (scaler, features, thresholds...) is detected, not just of the weights.
    pub metadata_sha256: String,
}

impl ModelMetadata {
    /// The bytes `metadata_sha256` is computed over: compact JSON of `self` with
    /// `metadata_sha256` empty (field order is the struct's, so the form is canonical), label
    /// keys at their defaults left out (see [`seal_form`](super::labels::seal_form)).
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut unsealed = self.clone();
        unsealed.metadata_sha256.clear();
        let bytes = serde_json::to_vec(&unsealed)?;
        let bytes = super::labels::seal_form(bytes, &self.labels)?;
        super::labels::seal_form(bytes, &self.provenance.settings.labels)
    }
}
