//! Scale-out: the candle stream split into 4 partitions by a NATS `partition()` transform,
//! 3 worker processes sharing them through pinned-client priority groups, one of them killed
//! with SIGKILL mid-stream. A standby takes its partitions over (from the Redis snapshots and
//! the stream) and the end state is exactly the pure pipeline's: no signal lost, none twice,
//! every series' signals in order.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::await_holding_lock
)]

use crate::serve_support::*;
use local_servers::{ServerKind, ServerProcess};
use signal_worker::config::Settings;
use signal_worker::contract::CandleMessage;
use signal_worker::core::pipeline::{Input, Outcome};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

const PARTITIONS: u32 = 4;
const SERIES: usize = 500;
/// A series yields its first signal after 166 candles (indicator warm-up plus the model window).
const STEPS: usize = 230;
/// Published before the kill: enough for every series to be signalling.
const BEFORE_KILL: usize = 190;
const HOUR_MS: i64 = 3_600_000;
const START_MS: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z

/// A deterministic random walk per series, candles of consecutive hours.
fn candles(step: usize) -> Vec<CandleMessage> {
    (0..SERIES)
        .map(|s| {
            let walk = |t: usize| {
                let x = (s * 7919 + t * 104_729) as f64;
                100.0 + s as f64 + 5.0 * (x * 0.001).sin() + t as f64 * 0.05 * (s % 3) as f64
            };
            let (open, close) = (walk(step), walk(step + 1));
            CandleMessage {
                exchange: "test".into(),
                symbol: format!("S{s:03}"),
                interval: "1h".into(),
                open_time: START_MS + step as i64 * HOUR_MS,
                close_time: None,
                open,
                high: open.max(close) + 0.5,
                low: open.min(close) - 0.5,
                close,
                volume: 10.0 + (s + step) as f64 % 17.0,
                trades: None,
                is_closed: true,
            }
        })
        .collect()
}

/// A candle's subject, `Nats-Msg-Id` header and body as the trading engine publishes them.
fn message(c: &CandleMessage) -> (String, async_nats::HeaderMap, bytes::Bytes) {
    let subject = format!("candles.{}.{}.{}", c.exchange, c.symbol, c.interval);
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", format!("{}:{}", c.symbol, c.open_time));
    (subject, headers, rmp_serde::to_vec_named(c).unwrap().into())
}

/// Publishes time steps `steps` of every series, acks awaited one step at a time. A candle whose
/// publish or ack fails (a cluster electing a new leader) is sent again with its `Nats-Msg-Id`
/// until the stream stores it, before the next step: each series' candles stay in order and
/// none is stored twice.
async fn publish(js: &async_nats::jetstream::Context, steps: std::ops::Range<usize>) {
    let stored = |sent: Result<async_nats::jetstream::context::PublishAckFuture, _>| async move {
        match sent {
            Ok(ack) => ack.await.is_ok(),
            Err(_) => false,
        }
    };
    for step in steps {
        let batch = candles(step);
        let mut pending = Vec::with_capacity(SERIES);
        for c in &batch {
            let (subject, headers, body) = message(c);
            pending.push(js.publish_with_headers(subject, headers, body).await);
        }
        for (c, sent) in batch.iter().zip(pending) {
            let deadline = Instant::now() + WAIT;
            let mut done = stored(sent).await;
            while !done {
                assert!(
                    Instant::now() < deadline,
                    "candle {} {} never stored",
                    c.symbol,
                    c.open_time
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let (subject, headers, body) = message(c);
                done = stored(js.publish_with_headers(subject, headers, body).await).await;
            }
        }
    }
}

/// What the pure pipeline makes of each partition's candles, in stream order.
async fn expected(js: &async_nats::jetstream::Context) -> BTreeSet<(String, i64)> {
    let messages = all_messages(js, "CANDLES").await;
    let mut by_partition: BTreeMap<String, Vec<&async_nats::jetstream::Message>> = BTreeMap::new();
    for m in &messages {
        let partition = m.subject.split('.').nth(1).unwrap().to_owned();
        by_partition.entry(partition).or_default().push(m);
    }
    assert_eq!(
        by_partition.len(),
        PARTITIONS as usize,
        "series are spread over every partition"
    );
    let mut signals = BTreeSet::new();
    for (partition, messages) in by_partition {
        let mut settings = Settings::default();
        settings.nats.candle_subject_prefix = format!("candles.{partition}");
        let predictor = signal_worker::runtime::model::load_predictor(
            &settings,
            Path::new(&format!("{ROOT}/models/default")),
        )
        .unwrap();
        let mut pipeline =
            signal_worker::runtime::model::build_pipeline(&settings, predictor).unwrap();
        let inputs: Vec<Input<'_>> = messages
            .iter()
            .map(|m| Input::on_subject(m.subject.as_str(), &m.payload))
            .collect();
        for outcome in pipeline.process(&inputs, Some(i64::MAX / 4)).unwrap() {
            match outcome {
                Outcome::Signal(s) => {
                    signals.insert((
                        format!("{}.{}.{}", s.exchange, s.symbol, s.interval),
                        s.open_time,
                    ));
                }
                Outcome::Rejected(r) => panic!("a valid candle was rejected: {r:?}"),
                _ => {}
            }
        }
    }
    signals
}

/// The value of a metric on a worker's /metrics (0 when it was never set).
fn metric(worker: &Worker, name: &str) -> f64 {
    http_get(worker.metrics_port, "/metrics")
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The most partitions one worker holds. (A partition handed over while no candle arrives has
/// no holder until the next one: the server pins a standby when it has something to deliver.)
fn most_held(workers: &[Worker]) -> i64 {
    workers
        .iter()
        .map(|w| metric(w, "signal_worker_partitions_owned") as i64)
        .max()
        .unwrap_or(0)
}

/// Whether every partition's consumer has acked everything it holds (false while the cluster
/// cannot answer).
async fn drained(js: &async_nats::jetstream::Context) -> bool {
    let Ok(stream) = js.get_stream("CANDLES").await else {
        return false;
    };
    for p in 0..PARTITIONS {
        match stream.consumer_info(format!("signal-worker-p{p}")).await {
            Ok(info) if info.num_pending == 0 && info.num_ack_pending == 0 => {}
            _ => return false,
        }
    }
    true
}

/// The end state every scenario must reach: every candle stored once, the signals exactly the
/// pure pipeline's, none twice, each series' signals in order, nothing dead-lettered.
async fn assert_exactly_once(js: &async_nats::jetstream::Context, logs: &str) -> usize {
    let got = signals(js).await;
    let unique: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(got.len(), unique.len(), "duplicate signals\n{logs}");
    let want = expected(js).await;
    assert_eq!(
        stream_count(js, "CANDLES").await as usize,
        SERIES * STEPS,
        "every candle stored once"
    );
    assert_eq!(unique, want, "signals differ from the pure pipeline");
    let mut last: BTreeMap<&str, i64> = BTreeMap::new();
    for (series, open_time) in &got {
        let previous = last.insert(series, *open_time);
        assert!(
            previous.is_none_or(|p| p < *open_time),
            "{series}: signal {open_time} after {previous:?}"
        );
    }
    let dead = all_messages(js, "DLQ").await;
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for m in &dead {
        let code = m
            .headers
            .as_ref()
            .and_then(|h| h.get("Error-Code"))
            .map_or("(none)".to_owned(), |v| v.as_str().to_owned());
        *reasons.entry(code).or_default() += 1;
    }
    let first: Vec<String> = dead
        .iter()
        .take(5)
        .map(|m| format!("{:?} {}", m.headers, String::from_utf8_lossy(&m.payload)))
        .collect();
    assert!(
        dead.is_empty(),
        "candles dead-lettered, by reason: {reasons:?}; first: {first:#?}\n{logs}"
    );
    want.len()
}

/// Fails with the worker's log if one of `workers` has exited.
fn assert_alive(workers: &mut [Worker]) {
    for (i, w) in workers.iter_mut().enumerate() {
        if let Some(status) = w.child.try_wait().unwrap() {
            panic!("worker {i} exited with {status}\n{}", w.log());
        }
    }
}

/// The settings of workers sharing the 4 partitions with Redis snapshots, so a standby takes a
/// killed worker's partitions over within seconds.
fn takeover_env(redis_url: &str) -> [(&'static str, &str); 6] {
    [
        ("SIGNAL_WORKER_NATS_PARTITIONS", "4"),
        ("SIGNAL_WORKER_SERVE_PINNED_TTL_MS", "2000"),
        // The killed worker's unacked candles come back after this; they are only acked.
        ("SIGNAL_WORKER_SERVE_ACK_WAIT_MS", "3000"),
        ("SIGNAL_WORKER_REDIS_ENABLED", "true"),
        ("SIGNAL_WORKER_REDIS_URL", redis_url),
        ("SIGNAL_WORKER_REDIS_SNAPSHOT_INTERVAL_MS", "200"),
    ]
}

/// Every worker's log, one after the other.
fn logs(workers: &[Worker]) -> String {
    workers
        .iter()
        .map(|w| w.log())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_share_four_partitions_and_a_standby_takes_over_a_killed_one() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let redis = ServerProcess::start(ServerKind::Redis).unwrap();
    let (url, redis_url) = (nats.url(), redis.url());
    let (_client, js) = js(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let env = takeover_env(&redis_url);
    let mut workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(&url, dir.path(), &format!("w{i}"), &env))
        .collect();
    wait_streams(&js).await;

    publish(&js, 0..BEFORE_KILL).await;
    // Mid-stream: signals flowing, candles still waiting.
    wait_for("signals to flow", WAIT, || async {
        stream_count(&js, "SIGNALS").await > 2_000
    })
    .await;
    // The workers spread the partitions: none keeps more than its fair share, ceil(4 / 3).
    wait_for("the partitions spread over the workers", WAIT, || async {
        most_held(&workers) <= 2
    })
    .await;
    let owner = (0..workers.len())
        .max_by_key(|&i| metric(&workers[i], "signal_worker_partitions_owned") as i64)
        .unwrap();
    let owned = metric(&workers[owner], "signal_worker_partitions_owned");
    assert!(
        owned >= 1.0,
        "no worker owns a partition\n{}",
        logs(&workers)
    );
    let mut killed = workers.remove(owner);
    killed.kill9();
    let killed_at = Instant::now();

    publish(&js, BEFORE_KILL..STEPS).await;
    wait_for("every partition drained", WAIT, || drained(&js)).await;
    eprintln!(
        "killed a worker owning {owned} partitions; drained {:?} later",
        killed_at.elapsed()
    );

    // The survivors spread the partitions again: ceil(4 / 2) at most each.
    wait_for("the partitions spread over the survivors", WAIT, || async {
        most_held(&workers) <= 2
    })
    .await;
    let takeovers: f64 = workers
        .iter()
        .map(|w| metric(w, "signal_worker_partition_takeovers_total"))
        .sum();
    let restored: f64 = workers
        .iter()
        .map(|w| metric(w, "signal_worker_snapshots_restored_total"))
        .sum();
    let all_logs = format!("{}\n--- killed ---\n{}", logs(&workers), killed.log());
    assert!(
        takeovers >= owned,
        "the survivors took over the {owned} partitions of the killed worker ({takeovers} takeovers)\n{all_logs}"
    );
    assert!(
        restored > 0.0,
        "the takeover resumed series from their snapshots\n{all_logs}"
    );

    let signalled = assert_exactly_once(&js, &all_logs).await;
    eprintln!(
        "{} candles over {PARTITIONS} partitions → {} signals, {takeovers} takeovers, {restored} series resumed from snapshots",
        SERIES * STEPS,
        signalled
    );
    drop(nats);
    drop(redis);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_reload_reaches_every_partition_and_a_bad_model_none() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let (client, js) = js(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap().to_owned();
    let env = [
        ("SIGNAL_WORKER_NATS_PARTITIONS", "2"),
        ("SIGNAL_WORKER_MODEL_ROOT", root.as_str()),
    ];
    let worker = Worker::start(&url, dir.path(), "worker", &env);
    wait_streams(&js).await;
    publish(&js, 0..2).await;
    wait_for("both partitions held", WAIT, || async {
        metric(&worker, "signal_worker_partitions_owned") == 2.0
    })
    .await;
    assert_eq!(
        metric(&worker, "signal_worker_model_loads_total"),
        1.0,
        "both partitions run the one model loaded\n{}",
        worker.log()
    );

    let (_, bad) = model_copies(dir.path());
    let good = second_model(dir.path(), "v2");
    let ask = |path: std::path::PathBuf| {
        let client = client.clone();
        async move { reload_model(&client, &path).await }
    };
    let refused = ask(bad).await;
    assert_eq!(refused["error"]["code"], "model_error", "{refused}");
    let accepted = ask(good.clone()).await;
    assert_eq!(accepted["reloaded"], true, "{accepted}\n{}", worker.log());

    // Each partition swaps the model in between two of its batches.
    publish(&js, 2..3).await;
    let swapped = |log: &str| {
        log.lines()
            .filter(|l| l.contains("model swapped in") && l.contains(good.to_str().unwrap()))
            .count()
    };
    wait_for("both partitions to swap the model", WAIT, || async {
        swapped(&worker.log()) == 2
    })
    .await;
    assert!(
        !worker.log().contains("model refused; the old one stays"),
        "{}",
        worker.log()
    );
    // The reload verified the new model once; both partitions swapped in that very load.
    assert_eq!(
        metric(&worker, "signal_worker_model_loads_total"),
        2.0,
        "{}",
        worker.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_partitioned_workers_on_three_nodes_survive_losing_a_node_and_a_worker() {
    let _serial = serial();
    let mut cluster = local_servers::NatsCluster::start(3).unwrap();
    let redis = ServerProcess::start(ServerKind::Redis).unwrap();
    let redis_url = redis.url();
    let (_client, js) = cluster_js(&cluster).await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        &[("SIGNAL_WORKER_NATS_REPLICAS", "3")][..],
        &takeover_env(&redis_url),
    ]
    .concat();
    // Worker i knows only node i: it learns the rest of the cluster from that node, and must
    // find them on its own when node i dies.
    let mut workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(&cluster.url(i), dir.path(), &format!("w{i}"), &env))
        .collect();
    wait_streams(&js).await;

    publish(&js, 0..BEFORE_KILL).await;
    wait_for("signals to flow", WAIT, || async {
        stream_count(&js, "SIGNALS").await > 2_000
    })
    .await;
    // Mid-stream, node 0 dies for good: worker 0 reconnects to the others, every stream and
    // consumer gets a leader on the two nodes left.
    cluster.kill(0);
    eprintln!(
        "killed {} (worker 0's only configured server)",
        cluster.name(0)
    );
    let before = stream_count(&js, "SIGNALS").await;
    publish(&js, BEFORE_KILL..BEFORE_KILL + 20).await;
    wait_for(
        "signals to flow again after the node died",
        WAIT,
        || async { stream_count(&js, "SIGNALS").await >= before + 1_000 },
    )
    .await;
    assert_alive(&mut workers);
    // Worker 0 lost its server and found another node of the cluster on its own.
    wait_for("worker 0 to reconnect to another node", WAIT, || async {
        metric(
            &workers[0],
            "signal_worker_reconnects_total{dependency=\"nats\"}",
        ) >= 1.0
    })
    .await;
    // Then, of the two others, the one holding more partitions is killed; worker 0 stays.
    let owner = (1..workers.len())
        .max_by_key(|&i| metric(&workers[i], "signal_worker_partitions_owned") as i64)
        .unwrap();
    let mut killed = workers.remove(owner);
    killed.kill9();
    eprintln!("killed worker w{owner}");
    publish(&js, BEFORE_KILL + 20..STEPS).await;
    wait_for("every partition drained", WAIT, || drained(&js)).await;
    assert_alive(&mut workers);
    let all_logs = format!("{}\n--- killed ---\n{}", logs(&workers), killed.log());
    let signalled = assert_exactly_once(&js, &all_logs).await;
    eprintln!(
        "{} candles over {PARTITIONS} partitions on 3 nodes (one lost) → {signalled} signals",
        SERIES * STEPS
    );
    drop(redis);
}
