//! LSTM/GRU classifiers trained in PyTorch, imported as verified artifacts.
//!
//! `python/torch_export` writes a PyTorch `nn.LSTM`/`nn.GRU` (batch-first, unidirectional, no
//! projection) with an `nn.Linear` head over the last step's top hidden state as safetensors
//! (PyTorch's own tensor names) plus a JSON description (features, scaler, labels, window). This
//! module maps PyTorch's layouts onto the project's layers and seals a normal artifact:
//!
//! - PyTorch stores `weight_ih_l{k}` as `[G·H, I]` (rows = gate blocks); the project's layers
//!   multiply `x · W` with `W` as `[I, G·H]`: every weight is transposed.
//! - LSTM gate blocks are `i, f, g, o` in PyTorch and `i, f, o, g` here (the three sigmoid gates
//!   contiguous); PyTorch's two biases are one bias here (their sum).
//! - GRU gate blocks are `r, z, n` in PyTorch and `z, r, n` here; both biases stay (the reset gate
//!   multiplies the recurrent one), both apply reset after the recurrent product.
//! - The head `[3, H]` becomes `[H, 3]`; its rows are the classes long, short, neutral.
//!
//! Everything is checked before anything is written: the description's format, the weights'
//! SHA-256, every tensor's presence, dtype, shape and finiteness, no tensor left over (a reverse
//! direction or a projection are named), and the feature names against the feature engine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::architecture::Architecture;
use super::artifact::{Artifact, ArtifactError};
use super::classification::{Baselines, Metrics};
use super::decide::DecisionConfig;
use super::digest::sha256_hex;
use super::labels::LabelSpec;
use super::metadata::{FORMAT_VERSION, ModelIdentity, ModelMetadata, Provenance};
use super::mode::ModelMode;
use super::scaler::Scaler;
use super::side::NUM_CLASSES;
use super::split::Split;
use super::train::{NetworkSettings, TrainReport, TrainSettings};

mod layout;
use layout::{map_network, read_tensors};

/// The `format` of a description `python/torch_export` writes.
pub const EXPORT_FORMAT: &str = "signal-worker-torch-export";
/// The description layout this build reads.
pub const EXPORT_FORMAT_VERSION: u32 = 1;
/// The description's file name in an export directory.
pub const DESCRIPTION_FILE: &str = "model.json";

/// Why an export cannot be imported. Each names what to fix; nothing is written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The description is not an export of this format.
    #[error("{path}: not a torch export description: {reason}")]
    Description {
        /// The description file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The weights file is not what the description says.
    #[error("the weights' SHA-256 is {actual}, the description says {expected}")]
    WeightsHash {
        /// From the description.
        expected: String,
        /// Of the file.
        actual: String,
    },
    /// The weights file is not safetensors.
    #[error("the weights are not a safetensors file: {0}")]
    Safetensors(String),
    /// A feature the engine does not compute.
    #[error("unknown feature {0:?}: the feature engine does not compute it")]
    UnknownFeature(String),
    /// A tensor the layout needs is absent.
    #[error("tensor {0} is missing")]
    Missing(String),
    /// Tensors the layout does not use.
    #[error("unexpected tensors {names:?}{hint}")]
    Extra {
        /// Their names.
        names: Vec<String>,
        /// What they suggest (a bidirectional or projection network).
        hint: &'static str,
    },
    /// A tensor of another shape.
    #[error("tensor {name} has shape {found:?}, expected {expected:?}")]
    Shape {
        /// The tensor.
        name: String,
        /// The layout's shape.
        expected: Vec<usize>,
        /// The file's.
        found: Vec<usize>,
    },
    /// A tensor not stored as float32.
    #[error("tensor {name} is {dtype}, only F32 is imported")]
    Dtype {
        /// The tensor.
        name: String,
        /// Its dtype.
        dtype: String,
    },
    /// A NaN or infinite weight.
    #[error("tensor {0} holds a NaN or infinite value")]
    NonFinite(String),
    /// Sealing the artifact failed.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
}

/// The weights entry of a description.
#[derive(Debug, Clone, Deserialize)]
struct WeightsEntry {
    file: String,
    sha256: String,
}

/// What `python/torch_export` writes next to the weights (unknown keys are ignored: the file
/// also carries shapes and class order for people).
#[derive(Debug, Clone, Deserialize)]
struct Description {
    format: String,
    format_version: u32,
    architecture: Architecture,
    feature_names: Vec<String>,
    scaler: Scaler,
    labels: LabelSpec,
    weights: WeightsEntry,
    #[serde(default)]
    provenance: BTreeMap<String, serde_json::Value>,
}

/// Where an imported model came from, recorded in its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Imported {
    /// The description's format.
    pub format: String,
    /// The weights file as given (its name).
    pub weights_file: String,
    /// SHA-256 of the weights file.
    pub weights_file_sha256: String,
    /// SHA-256 of the description file.
    pub description_sha256: String,
    /// The exporter's own provenance (torch version, script), as it wrote it.
    pub exporter: BTreeMap<String, serde_json::Value>,
}

/// The tensors of a safetensors file: shape and values.
type Tensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// Reads, checks and maps the export in `src` (a directory holding the description and its
/// weights) into a sealed artifact named by `identity`; `known_features` are the feature
/// engine's names.
pub fn import(
    src: &Path,
    identity: ModelIdentity,
    decision: DecisionConfig,
    known_features: &[&str],
    device: &Device,
) -> Result<Artifact, ImportError> {
    let description_path = src.join(DESCRIPTION_FILE);
    let description_bytes = read(&description_path)?;
    let invalid = |reason: String| ImportError::Description {
        path: description_path.clone(),
        reason,
    };
    let description: Description =
        serde_json::from_slice(&description_bytes).map_err(|e| invalid(e.to_string()))?;
    if description.format != EXPORT_FORMAT || description.format_version != EXPORT_FORMAT_VERSION {
        return Err(invalid(format!(
            "format {:?} v{}, expected {EXPORT_FORMAT:?} v{EXPORT_FORMAT_VERSION}",
            description.format, description.format_version
        )));
    }
    let architecture = description.architecture;
    architecture
        .validate()
        .map_err(|e| invalid(e.to_string()))?;
    if architecture.inputs != description.feature_names.len() {
        return Err(invalid(format!(
            "{} inputs but {} feature names",
            architecture.inputs,
            description.feature_names.len()
        )));
    }
    if let Some(unknown) = description
        .feature_names
        .iter()
        .find(|name| !known_features.contains(&name.as_str()))
    {
        return Err(ImportError::UnknownFeature(unknown.clone()));
    }
    description
        .scaler
        .validate(architecture.inputs)
        .map_err(|e| invalid(e.to_string()))?;
    description
        .labels
        .validate()
        .map_err(|e| invalid(e.to_string()))?;
    // A bare file name: the description cannot point outside its directory.
    let file = &description.weights.file;
    if file.is_empty() || file.contains(['/', '\\']) || file == "." || file == ".." {
        return Err(invalid(format!("weights file {file:?} is not a file name")));
    }
    let weights_bytes = read(&src.join(file))?;
    let weights_sha256 = sha256_hex(&weights_bytes);
    if weights_sha256 != description.weights.sha256 {
        return Err(ImportError::WeightsHash {
            expected: description.weights.sha256.clone(),
            actual: weights_sha256,
        });
    }
    let mut tensors = read_tensors(&weights_bytes)?;
    let network = map_network(&architecture, &mut tensors, device)?;
    if !tensors.is_empty() {
        let names: Vec<String> = tensors.keys().cloned().collect();
        let hint = if names.iter().any(|n| n.contains("_reverse")) {
            ": a bidirectional network (only unidirectional ones are imported)"
        } else if names.iter().any(|n| n.contains("weight_hr")) {
            ": an LSTM with a projection (proj_size > 0 is not imported)"
        } else {
            ""
        };
        return Err(ImportError::Extra { names, hint });
    }
    let metadata = ModelMetadata {
        format_version: FORMAT_VERSION,
        name: identity.name,
        version: identity.version,
        created_at: identity.created_at,
        architecture,
        mode: ModelMode::Windowed,
        feature_names: description.feature_names.clone(),
        scaler: description.scaler.clone(),
        labels: description.labels,
        decision,
        provenance: provenance(&description, &description_bytes, weights_sha256),
        weights_sha256: String::new(),
        metadata_sha256: String::new(),
    };
    Ok(Artifact::seal(metadata, network)?)
}

fn read(path: &Path) -> Result<Vec<u8>, ImportError> {
    std::fs::read(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// An imported model's provenance: where it came from, and no training report (it was not
/// trained here: `model evaluate` measures it, and its training prior is uniform).
fn provenance(description: &Description, description_bytes: &[u8], weights: String) -> Provenance {
    let architecture = description.architecture;
    let empty = Metrics {
        samples: 0,
        accuracy: 0.0,
        log_loss: 0.0,
        confusion: [[0; NUM_CLASSES]; NUM_CLASSES],
        ece: None,
    };
    let settings = TrainSettings {
        labels: description.labels,
        network: NetworkSettings {
            kind: architecture.kind,
            layers: architecture.layers,
            hidden: architecture.hidden,
            sequence_length: architecture.sequence_length,
            dropout: 0.0,
        },
        ..TrainSettings::default()
    };
    Provenance {
        source_sha256: weights.clone(),
        rows: 0,
        split: Split {
            train: 0..0,
            validation: 0..0,
            test: 0..0,
            sequence_length: architecture.sequence_length,
            horizon: description.labels.horizon,
        },
        split_open_times: [[0; 2]; 3],
        settings,
        report: TrainReport {
            epochs_run: 0,
            best_epoch: 0,
            stopped_early: false,
            best_validation_loss: 0.0,
            history: Vec::new(),
            samples: [0; 3],
            class_counts: [[0; NUM_CLASSES]; 3],
            test: empty.clone(),
            baselines: Baselines {
                always_neutral: empty.clone(),
                previous_return_sign: empty,
            },
            beats_baselines_on_log_loss: false,
        },
        series: Vec::new(),
        imported: Some(Imported {
            format: description.format.clone(),
            weights_file_sha256: weights,
            weights_file: description.weights.file.clone(),
            description_sha256: sha256_hex(description_bytes),
            exporter: description.provenance.clone(),
        }),
    }
}
