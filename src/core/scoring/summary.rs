//! What a scoreboard reports: the JSON of `model evaluate --json` and `control.model.scores`, and
//! the values `/metrics` exposes.

use serde::{Deserialize, Serialize};

use crate::model::NUM_CLASSES;

/// One model's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreReport {
    /// The route (model) name.
    pub model: String,
    /// Signals scored.
    pub samples: u64,
    /// Signals not scored: a gap or reset inside their horizon.
    pub unscored_gap: u64,
    /// Signals not scored: too little history for their label.
    pub unscored_history: u64,
    /// Samples the rolling figures cover at most.
    pub window: usize,
    /// The model, then the training prior, then the previous-return-sign rule.
    pub forecasters: Vec<ForecasterScore>,
    /// Scored candles the drift figures cover.
    pub drift_samples: usize,
    /// Each model input's rolling mean and deviation after scaling (0 and 1 in training).
    pub drift: Vec<FeatureDriftScore>,
}

/// One model input's drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDriftScore {
    /// The feature's name.
    pub feature: String,
    /// Rolling mean of the scaled feature.
    pub mean: f64,
    /// Rolling standard deviation of the scaled feature.
    pub std: f64,
    /// Past the documented threshold ([`super::DRIFT_THRESHOLD`]).
    pub drifted: bool,
}

/// One forecaster's scores on the model's samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecasterScore {
    /// `model`, `training_prior` or `previous_return_sign`.
    pub forecaster: String,
    /// Summed negative log-probability of the realised label (natural log, clipped at 1e-7).
    pub log_loss_sum: f64,
    /// Mean log-loss.
    pub log_loss: f64,
    /// Calls equal to the realised label.
    pub correct: u64,
    /// Share of correct calls.
    pub accuracy: f64,
    /// Mean Brier score (sum over the three classes).
    pub brier: f64,
    /// Expected calibration error, 10 equal-width confidence bins.
    pub ece: f64,
    /// `confusion[actual][called]`, classes `[long, short, neutral]`.
    pub confusion: [[u64; NUM_CLASSES]; NUM_CLASSES],
    /// The same over the last `window` samples.
    pub rolling: RollingScore,
}

/// Scores over the rolling window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollingScore {
    /// Samples in the window.
    pub samples: usize,
    /// Mean log-loss.
    pub log_loss: f64,
    /// Share of correct calls.
    pub accuracy: f64,
    /// Mean Brier score.
    pub brier: f64,
    /// Expected calibration error.
    pub ece: f64,
}

impl ScoreReport {
    /// The model's own score (always first).
    pub fn model_score(&self) -> Option<&ForecasterScore> {
        self.forecasters.first()
    }

    /// Whether the model's mean log-loss is below both baselines' (false with no samples).
    pub fn beats_baselines(&self) -> bool {
        let Some((model, baselines)) = self.forecasters.split_first() else {
            return false;
        };
        self.samples > 0 && baselines.iter().all(|b| model.log_loss < b.log_loss)
    }
}
