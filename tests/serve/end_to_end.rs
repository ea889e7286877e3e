//! `serve` and `replay` end to end against a real nats-server 2.15: the worker
//! runs as a child process configured through SIGNAL_WORKER_* variables, and
//! every wait polls stream or consumer state against a deadline.

// Tests may fail loudly; each test has its own runtime on its own thread, so
// holding the std mutex that serialises them across awaits is harmless.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::await_holding_lock
)]

use crate::serve_support::*;

use futures::StreamExt;
use local_servers::{ServerKind, ServerProcess};
use signal_worker::error::{ErrorCode, ErrorReply};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_then_serve_signals_exactly_what_the_pure_pipeline_gives_and_dead_letters_every_bad_candle()
 {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let csv = csv_head(dir.path(), 1200);
    let summary = replay(
        &url,
        &[
            csv.to_str().unwrap(),
            "--exchange",
            "coinbase",
            "--symbol",
            "BTCUSD",
            "--interval",
            "1h",
            "--max",
        ],
    );
    assert!(summary.contains("published 1200 candles"), "{summary}");
    // Replaying again stores nothing new: deterministic Nats-Msg-Id.
    let again = replay(
        &url,
        &[
            csv.to_str().unwrap(),
            "--exchange",
            "coinbase",
            "--symbol",
            "BTCUSD",
            "--interval",
            "1h",
            "--max",
        ],
    );
    assert!(again.contains("(1200 already stored"), "{again}");

    // A second series with every kind of bad candle among good ones.
    let (_client, js) = js(&url).await;
    let hour = 3_600_000;
    let base = 1_600_000_000_000 / hour * hour;
    let subject = "candles.test.BAD.1h";
    for i in 0..120 {
        let c = candle("BAD", base + i * hour, 100.0 + (i as f64).sin());
        publish_raw(
            &js,
            subject,
            rmp_serde::to_vec_named(&c).unwrap(),
            &format!("g{i}"),
        )
        .await;
        match i {
            10 => {
                // Same candle again under another id: the worker's duplicate, no second signal.
                publish_raw(&js, subject, rmp_serde::to_vec_named(&c).unwrap(), "dup").await
            }
            20 => {
                let mut bad = candle("BAD", base + (i + 1) * hour, 100.0);
                bad.close = -1.0;
                publish_raw(&js, subject, rmp_serde::to_vec_named(&bad).unwrap(), "neg").await
            }
            30 => {
                let mut bad = candle("BAD", base + (i + 1) * hour, 100.0);
                bad.high = 50.0;
                publish_raw(&js, subject, rmp_serde::to_vec_named(&bad).unwrap(), "high").await
            }
            40 => publish_raw(&js, subject, b"\xc1 not a candle".to_vec(), "junk").await,
            50 => {
                let old = candle("BAD", base, 100.0);
                publish_raw(&js, subject, rmp_serde::to_vec_named(&old).unwrap(), "old").await
            }
            60 => {
                let c = candle("BAD", base + (i + 1) * hour, 100.0);
                publish_raw(
                    &js,
                    "candles.test.OTHER.1h",
                    rmp_serde::to_vec_named(&c).unwrap(),
                    "mismatch",
                )
                .await
            }
            _ => {}
        }
    }
    let total = stream_count(&js, "CANDLES").await;
    let started = Instant::now();
    let worker = Worker::start(&url, dir.path(), "worker", &[]);
    wait_drained(&js, &worker).await;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "worker consumed {total} candles in {secs:.2} s including start-up ({:.0} candles/s)",
        total as f64 / secs
    );
    let e = expected_once_stored(&js).await;
    assert_exact(&js, &worker.log()).await;
    let reasons: BTreeSet<ErrorCode> = e.dead.values().copied().collect();
    assert_eq!(
        reasons,
        BTreeSet::from([
            ErrorCode::Undecodable,
            ErrorCode::NonPositivePrice,
            ErrorCode::HighBelowBody,
            ErrorCode::OutOfOrder,
            ErrorCode::SubjectMismatch,
        ])
    );
    // Signals for both series, one per closed candle after warm-up.
    assert!(e.signals.iter().any(|(s, _)| s == "test.BAD.1h"));
    assert!(e.signals.len() > 1000);

    // The live metrics agree with the streams, and the exposition lints clean.
    let exposition = http_get(worker.metrics_port, "/metrics");
    let sum = |name: &str| -> f64 {
        exposition
            .lines()
            .filter(|l| l.starts_with(name) && !l.starts_with('#'))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert_eq!(
        sum("signal_worker_signals_published_total{") as usize,
        e.signals.len(),
        "{exposition}"
    );
    assert_eq!(
        sum("signal_worker_dlq_writes_total{") as u64,
        stream_count(&js, "DLQ").await
    );
    assert_eq!(sum("signal_worker_candles_received_total") as u64, total);
    assert!(
        exposition.contains("signal_worker_model_info{name=\"default\""),
        "{exposition}"
    );
    assert!(
        sum("signal_worker_feature_seconds_count") > 0.0,
        "{exposition}"
    );
    assert!(
        sum("signal_worker_inference_seconds_count") > 0.0,
        "{exposition}"
    );
    let findings = crate::common::promtool_findings(&exposition);
    assert!(findings.is_empty(), "promtool: {findings}");
    // Every worker metric the alert rules read is exposed (a renamed metric would silence them).
    let rules = std::fs::read_to_string(format!("{ROOT}/deploy/prometheus/alerts.yml")).unwrap();
    let mut referenced: Vec<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("signal_worker_"))
        .collect();
    referenced.sort_unstable();
    referenced.dedup();
    assert!(referenced.len() >= 6, "{referenced:?}");
    // A counter that never moved (task restarts) or a gauge of another mode (partitions owned)
    // is not exposed yet: it must then be one the code defines.
    let defined = std::fs::read_to_string(format!("{ROOT}/src/telemetry/metrics.rs")).unwrap();
    for name in referenced {
        assert!(
            exposition.contains(&format!("\n{name}")) || defined.contains(&format!("\"{name}\"")),
            "alerts.yml reads {name}, which the worker neither exposes nor defines\n{exposition}"
        );
    }
    for exposed in [
        "signal_worker_intake_idle_seconds",
        "signal_worker_partitions_configured",
    ] {
        assert!(
            exposition.contains(&format!("\n{exposed} ")),
            "{exposed}\n{exposition}"
        );
    }
    let ready = http_get(worker.metrics_port, "/readyz");
    assert!(ready.contains("\"ready\":true"), "{ready}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_and_restart_loses_nothing_and_signals_nothing_twice() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let csv = csv_head(dir.path(), 3000);
    // A 1 s duplicate window: the restart outlasts it, so only the worker's
    // own reading of SIGNALS can prevent a second signal.
    let env = [("SIGNAL_WORKER_NATS_DUPLICATE_WINDOW_MS", "1000")];
    let mut worker = Worker::start(&url, dir.path(), "first", &env);
    let (_client, js) = js(&url).await;
    wait_streams(&js).await;
    replay_btc(&url, &csv);
    wait_signals_above(&js, 600).await;
    worker.kill9();
    let at_kill = stream_count(&js, "SIGNALS").await;
    let first_log = worker.log();
    // Outlast the duplicate window.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = Worker::start(&url, dir.path(), "second", &env);
    wait_drained(&js, &second).await;
    let e = expected_once_stored(&js).await;
    eprintln!("killed at {at_kill} signals of {}", e.signals.len());
    assert!(
        (at_kill as usize) < e.signals.len(),
        "the kill was not mid-stream"
    );
    assert_exact(&js, &format!("{first_log}\n---\n{}", second.log())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_server_restart_mid_stream_resumes_with_zero_loss() {
    let _serial = serial();
    let mut nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let csv = csv_head(dir.path(), 3000);
    let worker = Worker::start(&url, dir.path(), "worker", &[]);
    {
        let (_client, js) = js(&url).await;
        wait_streams(&js).await;
    }
    replay_btc(&url, &csv);
    {
        let (_client, js) = js(&url).await;
        wait_for("some signals", WAIT, || async {
            stream_count(&js, "SIGNALS").await > 600
        })
        .await;
    }
    nats.restart().unwrap();
    let (_client, js) = js(&url).await;
    assert_eq!(
        stream_count(&js, "CANDLES").await,
        3000,
        "the server lost candles"
    );
    wait_drained(&js, &worker).await;
    expected_once_stored(&js).await;
    assert_exact(&js, &worker.log()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_stream_exits_0_within_the_deadline_with_nothing_unacked() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let csv = csv_head(dir.path(), 3000);
    let deadline = Duration::from_millis(5000);
    let env = [("SIGNAL_WORKER_SHUTDOWN_DEADLINE_MS", "5000")];
    let mut worker = Worker::start(&url, dir.path(), "first", &env);
    let (_client, js) = js(&url).await;
    wait_streams(&js).await;
    replay_btc(&url, &csv);
    wait_signals_above(&js, 600).await;
    let sent = Instant::now();
    worker.sigterm();
    let status = worker
        .wait_exit(deadline + Duration::from_secs(2))
        .expect("worker did not exit");
    let took = sent.elapsed();
    assert!(status.success(), "exit {status:?}\n{}", worker.log());
    assert!(took <= deadline, "took {took:?}");
    eprintln!("SIGTERM → exit 0 in {} ms", took.as_millis());
    let (pending, ack_pending, floor) = consumer_state(&js).await.unwrap();
    assert_eq!(ack_pending, 0, "unacked candles after SIGTERM");
    assert!(pending > 0, "the stop was not mid-stream");
    // What was acked is exactly what has durable outcomes; a new worker finishes the rest.
    assert!(floor > 0);
    let second = Worker::start(&url, dir.path(), "second", &env);
    wait_drained(&js, &second).await;
    expected_once_stored(&js).await;
    assert_exact(&js, &second.log()).await;
}

fn request_body(id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "request_id": id, "symbol": "BTCUSD" })).unwrap()
}

fn json_headers() -> async_nats::HeaderMap {
    let mut h = async_nats::HeaderMap::new();
    h.insert("Content-Type", "application/json");
    h
}

fn assert_not_implemented(payload: &[u8], id: &str) {
    let reply: ErrorReply = serde_json::from_slice(payload).unwrap();
    assert_eq!(reply.error.code, ErrorCode::NotImplemented);
    assert_eq!(reply.error.status, 501);
    assert_eq!(reply.request_id.as_deref(), Some(id));
    assert!(
        reply
            .error
            .message
            .contains(signal_worker::contract::backtest::SIMULATION_WARNING)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backtest_requests_persisted_or_plain_each_get_exactly_one_not_implemented_reply() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let (client, js) = js(&url).await;
    ensure_default_streams(&js).await;

    // Persisted while no worker runs: the answer goes to Reply-To once a worker starts.
    let inbox = client.new_inbox();
    let mut answers = client.subscribe(inbox.clone()).await.unwrap();
    let mut headers = json_headers();
    headers.insert("Reply-To", inbox.as_str());
    client
        .publish_with_headers(
            "backtest.requests",
            headers,
            request_body("persisted-1").into(),
        )
        .await
        .unwrap();
    client.flush().await.unwrap();
    wait_for("request stored", WAIT, || async {
        stream_count(&js, "BACKTEST").await == 1
    })
    .await;
    let worker = Worker::start(&url, dir.path(), "worker", &[]);
    let first = tokio::time::timeout(WAIT, answers.next())
        .await
        .expect("no answer to the persisted request")
        .unwrap();
    assert_not_implemented(&first.payload, "persisted-1");

    // A plain request/reply client: its first (and only) answer is the ErrorReply.
    let reply = client
        .send_request(
            "backtest.requests",
            async_nats::Request::new()
                .headers(json_headers())
                .payload(request_body("plain-1").into())
                .timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    assert_not_implemented(&reply.payload, "plain-1");
    // Count every message a plain requester's inbox receives.
    let inbox2 = client.new_inbox();
    let mut plain = client.subscribe(inbox2.clone()).await.unwrap();
    client
        .publish_with_reply_and_headers(
            "backtest.requests",
            inbox2,
            json_headers(),
            request_body("plain-2").into(),
        )
        .await
        .unwrap();
    let only = tokio::time::timeout(WAIT, plain.next())
        .await
        .unwrap()
        .unwrap();
    assert_not_implemented(&only.payload, "plain-2");

    // Every stored request is acked by the responder: nothing left to answer again…
    wait_for("backtest requests acked", WAIT, || async {
        let stream = js.get_stream("BACKTEST").await.unwrap();
        match stream.consumer_info("signal-worker-backtest").await {
            Ok(i) => {
                i.num_pending == 0 && i.num_ack_pending == 0 && i.ack_floor.stream_sequence == 3
            }
            Err(_) => false,
        }
    })
    .await;
    // …and no second answer arrived on either inbox (the quiet period only
    // checks an absence; the acks above are the synchronisation).
    client.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(1), answers.next())
            .await
            .is_err(),
        "second answer\n{}",
        worker.log()
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(1), plain.next())
            .await
            .is_err(),
        "second answer\n{}",
        worker.log()
    );
    assert_eq!(stream_count(&js, "BACKTEST").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_reload_swaps_a_verified_model_and_refuses_a_bad_one() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("models");
    std::fs::create_dir_all(&root).unwrap();
    let root_env = root.to_str().unwrap().to_owned();
    let default_hash = "ad1f333cd7fe59e08f8b2f8f4bdd2cb35c34a6cebca4696b2529dc29eca81935";
    let allowed = format!("[\"{default_hash}\"]");
    let env = [
        ("SIGNAL_WORKER_MODEL_ROOT", root_env.as_str()),
        ("SIGNAL_WORKER_MODEL_ALLOWED_SHA256", allowed.as_str()),
    ];
    let worker = Worker::start(&url, dir.path(), "worker", &env);
    let (client, js) = js(&url).await;
    wait_streams(&js).await;
    // A copy of the shipped model, and a copy with tampered weights, under the model root.
    let (good, bad) = model_copies(&root);
    let ask = |path: PathBuf| {
        let client = client.clone();
        async move { reload_model(&client, &path).await }
    };
    let refused = ask(bad).await;
    assert_eq!(
        refused["error"]["code"],
        "model_error",
        "{refused}\n{}",
        worker.log()
    );
    let missing = ask(root.join("nope")).await;
    assert_eq!(missing["error"]["code"], "model_error", "{missing}");
    // Outside the root, by path, by `..` and by a symlink: forbidden, without looking.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    for f in ["model.bpk", "model.json"] {
        std::fs::copy(good.join(f), elsewhere.join(f)).unwrap();
    }
    std::os::unix::fs::symlink(&elsewhere, root.join("link-out")).unwrap();
    // A model file that is a symlink to /dev/zero, and one that is a FIFO (a reader would
    // block for good).
    let zero = root.join("zero");
    let fifo = root.join("fifo");
    for (target, weights) in [(&zero, "zero"), (&fifo, "fifo")] {
        std::fs::create_dir_all(target).unwrap();
        std::fs::copy(good.join("model.json"), target.join("model.json")).unwrap();
        let bpk = target.join("model.bpk");
        if weights == "zero" {
            std::os::unix::fs::symlink("/dev/zero", &bpk).unwrap();
        } else {
            assert!(
                std::process::Command::new("mkfifo")
                    .arg(&bpk)
                    .status()
                    .unwrap()
                    .success()
            );
        }
    }
    // A valid model this worker may not run (not in model.allowed_sha256).
    let streaming = root.join("streaming");
    std::fs::create_dir_all(&streaming).unwrap();
    for f in ["model.bpk", "model.json"] {
        std::fs::copy(format!("{ROOT}/models/streaming/{f}"), streaming.join(f)).unwrap();
    }
    let secret_path = dir.path().to_str().unwrap().to_owned();
    for (path, code) in [
        (elsewhere.clone(), "forbidden"),
        (root.join("..").join("elsewhere"), "forbidden"),
        (root.join("link-out"), "forbidden"),
        (PathBuf::from(format!("{ROOT}/models/default")), "forbidden"),
        (zero, "forbidden"),
        (fifo, "forbidden"),
        (streaming, "forbidden"),
    ] {
        let answer = ask(path.clone()).await;
        assert_eq!(
            answer["error"]["code"],
            code,
            "{}: {answer}",
            path.display()
        );
        let text = answer.to_string();
        assert!(
            !text.contains(&secret_path) && !text.contains("os error"),
            "a refusal shows a path or an OS error: {text}"
        );
    }
    assert!(
        metric_sum(&worker, "signal_worker_model_reloads_refused_total") >= 9.0,
        "{}",
        worker.log()
    );
    // A copy of the model in force is the same model (same weights): nothing to swap.
    let same = ask(good).await;
    assert_eq!(same["reloaded"], false, "{same}\n{}", worker.log());
    assert_eq!(same["unchanged"], true, "{same}");
    let v2 = second_model(&root, "v2");
    let allowed_v2 = ask(v2.clone()).await;
    assert_eq!(
        allowed_v2["error"]["code"], "forbidden",
        "not allow-listed: {allowed_v2}"
    );
    drop(worker);
    // Without an allow-list the second model is taken.
    let worker = Worker::start(&url, dir.path(), "worker2", &env[..1]);
    wait_for("the second worker to serve reloads", WAIT, || async {
        worker.log().contains("warm start done")
    })
    .await;
    let accepted = ask(v2).await;
    assert_eq!(accepted["reloaded"], true, "{accepted}\n{}", worker.log());
    assert_eq!(accepted["model"]["name"], "v2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_ends_complete_and_without_duplicates_across_a_mongodb_restart() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let mut mongo = ServerProcess::start(ServerKind::Secantus).unwrap();
    let url = nats.url();
    let mongo_url = format!(
        "{}/?serverSelectionTimeoutMS=1500&connectTimeoutMS=1000",
        mongo.url()
    );
    let dir = tempfile::tempdir().unwrap();
    // Two halves of the same real series, replayed before and during the outage.
    let (first, _) = btc_rows(dir.path(), "first.csv", 1, 1000);
    let (second, _) = btc_rows(dir.path(), "second.csv", 1001, 2000);
    let env = [
        ("SIGNAL_WORKER_MONGODB_ENABLED", "true"),
        ("SIGNAL_WORKER_MONGODB_URL", mongo_url.as_str()),
    ];
    let worker = Worker::start(&url, dir.path(), "archiving", &env);
    let (_client, js) = js(&url).await;
    wait_streams(&js).await;
    let archive = signal_worker::archive::Archive::connect(&signal_worker::config::MongoSettings {
        url: mongo_url.clone(),
        ..signal_worker::config::MongoSettings::default()
    })
    .await
    .unwrap();
    replay_btc(&url, &first);
    wait_drained(&js, &worker).await;
    let before = stream_count(&js, "SIGNALS").await;
    wait_for("first half archived", WAIT, || async {
        archive.count().await.unwrap_or(0) >= before
    })
    .await;

    mongo.stop();
    replay_btc(&url, &second);
    // Signals keep flowing while the archive is down: the side edge never blocks them.
    wait_drained(&js, &worker).await;
    let signals = stream_count(&js, "SIGNALS").await;
    assert_eq!(
        signals - before,
        1000,
        "every candle of the second half signalled during the outage"
    );
    wait_for("the archiver to notice the outage", WAIT, || async {
        worker
            .log()
            .lines()
            .any(|l| l.contains("task failed; restarting") && l.contains("archiver"))
    })
    .await;

    mongo.restart().unwrap();
    wait_for("the archive catches up", WAIT, || async {
        archive.count().await.unwrap_or(0) >= signals
    })
    .await;
    // `_id` is the Nats-Msg-Id: equal counts mean complete and without duplicates.
    assert_eq!(archive.count().await.unwrap(), signals, "{}", worker.log());
}

/// The latest signal `open_time` Redis holds for the BTC/USD series.
async fn cached_open_time(redis_url: &str) -> Option<i64> {
    let client = redis::Client::open(redis_url).ok()?;
    let mut conn = client.get_multiplexed_async_connection().await.ok()?;
    let raw: Option<Vec<u8>> = redis::cmd("GET")
        .arg("signal-worker:signal:coinbase:BTCUSD:1h")
        .query_async(&mut conn)
        .await
        .ok()?;
    raw.and_then(|b| serde_json::from_slice::<signal_worker::contract::Signal>(&b).ok())
        .map(|s| s.open_time)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_stream_degrades_the_cache_not_the_signals_and_it_catches_up() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let mut redis_server = ServerProcess::start(ServerKind::Redis).unwrap();
    let url = nats.url();
    let redis_url = redis_server.url();
    let dir = tempfile::tempdir().unwrap();
    let (first, first_last) = btc_rows(dir.path(), "first.csv", 1, 600);
    let (second, second_last) = btc_rows(dir.path(), "second.csv", 601, 1200);
    let env = [
        ("SIGNAL_WORKER_REDIS_ENABLED", "true"),
        ("SIGNAL_WORKER_REDIS_URL", redis_url.as_str()),
        ("SIGNAL_WORKER_REDIS_HEALTH_CHECK_MS", "200"),
    ];
    let worker = Worker::start(&url, dir.path(), "caching", &env);
    let (_client, js) = js(&url).await;
    wait_streams(&js).await;
    replay_btc(&url, &first);
    wait_drained(&js, &worker).await;
    wait_for("the cache holds the latest signal", WAIT, || async {
        cached_open_time(&redis_url).await == Some(first_last)
    })
    .await;

    redis_server.kill();
    let before = stream_count(&js, "SIGNALS").await;
    replay_btc(&url, &second);
    wait_drained(&js, &worker).await;
    assert_eq!(
        stream_count(&js, "SIGNALS").await - before,
        600,
        "signals continue while Redis is down"
    );
    let ready = http_get(worker.metrics_port, "/readyz");
    assert!(
        ready.contains("\"redis\":\"down\"") && ready.contains("\"ready\":true"),
        "{ready}"
    );

    // Redis returns empty (nothing persisted): the owed latest signal is written.
    redis_server.restart().unwrap();
    wait_for("the cache catches up", WAIT, || async {
        cached_open_time(&redis_url).await == Some(second_last)
    })
    .await;
    let log = worker.log();
    assert!(
        log.contains("redis cache degraded") && log.contains("redis cache caught up"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_lint_clean_with_every_side_edge_enabled() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let redis = ServerProcess::start(ServerKind::Redis).unwrap();
    let mongo = ServerProcess::start(ServerKind::Secantus).unwrap();
    let url = nats.url();
    let (redis_url, mongo_url) = (redis.url(), mongo.url());
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("SIGNAL_WORKER_REDIS_ENABLED", "true"),
        ("SIGNAL_WORKER_REDIS_URL", redis_url.as_str()),
        ("SIGNAL_WORKER_MONGODB_ENABLED", "true"),
        ("SIGNAL_WORKER_MONGODB_URL", mongo_url.as_str()),
        ("SIGNAL_WORKER_REDIS_SNAPSHOT_INTERVAL_MS", "100"),
    ];
    let worker = Worker::start(&url, dir.path(), "worker", &env);
    let (_client, js) = js(&url).await;
    wait_streams(&js).await;
    let (rows, _) = btc_rows(dir.path(), "rows.csv", 1, 300);
    replay_btc(&url, &rows);
    wait_drained(&js, &worker).await;
    let signals = stream_count(&js, "SIGNALS").await as f64;
    // Every edge has reported something before the exposition is linted.
    wait_for("archive, cache and snapshots reported", WAIT, || async {
        let m = http_get(worker.metrics_port, "/metrics");
        m.contains("signal_worker_signals_archived_total")
            && m.contains("signal_worker_snapshots_written_total")
            && m.contains("signal_worker_dependency_up{dependency=\"redis\"} 1")
            && metric_sum(&worker, "signal_worker_signals_archived_total") >= signals
    })
    .await;
    let exposition = http_get(worker.metrics_port, "/metrics");
    let findings = crate::common::promtool_findings(&exposition);
    assert!(findings.is_empty(), "promtool: {findings}\n{exposition}");
    drop(mongo);
    drop(redis);
    drop(nats);
}

/// The value of the one sample of `name` whose labels include every pair of `labels`.
fn metric_with(worker: &Worker, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    http_get(worker.metrics_port, "/metrics")
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_scores_after_replaying_a_file_equal_model_evaluate_on_that_file() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let csv = csv_head(dir.path(), 1500);
    replay_btc(&url, &csv);
    let worker = Worker::start(&url, dir.path(), "worker", &[]);
    let (client, js) = js(&url).await;
    wait_drained(&js, &worker).await;

    let out = std::process::Command::new(BIN)
        .args(["model", "evaluate", &format!("{ROOT}/models/default")])
        .args(["--input", csv.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let samples = report["samples"].as_u64().unwrap();
    // 1,500 bars, the window and indicator warm-up, the 6-bar horizon: most signals scored.
    assert!(samples > 1_000, "{report}");
    let model = report["model"].as_str().unwrap();
    assert_eq!(
        metric_with(
            &worker,
            "signal_worker_score_samples_total",
            &[("model", model)]
        ),
        Some(samples as f64),
        "{}",
        worker.log()
    );
    let forecasters = report["forecasters"].as_array().unwrap();
    assert_eq!(forecasters.len(), 3);
    // The sums as printed, parsed by the standard library (correctly rounded; serde_json's
    // default float parser may be one unit in the last place off).
    let text = String::from_utf8_lossy(&out.stdout);
    let sums: Vec<f64> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("\"log_loss_sum\": "))
        .map(|v| v.trim_end_matches(',').parse().unwrap())
        .collect();
    assert_eq!(sums.len(), 3, "{text}");
    for (f, sum) in forecasters.iter().zip(sums) {
        let predictor = f["forecaster"].as_str().unwrap();
        let labels = [("model", model), ("predictor", predictor)];
        // Same candles, same order, same code: the same float sums, bit for bit.
        assert_eq!(
            metric_with(&worker, "signal_worker_score_log_loss_summed", &labels),
            Some(sum),
            "{predictor}"
        );
        assert_eq!(
            metric_with(&worker, "signal_worker_score_correct_total", &labels),
            f["correct"].as_f64(),
            "{predictor}"
        );
        let rolling = metric_with(&worker, "signal_worker_score_rolling_log_loss", &labels);
        assert!(
            rolling.is_some_and(|v| v.is_finite() && v > 0.0),
            "{predictor}"
        );
    }
    // The report says plainly whether the shipped model beats its baselines on this file.
    assert!(report["beats_baselines_on_log_loss"].is_boolean());
    // The same scores, and the drift of every input, over NATS.
    let reply = client
        .request("control.model.scores", "".into())
        .await
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
    let live = &answer["models"][0];
    assert_eq!(live["model"], report["model"], "{answer}");
    assert_eq!(live["samples"], report["samples"]);
    assert_eq!(live["forecasters"], report["forecasters"]);
    assert_eq!(live["drift"], report["drift"]);
    assert_eq!(
        live["drift"].as_array().unwrap().len(),
        33,
        "one entry per model input"
    );
}

/// The first `rows` candles of a bundled data file, as a CSV file in `dir`.
fn data_head(dir: &std::path::Path, file: &str, rows: usize) -> PathBuf {
    let text = std::fs::read_to_string(format!("{ROOT}/data/{file}")).unwrap();
    let head: Vec<&str> = text.lines().take(rows + 1).collect();
    let path = dir.join(file);
    std::fs::write(&path, head.join("\n") + "\n").unwrap();
    path
}

const ROUTES: &str = r#"
[[models]]
name = "crypto-1h"
dir = "ROOT/models/default"
subjects = ["candles.*.*.1h"]
role = "live"

[[models]]
name = "futures-1m"
dir = "ROOT/models/cffex-1m"
subjects = ["candles.cffex.*.1m"]
role = "live"

[[models]]
name = "challenger"
dir = "ROOT/models/streaming"
subjects = ["candles.coinbase.>"]
role = "shadow"
"#;

fn decoded(
    messages: &[async_nats::jetstream::Message],
) -> Vec<(String, signal_worker::contract::Signal)> {
    use signal_worker::contract::codec::{self, Encoding};
    messages
        .iter()
        .map(|m| {
            (
                m.subject.to_string(),
                codec::decode(&m.payload, Encoding::MessagePack).unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routed_models_score_their_own_markets_shadows_publish_apart_and_unrouted_is_counted() {
    routed_scenario("0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_hold_on_a_partitioned_stream_too() {
    routed_scenario("2").await;
}

/// Three series (two markets and one no live route covers) through a routed worker with
/// `partitions` candle-stream partitions: SIGNALS and SHADOW equal the pure router's.
async fn routed_scenario(partitions: &str) {
    use signal_worker::contract::codec::Encoding;
    use signal_worker::core::pipeline::{Input, Outcome};
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("routes.toml");
    std::fs::write(&config, ROUTES.replace("ROOT", ROOT)).unwrap();
    let config = config.to_str().unwrap().to_owned();
    let btc = data_head(dir.path(), "btcusd-1h.csv", 500);
    let ic = data_head(dir.path(), "icl8-cffex-1m.csv", 500);
    let series = |file: &PathBuf, e: &str, s: &str, i: &str| {
        let path = file.to_str().unwrap().to_owned();
        [
            path,
            "--exchange".into(),
            e.into(),
            "--symbol".into(),
            s.into(),
            "--interval".into(),
            i.into(),
            "--max".into(),
        ]
    };
    let partitioned = [("SIGNAL_WORKER_NATS_PARTITIONS", partitions)];
    let worker = Worker::start(
        &url,
        dir.path(),
        "worker",
        &[("SIGNAL_WORKER_CONFIG", &config), partitioned[0]],
    );
    let (client, js) = js(&url).await;
    wait_streams(&js).await;
    for args in [
        series(&btc, "coinbase", "BTCUSD", "1h"),
        series(&ic, "cffex", "IC", "1m"),
        // 5-minute bars: no live route covers them (the shadow does).
        series(&btc, "coinbase", "ETHUSD", "5m"),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        replay_with(&url, &args, &partitioned);
    }

    // What the pure router makes of the stored candles, in stream order (routed by each body's
    // identity: a partitioned stream's subjects carry the partition token).
    let candles = all_messages(&js, "CANDLES").await;
    let settings = signal_worker::config::Settings::from_sources(
        Some(("routes.toml", &ROUTES.replace("ROOT", ROOT))),
        Vec::<(String, String)>::new(),
    )
    .unwrap();
    let pipelines = settings
        .models
        .iter()
        .map(|route| {
            let predictor = signal_worker::runtime::model::load_predictor(
                &settings,
                std::path::Path::new(&route.dir),
            )
            .unwrap();
            signal_worker::runtime::model::build_pipeline(&settings, predictor).unwrap()
        })
        .collect();
    let specs: Vec<_> = settings.models.iter().map(|m| m.spec()).collect();
    let mut router =
        signal_worker::core::routing::Router::new(&specs, pipelines, "candles", "candles").unwrap();
    let inputs: Vec<Input<'_>> = candles
        .iter()
        .map(|m| Input {
            bytes: &m.payload,
            encoding: Encoding::MessagePack,
            subject: None,
        })
        .collect();
    let outcomes = router.process(&inputs, Some(i64::MAX / 4)).unwrap();
    let shadows = router.take_shadow_signals();
    let live: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Signal(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let unrouted = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Unrouted))
        .count();
    assert_eq!(unrouted, 500);
    wait_for("every outcome of the routed worker", WAIT, || async {
        stream_count(&js, "SIGNALS").await == live.len() as u64
            && stream_count(&js, "SHADOW").await == shadows.len() as u64
            && metric_sum(&worker, "signal_worker_candles_unrouted_total") == 500.0
    })
    .await;

    // SIGNALS: exactly the live routes' signals, each naming its market's model.
    let mut stored: Vec<_> = decoded(&all_messages(&js, "SIGNALS").await)
        .into_iter()
        .map(|(subject, s)| {
            assert!(subject.starts_with("signals."), "{subject}");
            s
        })
        .collect();
    let key =
        |s: &signal_worker::contract::Signal| (s.symbol.clone(), s.interval.clone(), s.open_time);
    stored.sort_by_key(key);
    let mut live_sorted = live.clone();
    live_sorted.sort_by_key(key);
    assert_eq!(stored.len(), live_sorted.len(), "{}", worker.log());
    assert!(
        stored == live_sorted,
        "SIGNALS differ from the pure router's live signals"
    );
    for s in &stored {
        let model = if s.interval == "1h" {
            "default"
        } else {
            "cffex-1m"
        };
        assert_eq!((s.model.name.as_str(), s.interval != "5m"), (model, true));
    }
    assert!(stored.iter().filter(|s| s.interval == "1m").count() > 400);
    assert!(stored.iter().filter(|s| s.interval == "1h").count() > 400);

    // SHADOW: the challenger's signals on its own subjects, in its own stream.
    let shadow_stored = decoded(&all_messages(&js, "SHADOW").await);
    assert_eq!(shadow_stored.len(), shadows.len(), "{}", worker.log());
    assert!(!shadows.is_empty());
    for (subject, signal) in &shadow_stored {
        let expected = format!(
            "shadow.challenger.coinbase.{}.{}",
            signal.symbol, signal.interval
        );
        assert_eq!(subject, &expected);
        assert_eq!(signal.model.name, "streaming");
    }
    let mut shadow_sorted: Vec<_> = shadow_stored.into_iter().map(|(_, s)| s).collect();
    shadow_sorted.sort_by_key(key);
    let mut expected_shadows: Vec<_> = shadows.into_iter().map(|s| s.signal).collect();
    expected_shadows.sort_by_key(key);
    assert!(
        shadow_sorted == expected_shadows,
        "SHADOW differs from the pure router's shadow"
    );
    assert_eq!(stream_count(&js, "DLQ").await, 0);

    // Unrouted counted; every route scored under its own name; the exposition lints clean.
    assert_eq!(
        metric_sum(&worker, "signal_worker_candles_unrouted_total"),
        500.0
    );
    for route in ["crypto-1h", "futures-1m", "challenger"] {
        let samples = metric_with(
            &worker,
            "signal_worker_score_samples_total",
            &[("model", route)],
        );
        assert!(samples.is_some_and(|n| n > 100.0), "{route}: {samples:?}");
    }
    let exposition = http_get(worker.metrics_port, "/metrics");
    let findings = crate::common::promtool_findings(&exposition);
    assert!(findings.is_empty(), "promtool: {findings}");
    // A reload is refused: routed models change with the routing settings.
    let reply = reload_model(
        &client,
        std::path::Path::new(&format!("{ROOT}/models/default")),
    )
    .await;
    assert!(reply.to_string().contains("[[models]]"), "{reply}");
    drop(nats);
}

const PROMOTABLE: &str = r#"
[[models]]
name = "crypto-1h"
dir = "ROOT/models/default"
subjects = ["candles.*.*.1h"]

[[models]]
name = "challenger"
dir = "ROOT/models/streaming"
subjects = ["candles.*.*.1h"]
role = "shadow"
"#;

async fn request_json(client: &async_nats::Client, subject: &str, body: &str) -> serde_json::Value {
    let reply = tokio::time::timeout(
        WAIT,
        client.request(subject.to_owned(), body.to_owned().into()),
    )
    .await
    .unwrap()
    .unwrap();
    serde_json::from_slice(&reply.payload).unwrap()
}

/// Each model's signals over the whole candle stream, run alone, by open time.
fn alone_by_time(
    candles: &[async_nats::jetstream::Message],
    dir: &str,
) -> std::collections::BTreeMap<i64, signal_worker::contract::Signal> {
    use signal_worker::core::pipeline::{Input, Outcome};
    let settings = signal_worker::config::Settings::default();
    let predictor =
        signal_worker::runtime::model::load_predictor(&settings, std::path::Path::new(dir))
            .unwrap();
    let mut pipeline = signal_worker::runtime::model::build_pipeline(&settings, predictor).unwrap();
    let inputs: Vec<Input<'_>> = candles
        .iter()
        .map(|m| Input::on_subject(m.subject.as_str(), &m.payload))
        .collect();
    pipeline
        .process(&inputs, Some(i64::MAX / 4))
        .unwrap()
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Signal(s) => Some((s.open_time, s)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promoting_a_shadow_under_load_loses_and_repeats_nothing_and_survives_a_restart() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let redis = ServerProcess::start(ServerKind::Redis).unwrap();
    let (url, redis_url) = (nats.url(), redis.url());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("routes.toml");
    std::fs::write(&config, PROMOTABLE.replace("ROOT", ROOT)).unwrap();
    let config = config.to_str().unwrap().to_owned();
    // Snapshots on: each route's series state is kept under its own key and resumed.
    let env = [
        ("SIGNAL_WORKER_CONFIG", config.as_str()),
        ("SIGNAL_WORKER_SERVE_MODEL_POLL_MS", "50"),
        ("SIGNAL_WORKER_REDIS_ENABLED", "true"),
        ("SIGNAL_WORKER_REDIS_URL", redis_url.as_str()),
    ];
    let (first, _) = btc_rows(dir.path(), "first.csv", 1, 600);
    let (second, _) = btc_rows(dir.path(), "second.csv", 601, 1400);
    let (third, _) = btc_rows(dir.path(), "third.csv", 1401, 1700);
    let mut worker = Worker::start(&url, dir.path(), "worker", &env);
    let (client, js) = js(&url).await;
    wait_streams(&js).await;
    replay_btc(&url, &first);
    wait_drained(&js, &worker).await;
    let before = stream_count(&js, "SIGNALS").await;
    // Under load: the second part goes out at 500 candles/s while the promotion lands.
    let paced = {
        let (url, path) = (url.clone(), second.to_str().unwrap().to_owned());
        std::thread::spawn(move || {
            replay(
                &url,
                &[
                    &path,
                    "--exchange",
                    "coinbase",
                    "--symbol",
                    "BTCUSD",
                    "--interval",
                    "1h",
                    "--speed",
                    "1800000",
                ],
            )
        })
    };
    wait_signals_above(&js, before + 100).await;
    let answer = request_json(&client, "control.model.promote", "challenger").await;
    assert_eq!(answer["promoted"], "challenger", "{answer}");
    assert_eq!(
        answer["demoted"],
        serde_json::json!(["crypto-1h"]),
        "{answer}"
    );
    let again = request_json(&client, "control.model.promote", "challenger").await;
    assert!(again.to_string().contains("live already"), "{again}");
    for hostile in ["nobody", &"x".repeat(100_000)] {
        let refused = request_json(&client, "control.model.promote", hostile).await;
        assert_eq!(refused["error"]["code"], "invalid_field", "{refused}");
        assert!(
            refused.to_string().len() < 1_000,
            "a refusal never echoes the request"
        );
    }
    paced.join().unwrap();
    wait_drained(&js, &worker).await;
    // A restart keeps the promotion (the roles are the deployment's record, not the settings').
    worker.sigterm();
    assert!(
        worker.wait_exit(WAIT).is_some_and(|s| s.success()),
        "{}",
        worker.log()
    );
    replay_btc(&url, &third);
    let worker = Worker::start(&url, dir.path(), "worker-2", &env);
    wait_drained(&js, &worker).await;
    // Both routes' series resumed from their snapshots (crypto-1h/… and challenger/…).
    assert!(
        without_colours(&worker.log()).contains("resumed_series=2"),
        "{}",
        worker.log()
    );

    let candles = all_messages(&js, "CANDLES").await;
    let (old, new) = (
        alone_by_time(&candles, &format!("{ROOT}/models/default")),
        alone_by_time(&candles, &format!("{ROOT}/models/streaming")),
    );
    let live = decoded(&all_messages(&js, "SIGNALS").await);
    let mut times: Vec<i64> = live.iter().map(|(_, s)| s.open_time).collect();
    times.sort_unstable();
    times.dedup();
    assert_eq!(times.len(), live.len(), "a candle signalled twice");
    // No candle lost: every candle from the first signal on has its one signal.
    let first_signal = *old.keys().next().unwrap();
    let due: Vec<i64> = candles
        .iter()
        .map(|m| {
            signal_worker::contract::codec::decode::<signal_worker::contract::CandleMessage>(
                &m.payload,
                signal_worker::contract::codec::Encoding::MessagePack,
            )
            .unwrap()
            .open_time
        })
        .filter(|t| *t >= first_signal)
        .collect();
    assert_eq!(times, due, "{}", worker.log());
    // One switch, old model then new, each signal exactly what its model gives with its state
    // kept across the switch (no warm-up gap).
    let mut by_time: Vec<_> = live.iter().map(|(_, s)| s.clone()).collect();
    by_time.sort_by_key(|s| s.open_time);
    let switch = by_time
        .iter()
        .position(|s| s.model.name == "streaming")
        .unwrap();
    assert!(switch > 500, "promoted at {switch}");
    assert!(
        by_time[switch..]
            .iter()
            .all(|s| s.model.name == "streaming")
    );
    assert!(
        by_time.len() - switch > 300,
        "{} after the switch",
        by_time.len() - switch
    );
    for s in &by_time[..switch] {
        assert_eq!(Some(s), old.get(&s.open_time));
    }
    for s in &by_time[switch..] {
        assert_eq!(Some(s), new.get(&s.open_time));
    }
    // The demoted model goes on as the shadow, on its own subjects.
    let shadow = decoded(&all_messages(&js, "SHADOW").await);
    let switched_at = by_time[switch].open_time;
    for (subject, s) in &shadow {
        let route = if s.model.name == "streaming" {
            "challenger"
        } else {
            "crypto-1h"
        };
        assert_eq!(subject, &format!("shadow.{route}.coinbase.BTCUSD.1h"));
        assert_eq!(
            s.open_time < switched_at,
            route == "challenger",
            "{subject} {}",
            s.open_time
        );
    }
    assert!(shadow.iter().any(|(_, s)| s.model.name == "default"));
    assert_eq!(stream_count(&js, "DLQ").await, 0);
    drop(redis);
    drop(nats);
}

/// A log without its ANSI colour codes.
fn without_colours(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut chars = log.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ … m
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
