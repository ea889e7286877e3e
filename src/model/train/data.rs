//! The training input and its preparation: validated, labelled, split and scaled (steps 1–4).

use super::{TrainError, TrainSettings};
use crate::model::scaler::Scaler;
use crate::model::side::Side;
use crate::model::split::Split;

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
    pub(super) fn samples(&self, ends: &std::ops::Range<usize>) -> Vec<(usize, Side)> {
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
        settings.sample_span(),
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
