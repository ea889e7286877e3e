//! `signal-worker replay FILE...`: publish recorded candles to their candle
//! subjects through JetStream (every publish acknowledged), in timestamp
//! order across files, at a multiple of real time or as fast as possible.

use super::progress::bar;
use super::{EXIT_FINDINGS, EXIT_USAGE};
use crate::bus::headers;
use crate::config::Settings;
use crate::contract::codec::{self, Encoding};
use crate::contract::subject::series_subject;
use crate::contract::{CandleMessage, Exchange, Symbol};
use crate::io::{FileFormat, open_candles};
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Publishes awaiting their acknowledgement at once (pipelining; bounded memory).
const ACK_WINDOW: usize = 256;

/// Arguments of `replay`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("pace").required(true).args(["speed", "max"])))]
pub struct ReplayArgs {
    /// Candle files: CSV (identity from the flags), JSONL or MessagePack streams (own identity).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Series identity of CSV inputs.
    #[command(flatten)]
    pub series: super::series_args::OptionalSeriesArgs,
    /// Force the file format instead of telling it from the extension.
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,
    /// Pace: this many times real time (bar open times 1 h apart at --speed 3600 go out 1 s apart).
    #[arg(long)]
    pub speed: Option<f64>,
    /// Pace: as fast as the server acknowledges.
    #[arg(long)]
    pub max: bool,
}

/// Counts for the summary.
#[derive(Debug, Default)]
struct Summary {
    published: u64,
    duplicates: u64,
    unreadable: u64,
    unroutable: u64,
}

/// Runs the replay.
pub fn run(args: &ReplayArgs, settings: &Settings) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match runtime.block_on(replay(args, settings)) {
        Ok(summary) if summary.unreadable + summary.unroutable == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(EXIT_FINDINGS),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Every readable record of every file, in timestamp order (stable, so the
/// order within a file and between files of the same time is kept).
fn load(
    args: &ReplayArgs,
    settings: &Settings,
    summary: &mut Summary,
) -> Result<Vec<CandleMessage>, String> {
    let identity = args.series.identity()?;
    let mut candles = Vec::new();
    for path in &args.files {
        let records = open_candles(
            path,
            args.format,
            identity.clone(),
            settings.validation.max_message_bytes,
        )
        .map_err(|e| e.to_string())?;
        for record in records {
            let record = record.map_err(|e| e.to_string())?;
            match record.candle {
                Ok(candle) => candles.push(candle),
                Err(r) => {
                    eprintln!("{}:{} skipped: {r}", path.display(), record.number);
                    summary.unreadable += 1;
                }
            }
        }
    }
    candles.sort_by_key(|c| c.open_time);
    Ok(candles)
}

async fn replay(args: &ReplayArgs, settings: &Settings) -> Result<Summary, String> {
    if let Some(speed) = args.speed
        && !(speed.is_finite() && speed > 0.0)
    {
        return Err("--speed must be a positive number".into());
    }
    let mut summary = Summary::default();
    let candles = load(args, settings, &mut summary)?;
    let client = crate::bus::connect::connect(&settings.nats, "signal-worker-replay")
        .await
        .map_err(|e| e.to_string())?;
    let js = crate::bus::connect::jetstream(client.clone(), &settings.nats);
    // Publishing into a subject no stream captures would never be acknowledged.
    crate::bus::streams::ensure_streams(&js, &settings.nats)
        .await
        .map_err(|e| e.to_string())?;
    let progress = bar("replay", candles.len() as u64);
    let started = Instant::now();
    let first_open = candles.first().map(|c| c.open_time).unwrap_or(0);
    let mut window: VecDeque<(String, PublishAckFuture)> = VecDeque::with_capacity(ACK_WINDOW);
    for candle in &candles {
        if let Some(speed) = args.speed {
            let offset_ms = (candle.open_time - first_open) as f64 / speed;
            let due = started + Duration::from_secs_f64(offset_ms.max(0.0) / 1000.0);
            tokio::time::sleep_until(due.into()).await;
        }
        if Exchange::new(candle.exchange.as_str()).is_err()
            || Symbol::new(candle.symbol.as_str()).is_err()
            || candle.interval.is_empty()
            || candle.interval.contains(['.', '*', '>', ' '])
        {
            eprintln!(
                "skipped: {}/{}/{} cannot form a subject",
                candle.exchange, candle.symbol, candle.interval
            );
            summary.unroutable += 1;
            continue;
        }
        let subject = series_subject(
            &settings.nats.candle_subject_prefix,
            &candle.exchange,
            &candle.symbol,
            &candle.interval,
        );
        let body = codec::encode(candle, Encoding::MessagePack).map_err(|e| e.to_string())?;
        let id = format!(
            "{}:{}:{}:{}",
            candle.exchange, candle.symbol, candle.interval, candle.open_time
        );
        let message = PublishMessage::build()
            .payload(body.into())
            .message_id(id)
            .header(headers::CONTENT_TYPE, Encoding::MessagePack.content_type());
        let ack = js
            .send_publish(subject.clone(), message)
            .await
            .map_err(|e| format!("publish to {subject}: {e}"))?;
        window.push_back((subject, ack));
        if window.len() >= ACK_WINDOW {
            confirm_one(&mut window, &mut summary).await?;
        }
        progress.inc(1);
    }
    while !window.is_empty() {
        confirm_one(&mut window, &mut summary).await?;
    }
    progress.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "published {} candles ({} already stored: duplicate Nats-Msg-Id) in {secs:.2} s ({:.0}/s); skipped {} unreadable and {} unroutable records",
        summary.published,
        summary.duplicates,
        summary.published as f64 / secs.max(1e-9),
        summary.unreadable,
        summary.unroutable
    );
    Ok(summary)
}

async fn confirm_one(
    window: &mut VecDeque<(String, PublishAckFuture)>,
    summary: &mut Summary,
) -> Result<(), String> {
    if let Some((subject, ack)) = window.pop_front() {
        let ack = ack
            .await
            .map_err(|e| format!("publish to {subject} not acknowledged: {e}"))?;
        summary.published += 1;
        if ack.duplicate {
            summary.duplicates += 1;
        }
    }
    Ok(())
}
