//! `signal-worker model evaluate DIR --input FILE`: the live scorer over a recorded file. The
//! candles go through the same pipeline `serve` runs and the same scoreboard, so replaying the
//! file through a worker gives exactly these sums on `/metrics`.

use super::series_args::SeriesArgs;
use crate::config::Settings;
use crate::contract::codec::{self, Encoding};
use crate::core::pipeline::Input;
use crate::core::scoring::{ScoreReport, Scoreboard};
use serde::Serialize;
use std::path::Path;

/// Candles per pipeline call (scores do not depend on it).
const BATCH: usize = 256;

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct Evaluation {
    input: String,
    model_version: String,
    weights_sha256: String,
    label: String,
    candles: u64,
    beats_baselines_on_log_loss: bool,
    #[serde(flatten)]
    scores: ScoreReport,
}

/// Scores the model in `dir` over `input`; prints a table or JSON.
pub fn evaluate(
    dir: &Path,
    input: &Path,
    series: &SeriesArgs,
    json: bool,
    plot: Option<&Path>,
    settings: &Settings,
) -> Result<(), String> {
    let mut pipeline = super::load::pipeline(settings, Some(dir), None, None)?;
    let label = pipeline.labels().describe();
    let mut bodies = Vec::new();
    for record in series.open(input, settings)? {
        let record = record.map_err(|e| e.to_string())?;
        if let Ok(msg) = record.candle {
            bodies.push(codec::encode(&msg, Encoding::MessagePack).map_err(|e| e.to_string())?);
        }
    }
    let mut board = Scoreboard::new(
        pipeline.training_counts(),
        pipeline.feature_names(),
        settings.serve.score_window,
    );
    if plot.is_some() {
        board.keep_trace();
    }
    for chunk in bodies.chunks(BATCH) {
        let inputs: Vec<Input<'_>> = chunk.iter().map(|b| Input::recorded(b)).collect();
        pipeline.process(&inputs, None).map_err(|e| e.to_string())?;
        board.record(&pipeline.take_scores());
    }
    let model = pipeline.model().clone();
    let scores = board.report(&model.name);
    let evaluation = Evaluation {
        input: input.display().to_string(),
        model_version: model.version.to_string(),
        weights_sha256: model.sha256.to_string(),
        label,
        candles: bodies.len() as u64,
        beats_baselines_on_log_loss: scores.beats_baselines(),
        scores,
    };
    if let (Some(out), Some(trace)) = (plot, board.trace()) {
        let title = format!("{} v{} on {}", model.name, model.version, input.display());
        let written = crate::plots::write_trace(out, &title, trace).map_err(|e| e.to_string())?;
        for path in written {
            eprintln!("evaluate: wrote {}", path.display());
        }
    }
    if json {
        let text = serde_json::to_string_pretty(&evaluation).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print_table(&evaluation);
    }
    Ok(())
}

fn print_table(e: &Evaluation) {
    let s = &e.scores;
    println!(
        "model    {} v{} (sha256 {}…)",
        s.model,
        e.model_version,
        e.weights_sha256.get(..12).unwrap_or(&e.weights_sha256)
    );
    println!("input    {}  ({} candles)", e.input, e.candles);
    println!("labels   {}", e.label);
    println!(
        "scored   {} signals; not scored: {} (gap or reset in the horizon), {} (too little history)",
        s.samples, s.unscored_gap, s.unscored_history
    );
    println!(
        "{:<22} {:>9} {:>9} {:>7} {:>7}   confusion [actual][called] long/short/neutral",
        "", "log-loss", "accuracy", "brier", "ece"
    );
    for f in &s.forecasters {
        println!(
            "{:<22} {:>9.4} {:>9.4} {:>7.4} {:>7.4}   {:?}",
            f.forecaster, f.log_loss, f.accuracy, f.brier, f.ece, f.confusion
        );
    }
    let drifted: Vec<&str> = s
        .drift
        .iter()
        .filter(|d| d.drifted)
        .map(|d| d.feature.as_str())
        .collect();
    println!(
        "drift    {} of {} inputs past the threshold over the last {} scored candles{}{}",
        drifted.len(),
        s.drift.len(),
        s.drift_samples,
        if drifted.is_empty() { "" } else { ": " },
        drifted.join(", ")
    );
    println!(
        "verdict  {}",
        if e.beats_baselines_on_log_loss {
            "the model's log-loss is below both baselines' on this file"
        } else {
            "the model does NOT beat both baselines on log-loss on this file"
        }
    );
}
