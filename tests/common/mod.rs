//! Helpers shared by the integration tests (each test binary uses a subset).

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

/// The `signal-worker` binary, run from the crate root with none of the
/// developer's `SIGNAL_WORKER_*` variables leaking in.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_signal-worker"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SIGNAL_WORKER_")) {
        c.env_remove(k);
    }
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// What `promtool check metrics` says about an exposition: empty when it
/// passes with no lint warning (promtool is installed by scripts/install-test-deps.sh).
pub fn promtool_findings(exposition: &str) -> String {
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed by scripts/install-test-deps.sh");
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(exposition.as_bytes())
        .expect("write to promtool");
    let out = promtool.wait_with_output().expect("promtool ran");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        text.trim().to_owned()
    } else {
        format!("exit {}: {text}", out.status)
    }
}

/// A signal of coinbase BTC/USD 1h at `open_time`, with its `Nats-Msg-Id` (archive fixtures).
pub fn archived_signal(open_time: i64) -> (String, signal_worker::contract::Signal) {
    use signal_worker::contract::{ClassProbabilities, ModelRef, Side, Signal, Thresholds};
    let s = Signal {
        exchange: "coinbase".into(),
        symbol: "BTCUSD".into(),
        interval: "1h".into(),
        open_time,
        side: Side::Long,
        confidence: 0.6,
        probabilities: ClassProbabilities {
            long: 0.6,
            short: 0.1,
            neutral: 0.3,
        },
        model: ModelRef {
            name: "default".into(),
            version: "1".into(),
            sha256: "ab".repeat(32).into(),
        },
        thresholds: Thresholds {
            min_confidence: 0.5,
        },
    };
    (s.message_id(12), s)
}
