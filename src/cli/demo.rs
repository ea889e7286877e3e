//! `signal-worker demo`: the whole pure pipeline over a bundled real file with
//! the shipped model; no server needed.

use super::EXIT_USAGE;
use super::progress::bar;
use crate::config::Settings;
use crate::contract::codec::{self, Encoding};
use crate::contract::{Side, Signal};
use crate::core::pipeline::{Input, Outcome, Pipeline};
use crate::core::scoring::{ScoreReport, Scoreboard};
use crate::error::ErrorCode;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Candle file (CSV, JSONL or MessagePack stream).
    #[arg(long, default_value = "data/btcusd-1h.csv")]
    pub input: PathBuf,
    /// Series identity of a CSV input.
    #[command(flatten)]
    pub series: super::series_args::SeriesArgs,
    /// Model directory (default: model.dir from the settings).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Compute backend (default: model.backend from the settings).
    #[arg(long)]
    pub backend: Option<String>,
    /// Inference engine, `fused` or `burn` (default: model.engine from the settings).
    #[arg(long)]
    pub engine: Option<String>,
    /// Candles per batch: one forward pass scores every ready window of a batch.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Write every signal as a JSON line here.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// How many of the last signals to print.
    #[arg(long, default_value_t = 5)]
    pub last: usize,
    /// Route two bundled markets (hourly BTC/USD, CFFEX 1-minute IC) through the settings'
    /// `[[models]]` (default: each market's shipped model) and print every route's live scores.
    #[arg(long, conflicts_with_all = ["input", "model", "output"])]
    pub routes: bool,
}

/// Counts for the summary.
#[derive(Default)]
struct Summary {
    candles: u64,
    warming: u64,
    duplicates: u64,
    not_closed: u64,
    by_side: BTreeMap<Side, u64>,
    rejected: BTreeMap<ErrorCode, u64>,
    /// Per-candle latency in microseconds: the time its batch took from decode to decision.
    latencies_us: Vec<f64>,
}

/// Runs the demo.
pub fn run(args: &DemoArgs, settings: &Settings) -> ExitCode {
    match demo(args, settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn demo(args: &DemoArgs, settings: &Settings) -> Result<(), String> {
    if args.batch_size == 0 {
        return Err("--batch-size must be at least 1".into());
    }
    if args.routes {
        return super::demo_routes::run(settings, args.batch_size);
    }
    let mut pipeline = super::load::pipeline(
        settings,
        args.model.as_deref(),
        args.backend.as_deref(),
        args.engine.as_deref(),
    )?;
    let records = args.series.open(&args.input, settings)?;

    // Encode every record as the worker would receive it, so decoding is part of the run.
    let mut bodies = Vec::new();
    let mut summary = Summary::default();
    for record in records {
        let record = record.map_err(|e| e.to_string())?;
        match record.candle {
            Ok(msg) => {
                bodies.push(codec::encode(&msg, Encoding::MessagePack).map_err(|e| e.to_string())?)
            }
            Err(r) => {
                summary.candles += 1;
                *summary.rejected.entry(r.code).or_default() += 1;
            }
        }
    }

    let mut output = match &args.output {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => None,
    };
    let progress = bar("demo", bodies.len() as u64);
    // The live scorer, as `serve` runs it: each signal scored once its horizon has passed.
    let mut board = Scoreboard::new(
        pipeline.training_counts(),
        pipeline.feature_names(),
        settings.serve.score_window,
    );
    let mut last_signals: std::collections::VecDeque<Signal> = std::collections::VecDeque::new();
    let started = Instant::now();
    for chunk in bodies.chunks(args.batch_size) {
        let inputs: Vec<Input<'_>> = chunk.iter().map(|b| Input::recorded(b)).collect();
        let t0 = Instant::now();
        let outcomes = pipeline.process(&inputs, None).map_err(|e| e.to_string())?;
        let batch_us = t0.elapsed().as_secs_f64() * 1e6;
        board.record(&pipeline.take_scores());
        for outcome in outcomes {
            summary.candles += 1;
            summary.latencies_us.push(batch_us);
            match outcome {
                Outcome::Signal(signal) => {
                    *summary.by_side.entry(signal.side).or_default() += 1;
                    if let Some(out) = output.as_mut() {
                        serde_json::to_writer(&mut *out, &signal).map_err(|e| e.to_string())?;
                        out.write_all(b"\n").map_err(|e| e.to_string())?;
                    }
                    if last_signals.len() == args.last {
                        last_signals.pop_front();
                    }
                    if args.last > 0 {
                        last_signals.push_back(signal);
                    }
                }
                Outcome::Warming { .. } => summary.warming += 1,
                Outcome::Duplicate(_) => summary.duplicates += 1,
                Outcome::NotClosed(_) => summary.not_closed += 1,
                // One model on every candle: nothing is unrouted.
                Outcome::Unrouted => {}
                Outcome::Rejected(r) => *summary.rejected.entry(r.code).or_default() += 1,
            }
        }
        progress.inc(chunk.len() as u64);
    }
    let elapsed = started.elapsed();
    progress.finish_and_clear();
    if let Some(mut out) = output {
        out.flush().map_err(|e| e.to_string())?;
    }
    print_summary(&summary, &pipeline, elapsed, args, &last_signals);
    print_scores(&board.report(&pipeline.model().name));
    Ok(())
}

/// The live scores of the run's signals against both baselines, one line each.
pub(super) fn print_scores(report: &ScoreReport) {
    println!(
        "live score {} signals scored by their realised label ({} not: gap or reset, {} not: too little history)",
        report.samples, report.unscored_gap, report.unscored_history
    );
    for f in &report.forecasters {
        println!(
            "  {:<22} log-loss {:.4}  accuracy {:.4}  brier {:.4}  ece {:.4}",
            f.forecaster, f.log_loss, f.accuracy, f.brier, f.ece
        );
    }
    println!(
        "  {}",
        if report.beats_baselines() {
            "the model beats both baselines on log-loss here"
        } else {
            "the model does NOT beat both baselines on log-loss here"
        }
    );
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn print_summary(
    s: &Summary,
    pipeline: &Pipeline,
    elapsed: std::time::Duration,
    args: &DemoArgs,
    last: &std::collections::VecDeque<Signal>,
) {
    let model = pipeline.model();
    let signals: u64 = s.by_side.values().sum();
    let rejected: u64 = s.rejected.values().sum();
    println!(
        "model      {} v{} (sha256 {}…)",
        model.name,
        model.version,
        model.sha256.get(..12).unwrap_or(&model.sha256)
    );
    println!("input      {}", args.input.display());
    println!(
        "candles    {}  signals {}  warming up {}  duplicates {}  not closed {}  rejected {}",
        s.candles, signals, s.warming, s.duplicates, s.not_closed, rejected
    );
    let sides: Vec<String> = Side::ALL
        .iter()
        .map(|side| format!("{side} {}", s.by_side.get(side).copied().unwrap_or(0)))
        .collect();
    println!("by side    {}", sides.join("  "));
    for (code, n) in &s.rejected {
        println!("rejected   {code}: {n}");
    }
    let mut lat = s.latencies_us.clone();
    lat.sort_by(f64::total_cmp);
    let secs = elapsed.as_secs_f64();
    println!(
        "latency    per candle (its batch of {}): p50 {:.0} µs  p90 {:.0} µs  p99 {:.0} µs  max {:.0} µs",
        args.batch_size,
        percentile(&lat, 0.50),
        percentile(&lat, 0.90),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    let per_candle_us = if s.candles > 0 {
        secs * 1e6 / s.candles as f64
    } else {
        0.0
    };
    println!(
        "throughput {:.0} candles/s ({per_candle_us:.1} µs per candle amortised, {secs:.2} s total)",
        s.candles as f64 / secs.max(1e-9)
    );
    if !last.is_empty() {
        println!("last {} signals:", last.len());
        for sig in last {
            println!(
                "  {}.{}.{} {}  {:<7}  confidence {:.3}  (long {:.3} short {:.3} neutral {:.3})",
                sig.exchange,
                sig.symbol,
                sig.interval,
                super::time::format_utc_ms(sig.open_time),
                sig.side.as_str(),
                sig.confidence,
                sig.probabilities.long,
                sig.probabilities.short,
                sig.probabilities.neutral
            );
        }
    }
}
