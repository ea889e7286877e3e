//! The network run over a stretch of history from a carried recurrent state: the form the
//! streaming model trains in (truncated backpropagation through time) and the burn reference of
//! the fused kernel's [`step`](super::kernel::FusedNetwork::step).

use burn::tensor::{Tensor, TensorData};

use super::kernel::KernelError;
use super::network::{Dropout, Network, Recurrent};

/// The recurrent state of one layer for a batch of samples, as burn tensors.
#[derive(Debug, Clone)]
// Both variants hold tensor handles (pointers to shared storage); boxing one saves nothing real.
#[allow(clippy::large_enum_variant)]
pub enum LayerState {
    /// LSTM hidden and cell state, each `[batch, hidden]`.
    Lstm(Tensor<2>, Tensor<2>),
    /// GRU hidden state, `[batch, hidden]`.
    Gru(Tensor<2>),
}

impl LayerState {
    /// The same state cut from the autodiff graph, so the next chunk of history does not
    /// backpropagate into this one (the "truncated" of truncated BPTT).
    pub fn detach(self) -> Self {
        match self {
            LayerState::Lstm(h, c) => LayerState::Lstm(h.detach(), c.detach()),
            LayerState::Gru(h) => LayerState::Gru(h.detach()),
        }
    }
}

impl Network {
    /// Logits of every step of a time-major stretch `[steps * batch, inputs]` (row `t * batch +
    /// b`), starting from `states` (one per layer; `None` = zero state), and the final states.
    /// The logits are time-major `[steps * batch, classes]`.
    pub fn forward_stateful(
        &self,
        input: Tensor<2>,
        batch: usize,
        steps: usize,
        states: Option<Vec<LayerState>>,
        mut dropout: Option<Dropout<'_>>,
    ) -> (Tensor<2>, Vec<LayerState>) {
        let mut initial = states.map(|s| s.into_iter());
        let mut sequence = input;
        let mut finals = Vec::with_capacity(self.layers.len());
        let count = self.layers.len();
        for (i, layer) in self.layers.iter().enumerate() {
            let start = initial.as_mut().and_then(|s| s.next());
            let (seq, state) = match (layer, start) {
                (Recurrent::Lstm(l), start) => {
                    let start = match start {
                        Some(LayerState::Lstm(h, c)) => Some((h, c)),
                        _ => None,
                    };
                    let (seq, state) = l.forward_from(sequence.clone(), batch, steps, start, true);
                    (seq, state.map(|(h, c)| LayerState::Lstm(h, c)))
                }
                (Recurrent::Gru(l), start) => {
                    let start = match start {
                        Some(LayerState::Gru(h)) => Some(h),
                        _ => None,
                    };
                    let (seq, state) = l.forward_from(sequence.clone(), batch, steps, start, true);
                    (seq, state.map(LayerState::Gru))
                }
            };
            if let Some(state) = state {
                finals.push(state);
            }
            if let Some(seq) = seq {
                sequence = match dropout.as_mut() {
                    Some(d) if d.probability > 0.0 && i + 1 < count => {
                        super::network::apply_dropout(seq, d)
                    }
                    _ => seq,
                };
            }
        }
        let logits =
            sequence.matmul(self.head_weight.val()) + self.head_bias.val().unsqueeze::<2>();
        (logits, finals)
    }
}

/// Converts flat per-sample state rows (the kernel's layout: per layer `h` then, for an LSTM,
/// `c`) into burn layer states on `device`.
pub fn states_from_rows(
    network: &Network,
    rows: &[f32],
    batch: usize,
    hidden: usize,
    device: &burn::tensor::Device,
) -> Result<Vec<LayerState>, KernelError> {
    let per_layer: usize = network
        .layers
        .iter()
        .map(|l| match l {
            Recurrent::Lstm(_) => 2 * hidden,
            Recurrent::Gru(_) => hidden,
        })
        .sum();
    if rows.len() != per_layer * batch {
        return Err(KernelError::Shape {
            what: "state rows",
            expected: per_layer * batch,
            found: rows.len(),
        });
    }
    let mut offset = 0;
    let block = |offset: usize| -> Tensor<2> {
        let values: Vec<f32> = rows
            .chunks_exact(per_layer)
            .flat_map(|row| row[offset..offset + hidden].iter().copied())
            .collect();
        Tensor::from_data(TensorData::new(values, [batch, hidden]), device)
    };
    let mut states = Vec::with_capacity(network.layers.len());
    for layer in &network.layers {
        match layer {
            Recurrent::Lstm(_) => {
                states.push(LayerState::Lstm(block(offset), block(offset + hidden)));
                offset += 2 * hidden;
            }
            Recurrent::Gru(_) => {
                states.push(LayerState::Gru(block(offset)));
                offset += hidden;
            }
        }
    }
    Ok(states)
}

/// The inverse of [`states_from_rows`]: writes burn layer states back into flat rows.
pub fn states_into_rows(
    states: Vec<LayerState>,
    rows: &mut [f32],
    batch: usize,
    hidden: usize,
) -> Result<(), KernelError> {
    let per_layer: usize = states
        .iter()
        .map(|s| match s {
            LayerState::Lstm(..) => 2 * hidden,
            LayerState::Gru(_) => hidden,
        })
        .sum();
    if rows.len() != per_layer * batch {
        return Err(KernelError::Shape {
            what: "state rows",
            expected: per_layer * batch,
            found: rows.len(),
        });
    }
    let read = |t: Tensor<2>| -> Result<Vec<f32>, KernelError> {
        t.try_into_data()
            .map_err(|e| KernelError::Weights(e.to_string()))?
            .try_into_vec::<f32>()
            .map_err(|e| KernelError::Weights(format!("{e:?}")))
    };
    let mut offset = 0;
    for state in states {
        let blocks = match state {
            LayerState::Lstm(h, c) => vec![read(h)?, read(c)?],
            LayerState::Gru(h) => vec![read(h)?],
        };
        for block in blocks {
            for (b, row) in rows.chunks_exact_mut(per_layer).enumerate() {
                row[offset..offset + hidden].copy_from_slice(&block[b * hidden..(b + 1) * hidden]);
            }
            offset += hidden;
        }
    }
    Ok(())
}
