//! The worker's live scores: every intake (one per partition) drains its routes' scored
//! signals into one scoreboard per route (the model's name without routing settings) after each batch, and the scoreboard's figures are
//! exposed on `/metrics`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::core::pipeline::Pipeline;
use crate::core::routing::Router;
use crate::core::scoring::{Forecaster, ScoreDrain, ScoreReport, Scoreboard};
use crate::telemetry::metrics as m;

/// What one batch's routes scored, by route index: taken from the pipeline with the batch,
/// recorded once the batch is durable.
#[derive(Debug, Default)]
pub struct BatchScores(Vec<(usize, ScoreDrain)>);

/// One scoreboard per route, shared by every intake of the process. A route whose
/// weights change (a reload) starts a new scoreboard: scores never mix two models.
#[derive(Debug, Clone, Default)]
pub struct LiveScores {
    boards: Arc<Mutex<HashMap<String, (String, Scoreboard)>>>,
    window: usize,
}

impl LiveScores {
    /// Scoreboards with rolling windows of `window` samples.
    pub fn new(window: usize) -> Self {
        Self {
            boards: Arc::default(),
            window,
        }
    }

    /// Takes what every route of `pipeline` scored since the last call, to be recorded by
    /// [`LiveScores::record`] once the batch that scored it is durable.
    ///
    /// Taken when a batch is processed, not when it is recorded: the intake processes the next
    /// batch while this one's outcomes are being stored, and a batch that fails is processed
    /// again by the restarted intake, so its scores must not already be counted.
    pub fn take(pipeline: &mut Router) -> BatchScores {
        BatchScores(
            pipeline
                .lanes_mut()
                .iter_mut()
                .enumerate()
                .map(|(index, lane)| (index, lane.pipeline.take_scores()))
                .filter(|(_, drained)| !drained.is_empty())
                .collect(),
        )
    }

    /// Records scores [`LiveScores::take`] took from `pipeline`'s routes and updates their
    /// metrics, labelled with each route's name. Routes only change between batches that are
    /// both taken and recorded, so a route's index still names the route that scored.
    pub fn record(&self, pipeline: &Router, scores: BatchScores) {
        for (index, drained) in scores.0 {
            if let Some(lane) = pipeline.lanes().get(index) {
                self.record_route(&lane.name, &lane.pipeline, &drained);
            }
        }
    }

    fn record_route(&self, route: &str, pipeline: &Pipeline, drained: &ScoreDrain) {
        let model = pipeline.model();
        let counts = pipeline.training_counts();
        let features = pipeline.feature_names();
        // A poisoned lock only means another intake panicked mid-update; the sums are still
        // consistent per sample, so keep scoring.
        let mut boards = self.boards.lock().unwrap_or_else(|p| p.into_inner());
        let entry = boards.entry(route.to_owned()).or_insert_with(|| {
            (
                model.sha256.to_string(),
                Scoreboard::new(counts, features, self.window),
            )
        });
        if entry.0 != model.sha256 {
            *entry = (
                model.sha256.to_string(),
                Scoreboard::new(counts, features, self.window),
            );
        }
        entry.1.record(drained);
        export(route, &entry.1.report(route));
    }

    /// Every model's scores, by name.
    pub fn reports(&self) -> Vec<ScoreReport> {
        let boards = self.boards.lock().unwrap_or_else(|p| p.into_inner());
        let mut reports: Vec<ScoreReport> = boards
            .iter()
            .map(|(name, (_, board))| board.report(name))
            .collect();
        reports.sort_by(|a, b| a.model.cmp(&b.model));
        reports
    }
}

/// Sets the model's score metrics to the report's figures.
fn export(route: &str, report: &ScoreReport) {
    let name = route.to_owned();
    metrics::counter!(m::SCORE_SAMPLES, "model" => name.clone()).absolute(report.samples);
    metrics::counter!(m::SCORE_UNSCORED, "model" => name.clone(), "reason" => "gap")
        .absolute(report.unscored_gap);
    metrics::counter!(m::SCORE_UNSCORED, "model" => name.clone(), "reason" => "history")
        .absolute(report.unscored_history);
    for (forecaster, score) in Forecaster::ALL.iter().zip(&report.forecasters) {
        let labels = [
            ("model", name.clone()),
            ("predictor", forecaster.name().to_owned()),
        ];
        metrics::gauge!(m::SCORE_LOG_LOSS_SUM, &labels).set(score.log_loss_sum);
        metrics::counter!(m::SCORE_CORRECT, &labels).absolute(score.correct);
        metrics::gauge!(m::SCORE_ROLLING_LOG_LOSS, &labels).set(score.rolling.log_loss);
        metrics::gauge!(m::SCORE_ROLLING_ACCURACY, &labels).set(score.rolling.accuracy);
        metrics::gauge!(m::SCORE_ROLLING_BRIER, &labels).set(score.rolling.brier);
        metrics::gauge!(m::SCORE_ROLLING_ECE, &labels).set(score.rolling.ece);
    }
    for drift in &report.drift {
        let labels = [("model", name.clone()), ("feature", drift.feature.clone())];
        metrics::gauge!(m::FEATURE_DRIFT_MEAN, &labels).set(drift.mean);
        metrics::gauge!(m::FEATURE_DRIFT_STD, &labels).set(drift.std);
    }
}
