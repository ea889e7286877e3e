//! Walk-forward evaluation: how a model trained on the past holds up on the next block, fold
//! after fold. Fold `k` trains exactly as `train` does (chronological split, purge gaps, scaler
//! fitted on its own training slice) on the data up to `end_k` only, so its test slice — the last
//! `test` share of that prefix — is the block right after everything it learnt from. The ends
//! shrink by the test share, so the folds' test blocks tile the end of the data without overlap;
//! the last fold is the full-data run itself.

use serde::{Deserialize, Serialize};

use super::{NamedSeries, TrainError, TrainReport, TrainSettings, TrainingData, train_series};

/// One fold's result on its test block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fold {
    /// Rows of data the fold saw (its prefix of the file; of every series, summed).
    pub rows: usize,
    /// Open times (Unix ms) of the first and last row of its test slice.
    pub test_open_times: [i64; 2],
    /// Test samples.
    pub samples: usize,
    /// The model's test log-loss.
    pub model_log_loss: f64,
    /// The class prior's (always neutral, training frequencies) test log-loss.
    pub prior_log_loss: f64,
    /// The previous-return-sign rule's test log-loss.
    pub previous_return_sign_log_loss: f64,
    /// The model's test accuracy.
    pub model_accuracy: f64,
    /// Whether the model's log-loss is below both baselines'.
    pub beats_baselines: bool,
}

impl Fold {
    /// The fold a training run's report describes.
    pub fn from_report(rows: usize, report: &TrainReport, test_open_times: [i64; 2]) -> Self {
        Self {
            rows,
            test_open_times,
            samples: report.test.samples,
            model_log_loss: report.test.log_loss,
            prior_log_loss: report.baselines.always_neutral.log_loss,
            previous_return_sign_log_loss: report.baselines.previous_return_sign.log_loss,
            model_accuracy: report.test.accuracy,
            beats_baselines: report.beats_baselines_on_log_loss,
        }
    }
}

/// The data ends of `folds` folds over `rows` rows, oldest first, the last being `rows`:
/// `end_{k-1} = end_k · (1 − test)`, so each fold's test block ends where the next one's begins.
pub fn fold_ends(rows: usize, test_fraction: f64, folds: usize) -> Vec<usize> {
    let keep = (1.0 - test_fraction).clamp(0.0, 1.0);
    let mut ends: Vec<usize> = (0..folds)
        .map(|back| (rows as f64 * keep.powi(back as i32)).round() as usize)
        .collect();
    ends.reverse();
    ends
}

/// The first `end` rows of `data`.
fn prefix(data: &TrainingData, end: usize) -> TrainingData {
    let inputs = data.feature_names.len();
    let end = end.min(data.closes.len());
    TrainingData {
        feature_names: data.feature_names.clone(),
        rows: data.rows[..end * inputs].to_vec(),
        closes: data.closes[..end].to_vec(),
        open_times: data.open_times[..end].to_vec(),
        source_sha256: data.source_sha256.clone(),
    }
}

/// Trains and scores every fold but the last (`last`: the full-data run, already done), oldest
/// first; `on_fold` hears of each fold as it ends. A fold too small to split is an error naming
/// it, never a silently skipped fold.
pub fn walk_forward(
    data: &TrainingData,
    settings: &TrainSettings,
    folds: usize,
    last: Fold,
    on_fold: &mut dyn FnMut(usize, &Fold),
) -> Result<Vec<Fold>, TrainError> {
    walk_forward_series(
        &[NamedSeries { name: "", data }],
        settings,
        folds,
        last,
        on_fold,
    )
}

/// [`walk_forward`] over several series: fold `k` trains on the same share of every series
/// (each cut by its own [`fold_ends`]), so every fold's test blocks are the next block of each
/// series after what the fold learnt from.
pub fn walk_forward_series(
    series: &[NamedSeries<'_>],
    settings: &TrainSettings,
    folds: usize,
    last: Fold,
    on_fold: &mut dyn FnMut(usize, &Fold),
) -> Result<Vec<Fold>, TrainError> {
    let folds = folds.max(1);
    let ends: Vec<Vec<usize>> = series
        .iter()
        .map(|s| fold_ends(s.data.closes.len(), settings.split.test, folds))
        .collect();
    let mut out = Vec::with_capacity(folds);
    for k in 0..folds {
        let fold = if k + 1 == folds {
            last.clone()
        } else {
            let prefixes: Vec<TrainingData> = series
                .iter()
                .zip(&ends)
                .map(|(s, e)| prefix(s.data, e.get(k).copied().unwrap_or_default()))
                .collect();
            let rows = prefixes.iter().map(|p| p.closes.len()).sum();
            let named: Vec<NamedSeries<'_>> = series
                .iter()
                .zip(&prefixes)
                .map(|(s, data)| NamedSeries { name: s.name, data })
                .collect();
            let trained = train_series(&named, settings, None).map_err(|e| TrainError::Fold {
                fold: k + 1,
                rows,
                reason: e.to_string(),
            })?;
            let test = trained.split_open_times[2];
            Fold::from_report(rows, &trained.report, test)
        };
        on_fold(k + 1, &fold);
        out.push(fold);
    }
    Ok(out)
}

/// The walk-forward table for REPORT.md.
pub fn render(folds: &[Fold], format_time: &dyn Fn(i64) -> String) -> String {
    let mut out = String::new();
    let wins = folds.iter().filter(|f| f.beats_baselines).count();
    out.push_str(&format!(
        "## Walk-forward ({} folds: each trained on the past only, tested on the next block)\n\n",
        folds.len()
    ));
    out.push_str("| fold | rows seen | test block | samples | model | class prior | previous-return sign | model accuracy | beats both |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for (i, f) in folds.iter().enumerate() {
        out.push_str(&format!(
            "| {} | {} | {} → {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {} |\n",
            i + 1,
            f.rows,
            format_time(f.test_open_times[0]),
            format_time(f.test_open_times[1]),
            f.samples,
            f.model_log_loss,
            f.prior_log_loss,
            f.previous_return_sign_log_loss,
            f.model_accuracy,
            if f.beats_baselines { "yes" } else { "no" }
        ));
    }
    out.push_str(&format!(
        "\nThe model beats both baselines on log-loss in {wins} of {} folds.\n",
        folds.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_ends_tile_the_tail_and_end_at_the_data() {
        let ends = fold_ends(10_000, 0.15, 4);
        assert_eq!(ends.len(), 4);
        assert_eq!(ends.last(), Some(&10_000));
        // Each prefix is the next one less its test share: the test blocks do not overlap.
        for pair in ends.windows(2) {
            let next_test_start = (pair[1] as f64 * 0.85).round() as usize;
            assert!(pair[0].abs_diff(next_test_start) <= 1, "{ends:?}");
        }
        assert!(ends.windows(2).all(|p| p[0] < p[1]));
    }
}
