//! `signal-worker bench` end to end: the bench starts its own nats-server 2.15
//! and worker (or uses a running pair), and its counts are the deterministic
//! ones the pure pipeline predicts.

// Tests may fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use local_servers::{ServerKind, ServerProcess, free_port};
use serde_json::Value;
use std::process::{Command, Output, Stdio};

/// Candles of a bundled-data series before and including its first signal
/// with the shipped model: 80 warming bars (features need 50, the LSTM's
/// window 32 more vectors), then the first signal. `demo` reports the same
/// 80 warming candles over the whole file.
const WARMUP: u64 = 81;

/// The worker is CPU-heavy and the machine small: one bench (or worker scenario) at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    crate::serve_support::serial()
}

fn bench(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = crate::common::bin();
    cmd.arg("bench").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn json(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn phase<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no phase {name} in {report}"))
}

fn f(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

#[test]
fn small_run_reports_the_predicted_counts_and_ordered_latencies() {
    let _guard = serial();
    // 20 series: 81 warm-up, 5 sustained, 1 burst and 200/s x 1 s / 20 = 10 paced candles each.
    let out = bench(
        &[
            "--series",
            "20",
            "--candles",
            "5",
            "--rate",
            "200",
            "--paced-seconds",
            "1",
            "--json",
        ],
        &[],
    );
    let r = json(&out);
    assert_eq!(r["series"], 20);
    assert_eq!(r["warmup_candles_per_series"], WARMUP);
    assert_eq!(r["candles"], 20 * (WARMUP + 5 + 1 + 10));
    assert_eq!(r["signals"], 20 * (1 + 5 + 1 + 10));
    for (name, candles, signals) in [
        ("warmup", 20 * WARMUP, 20),
        ("sustained", 100, 100),
        ("burst", 20, 20),
        ("paced", 200, 200),
    ] {
        let p = phase(&r, name);
        assert_eq!(p["candles"], candles, "{name}: {p}");
        assert_eq!(p["signals"], signals, "{name}: {p}");
        assert_eq!(p["latency"]["count"], signals, "{name}: {p}");
    }
    assert_eq!(r["latency_phase"], "paced");
    let (p50, p90, p99, max) = (
        f(&r, "latency_p50_ms"),
        f(&r, "latency_p90_ms"),
        f(&r, "latency_p99_ms"),
        f(&r, "latency_max_ms"),
    );
    assert!(
        0.0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= max,
        "{p50} {p90} {p99} {max}"
    );
    assert!(f(&r, "sustained_candles_per_s") > 0.0);
    assert!(f(&r, "burst_ms") > 0.0);
    assert!(f(&r, "rss_mb") > 0.0);
    assert!(f(&r, "worker_cpu_s") > 0.0);
    assert_eq!(r["stray_signals"], 0);
    assert_eq!(r["target"], "own");
    assert_eq!(r["replicas"], 1);
    let paced = phase(&r, "paced");
    // 200 candles at 200/s take about a second to send: the pace was kept.
    assert!(f(paced, "publish_ms") >= 900.0, "{paced}");
}

#[test]
fn same_input_gives_the_same_counts_twice() {
    let _guard = serial();
    let args = ["--series", "8", "--candles", "3", "--json"];
    let counts = |r: &Value| {
        let phases: Vec<(Value, Value, Value)> = r["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].clone(),
                    p["candles"].clone(),
                    p["signals"].clone(),
                )
            })
            .collect();
        (r["candles"].clone(), r["signals"].clone(), phases)
    };
    let first = counts(&json(&bench(&args, &[])));
    // The second run with a series limit below --series: the bench's own worker still admits
    // every series of the run (else five would be dead-lettered and never signalled).
    let second = counts(&json(&bench(
        &args,
        &[("SIGNAL_WORKER_SEQUENCE_MAX_SERIES", "3")],
    )));
    assert_eq!(first, second);
    assert_eq!(first.0, 8 * (WARMUP + 3 + 1));
    assert_eq!(first.1, 8 * (1 + 3 + 1));
}

#[test]
fn a_passthrough_run_answers_every_candle_and_gives_the_workers_share() {
    let _guard = serial();
    let out = bench(
        &["--passthrough", "--series", "8", "--candles", "3", "--json"],
        &[],
    );
    let r = json(&out);
    // The worker's run is unchanged by the ceiling run before it.
    assert_eq!(r["consumer"], "worker");
    assert_eq!(r["candles"], 8 * (WARMUP + 3 + 1));
    assert_eq!(r["signals"], 8 * (1 + 3 + 1));
    assert_eq!(r["stray_signals"], 0);
    // The pass-through answers every candle, warm-up included, with one message each.
    let ceiling = &r["passthrough"];
    assert_eq!(ceiling["consumer"], "passthrough");
    assert_eq!(ceiling["candles"], 8 * (WARMUP + 3 + 1));
    assert_eq!(ceiling["signals"], ceiling["candles"]);
    assert_eq!(ceiling["stray_signals"], 0);
    assert!(ceiling["passthrough"].is_null());
    assert!(f(ceiling, "rss_mb") > 0.0);
    let share = f(&r, "sustained_share_of_passthrough");
    let expected = f(&r, "sustained_candles_per_s") / f(ceiling, "sustained_candles_per_s");
    assert!((share - expected).abs() < 1e-9, "{share} vs {expected}");
    // Only against servers of its own: never combined with a server given.
    let both = bench(&["--passthrough", "--nats-url", "nats://127.0.0.1:1"], &[]);
    assert!(!both.status.success());
    assert!(
        String::from_utf8_lossy(&both.stderr).contains("--passthrough"),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );
}

#[test]
fn a_restart_before_the_burst_resumes_every_series_from_its_snapshot() {
    let _guard = serial();
    let out = bench(
        &["--restart", "--series", "8", "--candles", "3", "--json"],
        &[],
    );
    let r = json(&out);
    // The restarted worker's burst signals are the predicted ones (the bench fails otherwise):
    // the same as an uninterrupted worker's.
    assert_eq!(r["candles"], 8 * (WARMUP + 3 + 1));
    assert_eq!(r["signals"], 8 * (1 + 3 + 1));
    assert_eq!(r["stray_signals"], 0);
    let restart = &r["restart"];
    assert_eq!(f(restart, "resumed_series"), 8.0, "{restart}");
    assert!(f(restart, "stop_ms") > 0.0, "{restart}");
    let (first, last) = (f(restart, "first_signal_ms"), f(restart, "last_signal_ms"));
    assert!(first > 0.0 && last >= first, "{restart}");
    // Without --restart there is no restart figure.
    let plain = json(&bench(&["--series", "2", "--candles", "1", "--json"], &[]));
    assert!(plain["restart"].is_null(), "{plain}");
    // It restarts the bench's own worker: never combined with a server given.
    let both = bench(&["--restart", "--nats-url", "nats://127.0.0.1:1"], &[]);
    assert!(!both.status.success());
    assert!(
        String::from_utf8_lossy(&both.stderr).contains("--restart"),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );
}

#[test]
fn a_cluster_run_signals_every_candle_with_r3_streams() {
    let _guard = serial();
    let out = bench(
        &["--cluster", "--series", "8", "--candles", "3", "--json"],
        &[],
    );
    let r = json(&out);
    assert_eq!(r["target"], "own-cluster");
    assert_eq!(r["replicas"], 3);
    assert_eq!(r["candles"], 8 * (WARMUP + 3 + 1));
    assert_eq!(r["signals"], 8 * (1 + 3 + 1));
    assert_eq!(r["stray_signals"], 0);
    assert!(f(&r, "sustained_candles_per_s") > 0.0);
    // --cluster starts its own: it cannot be combined with a server given.
    let both = bench(&["--cluster", "--nats-url", "nats://127.0.0.1:1"], &[]);
    assert!(!both.status.success());
    assert!(
        String::from_utf8_lossy(&both.stderr).contains("--cluster"),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );
}

#[test]
fn an_unreachable_or_remote_server_is_a_clear_error() {
    let port = free_port().unwrap();
    let url = format!("nats://127.0.0.1:{port}");
    let out = bench(
        &["--series", "2", "--candles", "1"],
        &[("SIGNAL_WORKER_NATS_URL", &url)],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot reach NATS at {url}")),
        "{stderr}"
    );

    // An external worker must admit every series of the run: refused before connecting.
    let out = bench(
        &["--nats-url", &url, "--series", "3", "--candles", "1"],
        &[("SIGNAL_WORKER_SEQUENCE_MAX_SERIES", "2")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("more than sequence.max_series (2)"),
        "{stderr}"
    );

    let out = bench(&["--nats-url", "nats://10.1.2.3:4222"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("127.0.0.1 only"), "{stderr}");
}

#[test]
fn an_external_worker_is_measured_and_a_used_server_refused() {
    let _guard = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let metrics_port = free_port().unwrap();
    let log = std::fs::File::create(nats.dir().join("worker.log")).unwrap();
    let mut worker = crate::common::bin()
        .arg("serve")
        .env("SIGNAL_WORKER_NATS_URL", nats.url())
        .env(
            "SIGNAL_WORKER_METRICS_ADDR",
            format!("127.0.0.1:{metrics_port}"),
        )
        .env("SIGNAL_WORKER_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let pid = worker.id().to_string();
    let args = [
        "--series",
        "6",
        "--candles",
        "2",
        "--worker-pid",
        &pid,
        "--json",
    ];
    let env = [("SIGNAL_WORKER_NATS_URL", nats.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = json(&bench(&args, &env));
    assert_eq!(r["target"], "external");
    assert_eq!(r["candles"], 6 * (WARMUP + 2 + 1));
    assert_eq!(r["signals"], 6 * (1 + 2 + 1));
    assert!(f(&r, "rss_mb") > 0.0);

    // The same series again would be deduplicated: refused, not miscounted.
    let out = bench(&args, &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("already holds"), "{stderr}");

    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = worker.wait();
}
