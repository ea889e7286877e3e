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
    let runtime = match super::multi_thread_runtime(None) {
        Ok(r) => r,
        Err(code) => return code,
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
