//! The model artifact: `models/<name>/model.bpk` (burn's burnpack weights) + `model.json`
//! ([`ModelMetadata`]), written together and verified together.
//!
//! Loading refuses, each with its own error variant naming the file: weights whose SHA-256 differs
//! from `weights_sha256`, metadata edited after sealing, an unsupported format version, feature
//! names the caller's engine does not know, and shapes that disagree (inputs vs. feature names,
//! scaler lengths, weights vs. architecture).

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use super::architecture::ArchitectureError;
use super::backend::BackendKind;
use super::decide::DecisionConfig;
use super::digest::{prefix, sha256_hex};
use super::metadata::{FORMAT_VERSION, ModelIdentity, ModelMetadata, Provenance};
use super::network::Network;
use super::scaler::ScalerError;
use super::train::TrainedModel;

mod error;
pub use error::ArtifactError;

/// File name of the weights inside a model directory.
pub const WEIGHTS_FILE: &str = "model.bpk";

/// File name of the metadata inside a model directory.
pub const METADATA_FILE: &str = "model.json";

/// A model ready to save or use: sealed metadata, the network and its serialised weights.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The sealed metadata (`weights_sha256` and `metadata_sha256` filled in).
    pub metadata: ModelMetadata,
    /// The network, on the device it was built or loaded on, in inference mode.
    pub network: Network,
    /// The burnpack bytes `weights_sha256` covers.
    weights: Vec<u8>,
}

impl TrainedModel {
    /// Seal this model into an artifact under `identity` (serialises the weights and computes
    /// both hashes; nothing is written yet).
    pub fn into_artifact(
        self,
        identity: ModelIdentity,
        decision: DecisionConfig,
    ) -> Result<Artifact, ArtifactError> {
        let provenance = Provenance {
            source_sha256: self.source_sha256,
            rows: self.rows,
            split: self.split,
            split_open_times: self.split_open_times,
            settings: self.settings.clone(),
            report: self.report,
            series: self.series,
            imported: None,
        };
        let metadata = ModelMetadata {
            format_version: FORMAT_VERSION,
            name: identity.name,
            version: identity.version,
            created_at: identity.created_at,
            architecture: self.architecture,
            mode: self.mode,
            feature_names: self.feature_names,
            scaler: self.scaler,
            labels: self.settings.labels,
            decision,
            provenance,
            weights_sha256: String::new(),
            metadata_sha256: String::new(),
        };
        Artifact::seal(metadata, self.network)
    }
}

impl Artifact {
    /// Serialise `network`, record its hash in `metadata`, then seal the metadata.
    pub fn seal(mut metadata: ModelMetadata, network: Network) -> Result<Self, ArtifactError> {
        let path = PathBuf::from(WEIGHTS_FILE);
        let weights = network
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| ArtifactError::Weights {
                path: path.clone(),
                reason: e.to_string(),
            })?
            .to_vec();
        metadata.weights_sha256 = sha256_hex(&weights);
        let json_path = PathBuf::from(METADATA_FILE);
        let mut metadata = json_fixed_point(metadata, &json_path)?;
        let canonical = metadata
            .canonical_bytes()
            .map_err(|source| ArtifactError::Json {
                path: json_path.clone(),
                source,
            })?;
        metadata.metadata_sha256 = sha256_hex(&canonical);
        // Refuse to write something that would not load back: a non-finite metric (JSON has no
        // NaN) or a value whose text form does not parse back to the same bits.
        let json = |source| ArtifactError::Json {
            path: json_path.clone(),
            source,
        };
        let text = serde_json::to_vec(&metadata).map_err(json)?;
        let reparsed: ModelMetadata = serde_json::from_slice(&text).map_err(json)?;
        check_metadata(&reparsed, &json_path)?;
        Ok(Self {
            metadata,
            network,
            weights,
        })
    }

    /// The burnpack bytes of the weights (what `weights_sha256` covers).
    pub fn weights_bytes(&self) -> &[u8] {
        &self.weights
    }

    /// Write `model.bpk` and `model.json` into `dir` (created if missing).
    pub fn save(&self, dir: &Path) -> Result<(), ArtifactError> {
        std::fs::create_dir_all(dir).map_err(|source| ArtifactError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let weights_path = dir.join(WEIGHTS_FILE);
        std::fs::write(&weights_path, &self.weights).map_err(|source| ArtifactError::Io {
            path: weights_path,
            source,
        })?;
        let json_path = dir.join(METADATA_FILE);
        let mut json =
            serde_json::to_vec_pretty(&self.metadata).map_err(|source| ArtifactError::Json {
                path: json_path.clone(),
                source,
            })?;
        json.push(b'\n');
        std::fs::write(&json_path, json).map_err(|source| ArtifactError::Io {
            path: json_path,
            source,
        })
    }

    /// Read and verify the artifact in `dir` and build its network on `backend`.
    ///
    /// `known_features` are the feature names the caller's engine can produce; every feature of
    /// the model must be among them.
    pub fn load(
        dir: &Path,
        known_features: &[&str],
        backend: BackendKind,
    ) -> Result<Self, ArtifactError> {
        Self::build(Self::verify(dir, known_features)?, backend)
    }

    /// Read and verify the files in `dir` (metadata seal, features, weights SHA-256) without
    /// building anything: what a caller holding an already built network of the same hash needs.
    pub fn verify(dir: &Path, known_features: &[&str]) -> Result<VerifiedFiles, ArtifactError> {
        let json_path = dir.join(METADATA_FILE);
        let weights_path = dir.join(WEIGHTS_FILE);
        let metadata = read_metadata(&json_path)?;
        check_metadata(&metadata, &json_path)?;
        for feature in &metadata.feature_names {
            if !known_features.contains(&feature.as_str()) {
                return Err(ArtifactError::UnknownFeature {
                    path: json_path,
                    feature: feature.clone(),
                });
            }
        }
        let weights = std::fs::read(&weights_path).map_err(|source| ArtifactError::Io {
            path: weights_path.clone(),
            source,
        })?;
        let actual = sha256_hex(&weights);
        if actual != metadata.weights_sha256 {
            return Err(ArtifactError::WeightsHashMismatch {
                path: weights_path,
                expected: prefix(&metadata.weights_sha256),
                actual: prefix(&actual),
            });
        }
        Ok(VerifiedFiles {
            metadata,
            weights,
            json_path,
            weights_path,
        })
    }

    /// The network of verified files, built on `backend`.
    pub fn build(files: VerifiedFiles, backend: BackendKind) -> Result<Self, ArtifactError> {
        let VerifiedFiles {
            metadata,
            weights,
            json_path,
            weights_path,
        } = files;
        let device = backend.device();
        let blank = Network::seeded(&metadata.architecture, 0, &device).map_err(|e| {
            ArtifactError::Shape {
                path: json_path.clone(),
                reason: e.to_string(),
            }
        })?;
        let record =
            ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights.clone())).map_err(|e| {
                ArtifactError::Weights {
                    path: weights_path.clone(),
                    reason: e.to_string(),
                }
            })?;
        let network =
            blank
                .try_load_record(record)
                .map_err(|e| ArtifactError::WeightsMismatch {
                    path: weights_path,
                    reason: e.to_string(),
                })?;
        Ok(Self {
            metadata,
            network,
            weights,
        })
    }
}

/// An artifact's files read and verified ([`Artifact::verify`]), its network not built yet.
#[derive(Debug)]
pub struct VerifiedFiles {
    metadata: ModelMetadata,
    weights: Vec<u8>,
    json_path: PathBuf,
    weights_path: PathBuf,
}

impl VerifiedFiles {
    /// The verified metadata; its `metadata_sha256` seals the weights' hash with everything else.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// Where the weights were read from (for messages).
    pub fn weights_path(&self) -> &Path {
        &self.weights_path
    }
}

/// Most JSON round trips needed before the metadata reads back as itself (see
/// [`json_fixed_point`]); in practice one.
const MAX_JSON_ROUND_TRIPS: usize = 8;

/// The metadata as it will read back from its JSON text.
///
/// serde_json (without its `float_roundtrip` feature) may parse a float's shortest text one unit
/// in the last place off, so a freshly computed metric could change when `model.json` is read and
/// the seal would then fail on load. Sealing the value that survives a round trip unchanged makes
/// the seal stable; the change is at most an ulp of a float.
fn json_fixed_point(
    mut metadata: ModelMetadata,
    path: &Path,
) -> Result<ModelMetadata, ArtifactError> {
    let json = |source| ArtifactError::Json {
        path: path.to_path_buf(),
        source,
    };
    for _ in 0..MAX_JSON_ROUND_TRIPS {
        let text = serde_json::to_vec(&metadata).map_err(json)?;
        let back: ModelMetadata = serde_json::from_slice(&text).map_err(json)?;
        if back == metadata {
            return Ok(metadata);
        }
        metadata = back;
    }
    Err(ArtifactError::Shape {
        path: path.to_path_buf(),
        reason: format!(
            "metadata does not read back as itself after {MAX_JSON_ROUND_TRIPS} JSON round trips"
        ),
    })
}

/// Read `dir/model.json` without any verification — for `model inspect` to show what a refused
/// model claims. Never use the result to run the model; use [`Artifact::load`].
pub fn read_unverified_metadata(dir: &Path) -> Result<ModelMetadata, ArtifactError> {
    read_metadata(&dir.join(METADATA_FILE))
}

fn read_metadata(path: &Path) -> Result<ModelMetadata, ArtifactError> {
    let bytes = std::fs::read(path).map_err(|source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // Read the version first so a future layout gets a version error, not a parse error.
    #[derive(serde::Deserialize)]
    struct Version {
        format_version: u32,
    }
    let version: Version =
        serde_json::from_slice(&bytes).map_err(|source| ArtifactError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    if version.format_version != FORMAT_VERSION {
        return Err(ArtifactError::FormatVersion {
            path: path.to_path_buf(),
            found: version.format_version,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_slice(&bytes).map_err(|source| ArtifactError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Integrity and internal consistency of the metadata (no feature-engine or weights checks).
fn check_metadata(metadata: &ModelMetadata, path: &Path) -> Result<(), ArtifactError> {
    let canonical = metadata
        .canonical_bytes()
        .map_err(|source| ArtifactError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    let actual = sha256_hex(&canonical);
    if actual != metadata.metadata_sha256 {
        return Err(ArtifactError::MetadataHashMismatch {
            path: path.to_path_buf(),
            expected: prefix(&metadata.metadata_sha256),
            actual: prefix(&actual),
        });
    }
    let shape = |reason: String| ArtifactError::Shape {
        path: path.to_path_buf(),
        reason,
    };
    let architecture = &metadata.architecture;
    architecture
        .validate()
        .map_err(|e: ArchitectureError| shape(e.to_string()))?;
    if architecture.inputs != metadata.feature_names.len() {
        return Err(shape(format!(
            "architecture.inputs is {} but there are {} feature names",
            architecture.inputs,
            metadata.feature_names.len()
        )));
    }
    for (i, name) in metadata.feature_names.iter().enumerate() {
        if metadata.feature_names[..i].contains(name) {
            return Err(shape(format!("feature `{name}` is listed twice")));
        }
    }
    metadata
        .scaler
        .validate(architecture.inputs)
        .map_err(|e: ScalerError| shape(e.to_string()))?;
    metadata
        .decision
        .validate()
        .map_err(|e| ArtifactError::Decision {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(())
}
