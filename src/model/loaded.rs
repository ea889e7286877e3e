//! A verified model, immutable once loaded.
//!
//! Loading reads and hashes the weights, builds the burn network on its device and the fused
//! kernel beside it: the heavy part of a model, and the same for every intake that runs it. So
//! it lives apart from the per-caller scoring buffers ([`super::Predictor`]) and is shared by
//! `Arc`: a worker serving sixteen partitions with one model holds its weights once.

use std::path::Path;

use burn::tensor::Device;

use super::architecture::Architecture;
use super::artifact::{Artifact, ArtifactError, VerifiedFiles};
use super::backend::BackendKind;
use super::engine::InferenceEngine;
use super::kernel::{FusedNetwork, KernelError};
use super::metadata::ModelMetadata;
use super::network::Network;
use super::scaler::Scaler;

/// The read-only part of a model: network, fused kernel, scaler and sealed metadata, on the
/// device and engine it was loaded for.
#[derive(Debug)]
pub struct LoadedModel {
    pub(super) network: Network,
    pub(super) fused: FusedNetwork,
    pub(super) engine: InferenceEngine,
    pub(super) scaler: Scaler,
    pub(super) architecture: Architecture,
    pub(super) metadata: ModelMetadata,
    pub(super) device: Device,
}

impl LoadedModel {
    /// The model of a verified artifact, computing with `engine` (burn on `backend`, or the
    /// fused kernel over the same weights).
    pub fn new(
        artifact: Artifact,
        backend: BackendKind,
        engine: InferenceEngine,
    ) -> Result<Self, KernelError> {
        let device = backend.device();
        let network = burn::module::Module::to_device(artifact.network, &device);
        let fused = FusedNetwork::from_network(&network, &artifact.metadata.architecture)?;
        Ok(Self {
            scaler: artifact.metadata.scaler.clone(),
            architecture: artifact.metadata.architecture,
            metadata: artifact.metadata,
            network,
            fused,
            engine,
            device,
        })
    }

    /// Load and verify (see [`Artifact::load`]) the model in `dir`.
    pub fn load(
        dir: &Path,
        known_features: &[&str],
        backend: BackendKind,
        engine: InferenceEngine,
    ) -> Result<Self, ArtifactError> {
        Self::build(Artifact::verify(dir, known_features)?, backend, engine)
    }

    /// The model of files already verified (see [`Artifact::verify`]), built now.
    pub fn build(
        files: VerifiedFiles,
        backend: BackendKind,
        engine: InferenceEngine,
    ) -> Result<Self, ArtifactError> {
        let path = files.weights_path().to_path_buf();
        let artifact = Artifact::build(files, backend)?;
        Self::new(artifact, backend, engine).map_err(|e| ArtifactError::WeightsMismatch {
            path,
            reason: e.to_string(),
        })
    }

    /// The model's sealed metadata (features, thresholds, provenance, hashes).
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// The engine computing the network.
    pub fn engine(&self) -> InferenceEngine {
        self.engine
    }
}
