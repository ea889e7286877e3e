//! One GRU layer with fused gates (reset applied after the recurrent product, as in PyTorch and
//! burn's default `reset_after = true`).
//!
//! Same reason as [`super::lstm`]: one input matmul per window and one recurrent matmul per step
//! instead of six, so training under autodiff is bounded by arithmetic rather than per-operation
//! overhead. A test checks it against `burn::nn::Gru` with the same weights.

use burn::module::{Module, Param};
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{Device, Tensor};

use super::network::{ParamIds, seeded_param};
use super::rng::SplitMix64;

/// Number of gate blocks of a GRU (update, reset, new).
pub const GRU_GATES: usize = 3;

/// A single GRU layer. Gate blocks along the last weight axis are ordered
/// `[update | reset | new]`, so the two sigmoid gates form one contiguous block.
#[derive(Module, Debug)]
pub struct GruLayer {
    /// Input projection, `[inputs, 3 * hidden]`.
    pub input_weight: Param<Tensor<2>>,
    /// Recurrent projection, `[hidden, 3 * hidden]`.
    pub hidden_weight: Param<Tensor<2>>,
    /// Bias of the input projection, `[3 * hidden]`.
    pub input_bias: Param<Tensor<1>>,
    /// Bias of the recurrent projection, `[3 * hidden]`; kept apart because the reset gate
    /// multiplies it in the new gate.
    pub hidden_bias: Param<Tensor<1>>,
}

impl GruLayer {
    /// A layer with weights and biases drawn uniformly in `±1/sqrt(hidden)` (PyTorch's default).
    pub fn seeded(
        inputs: usize,
        hidden: usize,
        rng: &mut SplitMix64,
        ids: &mut ParamIds,
        device: &Device,
    ) -> Self {
        let bound = 1.0 / (hidden as f32).sqrt();
        let width = GRU_GATES * hidden;
        Self {
            input_weight: seeded_param([inputs, width], bound, rng, ids, device, |_, v| v),
            hidden_weight: seeded_param([hidden, width], bound, rng, ids, device, |_, v| v),
            input_bias: seeded_param([width], bound, rng, ids, device, |_, v| v),
            hidden_bias: seeded_param([width], bound, rng, ids, device, |_, v| v),
        }
    }

    /// The hidden size, read from the weights.
    pub fn hidden(&self) -> usize {
        let [hidden, _] = self.hidden_weight.lazy_shape().dims();
        hidden
    }

    /// Run the layer over a time-major window from a zero state; same contract as
    /// [`LstmLayer::forward`](super::lstm::LstmLayer::forward).
    pub fn forward(
        &self,
        input: Tensor<2>,
        batch: usize,
        steps: usize,
        keep_sequence: bool,
    ) -> (Tensor<2>, Option<Tensor<2>>) {
        let (sequence, state) = self.forward_from(input, batch, steps, None, keep_sequence);
        let last = match state {
            Some(h) => h,
            None => Tensor::zeros([batch, self.hidden()], &self.input_bias.val().device()),
        };
        (last, sequence)
    }

    /// [`forward`](Self::forward) from a given hidden state `[batch, hidden]` (`None` is the zero
    /// state); same contract as
    /// [`LstmLayer::forward_from`](super::lstm::LstmLayer::forward_from).
    pub fn forward_from(
        &self,
        input: Tensor<2>,
        batch: usize,
        steps: usize,
        initial: Option<Tensor<2>>,
        keep_sequence: bool,
    ) -> (Option<Tensor<2>>, Option<Tensor<2>>) {
        let hidden = self.hidden();
        let projected =
            input.matmul(self.input_weight.val()) + self.input_bias.val().unsqueeze::<2>();
        let recurrent = self.hidden_weight.val();
        let hidden_bias = self.hidden_bias.val().unsqueeze::<2>();
        let mut outputs = Vec::with_capacity(if keep_sequence { steps } else { 0 });
        let mut state = initial;
        for t in 0..steps {
            let x_t = projected.clone().narrow(0, t * batch, batch);
            // With a zero initial state the recurrent product is just the bias.
            let h_t = match &state {
                Some(h) => h.clone().matmul(recurrent.clone()) + hidden_bias.clone(),
                None => hidden_bias.clone(),
            };
            let gates = sigmoid(
                x_t.clone().narrow(1, 0, 2 * hidden) + h_t.clone().narrow(1, 0, 2 * hidden),
            );
            let update = gates.clone().narrow(1, 0, hidden);
            let reset = gates.narrow(1, hidden, hidden);
            let new =
                tanh(x_t.narrow(1, 2 * hidden, hidden) + reset * h_t.narrow(1, 2 * hidden, hidden));
            // h = (1 - z) * n + z * h_prev = n + z * (h_prev - n)
            let h = match state {
                Some(h_prev) => new.clone() + update * (h_prev - new),
                None => new.clone() - update * new,
            };
            if keep_sequence {
                outputs.push(h.clone());
            }
            state = Some(h);
        }
        let sequence = (keep_sequence && !outputs.is_empty()).then(|| Tensor::cat(outputs, 0));
        (sequence, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::GruConfig;

    /// Our fused layer computes exactly burn's reference GRU when given the same weights.
    #[test]
    fn matches_burn_nn_gru_with_the_same_weights() {
        let device = Device::flex();
        let (inputs, hidden, batch, steps) = (3, 5, 4, 7);
        let reference = GruConfig::new(inputs, hidden, true).init(&device);
        let gates = [
            &reference.update_gate,
            &reference.reset_gate,
            &reference.new_gate,
        ];
        let bias_of = |l: &burn::nn::Linear| match &l.bias {
            Some(b) => b.val(),
            None => Tensor::zeros([hidden], &device),
        };
        let cat2 = |f: &dyn Fn(&burn::nn::GateController) -> Tensor<2>| {
            Tensor::cat(gates.iter().map(|g| f(g)).collect(), 1)
        };
        let cat1 = |f: &dyn Fn(&burn::nn::GateController) -> Tensor<1>| {
            Tensor::cat(gates.iter().map(|g| f(g)).collect(), 0)
        };
        let ours = GruLayer {
            input_weight: Param::from_tensor(cat2(&|g| g.input_transform.weight.val())),
            hidden_weight: Param::from_tensor(cat2(&|g| g.hidden_transform.weight.val())),
            input_bias: Param::from_tensor(cat1(&|g| bias_of(&g.input_transform))),
            hidden_bias: Param::from_tensor(cat1(&|g| bias_of(&g.hidden_transform))),
        };
        let mut rng = SplitMix64::new(5);
        let values: Vec<f32> = (0..batch * steps * inputs)
            .map(|_| rng.uniform(-2.0, 2.0))
            .collect();
        let x = Tensor::<3>::from_data(
            burn::tensor::TensorData::new(values, [batch, steps, inputs]),
            &device,
        );
        let expected = reference.forward(x.clone(), None);
        let expected_last = expected
            .narrow(1, steps - 1, 1)
            .reshape([batch, hidden])
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let time_major = x.swap_dims(0, 1).reshape([steps * batch, inputs]);
        let (last, _) = ours.forward(time_major, batch, steps, false);
        let got_last = last.into_data().try_to_vec::<f32>().unwrap_or_default();
        assert_eq!(expected_last.len(), batch * hidden);
        for (e, g) in expected_last.iter().zip(&got_last) {
            assert!((e - g).abs() < 1e-5, "{e} vs {g}");
        }
    }
}
