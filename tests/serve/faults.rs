//! `serve` under faults (real nats-server and redis-server): a connection cut under batches that
//! hold several candles of one series, a stop during the warm start, a Redis that stalls, and a
//! second worker started on a durable that is in use. Every candle ends with exactly one signal
//! (or its one dead letter), as the pure pipeline gives them.

// The serial guard is held across awaits on purpose: one server-heavy test at a time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::await_holding_lock
)]

use crate::serve_support::*;

use local_servers::{ServerKind, ServerProcess};
use signal_worker::contract::codec::{self, Encoding};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

const HOUR: i64 = 3_600_000;

/// A TCP proxy between the worker and nats-server whose connections the test can cut at will
/// (the client reconnects through it).
struct CuttingProxy {
    port: u16,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl CuttingProxy {
    async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let held = connections.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    continue;
                };
                let task = tokio::spawn(async move {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
                held.lock().unwrap().push(task.abort_handle());
            }
        });
        Self {
            port,
            connections,
            accept,
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Drops every open connection at once (both directions, mid-message).
    fn cut(&self) -> usize {
        let open: Vec<AbortHandle> = self.connections.lock().unwrap().drain(..).collect();
        for c in &open {
            c.abort();
        }
        open.len()
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// `bars` hourly candles of each of `symbols` series, interleaved (stream order = time order),
/// published pipelined with their own message ids.
async fn publish_series(
    js: &async_nats::jetstream::Context,
    symbols: &[&str],
    bars: std::ops::Range<i64>,
) {
    let mut acks = Vec::new();
    for i in bars {
        for (k, symbol) in symbols.iter().enumerate() {
            let close =
                100.0 + (k as f64) * 10.0 + ((i as f64) * 0.37).sin() * 3.0 + i as f64 * 0.01;
            let c = candle(symbol, 1_498_906_800_000 + i * HOUR, close);
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", format!("{symbol}:{i}").as_str());
            let body = codec::encode(&c, Encoding::MessagePack).unwrap();
            acks.push(
                js.publish_with_headers(format!("candles.test.{symbol}.1h"), headers, body.into())
                    .await
                    .unwrap(),
            );
            if acks.len() >= 2_048 {
                for ack in acks.drain(..) {
                    ack.await.unwrap();
                }
            }
        }
    }
    for ack in acks {
        ack.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cuts_under_batches_with_several_candles_per_series_lose_no_signal() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let (_client, js) = js(&url).await;
    ensure_default_streams(&js).await;
    // A backlog of four series: every batch of 256 holds ~64 candles of each.
    let symbols = ["S1", "S2", "S3", "S4"];
    publish_series(&js, &symbols, 0..1_500).await;
    let proxy = CuttingProxy::start(nats.port()).await;
    let worker = Worker::start(&proxy.url(), dir.path(), "worker", &[]);
    let mut cuts = 0;
    let deadline = Instant::now() + WAIT;
    loop {
        let state = consumer_state(&js).await;
        if matches!(state, Some((0, 0, floor)) if floor >= 6_000) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not drained: {state:?}\n{}",
            worker.log()
        );
        // Cut while signals are in flight, a dozen times over the run.
        if cuts < 12
            && stream_count(&js, "SIGNALS").await > (cuts as u64 + 1) * 300
            && proxy.cut() > 0
        {
            cuts += 1;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(cuts >= 3, "only {cuts} cuts landed\n{}", worker.log());
    assert_exact(&js, &worker.log()).await;
    drop(nats);
}

/// Starts a worker, waits until its warm start has begun, then stops it with `signal`.
fn interrupt_warm_start(
    url: &str,
    dir: &std::path::Path,
    name: &str,
    env: &[(&str, &str)],
    kill9: bool,
) -> String {
    let mut worker = Worker::start(url, dir, name, env);
    let deadline = Instant::now() + WAIT;
    while !worker.log().contains("warm start: rebuilding series state") {
        assert!(Instant::now() < deadline, "no warm start\n{}", worker.log());
        std::thread::sleep(Duration::from_millis(1));
    }
    if kill9 {
        worker.kill9();
    } else {
        worker.sigterm();
        let status = worker.wait_exit(WAIT).expect("did not exit");
        assert!(
            status.success(),
            "SIGTERM during the warm start: {status:?}\n{}",
            worker.log()
        );
    }
    worker.log()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_the_warm_start_never_checkpoints_partial_state() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let redis = ServerProcess::start(ServerKind::Redis).unwrap();
    let url = nats.url();
    let redis_url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let (_client, js) = js(&url).await;
    // A long history, consumed by a worker without snapshots: the next start must replay it.
    let symbols: Vec<String> = (0..40).map(|k| format!("W{k}")).collect();
    let names: Vec<&str> = symbols.iter().map(String::as_str).collect();
    {
        let worker = Worker::start(&url, dir.path(), "first", &[]);
        wait_streams(&js).await;
        publish_series(&js, &names, 0..1_500).await;
        wait_drained(&js, &worker).await;
    }
    let env = [
        ("SIGNAL_WORKER_REDIS_ENABLED", "true"),
        ("SIGNAL_WORKER_REDIS_URL", redis_url.as_str()),
    ];
    let mut interrupted = 0;
    for (round, kill9) in [(0, false), (1, true), (2, false)] {
        let log = interrupt_warm_start(
            &url,
            dir.path(),
            &format!("interrupted-{round}"),
            &env,
            kill9,
        );
        if log.contains("warm start interrupted") || kill9 {
            interrupted += 1;
        }
        assert!(
            !log.contains("warm start done"),
            "the stop came too late to test anything\n{log}"
        );
    }
    assert!(interrupted >= 2, "no stop landed inside a warm start");
    // Nothing partial was checkpointed: the next start replays the history and signals what an
    // uninterrupted run signals.
    let worker = Worker::start(&url, dir.path(), "last", &env);
    publish_series(&js, &names, 1_500..1_520).await;
    wait_drained(&js, &worker).await;
    assert_exact(&js, &worker.log()).await;
    drop(redis);
    drop(nats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_never_holds_signals_back() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let redis = ServerProcess::start(ServerKind::Redis).unwrap();
    let url = nats.url();
    let redis_url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let (_client, js) = js(&url).await;
    // Commands may take 20 s before they count as failed: a slow-but-alive Redis, not a dead one.
    let env = [
        ("SIGNAL_WORKER_REDIS_ENABLED", "true"),
        ("SIGNAL_WORKER_REDIS_URL", redis_url.as_str()),
        ("SIGNAL_WORKER_REDIS_SNAPSHOTS", "false"),
        ("SIGNAL_WORKER_REDIS_COMMAND_TIMEOUT_MS", "20000"),
    ];
    let worker = Worker::start(&url, dir.path(), "worker", &env);
    wait_streams(&js).await;
    publish_series(&js, &["R"], 0..150).await;
    wait_drained(&js, &worker).await;
    let client = redis::Client::open(redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = "signal-worker:signal:test:R:1h";
    let cached = |conn: &redis::aio::MultiplexedConnection| {
        let mut conn = conn.clone();
        async move {
            let raw: Option<Vec<u8>> = redis::cmd("GET")
                .arg(key)
                .query_async(&mut conn)
                .await
                .unwrap();
            raw.map(|b| {
                serde_json::from_slice::<signal_worker::contract::Signal>(&b)
                    .unwrap()
                    .open_time
            })
        }
    };
    let before = stream_count(&js, "SIGNALS").await;
    wait_for("the cache written", WAIT, || async {
        cached(&conn).await.is_some()
    })
    .await;
    let first = cached(&conn).await;
    // Redis stops executing writes for 8 s (it still accepts connections and reads).
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(8_000)
        .arg("WRITE")
        .query_async(&mut conn)
        .await
        .unwrap();
    publish_series(&js, &["R"], 150..170).await;
    wait_drained(&js, &worker).await;
    // Every new candle was signalled while the cache still holds the old value: the intake
    // did not wait for Redis.
    assert_eq!(
        stream_count(&js, "SIGNALS").await,
        before + 20,
        "{}",
        worker.log()
    );
    assert_eq!(
        cached(&conn).await,
        first,
        "the cache was written during the pause"
    );
    // After the pause the cache catches up to the newest signal.
    let newest = 1_498_906_800_000 + 169 * HOUR;
    wait_for("the cache caught up", WAIT, || async {
        cached(&conn).await == Some(newest)
    })
    .await;
    assert_exact(&js, &worker.log()).await;
    drop(redis);
    drop(nats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_worker_on_a_durable_in_use_stands_by_instead_of_stealing_it() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let (_client, js) = js(&url).await;
    let mut first = Worker::start(&url, dir.path(), "first", &[]);
    wait_streams(&js).await;
    publish_series(&js, &["D1", "D2"], 0..200).await;
    wait_drained(&js, &first).await;
    let second = Worker::start(&url, dir.path(), "second", &[]);
    wait_for("the second worker to stand by", WAIT, || async {
        second.log().contains("standing by")
    })
    .await;
    // While the first runs, it alone consumes; the second never took the durable.
    publish_series(&js, &["D1", "D2"], 200..260).await;
    wait_drained(&js, &first).await;
    assert!(
        !second.log().contains("warm start done"),
        "{}",
        second.log()
    );
    // A rolling deploy: the first drains and stops; the second takes over.
    first.sigterm();
    assert!(first.wait_exit(WAIT).expect("first did not exit").success());
    wait_for("the second worker to take over", WAIT, || async {
        second.log().contains("warm start done")
    })
    .await;
    // The first recorded its release on the consumer, so the second did not wait for the
    // durable to look idle.
    assert!(
        first
            .log()
            .contains("durable consumer released for the next worker"),
        "{}",
        first.log()
    );
    assert!(
        second
            .log()
            .contains("durable consumer released by its last worker; taking it over at once"),
        "{}",
        second.log()
    );
    publish_series(&js, &["D1", "D2"], 260..300).await;
    wait_drained(&js, &second).await;
    assert_exact(&js, &format!("{}\n{}", first.log(), second.log())).await;
    drop(nats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_worker_on_standby_is_ready() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let worker = Worker::start(
        &url,
        dir.path(),
        "worker",
        &[("SIGNAL_WORKER_NATS_PARTITIONS", "2")],
    );
    wait_for("/readyz 200 with partitions", WAIT, || async {
        let port = worker.metrics_port;
        tokio::task::spawn_blocking(move || {
            std::net::TcpStream::connect(("127.0.0.1", port))
                .map(|_| http_get(port, "/readyz"))
                .unwrap_or_default()
        })
        .await
        .unwrap()
        .contains("\"ready\":true")
    })
    .await;
    drop(nats);
}
