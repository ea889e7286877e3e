//! The `signal-worker` binary: parse the command line and delegate.

fn main() -> std::process::ExitCode {
    signal_worker::cli::run()
}
