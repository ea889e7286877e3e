//! Scoring: model probabilities over a slice, the naive baselines, and small tensor helpers.

use burn::tensor::{Device, Tensor, TensorData};

use super::ClassCounts;
use crate::contract::Side;
use crate::model::classification::{Baselines, Metrics, calibrate};
use crate::model::network::{Network, ReadbackError};
use crate::model::side::NUM_CLASSES;
use crate::model::time_major::gather_time_major;

/// Probabilities for every sample of `set`, in order, in batches of `batch_size`.
pub(super) fn evaluate(
    network: &Network,
    scaled: &[f32],
    inputs: usize,
    steps: usize,
    set: &[(usize, Side)],
    batch_size: usize,
    device: &Device,
) -> Result<Vec<[f32; NUM_CLASSES]>, ReadbackError> {
    let mut out = Vec::with_capacity(set.len());
    let mut window = Vec::new();
    for chunk in set.chunks(batch_size) {
        let ends: Vec<usize> = chunk.iter().map(|(t, _)| *t).collect();
        gather_time_major(scaled, inputs, steps, &ends, &mut window);
        let x = tensor2(&window, [steps * chunk.len(), inputs], device);
        network.probabilities(x, chunk.len(), steps, &mut out)?;
    }
    Ok(out)
}

/// The baselines' probabilities on the test samples, calibrated on the training samples.
pub(super) struct BaselineForecasts {
    /// Their scores.
    pub(super) scores: Baselines,
    /// The class prior's probabilities, per test sample.
    pub(super) prior: Vec<[f32; NUM_CLASSES]>,
    /// The previous-return-sign rule's calibrated probabilities, per test sample.
    pub(super) rule: Vec<[f32; NUM_CLASSES]>,
}

/// The baselines on the test samples, calibrated on the training samples; `rule(t)` is the
/// previous-return sign at row `t` (read within its own series).
pub(super) fn baselines(
    rule: &dyn Fn(usize) -> Side,
    train_set: &[(usize, Side)],
    test_set: &[(usize, Side)],
) -> BaselineForecasts {
    let labels = sides(test_set);
    let prior = calibrate(train_set.iter().map(|(_, side)| (Side::Neutral, *side)));
    let neutral: Vec<[f32; NUM_CLASSES]> = test_set
        .iter()
        .map(|_| prior[Side::Neutral.class_index()])
        .collect();
    let table = calibrate(train_set.iter().map(|(t, side)| (rule(*t), *side)));
    let persistence: Vec<[f32; NUM_CLASSES]> = test_set
        .iter()
        .map(|(t, _)| table[rule(*t).class_index()])
        .collect();
    // The calibrated rows can favour another class than the rule's output (e.g. "after a rise,
    // neutral is likeliest"); accuracy and confusion must score the rule itself, so they use its
    // hard output, while the log-loss uses the calibrated probabilities.
    let mut always_neutral = Metrics::score(&labels, &neutral);
    let hard_neutral: Vec<[f32; NUM_CLASSES]> =
        test_set.iter().map(|_| hard(Side::Neutral)).collect();
    let scored = Metrics::score(&labels, &hard_neutral);
    always_neutral.accuracy = scored.accuracy;
    always_neutral.confusion = scored.confusion;
    let mut previous = Metrics::score(&labels, &persistence);
    let hard_previous: Vec<[f32; NUM_CLASSES]> =
        test_set.iter().map(|(t, _)| hard(rule(*t))).collect();
    let scored = Metrics::score(&labels, &hard_previous);
    previous.accuracy = scored.accuracy;
    previous.confusion = scored.confusion;
    BaselineForecasts {
        scores: Baselines {
            always_neutral,
            previous_return_sign: previous,
        },
        prior: neutral,
        rule: persistence,
    }
}

/// A one-hot probability row.
pub(super) fn hard(side: Side) -> [f32; NUM_CLASSES] {
    let mut row = [0.0; NUM_CLASSES];
    row[side.class_index()] = 1.0;
    row
}

pub(super) fn sides(set: &[(usize, Side)]) -> Vec<Side> {
    set.iter().map(|(_, side)| *side).collect()
}

pub(super) fn class_counts(set: &[(usize, Side)]) -> ClassCounts {
    let mut counts = [0; NUM_CLASSES];
    for (_, side) in set {
        counts[side.class_index()] += 1;
    }
    counts
}

pub(super) fn one_hot(sides: impl Iterator<Item = Side>, out: &mut Vec<f32>) {
    out.clear();
    for side in sides {
        out.extend_from_slice(&hard(side));
    }
}

pub(super) fn tensor2(values: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

pub(super) fn read_scalar(tensor: Tensor<1>) -> Result<f32, ReadbackError> {
    tensor
        .try_into_data()
        .map_err(|e| ReadbackError(e.to_string()))?
        .try_into_vec::<f32>()
        .map_err(|e| ReadbackError(format!("{e:?}")))?
        .first()
        .copied()
        .ok_or_else(|| ReadbackError("empty loss tensor".into()))
}
