//! Live scoring: once a signal's label horizon has passed, the realised label (the model's own
//! label definition over the later candles of the same series) scores it, next to two baselines
//! scored on the same samples. Pure and deterministic: `serve` and `model evaluate` run the same
//! code, so the live scores after replaying a file equal the file's evaluation.
//!
//! The per-series part ([`ScoreTrail`]) lives in the series state and turns candles and signals
//! into [`ScoreSample`]s; the per-model part ([`Scoreboard`]) turns samples into totals, a
//! rolling window and a report.

mod drift;
mod scoreboard;
mod summary;
mod trail;

pub use drift::{DRIFT_THRESHOLD, DriftThreshold, FeatureDrift, FeatureStats};
pub use scoreboard::{Forecaster, Scoreboard};
pub use summary::{FeatureDriftScore, ForecasterScore, RollingScore, ScoreReport};
pub use trail::ScoreTrail;

use crate::model::NUM_CLASSES;

use crate::contract::Side;

/// One scored signal: what the model said, what the previous-return rule said, what happened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreSample {
    /// The realised label.
    pub label: Side,
    /// The model's probabilities, `[long, short, neutral]`.
    pub model: [f32; NUM_CLASSES],
    /// The previous-return-sign rule's call at the signal's candle.
    pub rule: Side,
}

/// What a batch's candles made of the signals awaiting their label, drained by the edge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreDrain {
    /// Signals whose horizon passed, in the order their label became known.
    pub samples: Vec<ScoreSample>,
    /// Signals not scored because a gap or reset fell inside their horizon.
    pub unscored_gap: u64,
    /// Signals not scored because their label needs more history than the series had (the
    /// volatility window of a volatility label, after a start or reset).
    pub unscored_history: u64,
    /// The scaled newest input vector of every scored candle, in order (the model's feature
    /// order, its width values each): what feature drift is measured on.
    pub inputs: Vec<f32>,
}

impl ScoreDrain {
    /// Whether nothing happened.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
            && self.unscored_gap == 0
            && self.unscored_history == 0
            && self.inputs.is_empty()
    }

    /// Clears it for reuse.
    pub fn clear(&mut self) {
        self.samples.clear();
        self.unscored_gap = 0;
        self.unscored_history = 0;
        self.inputs.clear();
    }
}
