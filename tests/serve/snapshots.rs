//! `serve` with series snapshots in a real redis-server: a restart resumes every series from its
//! checkpoint and replays only the candles after it, and a snapshot it must not trust is refused
//! for a full replay — in every case the signals are exactly the pure pipeline's, none twice.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::await_holding_lock
)]

use crate::serve_support::*;
use local_servers::{ServerKind, ServerProcess};
use signal_worker::core::series_snapshot::SeriesSnapshot;

const SNAPSHOT_KEY: &str = "signal-worker:snapshot:coinbase:BTCUSD:1h";

/// The value of a metric (the first sample whose name and labels start with `series`).
fn metric(worker: &Worker, series: &str) -> Option<f64> {
    http_get(worker.metrics_port, "/metrics")
        .lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Candles the worker read back from the stream to rebuild its state.
fn replayed(worker: &Worker) -> f64 {
    metric(worker, "signal_worker_history_candles_replayed_total").unwrap_or(-1.0)
}

async fn redis(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The BTC/USD snapshot Redis holds, decoded.
async fn stored_snapshot(url: &str) -> Option<SeriesSnapshot> {
    let bytes: Option<Vec<u8>> = redis::cmd("GET")
        .arg(SNAPSHOT_KEY)
        .query_async(&mut redis(url).await)
        .await
        .unwrap();
    bytes.map(|b| SeriesSnapshot::decode(&b).unwrap())
}

/// Stops a worker with SIGTERM and checks the clean exit (which writes the last checkpoint).
fn stop(mut worker: Worker) -> String {
    worker.sigterm();
    let status = worker.wait_exit(WAIT).expect("the worker did not stop");
    assert!(status.success(), "{status:?}\n{}", worker.log());
    worker.log()
}

fn redis_env(redis_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SIGNAL_WORKER_REDIS_ENABLED", "true".into()),
        ("SIGNAL_WORKER_REDIS_URL", redis_url.into()),
        // Only the start-up and shutdown checkpoints, so every test knows where they are.
        ("SIGNAL_WORKER_REDIS_SNAPSHOT_INTERVAL_MS", "3600000".into()),
    ]
}

fn start(url: &str, dir: &std::path::Path, name: &str, env: &[(&'static str, String)]) -> Worker {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Worker::start(url, dir, name, &env)
}

/// A nats-server and a redis-server of one test, with its temp dir and a JetStream client.
struct Scene {
    _nats: ServerProcess,
    _redis: ServerProcess,
    url: String,
    redis_url: String,
    dir: tempfile::TempDir,
    _client: async_nats::Client,
    js: async_nats::jetstream::Context,
}

impl Scene {
    async fn start() -> Self {
        let nats = ServerProcess::start(ServerKind::Nats).unwrap();
        let redis = ServerProcess::start(ServerKind::Redis).unwrap();
        let (url, redis_url) = (nats.url(), redis.url());
        let (client, js) = js(&url).await;
        Self {
            _nats: nats,
            _redis: redis,
            url,
            redis_url,
            dir: tempfile::tempdir().unwrap(),
            _client: client,
            js,
        }
    }

    fn worker(&self, name: &str, env: &[(&'static str, String)]) -> Worker {
        start(&self.url, self.dir.path(), name, env)
    }

    /// A first worker that takes `csv` whole, then stops cleanly (writing its checkpoint).
    async fn first_run(&self, csv: &std::path::Path, env: &[(&'static str, String)]) -> String {
        let worker = self.worker("first", env);
        wait_streams(&self.js).await;
        replay_btc(&self.url, csv);
        wait_drained(&self.js, &worker).await;
        stop(worker)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_the_checkpoint_and_replays_only_what_came_after() {
    let _serial = serial();
    let scene = Scene::start().await;
    let (url, redis_url, js) = (&scene.url, &scene.redis_url, &scene.js);
    let dir = scene.dir.path();
    let (first, _) = btc_rows(dir, "first.csv", 1, 1200);
    let (second, _) = btc_rows(dir, "second.csv", 1201, 1500);
    let (third, _) = btc_rows(dir, "third.csv", 1501, 1600);
    let with_redis = redis_env(redis_url);

    // 1. 1,200 candles; the clean stop checkpoints the series at sequence 1,200.
    let mut log = scene.first_run(&first, &with_redis).await;
    let snapshot = stored_snapshot(redis_url).await.expect("no checkpoint");
    assert_eq!(snapshot.through_sequence, 1200);

    // 2. A restart resumes and replays nothing; 300 more candles are signalled.
    let worker = scene.worker("second", &with_redis);
    replay_btc(url, &second);
    wait_drained(js, &worker).await;
    assert_eq!(replayed(&worker), 0.0, "{}", worker.log());
    assert_eq!(
        metric(&worker, "signal_worker_snapshots_restored_total"),
        Some(1.0)
    );
    // Killed: the checkpoint in Redis stays at 1,200 while the acks reached 1,500.
    let mut worker = worker;
    worker.kill9();
    log += &worker.log();
    assert_eq!(
        stored_snapshot(redis_url).await.unwrap().through_sequence,
        1200
    );

    // 3. Resumes at 1,200 and replays exactly the 300 acked candles after it.
    let worker = scene.worker("third", &with_redis);
    replay_btc(url, &third);
    wait_drained(js, &worker).await;
    assert_eq!(replayed(&worker), 300.0, "{}", worker.log());
    log += &worker.log();
    assert_exact(js, &log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrustworthy_snapshot_is_refused_and_the_whole_history_replayed() {
    let _serial = serial();
    let scene = Scene::start().await;
    let (url, redis_url, js) = (&scene.url, &scene.redis_url, &scene.js);
    let dir = scene.dir.path();
    let (first, _) = btc_rows(dir, "first.csv", 1, 800);
    let (second, _) = btc_rows(dir, "second.csv", 801, 900);
    let with_redis = redis_env(redis_url);

    let mut log = scene.first_run(&first, &with_redis).await;
    assert!(stored_snapshot(redis_url).await.is_some());
    let _: () = redis::cmd("SET")
        .arg(SNAPSHOT_KEY)
        .arg(b"not a snapshot".as_slice())
        .query_async(&mut redis(redis_url).await)
        .await
        .unwrap();

    let worker = scene.worker("second", &with_redis);
    replay_btc(url, &second);
    wait_drained(js, &worker).await;
    assert_eq!(replayed(&worker), 800.0, "{}", worker.log());
    assert_eq!(
        metric(
            &worker,
            "signal_worker_snapshots_refused_total{reason=\"undecodable\"}"
        ),
        Some(1.0)
    );
    log += &worker.log();
    assert_exact(js, &log).await;
    // The replay rebuilt the state and checkpointed it at once: the snapshot is good again.
    let repaired = stored_snapshot(redis_url).await.unwrap();
    assert!(repaired.through_sequence >= 800);
    drop(worker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_between_periodic_checkpoints_loses_nothing() {
    let _serial = serial();
    let scene = Scene::start().await;
    let (url, redis_url, js) = (&scene.url, &scene.redis_url, &scene.js);
    let dir = scene.dir.path();
    let csv = csv_head(dir, 3000);
    let mut env = redis_env(redis_url);
    env[2].1 = "100".into();

    let mut worker = scene.worker("first", &env);
    wait_streams(js).await;
    replay_btc(url, &csv);
    wait_for("a periodic checkpoint", WAIT, || async {
        stored_snapshot(redis_url).await.is_some()
    })
    .await;
    worker.kill9();
    let at_kill = stored_snapshot(redis_url).await.unwrap().through_sequence;
    let (_, _, floor) = consumer_state(js).await.unwrap();
    let log = worker.log();

    let worker = scene.worker("second", &env);
    wait_drained(js, &worker).await;
    let replayed = replayed(&worker);
    eprintln!("checkpoint at {at_kill}, ack floor {floor}, replayed {replayed}");
    assert_eq!(replayed, (floor - at_kill) as f64, "{}", worker.log());
    assert_exact(js, &format!("{log}\n---\n{}", worker.log())).await;
}
