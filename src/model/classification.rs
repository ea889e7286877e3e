//! Classification metrics and the naive baselines a model must beat.

use serde::{Deserialize, Serialize};

use super::side::NUM_CLASSES;

use crate::contract::Side;

/// Probabilities are clipped to `[PROBABILITY_FLOOR, 1]` before taking the log, so one confident
/// miss costs a large but finite penalty (ln 1e-7 ≈ -16) instead of making the log-loss infinite.
pub const PROBABILITY_FLOOR: f64 = 1e-7;

/// Accuracy, log-loss and confusion matrix of probabilistic forecasts over a set of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Number of samples scored.
    pub samples: usize,
    /// Share of samples whose most probable class is the label.
    pub accuracy: f64,
    /// Mean negative log-probability of the label (natural log).
    pub log_loss: f64,
    /// `confusion[actual][predicted]`, indices in [`CLASS_ORDER`](super::side::CLASS_ORDER).
    pub confusion: [[u64; NUM_CLASSES]; NUM_CLASSES],
    /// Expected calibration error of the predicted class's probability ([`CalibrationBins`]).
    /// Absent in models sealed before it was recorded (and so left out of their hashed form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ece: Option<f64>,
}

/// Calibration bins of the expected calibration error: equal widths over [0, 1].
pub const CALIBRATION_BINS: usize = 10;

/// Forecasts grouped by the probability given to the class called, for the expected calibration
/// error: the sample-weighted mean over bins of |share correct − mean probability|. 0 when every
/// "70 %" call is right 70 % of the time. Training reports and live scores both use it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CalibrationBins {
    /// Per bin: calls, summed probability, correct calls.
    bins: [(u64, f64, u64); CALIBRATION_BINS],
}

impl CalibrationBins {
    /// Adds one call made with probability `confidence`.
    pub fn add(&mut self, confidence: f64, correct: bool) {
        let bin = ((confidence.clamp(0.0, 1.0) * CALIBRATION_BINS as f64) as usize)
            .min(CALIBRATION_BINS - 1);
        let slot = &mut self.bins[bin];
        slot.0 += 1;
        slot.1 += confidence;
        slot.2 += u64::from(correct);
    }

    /// The expected calibration error (0 with no calls).
    pub fn ece(&self) -> f64 {
        let total: u64 = self.bins.iter().map(|b| b.0).sum();
        if total == 0 {
            return 0.0;
        }
        self.bins
            .iter()
            .filter(|b| b.0 > 0)
            .map(|&(_, confidence, correct)| (correct as f64 - confidence).abs())
            .sum::<f64>()
            / total as f64
    }
}

/// The naive forecasts reported next to the model, on the same test samples.
///
/// Each is a hard rule. Its accuracy and confusion matrix score the rule's own output; its
/// log-loss scores the rule turned into probabilities by the training slice's label frequencies
/// given the rule's output (add-one smoothing), so the log-loss is finite and uses no more
/// information than the model had. The always-neutral rule's probabilities are therefore exactly
/// the training class prior: its log-loss is the class-prior log-loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baselines {
    /// Always predicts neutral; probabilities = training class frequencies.
    pub always_neutral: Metrics,
    /// Predicts the sign of the return over the previous `horizon` bars (persistence):
    /// up → long, down → short, flat → neutral.
    pub previous_return_sign: Metrics,
}

impl Metrics {
    /// Score `probabilities` (one `[long, short, neutral]` row per sample) against `labels`.
    /// The argmax takes the first of equal maxima (class order).
    pub fn score(labels: &[Side], probabilities: &[[f32; NUM_CLASSES]]) -> Self {
        let mut confusion = [[0u64; NUM_CLASSES]; NUM_CLASSES];
        let mut loss = 0.0f64;
        let mut correct = 0usize;
        let mut calibration = CalibrationBins::default();
        for (label, p) in labels.iter().zip(probabilities) {
            let actual = label.class_index();
            let predicted = argmax(p);
            calibration.add(f64::from(p[predicted]), predicted == actual);
            confusion[actual][predicted] += 1;
            if predicted == actual {
                correct += 1;
            }
            loss -= f64::from(p[actual]).clamp(PROBABILITY_FLOOR, 1.0).ln();
        }
        let samples = labels.len().min(probabilities.len());
        let denominator = samples.max(1) as f64;
        Self {
            samples,
            accuracy: correct as f64 / denominator,
            log_loss: loss / denominator,
            confusion,
            ece: Some(calibration.ece()),
        }
    }
}

/// Index of the largest value, the first on ties; NaN never wins.
pub fn argmax(p: &[f32; NUM_CLASSES]) -> usize {
    let mut best = 0;
    for i in 1..NUM_CLASSES {
        if p[i] > p[best] {
            best = i;
        }
    }
    best
}

/// A hard rule's forecast turned into probabilities: `P(label | rule says r)` estimated on
/// training pairs with add-one smoothing. `pairs` are `(rule output, label)`.
pub fn calibrate(pairs: impl Iterator<Item = (Side, Side)>) -> [[f32; NUM_CLASSES]; NUM_CLASSES] {
    let mut counts = [[1u64; NUM_CLASSES]; NUM_CLASSES];
    for (rule, label) in pairs {
        counts[rule.class_index()][label.class_index()] += 1;
    }
    let mut table = [[0.0f32; NUM_CLASSES]; NUM_CLASSES];
    for (row, count) in table.iter_mut().zip(&counts) {
        let total: u64 = count.iter().sum();
        for (p, c) in row.iter_mut().zip(count) {
            *p = (*c as f64 / total as f64) as f32;
        }
    }
    table
}

/// The previous-return-sign rule at row `t`: sign of `close[t] / close[t - horizon] - 1`;
/// neutral when there is no such earlier row or the return is exactly zero.
pub fn previous_return_sign(closes: &[f64], t: usize, horizon: usize) -> Side {
    let Some(past) = t.checked_sub(horizon).and_then(|p| closes.get(p)) else {
        return Side::Neutral;
    };
    let Some(now) = closes.get(t) else {
        return Side::Neutral;
    };
    let r = now / past - 1.0;
    if r > 0.0 {
        Side::Long
    } else if r < 0.0 {
        Side::Short
    } else {
        Side::Neutral
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_counts_and_logloss() {
        let labels = [Side::Long, Side::Short, Side::Neutral, Side::Neutral];
        let p = [
            [0.8, 0.1, 0.1],
            [0.2, 0.5, 0.3],
            [0.6, 0.2, 0.2],
            [0.0, 0.0, 1.0],
        ];
        let m = Metrics::score(&labels, &p);
        assert_eq!(m.samples, 4);
        assert!((m.accuracy - 0.75).abs() < 1e-12);
        let expected = -(0.8f64.ln() + 0.5f64.ln() + 0.2f64.ln() + 1.0f64.ln()) / 4.0;
        assert!((m.log_loss - expected).abs() < 1e-6);
        assert_eq!(m.confusion[2][0], 1);
        assert_eq!(m.confusion[0][0], 1);
    }

    #[test]
    fn calibration_error_is_zero_when_calls_come_true_as_often_as_said() {
        let mut bins = CalibrationBins::default();
        // Four 75 % calls, three right: calibrated.
        for correct in [true, true, true, false] {
            bins.add(0.75, correct);
        }
        assert!(bins.ece().abs() < 1e-12);
        // Plus two 95 % calls, both wrong: that bin is off by 0.95, weighted 2 of 6.
        bins.add(0.95, false);
        bins.add(0.95, false);
        assert!((bins.ece() - 0.95 * 2.0 / 6.0).abs() < 1e-12);
        let m = Metrics::score(&[Side::Long], &[[0.9, 0.05, 0.05]]);
        assert!((m.ece.unwrap_or(f64::NAN) - 0.1).abs() < 1e-6);
    }

    #[test]
    fn calibration_of_a_constant_rule_is_the_smoothed_prior() {
        let pairs = [Side::Long, Side::Long, Side::Short, Side::Neutral]
            .into_iter()
            .map(|l| (Side::Neutral, l));
        let table = calibrate(pairs);
        // (2+1, 1+1, 1+1) / 7
        assert!((table[2][0] - 3.0 / 7.0).abs() < 1e-6);
        assert!((table[2][1] - 2.0 / 7.0).abs() < 1e-6);
        assert!((table[0][0] - 1.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn previous_return_sign_rule() {
        let closes = [100.0, 101.0, 100.5, 100.5];
        assert_eq!(previous_return_sign(&closes, 0, 1), Side::Neutral);
        assert_eq!(previous_return_sign(&closes, 1, 1), Side::Long);
        assert_eq!(previous_return_sign(&closes, 2, 1), Side::Short);
        assert_eq!(previous_return_sign(&closes, 3, 1), Side::Neutral);
        assert_eq!(previous_return_sign(&closes, 3, 3), Side::Long);
    }
}
