//! `signal-worker serve`: run the NATS worker until SIGTERM/SIGINT.

use crate::config::Settings;
use crate::runtime::app::{self, Stopped};
use std::process::ExitCode;

/// Arguments of `serve` (everything else is in the settings).
#[derive(Debug, clap::Args)]
pub struct ServeArgs {}

/// Runs the worker; exit 0 after an orderly stop, 1 after a fatal failure,
/// 2 when it cannot start.
pub fn run(_args: &ServeArgs, settings: &Settings) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    match runtime.block_on(app::run(settings.clone())) {
        Ok(Stopped::Clean) => ExitCode::SUCCESS,
        Ok(Stopped::Failed(reason)) => {
            eprintln!("error: worker stopped: {reason}");
            ExitCode::from(super::EXIT_FINDINGS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_USAGE)
        }
    }
}
