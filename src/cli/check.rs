//! `signal-worker check FILE`: validate a recorded candle file.

use super::{EXIT_FINDINGS, EXIT_USAGE};
use crate::config::Settings;
use crate::core::intake::{Intake, Verdict};
use crate::core::sequence::SequenceOutcome;
use crate::error::ErrorCode;
use crate::io::{FileFormat, open_candles};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The file: CSV (timestamp,open,high,low,close,volume), JSONL or a MessagePack stream.
    pub file: PathBuf,
    /// Format, when the extension does not tell (.csv, .jsonl/.ndjson, .msgpack/.mpk).
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,
    /// Series identity of CSV inputs.
    #[command(flatten)]
    pub series: super::series_args::OptionalSeriesArgs,
}

/// Tallies of one run, for the summary.
#[derive(Default)]
struct Tally {
    records: u64,
    accepted: u64,
    not_closed: u64,
    gaps: u64,
    missing_bars: u64,
    resets: u64,
    rejected: BTreeMap<ErrorCode, u64>,
}

/// Runs `check`: exit 0 when every record is valid, 1 when any is rejected, 2 on usage or I/O errors.
pub fn run(args: &CheckArgs, settings: &Settings) -> ExitCode {
    let identity = match args.series.identity() {
        Ok(i) => i,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let records = match open_candles(
        &args.file,
        args.format,
        identity,
        settings.validation.max_message_bytes,
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // The clock is read once: "too far in the future" is judged against the moment of the check.
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let mut intake: Intake = Intake::new(settings.validation.clone(), settings.sequence.clone());
    let mut tally = Tally::default();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let _ = out.flush();
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        };
        tally.records += 1;
        let rejection = match record.candle {
            Err(r) => Some((r.code, r.detail)),
            Ok(msg) => match intake.judge(msg.view(), None, Some(now_ms)) {
                Verdict::Accepted { sequence, .. } => {
                    tally.accepted += 1;
                    if let SequenceOutcome::Gap { missing, reset } = sequence {
                        tally.gaps += 1;
                        tally.missing_bars += missing;
                        tally.resets += u64::from(reset);
                    }
                    None
                }
                Verdict::NotClosed(_) => {
                    tally.not_closed += 1;
                    None
                }
                Verdict::Duplicate(c) => Some((
                    ErrorCode::Duplicate,
                    format!(
                        "open_time {} repeats the last candle of {}",
                        c.open_time, c.series
                    ),
                )),
                Verdict::Rejected(r) => Some((r.code, r.detail)),
            },
        };
        if let Some((code, detail)) = rejection {
            *tally.rejected.entry(code).or_default() += 1;
            if writeln!(out, "{} {} {}", record.number, code, detail).is_err() {
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    let rejected: u64 = tally.rejected.values().sum();
    let _ = writeln!(
        out,
        "summary: {} records, {} accepted, {} rejected, {} not closed, {} series, {} gaps ({} missing bars, {} state resets)",
        tally.records,
        tally.accepted,
        rejected,
        tally.not_closed,
        intake.series_count(),
        tally.gaps,
        tally.missing_bars,
        tally.resets
    );
    for (code, n) in &tally.rejected {
        let _ = writeln!(out, "rejected {code}: {n}");
    }
    let _ = out.flush();
    if rejected > 0 {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    }
}
