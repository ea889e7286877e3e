//! Training and scoring of the streaming model.
//!
//! Training: truncated backpropagation through time. The training slice is cut into
//! `lanes` contiguous stretches run side by side as one batch; each gradient step covers the next
//! `sequence_length` rows of every stretch, starting from the state the previous step ended in
//! (detached, so gradients stop at the chunk boundary). The first `burn_in` steps of each stretch
//! carry no loss, exactly as live the first `burn_in` steps after a (re)start carry no signal.
//!
//! Several series: each lane is a stretch of one series' training slice, and scoring restarts
//! from a fresh state at each series' first row.
//!
//! Scoring: one continuous run over every row from the first, with the fused kernel's
//! [`step`](crate::model::kernel::FusedNetwork::step) — the very code the live pipeline runs per
//! candle — so the evaluated probabilities are the ones the worker would have published.

use burn::tensor::Device;
use burn::tensor::activation::log_softmax;

use super::evaluate::{read_scalar, tensor2};
use super::{Prepared, Progress, Slice, StreamingSettings, TrainError};
use crate::contract::Side;
use crate::model::adam::Adam;
use crate::model::architecture::Architecture;
use crate::model::kernel::{FusedNetwork, KernelError, Scratch};
use crate::model::network::{Dropout, Network, ReadbackError};
use crate::model::rng::SplitMix64;
use crate::model::side::NUM_CLASSES;
use crate::model::stateful::LayerState;

/// The first row of every lane and the lanes' common length. One series: `lanes` equal
/// stretches of its training slice. Several: stretches of one length (the training rows over
/// `lanes`) cut from each series' training slice, so every lane stays inside one series and the
/// series run side by side in proportion to their size.
pub(super) fn lanes(prepared: &Prepared, lanes: usize) -> (Vec<usize>, usize) {
    let slices = prepared.slice_rows(Slice::Train);
    let total: usize = slices.iter().map(|r| r.len()).sum();
    let lanes = lanes.min(total).max(1);
    let stretch = total / lanes;
    if stretch == 0 {
        return (Vec::new(), 0);
    }
    let starts = match slices.as_slice() {
        [only] => (0..lanes).map(|l| only.start + l * stretch).collect(),
        many => many
            .iter()
            .flat_map(|r| (0..r.len() / stretch).map(move |l| r.start + l * stretch))
            .collect(),
    };
    (starts, stretch)
}

/// One epoch of truncated BPTT over the training slice; returns the network after it and the
/// summed per-sample training loss (and the number of samples it covers).
#[allow(clippy::too_many_arguments)]
pub(super) fn epoch(
    mut network: Network,
    adam: &mut Adam,
    prepared: &Prepared,
    inputs: usize,
    chunk_steps: usize,
    streaming: &StreamingSettings,
    dropout: f32,
    rng: &mut SplitMix64,
    device: &Device,
    epoch: usize,
    report: &mut dyn FnMut(Progress),
) -> Result<(Network, f64, usize), TrainError> {
    let (starts, stretch) = lanes(prepared, streaming.lanes);
    let lanes = starts.len();
    let chunks = stretch.div_ceil(chunk_steps.max(1));
    let mut state: Option<Vec<LayerState>> = None;
    let (mut loss_sum, mut counted) = (0.0, 0usize);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for c in 0..chunks {
        let first = c * chunk_steps;
        let steps = chunk_steps.min(stretch - first);
        x.clear();
        y.clear();
        let mut weight = 0usize;
        for t in 0..steps {
            for start in &starts {
                let offset = first + t;
                let row = start + offset;
                x.extend_from_slice(&prepared.scaled[row * inputs..(row + 1) * inputs]);
                let label = prepared.labels.get(row).copied().flatten();
                match label {
                    Some(side)
                        if offset >= streaming.burn_in && prepared.is_sample(row, Slice::Train) =>
                    {
                        let mut one_hot = [0.0; NUM_CLASSES];
                        one_hot[side.class_index()] = 1.0;
                        y.extend_from_slice(&one_hot);
                        weight += 1;
                    }
                    _ => y.extend_from_slice(&[0.0; NUM_CLASSES]),
                }
            }
        }
        let input = tensor2(&x, [steps * lanes, inputs], device);
        let targets = tensor2(&y, [steps * lanes, NUM_CLASSES], device);
        let drop = Dropout {
            probability: dropout,
            rng: &mut *rng,
        };
        let (logits, finals) = network.forward_stateful(input, lanes, steps, state, Some(drop));
        state = Some(finals.into_iter().map(LayerState::detach).collect());
        if weight == 0 {
            // Burn-in only: the state advanced, nothing to learn from yet.
            continue;
        }
        let loss = (log_softmax(logits, 1) * targets)
            .sum()
            .neg()
            .div_scalar(weight as f64);
        let value = f64::from(read_scalar(loss.clone())?);
        if !value.is_finite() {
            return Err(TrainError::Diverged {
                epoch,
                what: "training",
                value,
            });
        }
        let mut grads = loss.backward();
        network = adam.step(network, &mut grads);
        loss_sum += value * weight as f64;
        counted += weight;
        report(Progress::Batch {
            epoch,
            batch: c + 1,
            batches: chunks,
            loss: value,
        });
    }
    Ok((network, loss_sum, counted))
}

/// Probabilities at each sample of `set` (rows in increasing order), from one continuous run of
/// the fused kernel over every row of each series from its first.
pub(super) fn score(
    network: &Network,
    architecture: &Architecture,
    prepared: &Prepared,
    set: &[(usize, Side)],
) -> Result<Vec<[f32; NUM_CLASSES]>, TrainError> {
    let scaled = &prepared.scaled;
    let starts = prepared.series_starts();
    let fused = FusedNetwork::from_network(network, architecture).map_err(kernel)?;
    let inputs = architecture.inputs;
    let last = set.last().map_or(0, |(row, _)| row + 1);
    let mut state = vec![0.0; fused.state_len()];
    let mut scratch = Scratch::default();
    let mut step_out = Vec::with_capacity(1);
    let mut out = Vec::with_capacity(set.len());
    let mut wanted = set.iter().map(|(row, _)| *row).peekable();
    for (row, features) in scaled.chunks_exact(inputs).take(last).enumerate() {
        if row > 0 && starts.contains(&row) {
            // A new series: its run starts from a fresh state, as live after a reset.
            state.fill(0.0);
        }
        step_out.clear();
        fused
            .step(features, &mut state, 1, &mut scratch, &mut step_out)
            .map_err(kernel)?;
        if wanted.peek() == Some(&row) {
            wanted.next();
            out.extend_from_slice(&step_out);
        }
    }
    Ok(out)
}

fn kernel(e: KernelError) -> TrainError {
    TrainError::Readback(ReadbackError(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::model::train::{NamedSeries, TrainSettings, TrainingData, prepare_series};

    /// A random-walk series of `n` rows and two features, starting at `t0`.
    fn walk(n: usize, t0: i64, seed: u64) -> TrainingData {
        let mut rng = SplitMix64::new(seed);
        let mut close = 100.0;
        let mut closes = Vec::with_capacity(n);
        let mut rows = Vec::with_capacity(2 * n);
        for _ in 0..n {
            let step = (rng.next_f64() - 0.5) * 0.02;
            close *= 1.0 + step;
            closes.push(close);
            rows.extend_from_slice(&[step as f32, (rng.next_f64() - 0.5) as f32]);
        }
        TrainingData {
            feature_names: vec!["a".into(), "b".into()],
            rows,
            closes,
            open_times: (0..n as i64).map(|i| t0 + i * 60_000).collect(),
            source_sha256: String::new(),
        }
    }

    #[test]
    fn every_lane_stays_inside_one_series_training_slice() {
        let settings = TrainSettings {
            streaming: Some(StreamingSettings {
                burn_in: 8,
                lanes: 8,
            }),
            ..TrainSettings::default()
        };
        let (a, b) = (walk(3_000, 0, 1), walk(1_200, 30_000, 2));
        let one = prepare_series(
            &[NamedSeries {
                name: "a",
                data: &a,
            }],
            &settings,
        )
        .unwrap();
        // One series: `lanes` equal stretches from the start of its training slice, as before
        // several series could be trained.
        let (starts, stretch) = lanes(&one, 8);
        let train = one.split.train.clone();
        assert_eq!(stretch, train.len() / 8);
        assert_eq!(starts, (0..8).map(|l| l * stretch).collect::<Vec<_>>());

        let series = [
            NamedSeries {
                name: "a",
                data: &a,
            },
            NamedSeries {
                name: "b",
                data: &b,
            },
        ];
        let both = prepare_series(&series, &settings).unwrap();
        let (starts, stretch) = lanes(&both, 8);
        let slices = both.slice_rows(Slice::Train);
        assert!(stretch > 0 && starts.len() <= 8 && starts.len() >= 8 - slices.len());
        for start in &starts {
            let inside = slices
                .iter()
                .any(|r| r.start <= *start && start + stretch <= r.end);
            assert!(
                inside,
                "lane {start}..{} crosses a boundary",
                start + stretch
            );
        }
        // Both series get lanes, in proportion to their training rows.
        let in_b = starts
            .iter()
            .filter(|s| **s >= both.parts[1].offset)
            .count();
        assert!(in_b >= 1 && in_b < starts.len() - in_b, "{starts:?}");

        // A streaming run over both trains and scores every test sample of each, each series'
        // run starting from a fresh state.
        let small = TrainSettings {
            epochs: 1,
            network: crate::model::train::NetworkSettings {
                hidden: 4,
                layers: 1,
                ..settings.network
            },
            ..settings
        };
        let trained = crate::model::train::train_series(&series, &small, None).unwrap();
        let tested: usize = both
            .parts
            .iter()
            .map(|p| p.split.test_samples().len())
            .sum();
        assert_eq!(trained.report.samples[2], tested);
        assert_eq!(trained.test_trace.len(), tested);
    }
}
