//! Training: seeded, deterministic, leak-free, with early stopping and an honest final report.
//!
//! The flow, each step in one place:
//! 1. validate settings and data (lengths, finiteness, increasing times) — typed errors, never a
//!    silently empty data set;
//! 2. label rows from forward returns ([`LabelSpec`]);
//! 3. split chronologically with purge gaps ([`Split`]);
//! 4. fit the scaler on the training slice only and apply it to every row;
//! 5. train with Adam on cross-entropy over shuffled mini-batches, dropout between layers, early
//!    stopping on validation log-loss (keeping the best epoch's weights);
//! 6. score the untouched test slice once, next to the naive baselines.
//!
//! Determinism: every random draw (initialisation, shuffling, dropout) comes from generators
//! seeded by [`TrainSettings::seed`] and owned by this run; the CPU backends compute
//! single-threaded; so the same data and settings give bit-identical weights.

mod data;
mod error;
mod evaluate;
mod report;
mod settings;
mod streaming;
mod walk_forward;

pub use data::{NamedSeries, Prepared, PreparedPart, Slice, TrainingData, prepare, prepare_series};
pub use error::TrainError;
use evaluate::{baselines, class_counts, evaluate, one_hot, read_scalar, sides, tensor2};
pub use report::{ClassCounts, EpochRecord, Progress, TrainReport, TrainedModel};
pub use settings::{NetworkSettings, StreamingSettings, TrainSettings};
pub use walk_forward::{
    Fold, fold_ends, render as render_walk_forward, walk_forward, walk_forward_series,
};

use burn::module::Module;
use burn::tensor::activation::log_softmax;

use super::adam::{Adam, AdamConfig};
use super::classification::{Metrics, previous_return_sign};
use super::metadata::SeriesSource;
use super::network::{Dropout, Network};
use super::rng::SplitMix64;
use super::side::NUM_CLASSES;
use super::time_major::gather_time_major;
use crate::contract::Side;

/// Seed offset separating the data-order/dropout stream from the initialisation stream.
const DATA_STREAM: u64 = 0xD1B5_4A32_D192_ED03;

/// Train a model on one series. `progress`, when given, receives [`Progress`] events.
pub fn train(
    data: &TrainingData,
    settings: &TrainSettings,
    progress: Option<&mut dyn FnMut(Progress)>,
) -> Result<TrainedModel, TrainError> {
    train_series(&[NamedSeries { name: "", data }], settings, progress)
}

/// Train one model on several series at once (see [`prepare_series`]): windowed mini-batches
/// draw from every series' training samples shuffled together, streaming lanes run stretches of
/// every series side by side, so each gradient step sees the markets at once. With one series
/// this is exactly [`train`], and its provenance lists no series (so its hash is unchanged).
pub fn train_series(
    series: &[NamedSeries<'_>],
    settings: &TrainSettings,
    mut progress: Option<&mut dyn FnMut(Progress)>,
) -> Result<TrainedModel, TrainError> {
    let mut report_progress = |event: Progress| {
        if let Some(callback) = progress.as_mut() {
            callback(event);
        }
    };
    settings.validate()?;
    let prepared = prepare_series(series, settings)?;
    let inputs = prepared.scaler.inputs();
    let architecture = settings.architecture(inputs);
    let steps = architecture.sequence_length;
    let train_set = prepared.samples(Slice::Train);
    let validation_set = prepared.samples(Slice::Validation);
    let test_set = prepared.samples(Slice::Test);
    let batches = match &settings.streaming {
        None => train_set.len().div_ceil(settings.batch_size),
        Some(s) => streaming::lanes(&prepared, s.lanes)
            .1
            .div_ceil(steps.max(1)),
    };
    report_progress(Progress::Started {
        train_samples: train_set.len(),
        validation_samples: validation_set.len(),
        test_samples: test_set.len(),
        batches_per_epoch: batches,
        epochs: settings.epochs,
    });

    let train_device = settings.backend.autodiff_device();
    let eval_device = settings.backend.device();
    let mut network = Network::seeded(&architecture, settings.seed, &train_device)?;
    let mut rng = SplitMix64::new(settings.seed ^ DATA_STREAM);
    let mut adam = Adam::new(AdamConfig {
        weight_decay: settings.weight_decay,
        ..AdamConfig::with_learning_rate(settings.learning_rate)
    });
    let mut order: Vec<(usize, Side)> = train_set.clone();
    // Probabilities of a slice: windows scored in batches, or one continuous streaming run.
    let score = |network: &Network, set: &[(usize, Side)]| match settings.streaming {
        None => evaluate(
            network,
            &prepared.scaled,
            inputs,
            steps,
            set,
            settings.evaluation_batch_size,
            &eval_device,
        )
        .map_err(TrainError::from),
        Some(_) => streaming::score(network, &architecture, &prepared, set),
    };
    let mut best: Option<(Network, f64, usize)> = None;
    let mut since_best = 0;
    let mut history = Vec::new();
    let mut stopped_early = false;

    for epoch in 1..=settings.epochs {
        let (trained, loss_sum, counted) = match &settings.streaming {
            None => {
                rng.shuffle(&mut order);
                windowed_epoch(
                    network,
                    &mut adam,
                    &prepared,
                    &order,
                    settings,
                    steps,
                    &mut rng,
                    &train_device,
                    epoch,
                    &mut report_progress,
                )?
            }
            Some(streaming) => streaming::epoch(
                network,
                &mut adam,
                &prepared,
                inputs,
                steps,
                streaming,
                settings.network.dropout,
                &mut rng,
                &train_device,
                epoch,
                &mut report_progress,
            )?,
        };
        network = trained;
        let candidate = network.valid();
        let probabilities = score(&candidate, &validation_set)?;
        let validation_loss = Metrics::score(&sides(&validation_set), &probabilities).log_loss;
        if !validation_loss.is_finite() {
            return Err(TrainError::Diverged {
                epoch,
                what: "validation",
                value: validation_loss,
            });
        }
        let improved = best
            .as_ref()
            .is_none_or(|(_, best_loss, _)| validation_loss < *best_loss);
        if improved {
            best = Some((candidate, validation_loss, epoch));
            since_best = 0;
        } else {
            since_best += 1;
        }
        let record = EpochRecord {
            epoch,
            train_loss: loss_sum / counted.max(1) as f64,
            validation_loss,
            improved,
        };
        history.push(record.clone());
        report_progress(Progress::Epoch(record));
        if since_best >= settings.patience && epoch < settings.epochs {
            stopped_early = true;
            report_progress(Progress::EarlyStop {
                epoch,
                best_epoch: best.as_ref().map_or(epoch, |b| b.2),
            });
            break;
        }
    }

    let (network, best_validation_loss, best_epoch) = match best {
        Some(best) => best,
        // epochs >= 1 is validated, so at least one epoch set `best`.
        None => (network.valid(), f64::NAN, 0),
    };
    report_progress(Progress::Testing);
    let test_probabilities = score(&network, &test_set)?;
    let test_labels = sides(&test_set);
    let test = Metrics::score(&test_labels, &test_probabilities);
    // Row `row` of the set, read in its own series: `(series, row within it)`.
    let local = |row: usize| {
        prepared
            .series_of(row)
            .and_then(|(i, part)| series.get(i).map(|s| (s.data, row - part.offset)))
    };
    let rule = |row: usize| {
        local(row).map_or(Side::Neutral, |(data, t)| {
            previous_return_sign(&data.closes, t, settings.labels.horizon)
        })
    };
    let forecasts = baselines(&rule, &train_set, &test_set);
    let baselines = forecasts.scores.clone();
    let beats_baselines_on_log_loss = test.log_loss < baselines.always_neutral.log_loss
        && test.log_loss < baselines.previous_return_sign.log_loss;
    let open_time = |row: usize| {
        local(row)
            .and_then(|(data, t)| data.open_times.get(t).copied())
            .unwrap_or_default()
    };
    let test_trace = crate::model::trace::ForecastTrace::in_time_order(
        test_set.iter().map(|(row, _)| open_time(*row)).collect(),
        test_labels,
        test_probabilities,
        forecasts.prior,
        forecasts.rule,
    );
    let sources: Vec<SeriesSource> = prepared
        .parts
        .iter()
        .zip(series)
        .map(|(part, s)| SeriesSource::new(s.name, s.data, part.split.clone()))
        .collect();
    let split_open_times = SeriesSource::union_spans(&sources);
    let rows = sources.iter().map(|s| s.rows).sum();
    let (source_sha256, sources) = match sources.as_slice() {
        [only] => (only.source_sha256.clone(), Vec::new()),
        many => (SeriesSource::combined_sha256(many), sources),
    };
    let report = TrainReport {
        epochs_run: history.len(),
        best_epoch,
        stopped_early,
        best_validation_loss,
        history,
        samples: [train_set.len(), validation_set.len(), test_set.len()],
        class_counts: [
            class_counts(&train_set),
            class_counts(&validation_set),
            class_counts(&test_set),
        ],
        test,
        baselines,
        beats_baselines_on_log_loss,
    };
    Ok(TrainedModel {
        network,
        architecture,
        mode: settings.mode(),
        feature_names: series
            .first()
            .map(|s| s.data.feature_names.clone())
            .unwrap_or_default(),
        scaler: prepared.scaler,
        settings: settings.clone(),
        split: prepared.split,
        split_open_times,
        source_sha256,
        rows,
        series: sources,
        report,
        test_trace,
    })
}

/// One epoch of the windowed model: shuffled mini-batches of windows. Returns the network after
/// it, the summed per-sample loss and the number of samples.
#[allow(clippy::too_many_arguments)]
fn windowed_epoch(
    mut network: Network,
    adam: &mut Adam,
    prepared: &Prepared,
    order: &[(usize, Side)],
    settings: &TrainSettings,
    steps: usize,
    rng: &mut SplitMix64,
    device: &burn::tensor::Device,
    epoch: usize,
    report_progress: &mut dyn FnMut(Progress),
) -> Result<(Network, f64, usize), TrainError> {
    let inputs = prepared.scaler.inputs();
    let batches = order.len().div_ceil(settings.batch_size);
    let mut window = Vec::new();
    let mut targets = Vec::new();
    let mut loss_sum = 0.0;
    for (b, chunk) in order.chunks(settings.batch_size).enumerate() {
        let ends: Vec<usize> = chunk.iter().map(|(t, _)| *t).collect();
        gather_time_major(&prepared.scaled, inputs, steps, &ends, &mut window);
        one_hot(chunk.iter().map(|(_, side)| *side), &mut targets);
        let x = tensor2(&window, [steps * chunk.len(), inputs], device);
        let y = tensor2(&targets, [chunk.len(), NUM_CLASSES], device);
        let dropout = Dropout {
            probability: settings.network.dropout,
            rng: &mut *rng,
        };
        let logits = network.forward(x, chunk.len(), steps, Some(dropout));
        let loss = (log_softmax(logits, 1) * y)
            .sum()
            .neg()
            .div_scalar(chunk.len() as f64);
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
        loss_sum += value * chunk.len() as f64;
        report_progress(Progress::Batch {
            epoch,
            batch: b + 1,
            batches,
            loss: value,
        });
    }
    Ok((network, loss_sum, order.len()))
}
