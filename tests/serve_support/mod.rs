//! What the `serve` end-to-end tests share: the worker as a child process configured through
//! SIGNAL_WORKER_* variables, replaying bundled data, and waits that poll stream or consumer
//! state against a deadline.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code // each test binary uses its own subset
)]

use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use signal_worker::config::Settings;
use signal_worker::contract::codec::{self, Encoding};
use signal_worker::contract::{CandleMessage, Signal};
use signal_worker::core::pipeline::{Input, Outcome};
use signal_worker::error::{ErrorCode, ErrorReply};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The worker is CPU-heavy (inference) and the machine small: one scenario at a time.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub const BIN: &str = env!("CARGO_BIN_EXE_signal-worker");
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
pub const WAIT: Duration = Duration::from_secs(120);

pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A worker child process with its log in a temp dir.
pub struct Worker {
    pub child: Child,
    pub log: PathBuf,
    /// Port of its /metrics, /healthz and /readyz.
    pub metrics_port: u16,
}

impl Worker {
    pub fn start(url: &str, dir: &Path, name: &str, env: &[(&str, &str)]) -> Self {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let metrics_port = local_servers::free_port().unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .env(
                "SIGNAL_WORKER_METRICS_ADDR",
                format!("127.0.0.1:{metrics_port}"),
            )
            .env("SIGNAL_WORKER_NATS_URL", url)
            .env("SIGNAL_WORKER_MODEL_DIR", format!("{ROOT}/models/default"))
            .env("SIGNAL_WORKER_LOG", "info")
            .env("SIGNAL_WORKER_SERVE_RESTART_MAX_DELAY_MS", "1000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(file));
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self {
            child: cmd.spawn().unwrap(),
            log,
            metrics_port,
        }
    }

    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn sigterm(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn replay(url: &str, args: &[&str]) -> String {
    replay_with(url, args, &[])
}

/// [`replay`] with extra settings in the environment (the stream settings must agree with the
/// worker's).
pub fn replay_with(url: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(BIN)
        .arg("replay")
        .args(args)
        .env("SIGNAL_WORKER_NATS_URL", url)
        .env("SIGNAL_WORKER_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "replay failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Replays a CSV of the bundled BTC/USD series as fast as the server acks.
pub fn replay_btc(url: &str, csv: &Path) -> String {
    replay_btc_with(url, csv, &[])
}

/// [`replay_btc`] with extra settings in the environment.
pub fn replay_btc_with(url: &str, csv: &Path, env: &[(&str, &str)]) -> String {
    let flags = [
        "--exchange",
        "coinbase",
        "--symbol",
        "BTCUSD",
        "--interval",
        "1h",
        "--max",
    ];
    let path = csv.to_str().unwrap();
    replay_with(url, &[&[path], &flags[..]].concat(), env)
}

/// Rows `from..=to` (1-based, after the header) of the bundled BTC/USD file as a CSV in `dir`,
/// and the open time of its last row.
pub fn btc_rows(dir: &Path, name: &str, from: usize, to: usize) -> (PathBuf, i64) {
    let text = std::fs::read_to_string(format!("{ROOT}/data/btcusd-1h.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("{}\n{}\n", lines[0], lines[from..=to].join("\n")),
    )
    .unwrap();
    let last = lines[to].split(',').next().unwrap().parse().unwrap();
    (path, last)
}

/// The first `rows` candles of the bundled BTC/USD file, as a CSV file in `dir`.
pub fn csv_head(dir: &Path, rows: usize) -> PathBuf {
    let text = std::fs::read_to_string(format!("{ROOT}/data/btcusd-1h.csv")).unwrap();
    let head: Vec<&str> = text.lines().take(rows + 1).collect();
    let path = dir.join("btc.csv");
    std::fs::write(&path, head.join("\n") + "\n").unwrap();
    path
}

pub async fn js(url: &str) -> (async_nats::Client, jetstream::Context) {
    let client = async_nats::connect(url).await.unwrap();
    (client.clone(), jetstream::new(client))
}

/// A client on every node of `cluster` (it fails over between them).
pub async fn cluster_js(
    cluster: &local_servers::NatsCluster,
) -> (async_nats::Client, jetstream::Context) {
    let urls = cluster.urls();
    let servers = signal_worker::bus::connect::servers(&urls);
    let client = async_nats::connect(servers.as_slice()).await.unwrap();
    (client.clone(), jetstream::new(client))
}

pub async fn stream_count(js: &jetstream::Context, name: &str) -> u64 {
    match js.get_stream(name).await {
        Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
        Err(_) => 0,
    }
}

/// Every message of a stream, in order: as many as the stream's leader says it holds. (On a
/// cluster the ordered consumer may live on a replica still catching up after a restart, whose
/// `pending` reaches 0 early; reading up to the leader's count waits for it instead.)
pub async fn all_messages(js: &jetstream::Context, name: &str) -> Vec<jetstream::Message> {
    let mut out = Vec::new();
    let count = stream_count(js, name).await as usize;
    if count == 0 {
        return out;
    }
    let stream = js.get_stream(name).await.unwrap();
    let mut messages = stream
        .create_consumer(consumer::pull::OrderedConfig::default())
        .await
        .unwrap()
        .messages()
        .await
        .unwrap();
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        out.push(m);
        if out.len() >= count {
            return out;
        }
    }
}

/// Polls `check` until it is true or the deadline passes.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the worker has created its streams.
pub async fn wait_streams(js: &jetstream::Context) {
    wait_for("streams", WAIT, || async {
        js.get_stream("SIGNALS").await.is_ok()
    })
    .await;
}

/// Waits until SIGNALS holds more than `n` signals (a point mid-stream).
pub async fn wait_signals_above(js: &jetstream::Context, n: u64) {
    wait_for("some signals", WAIT, || async {
        stream_count(js, "SIGNALS").await > n
    })
    .await;
}

/// The durable consumer's state: (num_pending, num_ack_pending, ack floor).
pub async fn consumer_state(js: &jetstream::Context) -> Option<(u64, usize, u64)> {
    let stream = js.get_stream("CANDLES").await.ok()?;
    let info = stream.consumer_info("signal-worker").await.ok()?;
    Some((
        info.num_pending,
        info.num_ack_pending,
        info.ack_floor.stream_sequence,
    ))
}

/// Waits until the worker consumed and acked the whole candle stream.
pub async fn wait_drained(js: &jetstream::Context, worker: &Worker) {
    let total = stream_count(js, "CANDLES").await;
    let deadline = Instant::now() + WAIT;
    loop {
        let state = consumer_state(js).await;
        if matches!(state, Some((0, 0, floor)) if floor >= total) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not every candle acked: {state:?} of {total}\n{}",
            worker.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the pure pipeline makes of the whole candle stream, in stream order.
pub struct Expected {
    pub signals: BTreeSet<(String, i64)>,
    pub dead: BTreeMap<u64, ErrorCode>,
    pub candles: usize,
}

pub async fn expected(js: &jetstream::Context) -> Expected {
    let messages = all_messages(js, "CANDLES").await;
    let settings = Settings::default();
    let predictor = signal_worker::runtime::model::load_predictor(
        &settings,
        Path::new(&format!("{ROOT}/models/default")),
    )
    .unwrap();
    let mut pipeline = signal_worker::runtime::model::build_pipeline(&settings, predictor).unwrap();
    let inputs: Vec<Input<'_>> = messages
        .iter()
        .map(|m| Input {
            bytes: &m.payload,
            encoding: Encoding::from_content_type(
                m.headers
                    .as_ref()
                    .and_then(|h| h.get("Content-Type"))
                    .map(|v| v.as_str()),
            ),
            subject: Some(m.subject.as_str()),
        })
        .collect();
    let outcomes = pipeline.process(&inputs, Some(i64::MAX / 4)).unwrap();
    let mut e = Expected {
        signals: BTreeSet::new(),
        dead: BTreeMap::new(),
        candles: messages.len(),
    };
    for (m, o) in messages.iter().zip(outcomes) {
        match o {
            Outcome::Signal(s) => {
                e.signals.insert((
                    format!("{}.{}.{}", s.exchange, s.symbol, s.interval),
                    s.open_time,
                ));
            }
            Outcome::Rejected(r) => {
                e.dead.insert(m.info().unwrap().stream_sequence, r.code);
            }
            _ => {}
        }
    }
    e
}

/// Every signal in SIGNALS as (series, open_time), with repeats kept.
pub async fn signals(js: &jetstream::Context) -> Vec<(String, i64)> {
    all_messages(js, "SIGNALS")
        .await
        .iter()
        .map(|m| {
            let s: Signal = codec::decode(&m.payload, Encoding::MessagePack).unwrap();
            (
                format!("{}.{}.{}", s.exchange, s.symbol, s.interval),
                s.open_time,
            )
        })
        .collect()
}

/// Exact signals, no repeats, every rejection dead-lettered once with its reason.
pub async fn assert_exact(js: &jetstream::Context, log: &str) {
    let e = expected(js).await;
    let got = signals(js).await;
    let unique: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(
        got.len(),
        unique.len(),
        "duplicate signals in SIGNALS\n{log}"
    );
    assert_eq!(
        unique, e.signals,
        "signals differ from the pure pipeline\n{log}"
    );
    let dead: BTreeMap<u64, ErrorCode> = all_messages(js, "DLQ")
        .await
        .iter()
        .map(|m| {
            let h = m.headers.as_ref().unwrap();
            let seq: u64 = h
                .get("Original-Stream-Seq")
                .unwrap()
                .as_str()
                .parse()
                .unwrap();
            let reply: ErrorReply =
                serde_json::from_str(h.get("Error-Reply").unwrap().as_str()).unwrap();
            assert_eq!(
                m.subject.as_str(),
                format!("dlq.{}", reply.error.code.as_str())
            );
            (seq, reply.error.code)
        })
        .collect();
    assert_eq!(dead, e.dead, "dead letters differ\n{log}");
    assert_eq!(
        stream_count(js, "DLQ").await as usize,
        e.dead.len(),
        "a dead letter was stored twice"
    );
    eprintln!(
        "{} candles → {} signals, {} dead letters",
        e.candles,
        e.signals.len(),
        e.dead.len()
    );
}

pub fn candle(symbol: &str, open_time: i64, close: f64) -> CandleMessage {
    CandleMessage {
        exchange: "test".into(),
        symbol: symbol.into(),
        interval: "1h".into(),
        open_time,
        close_time: None,
        open: close,
        high: close + 1.0,
        low: close - 1.0,
        close,
        volume: 10.0,
        trades: None,
        is_closed: true,
    }
}

pub async fn publish_raw(js: &jetstream::Context, subject: &str, body: Vec<u8>, id: &str) {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", id);
    js.publish_with_headers(subject.to_owned(), headers, body.into())
        .await
        .unwrap()
        .await
        .unwrap();
}

/// The body of `GET path` on the worker's metrics port.
pub fn http_get(port: u16, path: &str) -> String {
    try_http_get(port, path).unwrap()
}

/// The body of `GET path` on 127.0.0.1:`port`, or `None` while nothing answers there (a worker
/// still starting).
pub fn try_http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(
        out.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default(),
    )
}

/// A copy of the shipped model in `dir/good` and a copy with tampered weights in `dir/bad`.
pub fn model_copies(dir: &Path) -> (PathBuf, PathBuf) {
    let good = dir.join("good");
    let bad = dir.join("bad");
    for target in [&good, &bad] {
        std::fs::create_dir_all(target).unwrap();
        for f in ["model.bpk", "model.json"] {
            std::fs::copy(format!("{ROOT}/models/default/{f}"), target.join(f)).unwrap();
        }
    }
    let mut weights = std::fs::read(bad.join("model.bpk")).unwrap();
    let last = weights.len() - 1;
    weights[last] ^= 0xff;
    std::fs::write(bad.join("model.bpk"), weights).unwrap();
    (good, bad)
}

/// Asks the worker to reload the model in `dir`; its JSON answer.
pub async fn reload_model(client: &async_nats::Client, dir: &Path) -> serde_json::Value {
    let body = dir.to_str().unwrap().to_owned();
    // The worker subscribes to control requests after it creates the streams the caller waited
    // for: until then the server answers "no responders" at once, and the request is asked again.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let asked = tokio::time::timeout_at(
            deadline,
            client.request("control.model.reload", body.clone().into()),
        )
        .await
        .unwrap();
        match asked {
            Ok(reply) => return serde_json::from_slice(&reply.payload).unwrap(),
            Err(e) if e.kind() == async_nats::client::RequestErrorKind::NoResponders => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no worker answers control requests"
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("reload request: {e}"),
        }
    }
}

/// What the pure pipeline makes of the candle stream, once SIGNALS holds at least that many
/// signals (the worker's last acks can precede its last signals' storage by a moment).
pub async fn expected_once_stored(js: &jetstream::Context) -> Expected {
    let e = expected(js).await;
    wait_for("every signal stored", WAIT, || async {
        stream_count(js, "SIGNALS").await as usize >= e.signals.len()
    })
    .await;
    e
}

/// The sum of every sample of metric `name` (all label sets) on a worker's /metrics; 0 if none.
pub fn metric_sum(worker: &Worker, name: &str) -> f64 {
    http_get(worker.metrics_port, "/metrics")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A second model that fits the shipped one's series state (same features, window and shape)
/// but has other weights, trained in well under a second by `signal-worker train` into
/// `dir/<name>`.
pub fn second_model(dir: &Path, name: &str) -> PathBuf {
    model_trained_with_seed(dir, name, 7)
}

/// [`second_model`] with another training seed (another seed, other weights; the same seed
/// gives the same weights: training is deterministic).
pub fn model_trained_with_seed(dir: &Path, name: &str, seed: u64) -> PathBuf {
    let text = std::fs::read_to_string(format!("{ROOT}/data/btcusd-1h.csv")).unwrap();
    let head: Vec<&str> = text.lines().take(801).collect();
    let csv = dir.join(format!("{name}-train.csv"));
    std::fs::write(&csv, head.join("\n") + "\n").unwrap();
    let out = dir.join(name);
    let status = Command::new(BIN)
        .args([
            "train",
            "--input",
            csv.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--version", "2"])
        .env("SIGNAL_WORKER_TRAINING_EPOCHS", "1")
        .env("SIGNAL_WORKER_TRAINING_SEED", seed.to_string())
        .env("SIGNAL_WORKER_LOG", "warn")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "train failed");
    out
}

/// The weights SHA-256 a model directory records.
pub fn weights_sha256(dir: &Path) -> String {
    signal_worker::model::artifact::read_unverified_metadata(dir)
        .unwrap()
        .weights_sha256
}

/// Creates the worker's streams with the default settings (before any worker runs).
pub async fn ensure_default_streams(js: &jetstream::Context) {
    signal_worker::bus::streams::ensure_streams(js, &Settings::default().nats)
        .await
        .unwrap();
}
