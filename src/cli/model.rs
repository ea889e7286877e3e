//! `signal-worker model verify|inspect|evaluate DIR` and `model import SRC`.

use super::{EXIT_FINDINGS, EXIT_USAGE};
use crate::config::Settings;
use crate::core::features::FEATURE_NAMES;
use crate::model::{Artifact, BackendKind};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `model`.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    /// What to do with the model.
    #[command(subcommand)]
    pub action: ModelAction,
}

/// `model` actions.
#[derive(Debug, clap::Subcommand)]
pub enum ModelAction {
    /// Check hashes, feature names and shapes; exit 0 when the model would load, 1 when not.
    Verify {
        /// Model directory (model.bpk + model.json).
        dir: PathBuf,
    },
    /// Show a model's identity, architecture, data provenance and test metrics.
    Inspect {
        /// Model directory.
        dir: PathBuf,
        /// Print model.json (verified) instead of the human summary.
        #[arg(long)]
        json: bool,
    },
    /// Import an LSTM/GRU classifier exported from PyTorch by `python/torch_export` (a directory
    /// with its safetensors weights and description) as a verified model directory.
    Import {
        /// The export directory.
        src: PathBuf,
        /// Output directory, e.g. models/NAME (created; its name becomes the model name).
        #[arg(long)]
        out: PathBuf,
        /// Model version recorded in model.json.
        #[arg(long, default_value = "1")]
        version: String,
        /// Creation time recorded in model.json (RFC 3339); pass one for byte-reproducible files.
        #[arg(long)]
        created_at: Option<String>,
    },
    /// Score the model over a recorded file as the worker scores it live: log-loss, accuracy,
    /// Brier, calibration error and confusion, next to the training prior and the
    /// previous-return-sign rule.
    Evaluate {
        /// Model directory.
        dir: PathBuf,
        /// Candle file (CSV, JSONL or MessagePack stream).
        #[arg(long)]
        input: PathBuf,
        /// Series identity of a CSV input.
        #[command(flatten)]
        series: super::series_args::SeriesArgs,
        /// Print the scores as JSON.
        #[arg(long)]
        json: bool,
        /// Also draw the reliability diagram and the cumulative log-loss against both
        /// baselines as PNG files into this directory.
        #[arg(long, value_name = "DIR")]
        plot: Option<PathBuf>,
    },
}

/// Runs `model`.
pub fn run(args: &ModelArgs, settings: &Settings) -> ExitCode {
    let (dir, json) = match &args.action {
        ModelAction::Verify { dir } => (dir, None),
        ModelAction::Inspect { dir, json } => (dir, Some(*json)),
        ModelAction::Import {
            src,
            out,
            version,
            created_at,
        } => {
            return match super::import::run_import(
                src,
                out,
                version,
                created_at.as_deref(),
                settings,
            ) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_FINDINGS)
                }
            };
        }
        ModelAction::Evaluate {
            dir,
            input,
            series,
            json,
            plot,
        } => {
            let plot = plot.as_deref();
            return match super::evaluate::evaluate(dir, input, series, *json, plot, settings) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_USAGE)
                }
            };
        }
    };
    // Verification loads the network on the always-available default backend.
    let artifact = match Artifact::load(dir, &FEATURE_NAMES, BackendKind::default()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(if json.is_some() {
                EXIT_USAGE
            } else {
                EXIT_FINDINGS
            });
        }
    };
    match json {
        None => {
            println!(
                "ok: {} v{} weights sha256 {} ({} features, {:?} {}x{})",
                artifact.metadata.name,
                artifact.metadata.version,
                artifact.metadata.weights_sha256,
                artifact.metadata.feature_names.len(),
                artifact.metadata.architecture.kind,
                artifact.metadata.architecture.layers,
                artifact.metadata.architecture.hidden
            );
        }
        Some(true) => match serde_json::to_string_pretty(&artifact.metadata) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        },
        Some(false) => println!("{}", super::report::render(&artifact.metadata)),
    }
    ExitCode::SUCCESS
}
