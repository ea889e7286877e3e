//! Batched inference on raw feature values.
//!
//! [`Predictor`] is the one place where live inputs are checked (shape, finiteness) and scaled
//! with the model's own scaler before the network sees them; every caller (serve, replay, demo,
//! bench) goes through it, so none can skip a step. Windowed models are scored with
//! [`Predictor::predict`], streaming models advanced with [`Predictor::step`].
//!
//! The weights are shared ([`LoadedModel`] behind an `Arc`); a predictor adds only its own
//! buffers, so every intake running one model holds one copy of it.
//!
//! Both cores when it pays: a batch of at least [`PARALLEL_MIN_BATCH`] samples is cut into one
//! contiguous chunk per rayon thread (`RAYON_NUM_THREADS`, default one per core), each chunk with
//! its own reusable buffers; results come back in input order.

use std::path::Path;
use std::sync::Arc;

use burn::tensor::{Tensor, TensorData};

use super::architecture::Architecture;
use super::artifact::{Artifact, ArtifactError};
use super::backend::BackendKind;
use super::engine::InferenceEngine;
use super::kernel::KernelError;
use super::loaded::LoadedModel;
use super::metadata::ModelMetadata;
use super::mode::ModelMode;
use super::network::{Network, ReadbackError};
use super::side::NUM_CLASSES;
use super::stateful::{states_from_rows, states_into_rows};
use super::time_major::batch_to_time_major;

mod lanes;
use lanes::{Lane, lane_share, run_lanes, run_lanes_with};

/// Smallest batch split across threads: below it one core finishes before a second is woken
/// (measured by `benches/inference.rs`).
pub const PARALLEL_MIN_BATCH: usize = 64;

/// Why a batch cannot be scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InferenceError {
    /// A batch of zero windows.
    #[error("empty batch")]
    EmptyBatch,
    /// The slice does not hold `batch` inputs of the model's shape.
    #[error(
        "expected {batch} inputs x {sequence_length} steps x {inputs} features = {expected} values, got {found}"
    )]
    Shape {
        /// Inputs announced.
        batch: usize,
        /// Steps per input (1 for a streaming step).
        sequence_length: usize,
        /// Features per step of the model.
        inputs: usize,
        /// Values expected.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// A NaN or infinite feature value.
    #[error("non-finite value {value} in input {window}, step {step}, feature {feature}")]
    NonFinite {
        /// Input index in the batch.
        window: usize,
        /// Step within the window.
        step: usize,
        /// Feature index.
        feature: usize,
        /// The value.
        value: f32,
    },
    /// The call does not fit the model's mode (a window for a streaming model or vice versa).
    #[error("the model is {model}; this call needs a {needed} model")]
    WrongMode {
        /// The model's mode.
        model: &'static str,
        /// The mode the call needs.
        needed: &'static str,
    },
    /// The backend failed to return the result.
    #[error(transparent)]
    Readback(#[from] ReadbackError),
    /// The fused kernel refused its buffers.
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

/// A loaded model ready to score: the shared model and this caller's own buffers, reused by
/// every steady-state call.
#[derive(Debug)]
pub struct Predictor {
    model: Arc<LoadedModel>,
    lanes: Vec<Lane>,
}

impl Predictor {
    /// A predictor over a verified artifact, computing with `engine` (burn on `backend`, or the
    /// fused kernel over the same weights).
    pub fn new(
        artifact: Artifact,
        backend: BackendKind,
        engine: InferenceEngine,
    ) -> Result<Self, KernelError> {
        Ok(Self::sharing(Arc::new(LoadedModel::new(
            artifact, backend, engine,
        )?)))
    }

    /// A predictor over a model already loaded (by this process, for another intake): the
    /// weights are shared, the buffers are its own.
    pub fn sharing(model: Arc<LoadedModel>) -> Self {
        Self {
            model,
            lanes: vec![Lane::default(); rayon::current_num_threads().max(1)],
        }
    }

    /// The shared model, to hand to another predictor ([`Predictor::sharing`]).
    pub fn model(&self) -> &Arc<LoadedModel> {
        &self.model
    }

    /// Load, verify (see [`Artifact::load`]) and wrap the model in `dir`, on the fused engine.
    pub fn load(
        dir: &Path,
        known_features: &[&str],
        backend: BackendKind,
    ) -> Result<Self, ArtifactError> {
        Self::load_with(dir, known_features, backend, InferenceEngine::Fused)
    }

    /// [`Predictor::load`] with an explicit engine.
    pub fn load_with(
        dir: &Path,
        known_features: &[&str],
        backend: BackendKind,
        engine: InferenceEngine,
    ) -> Result<Self, ArtifactError> {
        let model = LoadedModel::load(dir, known_features, backend, engine)?;
        Ok(Self::sharing(Arc::new(model)))
    }

    /// The model's metadata (features, thresholds, provenance).
    pub fn metadata(&self) -> &ModelMetadata {
        &self.model.metadata
    }

    /// The network shape: windows are `sequence_length x inputs`.
    pub fn architecture(&self) -> &Architecture {
        &self.model.architecture
    }

    /// Windowed or streaming.
    pub fn mode(&self) -> ModelMode {
        self.model.metadata.mode
    }

    /// The engine computing the network.
    pub fn engine(&self) -> InferenceEngine {
        self.model.engine
    }

    /// Recurrent state values per series of a streaming model (see [`Predictor::step`]).
    pub fn state_len(&self) -> usize {
        self.model.fused.state_len()
    }

    /// Score `batch` windows of a windowed model.
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
        let model = &*self.model;
        if !model.metadata.mode.is_windowed() {
            return Err(InferenceError::WrongMode {
                model: model.metadata.mode.name(),
                needed: "windowed",
            });
        }
        let steps = model.architecture.sequence_length;
        self.check(windows, batch, steps)?;
        let inputs = model.architecture.inputs;
        let scaler = &model.scaler;
        match model.engine {
            InferenceEngine::Fused => {
                let fused = &model.fused;
                run_lanes(&mut self.lanes, batch, out, |lane, first, count| {
                    let values = &windows[first * steps * inputs..(first + count) * steps * inputs];
                    batch_to_time_major(
                        values,
                        count,
                        steps,
                        inputs,
                        &mut lane.input,
                        |row, out| scaler.extend_scaled_bounded(row, out),
                    );
                    fused.forward_windows(
                        &lane.input,
                        count,
                        steps,
                        &mut lane.scratch,
                        &mut lane.out,
                    )
                })
            }
            InferenceEngine::Burn => {
                let lane = self.lanes.first_mut().ok_or(InferenceError::EmptyBatch)?;
                batch_to_time_major(
                    windows,
                    batch,
                    steps,
                    inputs,
                    &mut lane.input,
                    |row, out| scaler.extend_scaled_bounded(row, out),
                );
                // burn takes ownership of the input buffer; copying it keeps the lane's capacity.
                let input = Tensor::<2>::from_data(
                    TensorData::new(lane.input.clone(), [steps * batch, inputs]),
                    &model.device,
                );
                model.network.probabilities(input, batch, steps, out)?;
                Ok(())
            }
        }
    }

    /// Advance `batch` series of a streaming model by one candle each.
    ///
    /// `inputs` is `batch x inputs` raw feature vectors; `states` is `batch x state_len()`
    /// recurrent states (zeros for a series that starts), updated in place. `out` is cleared and
    /// receives each series' probabilities after its step.
    pub fn step(
        &mut self,
        inputs: &[f32],
        states: &mut [f32],
        batch: usize,
        out: &mut Vec<[f32; NUM_CLASSES]>,
    ) -> Result<(), InferenceError> {
        out.clear();
        let model = &*self.model;
        if model.metadata.mode.is_windowed() {
            return Err(InferenceError::WrongMode {
                model: "windowed",
                needed: "streaming",
            });
        }
        self.check(inputs, batch, 1)?;
        let width = model.architecture.inputs;
        let state_len = self.state_len();
        if states.len() != batch * state_len {
            return Err(KernelError::Shape {
                what: "step states",
                expected: batch * state_len,
                found: states.len(),
            }
            .into());
        }
        let scaler = &model.scaler;
        let scale_into = |lane: &mut Lane, values: &[f32]| {
            lane.input.clear();
            for row in values.chunks_exact(width) {
                scaler.extend_scaled_bounded(row, &mut lane.input);
            }
        };
        match model.engine {
            InferenceEngine::Fused => {
                let fused = &model.fused;
                // Each lane owns a disjoint run of states; hand them out before going parallel.
                let per_lane = lane_share(batch, self.lanes.len());
                let mut state_chunks: Vec<&mut [f32]> =
                    states.chunks_mut(per_lane * state_len).collect();
                run_lanes_with(
                    &mut self.lanes,
                    &mut state_chunks,
                    batch,
                    out,
                    |lane, state, first, count| {
                        scale_into(lane, &inputs[first * width..(first + count) * width]);
                        fused.step(&lane.input, state, count, &mut lane.scratch, &mut lane.out)
                    },
                )
            }
            InferenceEngine::Burn => {
                let lane = self.lanes.first_mut().ok_or(InferenceError::EmptyBatch)?;
                scale_into(lane, inputs);
                let hidden = model.architecture.hidden;
                let initial =
                    states_from_rows(&model.network, states, batch, hidden, &model.device)?;
                let input = Tensor::<2>::from_data(
                    TensorData::new(lane.input.clone(), [batch, width]),
                    &model.device,
                );
                let (logits, finals) =
                    model
                        .network
                        .forward_stateful(input, batch, 1, Some(initial), None);
                states_into_rows(finals, states, batch, hidden)?;
                Network::read_probabilities(logits, out)?;
                Ok(())
            }
        }
    }

    /// Shape and finiteness of `batch` inputs of `steps` steps.
    fn check(&self, values: &[f32], batch: usize, steps: usize) -> Result<(), InferenceError> {
        let inputs = self.model.architecture.inputs;
        if batch == 0 {
            return Err(InferenceError::EmptyBatch);
        }
        let expected = batch * steps * inputs;
        if values.len() != expected {
            return Err(InferenceError::Shape {
                batch,
                sequence_length: steps,
                inputs,
                expected,
                found: values.len(),
            });
        }
        if let Some((i, value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(InferenceError::NonFinite {
                window: i / (steps * inputs),
                step: (i / inputs) % steps,
                feature: i % inputs,
                value: *value,
            });
        }
        Ok(())
    }
}
