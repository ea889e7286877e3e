//! `signal-worker train`: features from a recorded file, a leak-free split,
//! a seeded training run, and a verified artifact with its report.

use super::EXIT_USAGE;
use super::progress::bar;
use crate::config::Settings;
use crate::model::train::{
    Fold, NamedSeries, render_walk_forward, train_series, walk_forward_series,
};
use crate::model::{ModelIdentity, Progress};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Candle file (CSV, JSONL or MessagePack); repeat it to train one model over several
    /// series. A CSV file's identity is `FILE@EXCHANGE/SYMBOL/INTERVAL`, or the
    /// --exchange/--symbol/--interval flags; JSONL/MessagePack records carry their own.
    #[arg(long, value_parser = super::train_inputs::parse_input, required_unless_present = "manifest")]
    pub input: Vec<super::train_inputs::TrainInput>,
    /// A TOML manifest of `[[series]]` entries (`input`, and for CSV `exchange`, `symbol`,
    /// `interval`), paths relative to it; taken after any --input.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Output directory, e.g. models/NAME (created; its name becomes the model name).
    #[arg(long)]
    pub out: PathBuf,
    /// Series identity of a CSV input.
    #[command(flatten)]
    pub series: super::series_args::SeriesArgs,
    /// Model version recorded in model.json.
    #[arg(long, default_value = "1")]
    pub version: String,
    /// Creation time recorded in model.json (RFC 3339); pass one to make artifacts byte-reproducible.
    #[arg(long)]
    pub created_at: Option<String>,
    /// Override training.seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override training.epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// `windowed` (the classic model: a window per signal) or `streaming` (recurrent state
    /// carried per series, one step per candle). Default: streaming when the settings have a
    /// `[training.streaming]` table, else windowed.
    #[arg(long, value_parser = ["windowed", "streaming"])]
    pub mode: Option<String>,
    /// Streaming only: steps after a (re)start before the model signals (override).
    #[arg(long)]
    pub burn_in: Option<usize>,
    /// Also train and report K walk-forward folds (K >= 2): fold k trains on a prefix of the
    /// data and is tested on the block right after it; the last fold is this run. The table goes
    /// into REPORT.md and `walk_forward.json`.
    #[arg(long, value_name = "K")]
    pub walk_forward: Option<usize>,
}

/// Runs `train`.
pub fn run(args: &TrainArgs, settings: &Settings) -> ExitCode {
    match train_model(args, settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn train_model(args: &TrainArgs, settings: &Settings) -> Result<(), String> {
    let mut training = settings.training.clone();
    if let Some(seed) = args.seed {
        training.seed = seed;
    }
    if let Some(epochs) = args.epochs {
        training.epochs = epochs;
    }
    match args.mode.as_deref() {
        Some("windowed") => training.streaming = None,
        Some(_) => training.streaming = Some(training.streaming.unwrap_or_default()),
        None => {}
    }
    if args.walk_forward.is_some_and(|k| k < 2) {
        return Err("--walk-forward needs at least 2 folds".into());
    }
    if let Some(burn_in) = args.burn_in {
        match training.streaming.as_mut() {
            Some(streaming) => streaming.burn_in = burn_in,
            None => return Err("--burn-in needs a streaming model (--mode streaming)".into()),
        }
    }
    let mut inputs = args.input.clone();
    if let Some(manifest) = &args.manifest {
        inputs.extend(super::train_inputs::read_manifest(manifest)?);
    }
    let loaded = super::train_inputs::load_series(&inputs, &args.series, settings)?;
    let series: Vec<NamedSeries<'_>> = loaded
        .iter()
        .map(|s| NamedSeries {
            name: &s.name,
            data: &s.data,
        })
        .collect();
    let rows: usize = loaded.iter().map(|s| s.data.closes.len()).sum();
    let progress = bar("train", 0);
    let mut on_progress = |event: Progress| match event {
        Progress::Started {
            batches_per_epoch,
            epochs,
            ..
        } => progress.set_length((batches_per_epoch * epochs) as u64),
        Progress::Batch { .. } => progress.inc(1),
        Progress::Epoch(e) => progress.suspend(|| {
            let best = if e.improved { "  (best so far)" } else { "" };
            eprintln!(
                "train: epoch {}: train loss {:.4}, validation log-loss {:.4}{best}",
                e.epoch, e.train_loss, e.validation_loss
            );
        }),
        Progress::EarlyStop { epoch, best_epoch } => {
            progress.suspend(|| {
                eprintln!("train: early stop after epoch {epoch}; keeping epoch {best_epoch}")
            });
        }
        Progress::Testing => {
            progress.suspend(|| eprintln!("train: scoring the untouched test slice"))
        }
    };
    let mut trained =
        train_series(&series, &training, Some(&mut on_progress)).map_err(|e| e.to_string())?;
    let trace = std::mem::take(&mut trained.test_trace);
    progress.finish_and_clear();
    let folds = match args.walk_forward {
        None => None,
        Some(k) => {
            let last = Fold::from_report(rows, &trained.report, trained.split_open_times[2]);
            let mut on_fold = |i: usize, f: &Fold| {
                eprintln!(
                    "train: walk-forward fold {i}/{k}: {} rows, test log-loss {:.4} (prior {:.4}, previous-return sign {:.4})",
                    f.rows, f.model_log_loss, f.prior_log_loss, f.previous_return_sign_log_loss
                );
            };
            Some(
                walk_forward_series(&series, &training, k, last, &mut on_fold)
                    .map_err(|e| e.to_string())?,
            )
        }
    };
    let name = args
        .out
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{}: the output directory needs a name", args.out.display()))?
        .to_owned();
    let created_at = args.created_at.clone().unwrap_or_else(super::time::now_utc);
    let identity = ModelIdentity {
        name,
        version: args.version.clone(),
        created_at,
    };
    let artifact = trained
        .into_artifact(identity, settings.decision)
        .map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    artifact.save(&args.out).map_err(|e| e.to_string())?;
    let mut report = super::report::render(&artifact.metadata);
    let title = format!(
        "{} v{}: test slice",
        artifact.metadata.name, artifact.metadata.version
    );
    crate::plots::write_trace(&args.out, &title, &trace).map_err(|e| e.to_string())?;
    if let Some(folds) = &folds {
        report.push('\n');
        report.push_str(&render_walk_forward(folds, &super::time::format_utc_ms));
        let json = serde_json::to_vec_pretty(folds).map_err(|e| e.to_string())?;
        std::fs::write(args.out.join("walk_forward.json"), json)
            .map_err(|e| format!("walk_forward.json: {e}"))?;
    }
    report.push_str(crate::plots::REPORT_PICTURES);
    std::fs::write(args.out.join("REPORT.md"), &report).map_err(|e| format!("REPORT.md: {e}"))?;
    println!("{report}");
    println!("saved {}", args.out.display());
    Ok(())
}
