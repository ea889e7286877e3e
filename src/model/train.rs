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

use serde::{Deserialize, Serialize};

use burn::module::Module;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};

use super::adam::{Adam, AdamConfig};
use super::architecture::{Architecture, ArchitectureError, Kind};
use super::backend::BackendKind;
use super::labels::{LabelError, LabelSpec};
use super::metrics::{Baselines, Metrics, calibrate, previous_return_sign};
use super::network::{Dropout, Network, ReadbackError};
use super::rng::SplitMix64;
use super::scaler::{Scaler, ScalerError};
use super::side::{NUM_CLASSES, Side};
use super::split::{Split, SplitError, SplitFractions};
use super::windows::gather_time_major;

/// What training learns from: one row of features per bar, aligned with that bar's close.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingData {
    /// Feature names in column order; they become the model's input contract.
    pub feature_names: Vec<String>,
    /// Row-major features, `closes.len() x feature_names.len()`; every value finite.
    pub rows: Vec<f32>,
    /// Close of each row's bar (labels are forward returns of these).
    pub closes: Vec<f64>,
    /// Open time (Unix ms) of each row's bar, strictly increasing; recorded in the provenance.
    pub open_times: Vec<i64>,
    /// SHA-256 (hex) of the source file, recorded in the provenance.
    pub source_sha256: String,
}

/// The network to train (the input count comes from the data, the classes are fixed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSettings {
    /// LSTM or GRU.
    pub kind: Kind,
    /// Stacked recurrent layers.
    pub layers: usize,
    /// Hidden units per layer.
    pub hidden: usize,
    /// Bars per input window.
    pub sequence_length: usize,
    /// Dropout probability between recurrent layers, training only (ignored with one layer).
    pub dropout: f32,
}

impl Default for NetworkSettings {
    /// A 2 x 32 LSTM over 32 bars: small enough to train on ~20k rows in minutes on two cores,
    /// and to infer in well under a millisecond per window.
    fn default() -> Self {
        Self {
            kind: Kind::Lstm,
            layers: 2,
            hidden: 32,
            sequence_length: 32,
            dropout: 0.1,
        }
    }
}

/// Every knob of a training run. Serde with defaults, so a config file names only what differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainSettings {
    /// Maximum passes over the training slice.
    pub epochs: usize,
    /// Samples per gradient step.
    pub batch_size: usize,
    /// Adam step size.
    pub learning_rate: f64,
    /// Decoupled weight decay (AdamW) per unit learning rate; 0 disables it. A regulariser for
    /// when validation loss turns up after a few epochs.
    pub weight_decay: f64,
    /// Epochs without a validation-loss improvement before stopping.
    pub patience: usize,
    /// Seed of initialisation, shuffling and dropout.
    pub seed: u64,
    /// Samples per forward pass when scoring validation and test (memory vs. speed only).
    pub evaluation_batch_size: usize,
    /// Backend to train on.
    pub backend: BackendKind,
    /// Chronological split shares.
    pub split: SplitFractions,
    /// Label definition.
    pub labels: LabelSpec,
    /// Network shape and dropout.
    pub network: NetworkSettings,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            epochs: 30,
            batch_size: 64,
            learning_rate: 1e-3,
            weight_decay: 0.0,
            patience: 5,
            seed: 42,
            evaluation_batch_size: 512,
            backend: BackendKind::Flex,
            split: SplitFractions::default(),
            labels: LabelSpec::default(),
            network: NetworkSettings::default(),
        }
    }
}

/// Why training cannot run or did not converge.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A setting out of range.
    #[error("invalid training setting `{field}`: {reason}")]
    Setting {
        /// The setting.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The network shape is invalid.
    #[error(transparent)]
    Architecture(#[from] ArchitectureError),
    /// The label spec or the closes are invalid.
    #[error(transparent)]
    Labels(#[from] LabelError),
    /// The rows cannot be split (too few, bad fractions).
    #[error(transparent)]
    Split(#[from] SplitError),
    /// The scaler cannot be fitted.
    #[error(transparent)]
    Scaler(#[from] ScalerError),
    /// No feature columns.
    #[error("training data has no feature columns")]
    NoFeatures,
    /// The same feature name twice.
    #[error("feature `{0}` appears twice in the feature names")]
    DuplicateFeature(String),
    /// Columns of different lengths.
    #[error("training data is misaligned: {what} has {found} entries, expected {expected}")]
    LengthMismatch {
        /// The column.
        what: &'static str,
        /// Entries expected.
        expected: usize,
        /// Entries found.
        found: usize,
    },
    /// A NaN or infinite feature value (e.g. indicator warm-up rows not trimmed).
    #[error(
        "feature `{feature}` is {value} at row {row} (open_time {open_time}); drop warm-up rows before training"
    )]
    NonFiniteFeature {
        /// Row index.
        row: usize,
        /// Open time of the row.
        open_time: i64,
        /// Feature name.
        feature: String,
        /// The value.
        value: f32,
    },
    /// Open times not strictly increasing (unsorted or duplicated input).
    #[error("open_time at row {row} ({open_time}) is not after the previous row's ({previous})")]
    TimesNotIncreasing {
        /// Row index.
        row: usize,
        /// Its open time.
        open_time: i64,
        /// The previous row's open time.
        previous: i64,
    },
    /// The loss became NaN or infinite.
    #[error("training diverged at epoch {epoch}: {what} loss is {value}")]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// Which loss.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// Reading a tensor back from the backend failed.
    #[error(transparent)]
    Readback(#[from] ReadbackError),
}

/// Progress events, for a progress bar; the library itself never prints.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Data validated and split; training starts.
    Started {
        /// Training samples.
        train_samples: usize,
        /// Validation samples.
        validation_samples: usize,
        /// Test samples.
        test_samples: usize,
        /// Gradient steps per epoch.
        batches_per_epoch: usize,
        /// Maximum epochs.
        epochs: usize,
    },
    /// One gradient step done.
    Batch {
        /// Epoch (1-based).
        epoch: usize,
        /// Batch within the epoch (1-based).
        batch: usize,
        /// Batches per epoch.
        batches: usize,
        /// Cross-entropy of this batch.
        loss: f64,
    },
    /// One epoch done and validated.
    Epoch(EpochRecord),
    /// Validation loss stopped improving for `patience` epochs.
    EarlyStop {
        /// The epoch training stopped after.
        epoch: usize,
        /// The epoch whose weights are kept.
        best_epoch: usize,
    },
    /// Scoring the test slice and the baselines.
    Testing,
}

/// One epoch of the training history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Mean training cross-entropy (with dropout active).
    pub train_loss: f64,
    /// Validation log-loss.
    pub validation_loss: f64,
    /// Whether this epoch is the best so far (its weights are kept).
    pub improved: bool,
}

/// Label counts of one slice, in class order (long, short, neutral).
pub type ClassCounts = [u64; NUM_CLASSES];

/// What a training run did and how good the result is on data it never saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// Epochs run.
    pub epochs_run: usize,
    /// Epoch whose weights were kept (lowest validation loss).
    pub best_epoch: usize,
    /// Whether early stopping ended training.
    pub stopped_early: bool,
    /// Lowest validation log-loss.
    pub best_validation_loss: f64,
    /// Per-epoch losses.
    pub history: Vec<EpochRecord>,
    /// Samples in train, validation, test.
    pub samples: [usize; 3],
    /// Label counts in train, validation, test.
    pub class_counts: [ClassCounts; 3],
    /// The model on the test slice.
    pub test: Metrics,
    /// The naive baselines on the test slice.
    pub baselines: Baselines,
    /// Whether the model's test log-loss is below both baselines' — stated, not implied.
    pub beats_baselines_on_log_loss: bool,
}

/// The result of training: the best network (inference mode) and everything `model.json` needs.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    /// The network with the best validation loss, without autodiff.
    pub network: Network,
    /// Its shape.
    pub architecture: Architecture,
    /// Input feature names in order.
    pub feature_names: Vec<String>,
    /// The scaler fitted on the training slice.
    pub scaler: Scaler,
    /// The settings used.
    pub settings: TrainSettings,
    /// The split used (row ranges).
    pub split: Split,
    /// Open time of the first and last row of train, validation, test.
    pub split_open_times: [[i64; 2]; 3],
    /// SHA-256 of the source data.
    pub source_sha256: String,
    /// Rows of the training data.
    pub rows: usize,
    /// Metrics and history.
    pub report: TrainReport,
}

impl TrainSettings {
    /// Check every setting (the nested specs included).
    pub fn validate(&self) -> Result<(), TrainError> {
        let positive = [
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
            ("evaluation_batch_size", self.evaluation_batch_size),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(TrainError::Setting {
                    field,
                    reason: "must be at least 1".into(),
                });
            }
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(TrainError::Setting {
                field: "learning_rate",
                reason: format!("{} is not a positive finite number", self.learning_rate),
            });
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(TrainError::Setting {
                field: "weight_decay",
                reason: format!("{} is not a non-negative finite number", self.weight_decay),
            });
        }
        let dropout = self.network.dropout;
        if !(dropout.is_finite() && (0.0..1.0).contains(&dropout)) {
            return Err(TrainError::Setting {
                field: "network.dropout",
                reason: format!("{dropout} is not in [0, 1)"),
            });
        }
        self.split.validate()?;
        self.labels.validate()?;
        self.architecture(1).validate()?;
        Ok(())
    }

    /// The architecture these settings give for `inputs` features.
    pub fn architecture(&self, inputs: usize) -> Architecture {
        Architecture {
            kind: self.network.kind,
            layers: self.network.layers,
            hidden: self.network.hidden,
            inputs,
            sequence_length: self.network.sequence_length,
            classes: NUM_CLASSES,
        }
    }
}

/// Seed offset separating the data-order/dropout stream from the initialisation stream.
const DATA_STREAM: u64 = 0xD1B5_4A32_D192_ED03;

/// Train a model. `progress`, when given, receives [`Progress`] events.
pub fn train(
    data: &TrainingData,
    settings: &TrainSettings,
    mut progress: Option<&mut dyn FnMut(Progress)>,
) -> Result<TrainedModel, TrainError> {
    let mut report_progress = |event: Progress| {
        if let Some(callback) = progress.as_mut() {
            callback(event);
        }
    };
    settings.validate()?;
    let prepared = prepare(data, settings)?;
    let inputs = data.feature_names.len();
    let architecture = settings.architecture(inputs);
    let steps = architecture.sequence_length;
    let train_set = prepared.samples(&prepared.split.train_samples());
    let validation_set = prepared.samples(&prepared.split.validation_samples());
    let test_set = prepared.samples(&prepared.split.test_samples());
    let batches = train_set.len().div_ceil(settings.batch_size);
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
    let mut window = Vec::new();
    let mut targets = Vec::new();
    let mut best: Option<(Network, f64, usize)> = None;
    let mut since_best = 0;
    let mut history = Vec::new();
    let mut stopped_early = false;

    for epoch in 1..=settings.epochs {
        rng.shuffle(&mut order);
        let mut loss_sum = 0.0;
        for (b, chunk) in order.chunks(settings.batch_size).enumerate() {
            let ends: Vec<usize> = chunk.iter().map(|(t, _)| *t).collect();
            gather_time_major(&prepared.scaled, inputs, steps, &ends, &mut window);
            one_hot(chunk.iter().map(|(_, side)| *side), &mut targets);
            let x = tensor2(&window, [steps * chunk.len(), inputs], &train_device);
            let y = tensor2(&targets, [chunk.len(), NUM_CLASSES], &train_device);
            let dropout = Dropout {
                probability: settings.network.dropout,
                rng: &mut rng,
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
        let candidate = network.valid();
        let probabilities = evaluate(
            &candidate,
            &prepared.scaled,
            inputs,
            steps,
            &validation_set,
            settings.evaluation_batch_size,
            &eval_device,
        )?;
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
            train_loss: loss_sum / train_set.len().max(1) as f64,
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
    let test_probabilities = evaluate(
        &network,
        &prepared.scaled,
        inputs,
        steps,
        &test_set,
        settings.evaluation_batch_size,
        &eval_device,
    )?;
    let test_labels = sides(&test_set);
    let test = Metrics::score(&test_labels, &test_probabilities);
    let baselines = baselines(&data.closes, settings.labels.horizon, &train_set, &test_set);
    let beats_baselines_on_log_loss = test.log_loss < baselines.always_neutral.log_loss
        && test.log_loss < baselines.previous_return_sign.log_loss;
    let split = prepared.split;
    let time_of = |row: usize| data.open_times.get(row).copied().unwrap_or_default();
    let span = |r: &std::ops::Range<usize>| [time_of(r.start), time_of(r.end.saturating_sub(1))];
    let split_open_times = [
        span(&split.train),
        span(&split.validation),
        span(&split.test),
    ];
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
        feature_names: data.feature_names.clone(),
        scaler: prepared.scaler,
        settings: settings.clone(),
        split,
        split_open_times,
        source_sha256: data.source_sha256.clone(),
        rows: data.closes.len(),
        report,
    })
}

/// Validated, labelled, split and scaled data.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The split.
    pub split: Split,
    /// The scaler fitted on the training slice.
    pub scaler: Scaler,
    /// Every row scaled with it.
    pub scaled: Vec<f32>,
    /// The label of every row (`None` where the horizon runs past the data).
    pub labels: Vec<Option<Side>>,
}

impl Prepared {
    /// `(row, label)` of every sample end in `ends` (all labelled by construction of the split).
    fn samples(&self, ends: &std::ops::Range<usize>) -> Vec<(usize, Side)> {
        ends.clone()
            .filter_map(|t| self.labels.get(t).copied().flatten().map(|side| (t, side)))
            .collect()
    }
}

/// Steps 1–4 of training: validate the data, label, split, fit the scaler on the training slice
/// and scale every row. Public so tools and tests can inspect exactly what training sees.
pub fn prepare(data: &TrainingData, settings: &TrainSettings) -> Result<Prepared, TrainError> {
    let inputs = data.feature_names.len();
    if inputs == 0 {
        return Err(TrainError::NoFeatures);
    }
    for (i, name) in data.feature_names.iter().enumerate() {
        if data.feature_names[..i].contains(name) {
            return Err(TrainError::DuplicateFeature(name.clone()));
        }
    }
    let n = data.closes.len();
    let checks = [
        ("rows", n * inputs, data.rows.len()),
        ("open_times", n, data.open_times.len()),
    ];
    for (what, expected, found) in checks {
        if expected != found {
            return Err(TrainError::LengthMismatch {
                what,
                expected,
                found,
            });
        }
    }
    for (row, pair) in data.open_times.windows(2).enumerate() {
        if pair[1] <= pair[0] {
            return Err(TrainError::TimesNotIncreasing {
                row: row + 1,
                open_time: pair[1],
                previous: pair[0],
            });
        }
    }
    if let Some((i, value)) = data.rows.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        let row = i / inputs;
        return Err(TrainError::NonFiniteFeature {
            row,
            open_time: data.open_times.get(row).copied().unwrap_or_default(),
            feature: data.feature_names[i % inputs].clone(),
            value: *value,
        });
    }
    let labels = settings.labels.label(&data.closes)?;
    let split = Split::new(
        n,
        settings.network.sequence_length,
        settings.labels.horizon,
        &settings.split,
    )?;
    let train_rows = &data.rows[split.train.start * inputs..split.train.end * inputs];
    let scaler = Scaler::fit(train_rows, inputs)?;
    let mut scaled = data.rows.clone();
    scaler.apply_in_place(&mut scaled);
    Ok(Prepared {
        split,
        scaler,
        scaled,
        labels,
    })
}

/// Probabilities for every sample of `set`, in order, in batches of `batch_size`.
fn evaluate(
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

/// The baselines on the test samples, calibrated on the training samples.
fn baselines(
    closes: &[f64],
    horizon: usize,
    train_set: &[(usize, Side)],
    test_set: &[(usize, Side)],
) -> Baselines {
    let labels = sides(test_set);
    let prior = calibrate(train_set.iter().map(|(_, side)| (Side::Neutral, *side)));
    let neutral: Vec<[f32; NUM_CLASSES]> = test_set
        .iter()
        .map(|_| prior[Side::Neutral.class_index()])
        .collect();
    let rule = |t: usize| previous_return_sign(closes, t, horizon);
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
    Baselines {
        always_neutral,
        previous_return_sign: previous,
    }
}

/// A one-hot probability row.
fn hard(side: Side) -> [f32; NUM_CLASSES] {
    let mut row = [0.0; NUM_CLASSES];
    row[side.class_index()] = 1.0;
    row
}

fn sides(set: &[(usize, Side)]) -> Vec<Side> {
    set.iter().map(|(_, side)| *side).collect()
}

fn class_counts(set: &[(usize, Side)]) -> ClassCounts {
    let mut counts = [0; NUM_CLASSES];
    for (_, side) in set {
        counts[side.class_index()] += 1;
    }
    counts
}

fn one_hot(sides: impl Iterator<Item = Side>, out: &mut Vec<f32>) {
    out.clear();
    for side in sides {
        out.extend_from_slice(&hard(side));
    }
}

fn tensor2(values: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

fn read_scalar(tensor: Tensor<1>) -> Result<f32, ReadbackError> {
    tensor
        .try_into_data()
        .map_err(|e| ReadbackError(e.to_string()))?
        .try_into_vec::<f32>()
        .map_err(|e| ReadbackError(format!("{e:?}")))?
        .first()
        .copied()
        .ok_or_else(|| ReadbackError("empty loss tensor".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_from_partial_toml_and_validate() {
        let text =
            "epochs = 5\nseed = 1\n[network]\nkind = \"gru\"\nhidden = 16\n[labels]\nhorizon = 4\n";
        let parsed: Result<TrainSettings, _> = toml::from_str(text);
        let Ok(settings) = parsed else {
            unreachable!("valid TOML: {parsed:?}")
        };
        assert_eq!(settings.epochs, 5);
        assert_eq!(settings.network.kind, Kind::Gru);
        assert_eq!(settings.network.hidden, 16);
        assert_eq!(settings.network.layers, NetworkSettings::default().layers);
        assert_eq!(settings.labels.horizon, 4);
        assert!((settings.labels.long_threshold - 0.005).abs() < 1e-12);
        assert!(settings.validate().is_ok());
        assert!(toml::from_str::<TrainSettings>("epochz = 5").is_err());
        let bad = TrainSettings {
            network: NetworkSettings {
                dropout: 1.0,
                ..NetworkSettings::default()
            },
            ..TrainSettings::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(TrainError::Setting {
                field: "network.dropout",
                ..
            })
        ));
    }
}
