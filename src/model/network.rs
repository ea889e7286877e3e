//! The whole network: stacked recurrent layers and a linear 3-class head on the last hidden state.

use burn::module::{Module, Param, ParamId};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};

use super::architecture::{Architecture, ArchitectureError, Kind};
use super::gru::GruLayer;
use super::lstm::LstmLayer;
use super::rng::SplitMix64;
use super::side::NUM_CLASSES;

/// Hands out parameter ids in creation order.
///
/// burn draws a random `ParamId` for every parameter and writes it into the `.bpk` file, so two
/// bit-identical trainings would produce different files and different `weights_sha256`. Numbering
/// parameters deterministically makes the file a pure function of the weights.
#[derive(Debug, Default)]
pub struct ParamIds {
    next: u64,
}

impl ParamIds {
    /// The next id.
    pub fn next_id(&mut self) -> ParamId {
        let id = ParamId::from(self.next);
        self.next += 1;
        id
    }
}

/// A parameter of `shape` with values uniform in `±bound` drawn from `rng` (row-major), each
/// passed through `adjust(flat_index, value)`, with the next deterministic id.
pub fn seeded_param<const D: usize>(
    shape: [usize; D],
    bound: f32,
    rng: &mut SplitMix64,
    ids: &mut ParamIds,
    device: &Device,
    adjust: impl Fn(usize, f32) -> f32,
) -> Param<Tensor<D>> {
    let count = shape.iter().product();
    let values: Vec<f32> = (0..count)
        .map(|i| adjust(i, rng.uniform(-bound, bound)))
        .collect();
    let mut param = Param::from_data(TensorData::new(values, shape), device);
    param.id = ids.next_id();
    param
}

/// One recurrent layer of either kind.
#[derive(Module, Debug)]
pub enum Recurrent {
    /// An LSTM layer.
    Lstm(LstmLayer),
    /// A GRU layer.
    Gru(GruLayer),
}

impl Recurrent {
    fn forward(
        &self,
        input: Tensor<2>,
        batch: usize,
        steps: usize,
        keep_sequence: bool,
    ) -> (Tensor<2>, Option<Tensor<2>>) {
        match self {
            Recurrent::Lstm(layer) => layer.forward(input, batch, steps, keep_sequence),
            Recurrent::Gru(layer) => layer.forward(input, batch, steps, keep_sequence),
        }
    }
}

/// Dropout between recurrent layers during training: the probability of zeroing a unit and the
/// generator that draws the masks (owned by the training run, see [`super::rng`]).
#[derive(Debug)]
pub struct Dropout<'a> {
    /// Probability in `[0, 1)` of zeroing each hidden unit of each step.
    pub probability: f32,
    /// Source of the masks.
    pub rng: &'a mut SplitMix64,
}

/// Stacked recurrent layers and a linear head producing one logit per class of
/// [`CLASS_ORDER`](super::side::CLASS_ORDER).
#[derive(Module, Debug)]
pub struct Network {
    /// The recurrent layers, input first.
    pub layers: Vec<Recurrent>,
    /// Head weights, `[hidden, classes]`.
    pub head_weight: Param<Tensor<2>>,
    /// Head bias, `[classes]`.
    pub head_bias: Param<Tensor<1>>,
}

impl Network {
    /// A freshly initialised network; the same `seed` always gives the same weights (and ids).
    pub fn seeded(
        architecture: &Architecture,
        seed: u64,
        device: &Device,
    ) -> Result<Self, ArchitectureError> {
        architecture.validate()?;
        let mut rng = SplitMix64::new(seed);
        let mut ids = ParamIds::default();
        let hidden = architecture.hidden;
        let layers = (0..architecture.layers)
            .map(|i| {
                let inputs = if i == 0 { architecture.inputs } else { hidden };
                match architecture.kind {
                    Kind::Lstm => Recurrent::Lstm(LstmLayer::seeded(
                        inputs, hidden, &mut rng, &mut ids, device,
                    )),
                    Kind::Gru => {
                        Recurrent::Gru(GruLayer::seeded(inputs, hidden, &mut rng, &mut ids, device))
                    }
                }
            })
            .collect();
        let bound = 1.0 / (hidden as f32).sqrt();
        let head_weight = seeded_param(
            [hidden, architecture.classes],
            bound,
            &mut rng,
            &mut ids,
            device,
            |_, v| v,
        );
        let head_bias = seeded_param(
            [architecture.classes],
            0.0,
            &mut rng,
            &mut ids,
            device,
            |_, _| 0.0,
        );
        Ok(Self {
            layers,
            head_weight,
            head_bias,
        })
    }

    /// Class logits `[batch, classes]` for a time-major window batch.
    ///
    /// `input` is `[steps * batch, inputs]`, row `t * batch + b` = step `t` of sample `b` (see
    /// [`super::time_major`]); time-major because each step then is one contiguous row block.
    /// `dropout` is `Some` only in training; inference passes `None`.
    pub fn forward(
        &self,
        input: Tensor<2>,
        batch: usize,
        steps: usize,
        mut dropout: Option<Dropout<'_>>,
    ) -> Tensor<2> {
        let mut sequence = input;
        let mut last = None;
        let count = self.layers.len();
        for (i, layer) in self.layers.iter().enumerate() {
            let keep = i + 1 < count;
            let (h, seq) = layer.forward(sequence.clone(), batch, steps, keep);
            last = Some(h);
            if let Some(seq) = seq {
                sequence = match dropout.as_mut() {
                    Some(d) if d.probability > 0.0 => apply_dropout(seq, d),
                    _ => seq,
                };
            }
        }
        let last = match last {
            Some(h) => h,
            // No layers cannot happen for a validated architecture; the head then sees the input.
            None => sequence,
        };
        last.matmul(self.head_weight.val()) + self.head_bias.val().unsqueeze::<2>()
    }

    /// Class logits for a batch-major window batch `[batch, steps, inputs]` (convenience for
    /// tests and tools; the hot paths build time-major input directly).
    pub fn forward_batch_major(&self, input: Tensor<3>) -> Tensor<2> {
        let [batch, steps, inputs] = input.dims();
        let time_major = input.swap_dims(0, 1).reshape([steps * batch, inputs]);
        self.forward(time_major, batch, steps, None)
    }
}

/// Reading a result back from the backend failed (an execution error or a dtype surprise).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("reading tensor data back from the backend failed: {0}")]
pub struct ReadbackError(pub String);

impl Network {
    /// Class probabilities for a time-major batch, appended to `out` (one `[long, short,
    /// neutral]` row per sample). The single place logits become probabilities.
    pub fn probabilities(
        &self,
        input: Tensor<2>,
        batch: usize,
        steps: usize,
        out: &mut Vec<[f32; NUM_CLASSES]>,
    ) -> Result<(), ReadbackError> {
        Self::read_probabilities(self.forward(input, batch, steps, None), out)
    }

    /// Softmax of `logits` `[rows, classes]`, appended to `out` one row per sample.
    pub fn read_probabilities(
        logits: Tensor<2>,
        out: &mut Vec<[f32; NUM_CLASSES]>,
    ) -> Result<(), ReadbackError> {
        let probabilities = softmax(logits, 1);
        let values = probabilities
            .try_into_data()
            .map_err(|e| ReadbackError(e.to_string()))?
            .try_into_vec::<f32>()
            .map_err(|e| ReadbackError(format!("{e:?}")))?;
        out.extend(values.chunks_exact(NUM_CLASSES).map(|c| {
            let mut row = [0.0; NUM_CLASSES];
            row.copy_from_slice(c);
            row
        }));
        Ok(())
    }
}

/// Inverted dropout: zero each unit with `probability`, scale survivors by `1 / (1 - p)` so the
/// expected activation is unchanged and inference needs no rescaling.
pub(super) fn apply_dropout(sequence: Tensor<2>, dropout: &mut Dropout<'_>) -> Tensor<2> {
    let [rows, cols] = sequence.dims();
    let keep = 1.0 - dropout.probability;
    let scale = 1.0 / keep;
    let mask: Vec<f32> = (0..rows * cols)
        .map(|_| {
            if (dropout.rng.next_f64() as f32) < keep {
                scale
            } else {
                0.0
            }
        })
        .collect();
    let device = sequence.device();
    let mask = Tensor::<2>::from_data(TensorData::new(mask, [rows, cols]), &device);
    sequence * mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(kind: Kind) -> Architecture {
        Architecture {
            kind,
            layers: 2,
            hidden: 6,
            inputs: 4,
            sequence_length: 5,
            classes: 3,
        }
    }

    #[test]
    fn seeded_networks_are_identical_and_output_has_class_shape() {
        let device = Device::flex();
        for kind in [Kind::Lstm, Kind::Gru] {
            let a = Network::seeded(&arch(kind), 9, &device);
            let b = Network::seeded(&arch(kind), 9, &device);
            let (Ok(a), Ok(b)) = (a, b) else {
                unreachable!("valid architecture")
            };
            let x = Tensor::<3>::ones([2, 5, 4], &device);
            let la = a.forward_batch_major(x.clone()).into_data();
            let lb = b.forward_batch_major(x).into_data();
            assert_eq!(la.shape().as_slice(), &[2, 3]);
            assert_eq!(la, lb);
        }
    }

    #[test]
    fn invalid_architecture_is_refused() {
        let bad = Architecture {
            layers: 0,
            ..arch(Kind::Lstm)
        };
        assert!(Network::seeded(&bad, 1, &Device::flex()).is_err());
    }
}
