//! One LSTM layer with fused gates.
//!
//! Why not `burn::nn::Lstm`: it runs eight small matmuls, eight bias adds and a `slice_assign` of
//! the whole output per time step. Under autodiff every one of those is a graph node, and that
//! per-operation overhead, not arithmetic, dominates training on two CPU cores. This layer does the
//! input projection of the whole window in one matmul, then one recurrent matmul and whole-block
//! activations per step — the same function (a test checks it against `burn::nn::Lstm` with the
//! same weights), with roughly a third of the operations. It is also the weight layout a fused
//! non-burn inference kernel (issue 7) can read directly.

use burn::module::{Module, Param};
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{Device, Tensor};

use super::network::{ParamIds, seeded_param};
use super::rng::SplitMix64;

/// Number of gate blocks of an LSTM (input, forget, output, candidate).
pub const LSTM_GATES: usize = 4;

/// Bias added to the forget gate at initialisation, so a fresh network remembers by default
/// (Jozefowicz, Zaremba & Sutskever 2015); it is learned from there.
pub const FORGET_BIAS_INIT: f32 = 1.0;

/// A single LSTM layer. Gate blocks along the last weight axis are ordered
/// `[input | forget | output | candidate]`, so the three sigmoid gates form one contiguous block.
#[derive(Module, Debug)]
pub struct LstmLayer {
    /// Input projection, `[inputs, 4 * hidden]`.
    pub input_weight: Param<Tensor<2>>,
    /// Recurrent projection, `[hidden, 4 * hidden]`.
    pub hidden_weight: Param<Tensor<2>>,
    /// Gate bias, `[4 * hidden]` (the sum of PyTorch's two biases).
    pub bias: Param<Tensor<1>>,
}

impl LstmLayer {
    /// A layer with weights drawn from `rng`: uniform in `±1/sqrt(hidden)` (PyTorch's default),
    /// forget-gate bias shifted by [`FORGET_BIAS_INIT`].
    pub fn seeded(
        inputs: usize,
        hidden: usize,
        rng: &mut SplitMix64,
        ids: &mut ParamIds,
        device: &Device,
    ) -> Self {
        let bound = 1.0 / (hidden as f32).sqrt();
        let width = LSTM_GATES * hidden;
        let input_weight = seeded_param([inputs, width], bound, rng, ids, device, |_, v| v);
        let hidden_weight = seeded_param([hidden, width], bound, rng, ids, device, |_, v| v);
        let bias = seeded_param([width], bound, rng, ids, device, |i, v| {
            if (hidden..2 * hidden).contains(&i) {
                v + FORGET_BIAS_INIT
            } else {
                v
            }
        });
        Self {
            input_weight,
            hidden_weight,
            bias,
        }
    }

    /// The hidden size, read from the weights (so a loaded layer cannot disagree with itself).
    pub fn hidden(&self) -> usize {
        let [hidden, _] = self.hidden_weight.lazy_shape().dims();
        hidden
    }

    /// Run the layer over a time-major window from a zero state.
    ///
    /// `input` is `[steps * batch, inputs]` with row `t * batch + b` holding step `t` of sample
    /// `b`. Returns the last hidden state `[batch, hidden]` and, when `keep_sequence`, every hidden
    /// state in the same time-major layout `[steps * batch, hidden]` (the next layer's input).
    pub fn forward(
        &self,
        input: Tensor<2>,
        batch: usize,
        steps: usize,
        keep_sequence: bool,
    ) -> (Tensor<2>, Option<Tensor<2>>) {
        let (sequence, state) = self.forward_from(input, batch, steps, None, keep_sequence);
        let last = match state {
            Some((h, _)) => h,
            None => Tensor::zeros([batch, self.hidden()], &self.bias.val().device()),
        };
        (last, sequence)
    }

    /// [`forward`](Self::forward) from a given `(hidden, cell)` state (each `[batch, hidden]`;
    /// `None` is the zero state), returning the sequence (when `keep_sequence`) and the final
    /// state (`None` only when `steps` is 0 and no state was given). Streaming training carries
    /// the state from one chunk of history to the next through this.
    pub fn forward_from(
        &self,
        input: Tensor<2>,
        batch: usize,
        steps: usize,
        initial: Option<(Tensor<2>, Tensor<2>)>,
        keep_sequence: bool,
    ) -> (Option<Tensor<2>>, Option<(Tensor<2>, Tensor<2>)>) {
        let hidden = self.hidden();
        let projected = input.matmul(self.input_weight.val()) + self.bias.val().unsqueeze::<2>();
        let recurrent = self.hidden_weight.val();
        let mut outputs = Vec::with_capacity(if keep_sequence { steps } else { 0 });
        let mut state = initial;
        for t in 0..steps {
            let x_t = projected.clone().narrow(0, t * batch, batch);
            let gates = match &state {
                Some((h, _)) => x_t + h.clone().matmul(recurrent.clone()),
                None => x_t,
            };
            let sig = sigmoid(gates.clone().narrow(1, 0, 3 * hidden));
            let candidate = tanh(gates.narrow(1, 3 * hidden, hidden));
            let input_gate = sig.clone().narrow(1, 0, hidden);
            let output_gate = sig.clone().narrow(1, 2 * hidden, hidden);
            let cell = match state {
                Some((_, c)) => sig.narrow(1, hidden, hidden) * c + input_gate * candidate,
                None => input_gate * candidate,
            };
            let h = output_gate * tanh(cell.clone());
            if keep_sequence {
                outputs.push(h.clone());
            }
            state = Some((h, cell));
        }
        let sequence = (keep_sequence && !outputs.is_empty()).then(|| Tensor::cat(outputs, 0));
        (sequence, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LstmConfig;

    /// Our fused layer computes exactly burn's reference LSTM when given the same weights.
    #[test]
    fn matches_burn_nn_lstm_with_the_same_weights() {
        let device = Device::flex();
        let (inputs, hidden, batch, steps) = (3, 5, 4, 7);
        let reference = LstmConfig::new(inputs, hidden, true).init(&device);
        let gates = [
            &reference.input_gate,
            match reference.forget_gate.as_ref() {
                Some(g) => g,
                None => unreachable!("uncoupled LSTM has a forget gate"),
            },
            &reference.output_gate,
            &reference.cell_gate,
        ];
        let bias_of = |l: &burn::nn::Linear| match &l.bias {
            Some(b) => b.val(),
            None => Tensor::zeros([hidden], &device),
        };
        let input_weight = Tensor::cat(
            gates
                .iter()
                .map(|g| g.input_transform.weight.val())
                .collect(),
            1,
        );
        let hidden_weight = Tensor::cat(
            gates
                .iter()
                .map(|g| g.hidden_transform.weight.val())
                .collect(),
            1,
        );
        let bias = Tensor::cat(
            gates
                .iter()
                .map(|g| bias_of(&g.input_transform) + bias_of(&g.hidden_transform))
                .collect(),
            0,
        );
        let ours = LstmLayer {
            input_weight: Param::from_tensor(input_weight),
            hidden_weight: Param::from_tensor(hidden_weight),
            bias: Param::from_tensor(bias),
        };
        let mut rng = SplitMix64::new(3);
        let values: Vec<f32> = (0..batch * steps * inputs)
            .map(|_| rng.uniform(-2.0, 2.0))
            .collect();
        let x = Tensor::<3>::from_data(
            burn::tensor::TensorData::new(values, [batch, steps, inputs]),
            &device,
        );
        let (_, expected) = reference.forward(x.clone(), None);
        let time_major = x.swap_dims(0, 1).reshape([steps * batch, inputs]);
        let (last, sequence) = ours.forward(time_major, batch, steps, true);
        let expected_last = expected
            .hidden
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let got_last = last.into_data().try_to_vec::<f32>().unwrap_or_default();
        assert_eq!(expected_last.len(), batch * hidden);
        for (e, g) in expected_last.iter().zip(&got_last) {
            assert!((e - g).abs() < 1e-5, "{e} vs {g}");
        }
        assert!(sequence.is_some());
    }
}
