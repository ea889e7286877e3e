//! PyTorch's tensor layouts mapped onto the project's layers: weights transposed, gate blocks
//! reordered, LSTM biases summed (see the parent module for the rules), every tensor checked for
//! presence, shape and finiteness and none left over.

use super::{ImportError, Tensors};
use crate::model::architecture::{Architecture, Kind};
use crate::model::gru::{GRU_GATES, GruLayer};
use crate::model::lstm::{LSTM_GATES, LstmLayer};
use crate::model::network::{Network, ParamIds, Recurrent};
use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};

/// Every tensor of a safetensors file as float32 values.
pub(super) fn read_tensors(bytes: &[u8]) -> Result<Tensors, ImportError> {
    let file = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| ImportError::Safetensors(e.to_string()))?;
    let mut out = Tensors::new();
    for (name, view) in file.tensors() {
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(ImportError::Dtype {
                name,
                dtype: format!("{:?}", view.dtype()),
            });
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if values.iter().any(|v| !v.is_finite()) {
            return Err(ImportError::NonFinite(name));
        }
        out.insert(name, (view.shape().to_vec(), values));
    }
    Ok(out)
}

/// Takes tensor `name` of `shape` out of `tensors`.
fn take(tensors: &mut Tensors, name: &str, shape: &[usize]) -> Result<Vec<f32>, ImportError> {
    let (found, values) = tensors
        .remove(name)
        .ok_or_else(|| ImportError::Missing(name.to_owned()))?;
    if found != shape {
        return Err(ImportError::Shape {
            name: name.to_owned(),
            expected: shape.to_vec(),
            found,
        });
    }
    Ok(values)
}

/// PyTorch's `[blocks·H, cols]` (rows grouped in gate blocks) as the project's `[cols, blocks·H]`
/// with its blocks in `order` (`order[b]`: the PyTorch block that becomes block `b`).
fn transpose_blocks(values: &[f32], hidden: usize, cols: usize, order: &[usize]) -> Vec<f32> {
    let width = order.len() * hidden;
    let mut out = vec![0.0f32; cols * width];
    for (b, &from) in order.iter().enumerate() {
        for j in 0..hidden {
            let row = from * hidden + j;
            for c in 0..cols {
                out[c * width + b * hidden + j] = values[row * cols + c];
            }
        }
    }
    out
}

/// A bias's blocks in `order`.
fn reorder_blocks(values: &[f32], hidden: usize, order: &[usize]) -> Vec<f32> {
    order
        .iter()
        .flat_map(|&from| values[from * hidden..(from + 1) * hidden].iter().copied())
        .collect()
}

/// A parameter with the next deterministic id (the order `Network::seeded` creates them in, so
/// the weights file is a pure function of the weights).
fn param<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    ids: &mut ParamIds,
    device: &Device,
) -> Param<Tensor<D>> {
    let mut p = Param::from_data(TensorData::new(values, shape), device);
    p.id = ids.next_id();
    p
}

/// LSTM: PyTorch `i, f, g, o` → `i, f, o, g`. GRU: `r, z, n` → `z, r, n`.
const LSTM_ORDER: [usize; LSTM_GATES] = [0, 1, 3, 2];
const GRU_ORDER: [usize; GRU_GATES] = [1, 0, 2];

pub(super) fn map_network(
    architecture: &Architecture,
    tensors: &mut Tensors,
    device: &Device,
) -> Result<Network, ImportError> {
    let hidden = architecture.hidden;
    let mut ids = ParamIds::default();
    let mut layers = Vec::with_capacity(architecture.layers);
    for k in 0..architecture.layers {
        let inputs = if k == 0 { architecture.inputs } else { hidden };
        let (gates, order): (usize, &[usize]) = match architecture.kind {
            Kind::Lstm => (LSTM_GATES, &LSTM_ORDER),
            Kind::Gru => (GRU_GATES, &GRU_ORDER),
        };
        let width = gates * hidden;
        let w_ih = take(tensors, &format!("rnn.weight_ih_l{k}"), &[width, inputs])?;
        let w_hh = take(tensors, &format!("rnn.weight_hh_l{k}"), &[width, hidden])?;
        let b_ih = take(tensors, &format!("rnn.bias_ih_l{k}"), &[width])?;
        let b_hh = take(tensors, &format!("rnn.bias_hh_l{k}"), &[width])?;
        let input_weight = transpose_blocks(&w_ih, hidden, inputs, order);
        let hidden_weight = transpose_blocks(&w_hh, hidden, hidden, order);
        layers.push(match architecture.kind {
            Kind::Lstm => {
                let summed: Vec<f32> = b_ih.iter().zip(&b_hh).map(|(a, b)| a + b).collect();
                Recurrent::Lstm(LstmLayer {
                    input_weight: param(input_weight, [inputs, width], &mut ids, device),
                    hidden_weight: param(hidden_weight, [hidden, width], &mut ids, device),
                    bias: param(
                        reorder_blocks(&summed, hidden, order),
                        [width],
                        &mut ids,
                        device,
                    ),
                })
            }
            Kind::Gru => Recurrent::Gru(GruLayer {
                input_weight: param(input_weight, [inputs, width], &mut ids, device),
                hidden_weight: param(hidden_weight, [hidden, width], &mut ids, device),
                input_bias: param(
                    reorder_blocks(&b_ih, hidden, order),
                    [width],
                    &mut ids,
                    device,
                ),
                hidden_bias: param(
                    reorder_blocks(&b_hh, hidden, order),
                    [width],
                    &mut ids,
                    device,
                ),
            }),
        });
    }
    let classes = architecture.classes;
    let head = take(tensors, "head.weight", &[classes, hidden])?;
    let head_bias = take(tensors, "head.bias", &[classes])?;
    // [classes, H] → [H, classes]: one block per class row.
    let order: Vec<usize> = (0..classes).collect();
    let head_weight = transpose_blocks(&head, 1, hidden, &order);
    Ok(Network {
        layers,
        head_weight: param(head_weight, [hidden, classes], &mut ids, device),
        head_bias: param(head_bias, [classes], &mut ids, device),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_transposed_and_reordered() {
        // Two blocks of hidden 1 over 2 columns: rows [a0 a1], [b0 b1].
        let values = [1.0, 2.0, 3.0, 4.0];
        // Swap the blocks: column c holds [b_c, a_c].
        assert_eq!(
            transpose_blocks(&values, 1, 2, &[1, 0]),
            vec![3.0, 1.0, 4.0, 2.0]
        );
        assert_eq!(
            reorder_blocks(&[1.0, 2.0, 3.0, 4.0], 2, &[1, 0]),
            vec![3.0, 4.0, 1.0, 2.0]
        );
    }
}
