//! `signal-worker features`: the indicator and model-feature table of a CSV file.

use super::EXIT_USAGE;
use super::progress::row_spinner;
use crate::config::Settings;
use crate::core::Bar;
use crate::core::features::{FEATURE_NAMES, INDICATOR_NAMES, SeriesFeatures};
use crate::core::intake::{Intake, Verdict};
use crate::core::sequence::{SequenceOutcome, SequenceSettings};
use crate::io::csv_file::{CsvIdentity, read_csv};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `features`.
#[derive(Debug, clap::Args)]
pub struct FeaturesArgs {
    /// CSV candles: timestamp,open,high,low,close,volume.
    #[arg(long)]
    pub input: PathBuf,
    /// Output CSV (default: standard output).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Exchange of the series.
    #[arg(long)]
    pub exchange: String,
    /// Symbol of the series.
    #[arg(long)]
    pub symbol: String,
    /// Interval of the series.
    #[arg(long)]
    pub interval: String,
    /// Reset the series state after a gap of more than N missing bars; by
    /// default the file is one continuous series (session breaks do not reset).
    #[arg(long, value_name = "N")]
    pub reset_after_gaps: Option<u64>,
}

/// Runs `features`: streams the file through the feature engine, one output row per accepted candle.
pub fn run(args: &FeaturesArgs, settings: &Settings) -> ExitCode {
    match write_table(args, settings) {
        Ok((rows, rejected)) => {
            eprintln!("features: {rows} rows written, {rejected} input rows rejected");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn write_table(args: &FeaturesArgs, settings: &Settings) -> Result<(u64, u64), String> {
    let name = args.input.display().to_string();
    let file = File::open(&args.input).map_err(|e| format!("{name}: {e}"))?;
    let identity = CsvIdentity {
        exchange: args.exchange.clone(),
        symbol: args.symbol.clone(),
        interval: args.interval.clone(),
    };
    let records = read_csv(&name, file, identity).map_err(|e| e.to_string())?;
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(File::create(path).map_err(|e| format!("{}: {e}", path.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::new(sink);
    let io_err = |e: std::io::Error| format!("write: {e}");
    write!(out, "timestamp").map_err(io_err)?;
    for column in INDICATOR_NAMES.iter().chain(FEATURE_NAMES.iter()) {
        write!(out, ",{column}").map_err(io_err)?;
    }
    writeln!(out).map_err(io_err)?;

    let sequence = SequenceSettings {
        gap_reset_bars: args.reset_after_gaps.unwrap_or(0),
        ..settings.sequence.clone()
    };
    let mut intake: Intake<SeriesFeatures> = Intake::new(settings.validation.clone(), sequence);
    let progress = row_spinner("features");
    let (mut rows, mut rejected) = (0u64, 0u64);
    for record in records {
        let record = record.map_err(|e| e.to_string())?;
        progress.inc(1);
        let msg = match record.candle {
            Ok(m) => m,
            Err(r) => {
                rejected += 1;
                progress.suspend(|| eprintln!("line {}: {} {}", record.number, r.code, r.detail));
                continue;
            }
        };
        let (verdict, state) = intake.judge_with(msg.view(), None, None, || {
            SeriesFeatures::new(&settings.features)
        });
        let (Verdict::Accepted { candle, sequence }, Some(state)) = (verdict, state) else {
            rejected += 1;
            progress.suspend(|| {
                eprintln!(
                    "line {}: rejected (invalid, duplicate or out of order)",
                    record.number
                )
            });
            continue;
        };
        if let SequenceOutcome::Gap { reset: true, .. } = sequence {
            state.reset();
        }
        let bar = Bar::from(&candle);
        if let Err(e) = state.update(&bar) {
            return Err(format!("line {}: {e}", record.number));
        }
        write!(out, "{}", candle.open_time).map_err(io_err)?;
        for value in state.indicators() {
            match value {
                Some(v) => write!(out, ",{v}"),
                None => write!(out, ","),
            }
            .map_err(io_err)?;
        }
        match state.features_f64() {
            Some(values) => values.iter().try_for_each(|v| write!(out, ",{v}")),
            None => FEATURE_NAMES.iter().try_for_each(|_| write!(out, ",")),
        }
        .map_err(io_err)?;
        writeln!(out).map_err(io_err)?;
        rows += 1;
    }
    out.flush().map_err(io_err)?;
    progress.finish_and_clear();
    Ok((rows, rejected))
}
