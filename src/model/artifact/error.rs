//! Why an artifact cannot be written or loaded, and what a requester on the bus may be told.

use std::path::PathBuf;

/// Why an artifact cannot be written or loaded. Every variant names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `model.json` is not valid JSON for this format.
    #[error("{path}: invalid model metadata: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A format version this build does not read.
    #[error("{path}: format_version {found} is not supported (this build reads {supported})")]
    FormatVersion {
        /// The file.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// Version supported.
        supported: u32,
    },
    /// `model.bpk` does not have the SHA-256 recorded in `model.json`.
    #[error("{path}: weights SHA-256 mismatch: model.json expects {expected}…, file has {actual}…")]
    WeightsHashMismatch {
        /// The weights file.
        path: PathBuf,
        /// Prefix of the recorded hash.
        expected: String,
        /// Prefix of the file's hash.
        actual: String,
    },
    /// `model.json` was edited after it was sealed.
    #[error(
        "{path}: metadata SHA-256 mismatch (edited after sealing): expected {expected}…, content has {actual}…"
    )]
    MetadataHashMismatch {
        /// The metadata file.
        path: PathBuf,
        /// Prefix of the recorded hash.
        expected: String,
        /// Prefix of the content's hash.
        actual: String,
    },
    /// A feature name the caller's feature engine does not produce.
    #[error("{path}: feature `{feature}` is not known to this feature engine")]
    UnknownFeature {
        /// The metadata file.
        path: PathBuf,
        /// The unknown name.
        feature: String,
    },
    /// Shapes in the metadata disagree with each other.
    #[error("{path}: shape mismatch: {reason}")]
    Shape {
        /// The metadata file.
        path: PathBuf,
        /// What disagrees.
        reason: String,
    },
    /// The weights do not fit the architecture (missing, extra or differently shaped tensors).
    #[error("{path}: weights do not match the architecture: {reason}")]
    WeightsMismatch {
        /// The weights file.
        path: PathBuf,
        /// burn's description of the mismatch.
        reason: String,
    },
    /// The weights could not be serialised or decoded as burnpack.
    #[error("{path}: cannot encode or decode burnpack weights: {reason}")]
    Weights {
        /// The weights file (or the target path when saving).
        path: PathBuf,
        /// burn's message.
        reason: String,
    },
    /// The decision defaults in the metadata are out of range.
    #[error("{path}: invalid decision defaults: {reason}")]
    Decision {
        /// The metadata file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl ArtifactError {
    /// What is wrong, without file-system paths or operating-system errors: the text a
    /// requester on the bus may see (the full error, with the path, goes to the log).
    pub fn reason(&self) -> String {
        match self {
            Self::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                "a model file is missing".into()
            }
            Self::Io { .. } => "a model file cannot be read".into(),
            Self::Json { .. } => "model.json is not valid model metadata".into(),
            Self::FormatVersion {
                found, supported, ..
            } => format!("format_version {found} is not supported (this build reads {supported})"),
            Self::WeightsHashMismatch {
                expected, actual, ..
            } => format!(
                "weights SHA-256 mismatch: model.json expects {expected}…, model.bpk has {actual}…"
            ),
            Self::MetadataHashMismatch { .. } => {
                "model.json was edited after it was sealed (metadata SHA-256 mismatch)".into()
            }
            Self::UnknownFeature { feature, .. } => {
                format!("feature `{feature}` is not known to this feature engine")
            }
            Self::Shape { reason, .. } => format!("shape mismatch: {reason}"),
            Self::WeightsMismatch { .. } => "the weights do not match the architecture".into(),
            Self::Weights { .. } => "model.bpk is not valid burnpack weights".into(),
            Self::Decision { reason, .. } => format!("invalid decision defaults: {reason}"),
        }
    }
}
