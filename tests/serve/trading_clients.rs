//! The trading-engine example clients (examples/python with nats-py, examples/typescript with
//! nats.js) driving a real worker over a real nats-server 2.15 and redis-server: the Python client
//! publishes recorded BTC/USD candles, each client reads the signals through its own durable
//! consumer (in two runs, so a restart resumes where the last run stopped), reads the latest
//! signal from Redis and asks for a backtest. Clients no one here wrote, so the contract in
//! DESIGN.md and schemas/ is what they meet, not this crate's own code. Every wait polls a
//! condition against a deadline.
//!
//! The clients come from scripts/install-test-deps.sh (the project venv and `npm ci`).

// Tests may fail loudly; each test has its own runtime on its own thread, so holding the std
// mutex that serialises them across awaits is harmless.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::await_holding_lock
)]

use crate::serve_support::*;

use local_servers::{ServerKind, ServerProcess};
use signal_worker::contract::backtest::SIMULATION_WARNING;
use signal_worker::contract::codec::{self, Encoding};
use signal_worker::contract::{CandleMessage, Signal};
use signal_worker::error::{ErrorCode, ErrorReply};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Candles the Python client publishes: a couple of hundred signals after the model's warm-up.
const CANDLES: usize = 300;
/// Seconds a client command may wait for what it expects (its own `--timeout`).
const CLIENT_TIMEOUT: &str = "120";
/// The series of the bundled file, as the clients are told it.
const SERIES: [&str; 6] = [
    "--exchange",
    "coinbase",
    "--symbol",
    "BTCUSD",
    "--interval",
    "1h",
];

/// Which example client.
#[derive(Debug, Clone, Copy)]
enum Client {
    Python,
    Node,
}

impl Client {
    /// The client's CLI, run from its own directory (the Python package is found there, the
    /// Node one's node_modules too).
    fn command(self) -> Command {
        match self {
            Client::Python => {
                let mut c = Command::new(format!("{ROOT}/.venv/bin/python"));
                c.args(["-m", "trading_client"])
                    .current_dir(format!("{ROOT}/examples/python"));
                c
            }
            Client::Node => {
                let mut c = Command::new("node");
                c.arg("trading-client.mjs")
                    .current_dir(format!("{ROOT}/examples/typescript"));
                c
            }
        }
    }

    /// Runs `args` to completion: (exit success, stdout, stderr). Every client command bounds
    /// its own waits, so this returns.
    fn run(self, args: &[&str]) -> (bool, String, String) {
        let out = self.command().args(args).output().unwrap_or_else(|e| {
            panic!("cannot run the {self:?} client ({e}); scripts/install-test-deps.sh installs it")
        });
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// [`Client::run`] that must succeed; its stdout.
    fn ok(self, args: &[&str], worker: &Worker) -> String {
        let (success, stdout, stderr) = self.run(args);
        assert!(
            success,
            "{self:?} client {args:?} failed\nstdout: {stdout}\nstderr: {stderr}\nworker log:\n{}",
            worker.log()
        );
        stdout
    }

    /// Runs `consume` with durable `durable` until `expect` more signals were written to `out`.
    fn consume(self, url: &str, durable: &str, expect: usize, out: &Path, worker: &Worker) {
        let expect = expect.to_string();
        let args = [
            "consume",
            "--nats-url",
            url,
            "--durable",
            durable,
            "--expect",
            &expect,
            "--out",
            out.to_str().unwrap(),
            "--timeout",
            CLIENT_TIMEOUT,
        ];
        self.ok(&args, worker);
    }

    /// The signal `latest` prints for the BTC/USD series, if it prints one.
    fn latest(self, redis_url: &str) -> Option<Signal> {
        let args = [&["latest", "--redis-url", redis_url][..], &SERIES[..]].concat();
        let (success, stdout, _) = self.run(&args);
        if !success {
            return None; // nothing cached yet
        }
        serde_json::from_str(stdout.trim()).ok()
    }
}

/// Every signal a client wrote to `path` (one JSON line each), in the order it wrote them.
fn lines(path: &Path) -> Vec<Signal> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// (series, open_time) of each signal, for duplicate checks.
fn keys(signals: &[Signal]) -> BTreeSet<(String, i64)> {
    signals
        .iter()
        .map(|s| {
            (
                format!("{}.{}.{}", s.exchange, s.symbol, s.interval),
                s.open_time,
            )
        })
        .collect()
}

/// A durable consumer of SIGNALS has everything acked: (num_pending, num_ack_pending, ack floor).
async fn durable_state(js: &async_nats::jetstream::Context, durable: &str) -> (u64, usize, u64) {
    let stream = js.get_stream("SIGNALS").await.unwrap();
    let info = stream.consumer_info(durable).await.unwrap();
    (
        info.num_pending,
        info.num_ack_pending,
        info.ack_floor.stream_sequence,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_node_clients_publish_consume_read_the_cache_and_are_refused_backtests() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let redis = ServerProcess::start(ServerKind::Redis).unwrap();
    let (url, redis_url) = (nats.url(), redis.url());
    let dir = tempfile::tempdir().unwrap();
    // A wide duplicate window: the three publishers below must meet one another's ids even on a
    // slow machine (the worker creates the streams with its settings).
    let worker = Worker::start(
        &url,
        dir.path(),
        "worker",
        &[
            ("SIGNAL_WORKER_REDIS_ENABLED", "true"),
            ("SIGNAL_WORKER_REDIS_URL", redis_url.as_str()),
            ("SIGNAL_WORKER_NATS_DUPLICATE_WINDOW_MS", "600000"),
        ],
    );
    let (_client, js) = js(&url).await;
    wait_streams(&js).await;
    // A persisted backtest request published before BACKTEST exists would be stored nowhere.
    wait_for("the BACKTEST stream", WAIT, || async {
        js.get_stream("BACKTEST").await.is_ok()
    })
    .await;

    // Publish: the Python client stores every candle once...
    let csv = csv_head(dir.path(), CANDLES);
    let csv = csv.to_str().unwrap();
    let publish = [
        &["publish", csv, "--nats-url", url.as_str()][..],
        &SERIES[..],
    ]
    .concat();
    let summary = Client::Python.ok(&publish, &worker);
    assert!(
        summary.contains(&format!("published {CANDLES} candles (0 already stored")),
        "{summary}"
    );
    // ...with the ids of replay and the Node client: theirs of the same bars are duplicates.
    let summary = Client::Node.ok(&publish, &worker);
    assert!(
        summary.contains(&format!(
            "published {CANDLES} candles ({CANDLES} already stored"
        )),
        "{summary}"
    );
    let summary = replay_btc(&url, Path::new(csv));
    assert!(
        summary.contains(&format!("({CANDLES} already stored")),
        "{summary}"
    );
    // Stored on the series' subject, with replay's Nats-Msg-Id and the very bytes replay encodes.
    let stored = all_messages(&js, "CANDLES").await;
    assert_eq!(stored.len(), CANDLES);
    for m in &stored {
        let candle: CandleMessage = codec::decode(&m.payload, Encoding::MessagePack).unwrap();
        assert_eq!(m.subject.as_str(), "candles.coinbase.BTCUSD.1h");
        let headers = m.headers.as_ref().unwrap();
        assert_eq!(
            headers.get("Nats-Msg-Id").unwrap().as_str(),
            format!("coinbase:BTCUSD:1h:{}", candle.open_time)
        );
        assert_eq!(
            headers.get("Content-Type").unwrap().as_str(),
            "application/msgpack"
        );
        assert_eq!(
            codec::encode(&candle, Encoding::MessagePack).unwrap(),
            m.payload.to_vec()
        );
    }
    wait_drained(&js, &worker).await;
    assert_eq!(
        stream_count(&js, "DLQ").await,
        0,
        "a client candle was dead-lettered\n{}",
        worker.log()
    );
    let stream: Vec<Signal> = all_messages(&js, "SIGNALS")
        .await
        .iter()
        .map(|m| codec::decode(&m.payload, Encoding::MessagePack).unwrap())
        .collect();
    assert!(stream.len() > 100, "only {} signals", stream.len());
    assert_eq!(keys(&stream).len(), stream.len(), "duplicates in SIGNALS");

    // Consume: each client its own durable, in two runs; the second resumes after the first.
    let half = stream.len() / 2;
    for (client, durable) in [(Client::Python, "engine-py"), (Client::Node, "engine-node")] {
        let out = dir.path().join(format!("{durable}.jsonl"));
        client.consume(&url, durable, half, &out, &worker);
        assert_eq!(lines(&out).len(), half, "{client:?} first run");
        client.consume(&url, durable, stream.len() - half, &out, &worker);
        let got = lines(&out);
        assert_eq!(keys(&got).len(), got.len(), "{client:?} saw a signal twice");
        // Same series, open times, sides, probabilities, model and thresholds, in stream order.
        assert_eq!(
            got, stream,
            "{client:?} signals differ from the SIGNALS stream"
        );
        assert_eq!(
            durable_state(&js, durable).await,
            (0, 0, stream.len() as u64),
            "{client:?} left signals unacked"
        );
    }

    // Latest: the cache converges on the series' last signal (it may lag the stream a little).
    let last = stream.last().unwrap().clone();
    wait_for("the cache to hold the last signal", WAIT, || {
        let (redis_url, last) = (redis_url.clone(), last.clone());
        async move { Client::Python.latest(&redis_url) == Some(last) }
    })
    .await;
    assert_eq!(Client::Node.latest(&redis_url), Some(last));

    // Backtest: persisted (Python, the default) and live (Node); one not_implemented answer each.
    for (client, id, mode) in [
        (Client::Python, "engine-py-1", None),
        (Client::Node, "engine-node-1", Some("--live")),
    ] {
        let mut args = vec![
            "backtest",
            "--nats-url",
            url.as_str(),
            "--request-id",
            id,
            "--start",
            "1498906800000",
            "--end",
            "1499900000000",
            "--timeout",
            CLIENT_TIMEOUT,
        ];
        args.extend(SERIES);
        args.extend(mode);
        let stdout = client.ok(&args, &worker);
        let reply: ErrorReply = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{client:?}: {stdout}: {e}"));
        assert_eq!(reply.error.code, ErrorCode::NotImplemented, "{stdout}");
        assert_eq!(reply.error.status, 501);
        assert_eq!(reply.request_id.as_deref(), Some(id));
        assert_eq!(
            reply.error.details.get("warning").and_then(|w| w.as_str()),
            Some(SIMULATION_WARNING),
            "{stdout}"
        );
    }
    drop(worker);
    drop(redis);
    drop(nats);
}
