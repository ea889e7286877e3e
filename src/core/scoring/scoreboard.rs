//! One model's scores: totals since start, a rolling window, and the two baselines scored on the
//! same samples.

use std::collections::VecDeque;

use super::drift::FeatureDrift;
use super::summary::{FeatureDriftScore, ForecasterScore, RollingScore, ScoreReport};
use super::{ScoreDrain, ScoreSample};
use crate::model::classification::{CalibrationBins, PROBABILITY_FLOOR, argmax};
use crate::model::trace::ForecastTrace;
use crate::model::{ModelMetadata, NUM_CLASSES};

/// Who made a scored forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forecaster {
    /// The model.
    Model,
    /// The class frequencies of the model's training slice, every time.
    TrainingPrior,
    /// The sign of the return over the previous `horizon` bars, turned into probabilities by
    /// the label frequencies that followed each of its calls so far (add-one smoothed, this
    /// sample excluded): no information the model did not have, and a finite log-loss.
    PreviousReturnSign,
}

impl Forecaster {
    /// Every forecaster, in report order.
    pub const ALL: [Self; 3] = [Self::Model, Self::TrainingPrior, Self::PreviousReturnSign];

    /// Its name in metrics (`predictor` label) and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::TrainingPrior => "training_prior",
            Self::PreviousReturnSign => "previous_return_sign",
        }
    }
}

/// One forecaster's score of one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scored {
    log_loss: f64,
    correct: bool,
    brier: f64,
    /// The probability it gave the class it called.
    confidence: f64,
}

/// Sums since start.
#[derive(Debug, Clone, Default, PartialEq)]
struct Totals {
    samples: u64,
    log_loss_sum: f64,
    correct: u64,
    brier_sum: f64,
    /// `confusion[actual][called]`.
    confusion: [[u64; NUM_CLASSES]; NUM_CLASSES],
    /// The calls by confidence, for the calibration error.
    bins: CalibrationBins,
}

/// Scores of one model, fed with the samples its series produce.
#[derive(Debug, Clone)]
pub struct Scoreboard {
    prior: [f64; NUM_CLASSES],
    /// `rule_counts[call][label]`, add-one smoothed.
    rule_counts: [[u64; NUM_CLASSES]; NUM_CLASSES],
    totals: [Totals; 3],
    rolling: [VecDeque<Scored>; 3],
    window: usize,
    unscored_gap: u64,
    unscored_history: u64,
    features: Vec<String>,
    drift: FeatureDrift,
    /// Every sample's forecasts, when asked for (`model evaluate --plot`); never live, where it
    /// would grow without bound.
    trace: Option<ForecastTrace>,
}

impl Scoreboard {
    /// A scoreboard with the training slice's label counts (`[long, short, neutral]`) as the
    /// prior, the model's input `features` (in its order) for drift, and rolling windows of
    /// `window` samples (at least 1; drift at least 2).
    pub fn new(training_counts: [u64; NUM_CLASSES], features: &[String], window: usize) -> Self {
        let total: u64 = training_counts.iter().sum();
        let prior = training_counts.map(|c| {
            if total == 0 {
                1.0 / NUM_CLASSES as f64
            } else {
                c as f64 / total as f64
            }
        });
        Self {
            prior,
            rule_counts: [[1; NUM_CLASSES]; NUM_CLASSES],
            totals: Default::default(),
            rolling: Default::default(),
            window: window.max(1),
            unscored_gap: 0,
            unscored_history: 0,
            features: features.to_vec(),
            drift: FeatureDrift::new(features.len(), window),
            trace: None,
        }
    }

    /// The scoreboard of a model: its prior is the label counts of its training slice.
    pub fn for_model(metadata: &ModelMetadata, window: usize) -> Self {
        Self::new(
            metadata.provenance.report.class_counts[0],
            &metadata.feature_names,
            window,
        )
    }

    /// Keeps every sample's forecasts from now on, for pictures of a recorded file's scores.
    pub fn keep_trace(&mut self) {
        self.trace.get_or_insert_with(ForecastTrace::default);
    }

    /// The forecasts kept since [`Self::keep_trace`].
    pub fn trace(&self) -> Option<&ForecastTrace> {
        self.trace.as_ref()
    }

    /// Adds what a batch scored, in order.
    pub fn record(&mut self, drain: &ScoreDrain) {
        self.unscored_gap += drain.unscored_gap;
        self.unscored_history += drain.unscored_history;
        self.drift.push(&drain.inputs);
        for sample in &drain.samples {
            self.record_one(sample);
        }
    }

    fn record_one(&mut self, sample: &ScoreSample) {
        let label = sample.label.class_index();
        let model = sample.model.map(f64::from);
        let rule = sample.rule.class_index();
        let rule_p = smoothed(&self.rule_counts[rule]);
        let calls = [
            (model, argmax(&sample.model)),
            (self.prior, argmax(&self.prior.map(|p| p as f32))),
            (rule_p, rule),
        ];
        for (i, (p, called)) in calls.into_iter().enumerate() {
            let scored = score(&p, called, label);
            let totals = &mut self.totals[i];
            totals.samples += 1;
            totals.log_loss_sum += scored.log_loss;
            totals.correct += u64::from(scored.correct);
            totals.brier_sum += scored.brier;
            totals.confusion[label][called] += 1;
            totals.bins.add(scored.confidence, scored.correct);
            let rolling = &mut self.rolling[i];
            if rolling.len() >= self.window {
                rolling.pop_front();
            }
            rolling.push_back(scored);
        }
        if let Some(trace) = self.trace.as_mut() {
            trace.push(
                sample.label,
                sample.model,
                self.prior.map(|p| p as f32),
                rule_p.map(|p| p as f32),
            );
        }
        self.rule_counts[rule][label] += 1;
    }

    /// Samples scored since start.
    pub fn samples(&self) -> u64 {
        self.totals[0].samples
    }

    /// Everything, for `/metrics`, `control.model.scores` and `model evaluate`.
    pub fn report(&self, model: &str) -> ScoreReport {
        let forecasters = Forecaster::ALL
            .iter()
            .zip(self.totals.iter().zip(&self.rolling))
            .map(|(f, (t, r))| summarise(*f, t, r))
            .collect();
        let drift = self
            .features
            .iter()
            .zip(self.drift.stats())
            .map(|(feature, stats)| FeatureDriftScore {
                feature: feature.clone(),
                drifted: stats.drifted(),
                mean: stats.mean,
                std: stats.std,
            })
            .collect();
        ScoreReport {
            model: model.to_owned(),
            samples: self.samples(),
            unscored_gap: self.unscored_gap,
            unscored_history: self.unscored_history,
            window: self.window,
            forecasters,
            drift_samples: self.drift.samples(),
            drift,
        }
    }
}

/// A row of counts as probabilities.
fn smoothed(counts: &[u64; NUM_CLASSES]) -> [f64; NUM_CLASSES] {
    let total: u64 = counts.iter().sum();
    counts.map(|c| c as f64 / total.max(1) as f64)
}

fn score(p: &[f64; NUM_CLASSES], called: usize, label: usize) -> Scored {
    let brier = (0..NUM_CLASSES)
        .map(|k| {
            let y = if k == label { 1.0 } else { 0.0 };
            (p[k] - y).powi(2)
        })
        .sum();
    Scored {
        log_loss: -p[label].clamp(PROBABILITY_FLOOR, 1.0).ln(),
        correct: called == label,
        brier,
        confidence: p[called],
    }
}

fn summarise(forecaster: Forecaster, t: &Totals, rolling: &VecDeque<Scored>) -> ForecasterScore {
    let n = t.samples.max(1) as f64;
    let mut bins = CalibrationBins::default();
    let (mut loss, mut correct, mut brier) = (0.0f64, 0u64, 0.0f64);
    for s in rolling {
        loss += s.log_loss;
        correct += u64::from(s.correct);
        brier += s.brier;
        bins.add(s.confidence, s.correct);
    }
    let m = rolling.len().max(1) as f64;
    ForecasterScore {
        forecaster: forecaster.name().to_owned(),
        log_loss_sum: t.log_loss_sum,
        log_loss: t.log_loss_sum / n,
        correct: t.correct,
        accuracy: t.correct as f64 / n,
        brier: t.brier_sum / n,
        ece: t.bins.ece(),
        confusion: t.confusion,
        rolling: RollingScore {
            samples: rolling.len(),
            log_loss: loss / m,
            accuracy: correct as f64 / m,
            brier: brier / m,
            ece: bins.ece(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Side;

    fn sample(label: Side, model: [f32; 3], rule: Side) -> ScoreSample {
        ScoreSample { label, model, rule }
    }

    #[test]
    fn sums_and_baselines_by_hand() {
        let mut board = Scoreboard::new([2, 1, 1], &[], 10);
        let drain = ScoreDrain {
            samples: vec![
                sample(Side::Long, [0.7, 0.2, 0.1], Side::Long),
                sample(Side::Short, [0.7, 0.2, 0.1], Side::Long),
            ],
            unscored_gap: 3,
            ..ScoreDrain::default()
        };
        board.record(&drain);
        let report = board.report("m");
        assert_eq!(report.samples, 2);
        assert_eq!(report.unscored_gap, 3);
        let [model, prior, rule] = &report.forecasters[..] else {
            panic!("three forecasters");
        };
        let want = -(0.7f64.ln() + 0.2f64.ln());
        assert!((model.log_loss_sum - want).abs() < 1e-6);
        assert_eq!(model.correct, 1);
        // Prior (0.5, 0.25, 0.25): calls long.
        assert!((prior.log_loss_sum - -(0.5f64.ln() + 0.25f64.ln())).abs() < 1e-12);
        assert_eq!(prior.correct, 1);
        // Rule: first sample sees the smoothed (1,1,1) row → 1/3; then (2,1,1)/4 for short.
        assert!((rule.log_loss_sum - -((1.0f64 / 3.0).ln() + 0.25f64.ln())).abs() < 1e-12);
        assert_eq!(rule.correct, 1);
        assert_eq!(rule.confusion[1][0], 1, "actual short, called long");
        // Brier of the model's first sample: 0.09 + 0.04 + 0.01.
        assert!(model.brier > 0.0 && model.brier < 2.0);
    }

    #[test]
    fn perfectly_calibrated_forecasts_have_zero_ece_and_the_window_rolls() {
        let mut board = Scoreboard::new([1, 1, 1], &[], 4);
        // Confidence 1.0 and always right.
        let drain = ScoreDrain {
            samples: vec![sample(Side::Neutral, [0.0, 0.0, 1.0], Side::Neutral); 6],
            ..ScoreDrain::default()
        };
        board.record(&drain);
        let report = board.report("m");
        let model = &report.forecasters[0];
        assert!(model.ece.abs() < 1e-12);
        assert_eq!(model.rolling.samples, 4);
        assert!(model.log_loss.abs() < 1e-12);
    }
}
