//! The training input and its preparation: validated, labelled, split and scaled (steps 1–4).
//!
//! Several series train one model as one [`Prepared`] set: their rows are laid end to end, but
//! each series keeps its own labels, its own chronological split and its own purge gaps, so no
//! window, label or gap ever reads across two series; one scaler is fitted over every series'
//! training slice.

use std::ops::Range;

use super::{TrainError, TrainSettings};
use crate::contract::Side;
use crate::model::scaler::Scaler;
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

/// One series of a multi-series training run, with the name its provenance records.
#[derive(Debug, Clone, Copy)]
pub struct NamedSeries<'a> {
    /// The series' identity, e.g. `cffex.IC.1m` (recorded, and used in error messages).
    pub name: &'a str,
    /// Its rows.
    pub data: &'a TrainingData,
}

/// Where one series' rows lie in the prepared set and how they were split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedPart {
    /// Index of the series' first row in the concatenated rows.
    pub offset: usize,
    /// The series' row count.
    pub rows: usize,
    /// Its own split, in rows of the series (add `offset` for rows of the set).
    pub split: Split,
}

/// Which slice of the split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slice {
    /// The training slice.
    Train,
    /// The validation slice (early stopping).
    Validation,
    /// The test slice (final report only).
    Test,
}

impl Slice {
    /// The slice's rows in `split`.
    pub fn rows(self, split: &Split) -> Range<usize> {
        match self {
            Slice::Train => split.train.clone(),
            Slice::Validation => split.validation.clone(),
            Slice::Test => split.test.clone(),
        }
    }
}

/// Validated, labelled, split and scaled data.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The split of the first series (of the only one, for a single-series run).
    pub split: Split,
    /// Every series: its place in the rows and its split.
    pub parts: Vec<PreparedPart>,
    /// The scaler fitted on every series' training slice.
    pub scaler: Scaler,
    /// Every row of every series, scaled with it, series after series.
    pub scaled: Vec<f32>,
    /// The label of every row (`None` where the horizon runs past its series' data).
    pub labels: Vec<Option<Side>>,
}

impl Prepared {
    /// `(row, label)` of every sample of `slice`, rows of the set, series after series and in
    /// increasing row order within each (all labelled by construction of the split).
    pub fn samples(&self, slice: Slice) -> Vec<(usize, Side)> {
        self.parts
            .iter()
            .flat_map(|part| {
                let ends = part.split.sample_ends(&slice.rows(&part.split));
                ends.filter_map(move |t| {
                    let row = part.offset + t;
                    self.labels
                        .get(row)
                        .copied()
                        .flatten()
                        .map(|side| (row, side))
                })
            })
            .collect()
    }

    /// Whether `row` (of the set) is a sample end of `slice` of its series.
    pub fn is_sample(&self, row: usize, slice: Slice) -> bool {
        self.series_of(row).is_some_and(|(_, part)| {
            part.split
                .sample_ends(&slice.rows(&part.split))
                .contains(&(row - part.offset))
        })
    }

    /// The rows of `slice` of every series, as rows of the set.
    pub fn slice_rows(&self, slice: Slice) -> Vec<Range<usize>> {
        self.parts
            .iter()
            .map(|part| {
                let r = slice.rows(&part.split);
                part.offset + r.start..part.offset + r.end
            })
            .collect()
    }

    /// The first row of every series: where a recurrent run starts afresh.
    pub fn series_starts(&self) -> Vec<usize> {
        self.parts.iter().map(|p| p.offset).collect()
    }

    /// The series `row` belongs to: its index and its part.
    pub fn series_of(&self, row: usize) -> Option<(usize, &PreparedPart)> {
        let index = self
            .parts
            .partition_point(|p| p.offset <= row)
            .checked_sub(1)?;
        self.parts
            .get(index)
            .filter(|p| row < p.offset + p.rows)
            .map(|p| (index, p))
    }
}

/// Steps 1–4 of training: validate the data, label, split, fit the scaler on the training slice
/// and scale every row. Public so tools and tests can inspect exactly what training sees.
pub fn prepare(data: &TrainingData, settings: &TrainSettings) -> Result<Prepared, TrainError> {
    prepare_series(&[NamedSeries { name: "", data }], settings)
}

/// [`prepare`] over several series: each validated, labelled and split on its own; one scaler
/// over all their training slices. The series must share their feature names.
pub fn prepare_series(
    series: &[NamedSeries<'_>],
    settings: &TrainSettings,
) -> Result<Prepared, TrainError> {
    let Some(first) = series.first() else {
        return Err(TrainError::NoSeries);
    };
    let names = &first.data.feature_names;
    let inputs = names.len();
    if inputs == 0 {
        return Err(TrainError::NoFeatures);
    }
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(TrainError::DuplicateFeature(name.clone()));
        }
    }
    let mut parts = Vec::with_capacity(series.len());
    let mut labels = Vec::new();
    let mut offset = 0;
    for s in series {
        if &s.data.feature_names != names {
            return Err(TrainError::FeatureMismatch {
                series: s.name.to_owned(),
                first: first.name.to_owned(),
            });
        }
        let (part_labels, split) = label_and_split(s.data, inputs, settings)
            .map_err(|e| in_series(series.len(), s.name, e))?;
        let n = s.data.closes.len();
        labels.extend(part_labels);
        parts.push(PreparedPart {
            offset,
            rows: n,
            split,
        });
        offset += n;
    }
    let mut train_rows = Vec::new();
    for (part, s) in parts.iter().zip(series) {
        let train = &part.split.train;
        train_rows.extend_from_slice(&s.data.rows[train.start * inputs..train.end * inputs]);
    }
    let scaler = Scaler::fit(&train_rows, inputs)?;
    let mut scaled = Vec::with_capacity(offset * inputs);
    for s in series {
        scaled.extend_from_slice(&s.data.rows);
    }
    scaler.apply_in_place(&mut scaled);
    let split = parts
        .first()
        .map(|p| p.split.clone())
        .ok_or(TrainError::NoSeries)?;
    Ok(Prepared {
        split,
        parts,
        scaler,
        scaled,
        labels,
    })
}

/// A series' error, named when there are several.
fn in_series(count: usize, name: &str, error: TrainError) -> TrainError {
    if count > 1 {
        TrainError::Series {
            series: name.to_owned(),
            reason: error.to_string(),
        }
    } else {
        error
    }
}

/// One series' labels and split, after checking it.
fn label_and_split(
    data: &TrainingData,
    inputs: usize,
    settings: &TrainSettings,
) -> Result<(Vec<Option<Side>>, Split), TrainError> {
    validate(data, inputs)?;
    let labels = settings.labels.label(&data.closes)?;
    let split = Split::new(
        data.closes.len(),
        settings.sample_span(),
        settings.labels.horizon,
        &settings.split,
    )?;
    Ok((labels, split))
}

/// Lengths, increasing times and finite features of one series.
fn validate(data: &TrainingData, inputs: usize) -> Result<(), TrainError> {
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
    Ok(())
}
