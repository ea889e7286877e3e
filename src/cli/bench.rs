//! `signal-worker bench`: end-to-end load and latency over a real NATS server
//! and worker (see `crate::bench`); this file parses and prints.

use super::EXIT_USAGE;
use crate::bench::{self, BenchOptions};
use crate::config::Settings;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Number of series (symbols S00000, S00001, … on the bench's exchange).
    #[arg(long, default_value_t = 1_000)]
    pub series: u32,
    /// Candles per series in the sustained phase (published as fast as the server acks).
    #[arg(long, default_value_t = 20)]
    pub candles: usize,
    /// Add a paced phase at this many candles/s (latency without a backlog).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Length of the paced phase in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub paced_seconds: f64,
    /// Exchange token of the bench's series (subjects candles.<exchange>.S*.1h).
    #[arg(long, default_value = "bench")]
    pub exchange: String,
    /// The real bars every series carries (slices of this file).
    #[arg(long, default_value = "data/btcusd-1h.csv")]
    pub data: PathBuf,
    /// Candle publishes awaiting their JetStream acknowledgement at once.
    #[arg(long, default_value_t = 1_024)]
    pub in_flight: usize,
    /// Longest time one phase may take, in seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout_s: u64,
    /// An already running NATS server on 127.0.0.1 with a worker consuming it;
    /// without it the bench starts its own nats-server and `serve`.
    #[arg(long, env = "SIGNAL_WORKER_NATS_URL")]
    pub nats_url: Option<String>,
    /// Start a 3-node NATS cluster on loopback (streams and consumers R3) instead of one
    /// server: what replication costs, measured the same way. Not with --nats-url.
    #[arg(long, conflicts_with = "nats_url")]
    pub cluster: bool,
    /// Process id of that external worker, to report its CPU and peak RSS.
    #[arg(long)]
    pub worker_pid: Option<u32>,
    /// First run the same phases against a pass-through consumer (fetch a candle, publish a
    /// signal-sized message with a message id, await its ack, ack the candle) on a NATS of its
    /// own: the ceiling of these streams on this machine; the report gives the worker's share
    /// of it. Not with --nats-url.
    #[arg(long, conflicts_with = "nats_url")]
    pub passthrough: bool,
    /// Keep series snapshots in a redis-server of the bench's own, and before the burst stop
    /// the worker in order and start it again: reports the start-up, from the new process to
    /// its first signal, every series resumed from its snapshot. Not with --nats-url.
    #[arg(long, conflicts_with = "nats_url")]
    pub restart: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs the bench; exit 0 with the figures, 2 when it could not complete.
pub fn run(args: &BenchArgs, settings: &Settings) -> ExitCode {
    let options = BenchOptions {
        series: args.series,
        candles: args.candles,
        rate: args.rate,
        paced_seconds: args.paced_seconds,
        exchange: args.exchange.clone(),
        data: args.data.clone(),
        in_flight: args.in_flight,
        phase_timeout: Duration::from_secs(args.timeout_s),
        nats_url: args.nats_url.clone(),
        cluster: args.cluster,
        worker_pid: args.worker_pid,
        passthrough: args.passthrough,
        restart: args.restart,
    };
    // Two threads: the meter must stamp signals while the publisher is busy.
    let runtime = match super::multi_thread_runtime(Some(2)) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match runtime.block_on(bench::run(&options, settings)) {
        Ok(report) if args.json => {
            println!("{}", report.to_json());
            ExitCode::SUCCESS
        }
        Ok(report) => {
            print!("{}", report.to_table());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Arguments of the hidden `bench-passthrough` subcommand (started by `bench --passthrough`).
#[derive(Debug, clap::Args)]
pub struct PassthroughArgs {
    /// Bytes of every message published (the size of the worker's signal).
    #[arg(long)]
    pub payload_bytes: usize,
}

/// Runs the pass-through consumer until SIGTERM/SIGINT; exit 0 after a stop, 2 on a failure.
pub fn run_passthrough(args: &PassthroughArgs, settings: &Settings) -> ExitCode {
    let runtime = match super::multi_thread_runtime(None) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match runtime.block_on(bench::passthrough::run(settings, args.payload_bytes)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
