//! The command line: one file per subcommand, the only place that prints.

mod bench;
mod check;
mod config_show;
mod demo;
mod demo_routes;
mod evaluate;
mod features;
mod import;
mod load;
mod model;
mod progress;
mod replay;
mod report;
mod series_args;
mod serve;
mod time;
mod train;
mod train_inputs;

use crate::config::{LogFormat, Settings};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status for usage, configuration and I/O errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when the command ran but found problems (e.g. rejected rows).
pub const EXIT_FINDINGS: u8 = 1;

/// Turns market-data candle streams into trading signals.
#[derive(Debug, Parser)]
#[command(name = "signal-worker", version, about, long_about = None)]
pub struct Cli {
    /// TOML settings file (see signal-worker.example.toml); environment
    /// variables SIGNAL_WORKER_<SECTION>_<KEY> override it.
    #[arg(long, global = true, env = "SIGNAL_WORKER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log format (overrides log.format).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a recorded candle file; one line per rejected record, then a summary.
    Check(check::CheckArgs),
    /// Write the indicator and model-feature table of a CSV candle file.
    Features(features::FeaturesArgs),
    /// Run the whole pipeline over a bundled real file with the shipped model (no server needed).
    Demo(demo::DemoArgs),
    /// Train an LSTM/GRU on a recorded file and write a verified model directory.
    Train(train::TrainArgs),
    /// Verify or inspect a model directory.
    Model(model::ModelArgs),
    /// Run the NATS worker: candles in, signals out, until SIGTERM/SIGINT.
    Serve(serve::ServeArgs),
    /// Publish recorded candle files to their NATS subjects through JetStream.
    Replay(replay::ReplayArgs),
    /// End-to-end load generator and meter: N series through a real NATS server and worker.
    Bench(bench::BenchArgs),
    /// The pass-through consumer `bench --passthrough` measures the worker against.
    #[command(name = "bench-passthrough", hide = true)]
    BenchPassthrough(bench::PassthroughArgs),
    /// Print the effective settings (defaults, file, environment) as TOML, passwords hidden.
    Config,
}

/// A multi-threaded async runtime for a subcommand (`threads`: worker threads, `None`: one per
/// core), or the exit code after saying why it cannot start.
pub(crate) fn multi_thread_runtime(
    threads: Option<usize>,
) -> Result<tokio::runtime::Runtime, ExitCode> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        builder.worker_threads(threads);
    }
    builder.enable_all().build().map_err(|e| {
        eprintln!("error: cannot start the async runtime: {e}");
        ExitCode::from(EXIT_USAGE)
    })
}

/// Parses the process arguments, loads settings and runs the subcommand.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if let Some(format) = cli.log_format {
        settings.log.format = format;
    }
    if let Err(e) = crate::telemetry::logging::init(&settings.log) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    match cli.command {
        Command::Check(args) => check::run(&args, &settings),
        Command::Features(args) => features::run(&args, &settings),
        Command::Demo(args) => demo::run(&args, &settings),
        Command::Train(args) => train::run(&args, &settings),
        Command::Model(args) => model::run(&args, &settings),
        Command::Serve(args) => serve::run(&args, &settings),
        Command::Replay(args) => replay::run(&args, &settings),
        Command::Bench(args) => bench::run(&args, &settings),
        Command::BenchPassthrough(args) => bench::run_passthrough(&args, &settings),
        Command::Config => config_show::run(&settings),
    }
}
