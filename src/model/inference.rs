//! Batched inference on raw feature windows.
//!
//! [`Predictor::predict`] is the one place where live windows are checked (shape, finiteness) and
//! scaled with the model's own scaler before the network sees them; every caller (serve, replay,
//! demo, bench) goes through it, so none can skip a step.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};

use super::architecture::Architecture;
use super::artifact::{Artifact, ArtifactError};
use super::backend::BackendKind;
use super::metadata::ModelMetadata;
use super::network::{Network, ReadbackError};
use super::scaler::Scaler;
use super::side::NUM_CLASSES;
use super::windows::batch_to_time_major;

/// Why a batch cannot be scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InferenceError {
    /// A batch of zero windows.
    #[error("empty batch")]
    EmptyBatch,
    /// The slice does not hold `batch` windows of the model's shape.
    #[error(
        "expected {batch} windows x {sequence_length} steps x {inputs} features = {expected} values, got {found}"
    )]
    Shape {
        /// Windows announced.
        batch: usize,
        /// Steps per window of the model.
        sequence_length: usize,
        /// Features per step of the model.
        inputs: usize,
        /// Values expected.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// A NaN or infinite feature value.
    #[error("non-finite value {value} in window {window}, step {step}, feature {feature}")]
    NonFinite {
        /// Window index in the batch.
        window: usize,
        /// Step within the window.
        step: usize,
        /// Feature index.
        feature: usize,
        /// The value.
        value: f32,
    },
    /// The backend failed to return the result.
    #[error(transparent)]
    Readback(#[from] ReadbackError),
}

/// A loaded model ready to score windows; owns its scratch buffer so steady-state calls reuse it.
#[derive(Debug)]
pub struct Predictor {
    network: Network,
    scaler: Scaler,
    architecture: Architecture,
    metadata: ModelMetadata,
    device: Device,
    scratch: Vec<f32>,
}

impl Predictor {
    /// A predictor over a verified artifact, computing on `backend`.
    pub fn new(artifact: Artifact, backend: BackendKind) -> Self {
        let device = backend.device();
        let network = artifact.network.clone();
        let network = burn::module::Module::to_device(network, &device);
        Self {
            scaler: artifact.metadata.scaler.clone(),
            architecture: artifact.metadata.architecture,
            metadata: artifact.metadata,
            network,
            device,
            scratch: Vec::new(),
        }
    }

    /// Load, verify (see [`Artifact::load`]) and wrap the model in `dir`.
    pub fn load(
        dir: &Path,
        known_features: &[&str],
        backend: BackendKind,
    ) -> Result<Self, ArtifactError> {
        Ok(Self::new(
            Artifact::load(dir, known_features, backend)?,
            backend,
        ))
    }

    /// The model's metadata (features, thresholds, provenance).
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// The network shape: windows are `sequence_length x inputs`.
    pub fn architecture(&self) -> &Architecture {
        &self.architecture
    }

    /// Score `batch` windows.
    ///
    /// `windows` is `batch x sequence_length x inputs` raw (unscaled) feature values, row-major:
    /// window-major, then step (oldest first), then feature in `feature_names` order. `out` is
    /// cleared and receives one `[long, short, neutral]` probability row per window.
    pub fn predict(
        &mut self,
        windows: &[f32],
        batch: usize,
        out: &mut Vec<[f32; NUM_CLASSES]>,
    ) -> Result<(), InferenceError> {
        out.clear();
        let steps = self.architecture.sequence_length;
        let inputs = self.architecture.inputs;
        if batch == 0 {
            return Err(InferenceError::EmptyBatch);
        }
        let expected = batch * steps * inputs;
        if windows.len() != expected {
            return Err(InferenceError::Shape {
                batch,
                sequence_length: steps,
                inputs,
                expected,
                found: windows.len(),
            });
        }
        if let Some((i, value)) = windows.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(InferenceError::NonFinite {
                window: i / (steps * inputs),
                step: (i / inputs) % steps,
                feature: i % inputs,
                value: *value,
            });
        }
        let scaler = &self.scaler;
        batch_to_time_major(windows, batch, steps, inputs, &mut self.scratch, |f, v| {
            scaler.scale(f, v)
        });
        // burn takes ownership of the input buffer; copying it keeps `scratch`'s capacity for
        // the next call.
        let input = Tensor::<2>::from_data(
            TensorData::new(self.scratch.clone(), [steps * batch, inputs]),
            &self.device,
        );
        self.network.probabilities(input, batch, steps, out)?;
        Ok(())
    }
}
