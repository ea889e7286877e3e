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
    /// Every series of a model trained on several (then `source_sha256` is
    /// [`SeriesSource::combined_sha256`] of them, `rows` their sum, `split` the first one's and
    /// `split_open_times` the span of each slice over all of them). Left out when empty, so
    /// single-series models hash as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<SeriesSource>,
    /// Set when the model was imported rather than trained here: from what, with which hashes.
    /// Left out of the file (and so of the hashed form) when absent, so models sealed before it
    /// existed hash the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<super::import::Imported>,
}

/// One series of a multi-series training run: which data, and how it was split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesSource {
    /// The series' identity as given to `train`.
    pub name: String,
    /// SHA-256 of its data file.
    pub source_sha256: String,
    /// Its rows.
    pub rows: usize,
    /// Its own split.
    pub split: Split,
    /// Open time of the first and last row of its train, validation and test slices.
    pub split_open_times: [[i64; 2]; 3],
}

impl SeriesSource {
    /// The record of one series and its split.
    pub fn new(name: &str, data: &crate::model::TrainingData, split: Split) -> Self {
        let time_of = |row: usize| data.open_times.get(row).copied().unwrap_or_default();
        let span =
            |r: &std::ops::Range<usize>| [time_of(r.start), time_of(r.end.saturating_sub(1))];
        Self {
            name: name.to_owned(),
            source_sha256: data.source_sha256.clone(),
            rows: data.closes.len(),
            split_open_times: [
                span(&split.train),
                span(&split.validation),
                span(&split.test),
            ],
            split,
        }
    }

    /// Earliest start and latest end of each slice over `sources`.
    pub fn union_spans(sources: &[SeriesSource]) -> [[i64; 2]; 3] {
        let mut out = [[i64::MAX, i64::MIN]; 3];
        for s in sources {
            for (o, span) in out.iter_mut().zip(s.split_open_times) {
                o[0] = o[0].min(span[0]);
                o[1] = o[1].max(span[1]);
            }
        }
        if sources.is_empty() { [[0; 2]; 3] } else { out }
    }

    /// One hash for several series: SHA-256 of the lines `name sha256`, in the given order.
    pub fn combined_sha256(sources: &[SeriesSource]) -> String {
        let lines: String = sources
            .iter()
            .map(|s| format!("{} {}\n", s.name, s.source_sha256))
            .collect();
        super::digest::sha256_hex(lines.as_bytes())
    }
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
