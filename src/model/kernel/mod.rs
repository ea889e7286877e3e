//! The fused inference kernel: the trained burn network's weights run by plain loops over a
//! register-tiled matrix product.
//!
//! Why next to burn rather than inside it: a recurrent step of a small network is a handful of
//! tiny matrix products and element-wise passes. Through the tensor API each is an operation with
//! its own allocation, shape checks and dispatch, and that overhead, not arithmetic, bounds
//! inference (issue 7 measured burn at ~3,000 windows/s where onnxruntime does ~20,000). Here the
//! same arithmetic runs on buffers owned by a [`Scratch`] and reused across calls: one input
//! projection for the whole window (one matrix product), one recurrent product per step that accumulates
//! into it, and one vectorised pass for the gate activations and state update per step.
//!
//! burn stays the training engine and the reference: [`FusedNetwork::from_network`] reads the
//! weights of a loaded [`Network`], and tests hold the two within 1e-5 (and against
//! `burn::nn::Lstm`/`Gru` through the layer tests).
//!
//! Two entry points: [`FusedNetwork::forward_windows`] scores whole windows (the classic model),
//! [`FusedNetwork::step`] advances per-series recurrent states by one candle (the streaming model).

mod activation;
mod cells;
mod fma;
mod matmul;

use burn::tensor::Tensor;

use super::architecture::{Architecture, Kind};
use super::network::{Network, Recurrent};
use super::side::NUM_CLASSES;
use activation::softmax;
use cells::{gru_update, lstm_update};
use matmul::{fill_rows, matmul, reset};

/// Why the kernel cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KernelError {
    /// A buffer does not have the length its shape requires (a caller bug, reported rather than
    /// panicking).
    #[error("{what}: expected {expected} values, found {found}")]
    Shape {
        /// Which buffer or product.
        what: &'static str,
        /// Values expected.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// The weights could not be read out of the burn network.
    #[error("reading weights from the network failed: {0}")]
    Weights(String),
}

/// One recurrent layer's weights, row-major, gate blocks in the burn layer's order.
#[derive(Debug, Clone)]
struct FusedLayer {
    inputs: usize,
    /// `[inputs, gates * hidden]`.
    input_weight: Vec<f32>,
    /// `[hidden, gates * hidden]`.
    hidden_weight: Vec<f32>,
    /// `[gates * hidden]`: the LSTM's single bias, or the GRU's input bias.
    input_bias: Vec<f32>,
    /// `[gates * hidden]`: the GRU's recurrent bias (empty for an LSTM).
    hidden_bias: Vec<f32>,
}

/// Reusable buffers for [`FusedNetwork`] calls: sized on first use, then only reused, so a
/// steady stream of batches allocates nothing.
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    /// The layer input sequence written by the previous layer, time-major.
    sequence: Vec<f32>,
    /// The input projection of the whole sequence (+ bias), time-major.
    projected: Vec<f32>,
    /// GRU only: `h · W_h + b_h` of the current step.
    recurrent: Vec<f32>,
    /// Hidden state of the current layer, `[batch, hidden]`.
    hidden: Vec<f32>,
    /// LSTM cell state of the current layer, `[batch, hidden]`.
    cell: Vec<f32>,
    /// Class logits, `[batch, classes]`.
    logits: Vec<f32>,
}

/// A network ready for the fused kernel (see the module documentation).
#[derive(Debug, Clone)]
pub struct FusedNetwork {
    kind: Kind,
    hidden: usize,
    inputs: usize,
    layers: Vec<FusedLayer>,
    /// `[hidden, classes]`.
    head_weight: Vec<f32>,
    head_bias: [f32; NUM_CLASSES],
}

fn values<const D: usize>(tensor: Tensor<D>, what: &'static str) -> Result<Vec<f32>, KernelError> {
    tensor
        .try_into_data()
        .map_err(|e| KernelError::Weights(format!("{what}: {e}")))?
        .try_into_vec::<f32>()
        .map_err(|e| KernelError::Weights(format!("{what}: {e:?}")))
}

fn check_len(what: &'static str, data: &[f32], expected: usize) -> Result<(), KernelError> {
    if data.len() == expected {
        Ok(())
    } else {
        Err(KernelError::Shape {
            what,
            expected,
            found: data.len(),
        })
    }
}

impl FusedNetwork {
    /// Copies the weights of `network` (whose shape `architecture` describes) out of burn.
    pub fn from_network(
        network: &Network,
        architecture: &Architecture,
    ) -> Result<Self, KernelError> {
        let hidden = architecture.hidden;
        let gates = gates_of(architecture.kind);
        let mut layers = Vec::with_capacity(network.layers.len());
        for (i, layer) in network.layers.iter().enumerate() {
            let inputs = if i == 0 { architecture.inputs } else { hidden };
            let layer = match (layer, architecture.kind) {
                (Recurrent::Lstm(l), Kind::Lstm) => FusedLayer {
                    inputs,
                    input_weight: values(l.input_weight.val(), "lstm input weight")?,
                    hidden_weight: values(l.hidden_weight.val(), "lstm hidden weight")?,
                    input_bias: values(l.bias.val(), "lstm bias")?,
                    hidden_bias: Vec::new(),
                },
                (Recurrent::Gru(l), Kind::Gru) => FusedLayer {
                    inputs,
                    input_weight: values(l.input_weight.val(), "gru input weight")?,
                    hidden_weight: values(l.hidden_weight.val(), "gru hidden weight")?,
                    input_bias: values(l.input_bias.val(), "gru input bias")?,
                    hidden_bias: values(l.hidden_bias.val(), "gru hidden bias")?,
                },
                _ => {
                    return Err(KernelError::Weights(format!(
                        "layer {i} is not of the architecture's kind {}",
                        architecture.kind
                    )));
                }
            };
            check_len("input weight", &layer.input_weight, inputs * gates * hidden)?;
            check_len(
                "hidden weight",
                &layer.hidden_weight,
                hidden * gates * hidden,
            )?;
            check_len("bias", &layer.input_bias, gates * hidden)?;
            if architecture.kind == Kind::Gru {
                check_len("hidden bias", &layer.hidden_bias, gates * hidden)?;
            }
            layers.push(layer);
        }
        if layers.len() != architecture.layers {
            return Err(KernelError::Weights(format!(
                "{} layers, architecture says {}",
                layers.len(),
                architecture.layers
            )));
        }
        let head_weight = values(network.head_weight.val(), "head weight")?;
        check_len("head weight", &head_weight, hidden * NUM_CLASSES)?;
        let bias = values(network.head_bias.val(), "head bias")?;
        let head_bias: [f32; NUM_CLASSES] =
            bias.as_slice().try_into().map_err(|_| KernelError::Shape {
                what: "head bias",
                expected: NUM_CLASSES,
                found: bias.len(),
            })?;
        Ok(Self {
            kind: architecture.kind,
            hidden,
            inputs: architecture.inputs,
            layers,
            head_weight,
            head_bias,
        })
    }

    /// Values of recurrent state per sample: `h` and `c` of every LSTM layer, `h` of every GRU
    /// layer.
    pub fn state_len(&self) -> usize {
        let per_layer = match self.kind {
            Kind::Lstm => 2 * self.hidden,
            Kind::Gru => self.hidden,
        };
        per_layer * self.layers.len()
    }

    /// Class probabilities of `batch` windows of `steps` steps.
    ///
    /// `input` is scaled and time-major, `[steps * batch, inputs]` (row `t * batch + b` is step
    /// `t` of window `b`), as [`super::time_major`] builds it. One `[long, short, neutral]` row per
    /// window is appended to `out`.
    pub fn forward_windows(
        &self,
        input: &[f32],
        batch: usize,
        steps: usize,
        scratch: &mut Scratch,
        out: &mut Vec<[f32; NUM_CLASSES]>,
    ) -> Result<(), KernelError> {
        check_len("window batch", input, steps * batch * self.inputs)?;
        let (hidden, gates) = (self.hidden, gates_of(self.kind));
        let width = gates * hidden;
        let count = self.layers.len();
        for (index, layer) in self.layers.iter().enumerate() {
            let keep_sequence = index + 1 < count;
            let Scratch {
                sequence,
                projected,
                recurrent,
                hidden: h,
                cell,
                ..
            } = scratch;
            // Input projection of every step at once, on top of the bias.
            let layer_input: &[f32] = if index == 0 { input } else { sequence };
            fill_rows(projected, &layer.input_bias, steps * batch);
            matmul(
                projected,
                layer_input,
                &layer.input_weight,
                [steps * batch, layer.inputs, width],
                true,
            )?;
            reset(h, batch * hidden);
            reset(cell, batch * hidden);
            // The next layer's input replaces this layer's: reuse the buffer once read.
            let mut next_sequence = std::mem::take(sequence);
            if keep_sequence {
                next_sequence.clear();
                next_sequence.resize(steps * batch * hidden, 0.0);
            }
            for t in 0..steps {
                let step = &mut projected[t * batch * width..(t + 1) * batch * width];
                match self.kind {
                    Kind::Lstm => {
                        if t > 0 {
                            matmul(step, h, &layer.hidden_weight, [batch, hidden, width], true)?;
                        }
                        lstm_update(step, cell, h, hidden);
                    }
                    Kind::Gru => {
                        fill_rows(recurrent, &layer.hidden_bias, batch);
                        if t > 0 {
                            matmul(
                                recurrent,
                                h,
                                &layer.hidden_weight,
                                [batch, hidden, width],
                                true,
                            )?;
                        }
                        gru_update(step, recurrent, h, hidden);
                    }
                }
                if keep_sequence {
                    next_sequence[t * batch * hidden..(t + 1) * batch * hidden].copy_from_slice(h);
                }
            }
            *sequence = next_sequence;
        }
        self.head(batch, scratch, out)
    }

    /// Advances `batch` recurrent states by one step and appends each sample's class
    /// probabilities after the step to `out`.
    ///
    /// `input` is `[batch, inputs]` scaled feature vectors; `state` is `[batch, state_len()]`,
    /// each row laid out layer by layer as `h` then (LSTM) `c`, read and overwritten in place.
    /// A zero row is the initial state.
    pub fn step(
        &self,
        input: &[f32],
        state: &mut [f32],
        batch: usize,
        scratch: &mut Scratch,
        out: &mut Vec<[f32; NUM_CLASSES]>,
    ) -> Result<(), KernelError> {
        check_len("step input", input, batch * self.inputs)?;
        let state_len = self.state_len();
        check_len("step state", state, batch * state_len)?;
        let (hidden, gates) = (self.hidden, gates_of(self.kind));
        let width = gates * hidden;
        let per_layer = state_len / self.layers.len().max(1);
        for (index, layer) in self.layers.iter().enumerate() {
            let Scratch {
                sequence,
                projected,
                recurrent,
                hidden: h,
                cell,
                ..
            } = scratch;
            // Gather this layer's state of every sample into contiguous [batch, hidden] blocks.
            h.clear();
            cell.clear();
            for row in state.chunks_exact(state_len) {
                let layer_state = &row[index * per_layer..(index + 1) * per_layer];
                h.extend_from_slice(&layer_state[..hidden]);
                if self.kind == Kind::Lstm {
                    cell.extend_from_slice(&layer_state[hidden..]);
                }
            }
            let layer_input: &[f32] = if index == 0 { input } else { sequence };
            fill_rows(projected, &layer.input_bias, batch);
            matmul(
                projected,
                layer_input,
                &layer.input_weight,
                [batch, layer.inputs, width],
                true,
            )?;
            match self.kind {
                Kind::Lstm => {
                    matmul(
                        projected,
                        h,
                        &layer.hidden_weight,
                        [batch, hidden, width],
                        true,
                    )?;
                    lstm_update(projected, cell, h, hidden);
                }
                Kind::Gru => {
                    fill_rows(recurrent, &layer.hidden_bias, batch);
                    matmul(
                        recurrent,
                        h,
                        &layer.hidden_weight,
                        [batch, hidden, width],
                        true,
                    )?;
                    gru_update(projected, recurrent, h, hidden);
                }
            }
            // Scatter the new state back and hand h to the next layer.
            for (b, row) in state.chunks_exact_mut(state_len).enumerate() {
                let layer_state = &mut row[index * per_layer..(index + 1) * per_layer];
                layer_state[..hidden].copy_from_slice(&h[b * hidden..(b + 1) * hidden]);
                if self.kind == Kind::Lstm {
                    layer_state[hidden..].copy_from_slice(&cell[b * hidden..(b + 1) * hidden]);
                }
            }
            sequence.clear();
            sequence.extend_from_slice(h);
        }
        self.head(batch, scratch, out)
    }

    /// Head and softmax on the last layer's hidden state in `scratch.hidden`.
    fn head(
        &self,
        batch: usize,
        scratch: &mut Scratch,
        out: &mut Vec<[f32; NUM_CLASSES]>,
    ) -> Result<(), KernelError> {
        let Scratch { hidden, logits, .. } = scratch;
        fill_rows(logits, &self.head_bias, batch);
        matmul(
            logits,
            &hidden[..batch * self.hidden],
            &self.head_weight,
            [batch, self.hidden, NUM_CLASSES],
            true,
        )?;
        out.extend(logits.chunks_exact(NUM_CLASSES).map(softmax));
        Ok(())
    }
}

/// Number of gate blocks of a cell kind.
fn gates_of(kind: Kind) -> usize {
    match kind {
        Kind::Lstm => super::lstm::LSTM_GATES,
        Kind::Gru => super::gru::GRU_GATES,
    }
}
