//! `deploy/nats/authorization.conf` enforced by a real nats-server: the worker runs as user
//! `worker`, recorded candles come in through `replay` as user `replay`, and user
//! `trading-engine` reads the signals through its own durable consumer and asks for a backtest.
//! Every legitimate operation goes through — with one durable intake and with two pinned
//! partitions, across a restart (which exercises the warm start's consumers) — and the server
//! logs no violation for any of them; each user is then refused what it must not do (the
//! trading engine forging a signal, the worker publishing a candle, leaving its backtest queue
//! group or deleting the trading engine's consumer, replay publishing a signal), and nothing
//! forged is stored.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::await_holding_lock
)]

use crate::serve_support::*;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use signal_worker::config::Settings;
use signal_worker::contract::codec::Encoding;
use signal_worker::core::pipeline::{Input, Outcome};
use signal_worker::error::{ErrorCode, ErrorReply};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

const WORKER_PASSWORD: &str = "worker-pass-7c1d";
const ENGINE_PASSWORD: &str = "engine-pass-2a9e";
const REPLAY_PASSWORD: &str = "replay-pass-5b3f";
/// A user the test adds to the deployed file, with no restrictions, to inspect the streams.
const ADMIN_PASSWORD: &str = "admin-pass-8e4a";
/// The trading engine's durable consumer on SIGNALS (the name the file grants).
const ENGINE_DURABLE: &str = "trading-engine";
const FORGED: &str = "signals.x.y.1h";

/// nats-server with JetStream and `deploy/nats/authorization.conf` (plus an admin user);
/// killed on drop.
struct AuthorizedNats {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl AuthorizedNats {
    fn start(dir: &Path) -> Self {
        let deployed = std::fs::read_to_string(format!("{ROOT}/deploy/nats/authorization.conf"))
            .expect("deploy/nats/authorization.conf");
        assert_eq!(deployed.matches("users = [").count(), 1, "one users list");
        let with_admin = deployed.replacen(
            "users = [",
            "users = [\n    { user: admin, password: $ADMIN_PASSWORD },",
            1,
        );
        // Included as the deployment guide says (relative to the including file).
        std::fs::write(dir.join("authorization.conf"), with_admin).unwrap();
        let port = local_servers::free_port().unwrap();
        let d = dir.display();
        std::fs::write(
            dir.join("nats.conf"),
            format!(
                "listen: 127.0.0.1:{port}\njetstream {{ store_dir: \"{d}/js\" }}\n\
                 include ./authorization.conf\n"
            ),
        )
        .unwrap();
        let log = dir.join("nats-server.log");
        let child = Command::new(local_servers::nats_server_binary().unwrap())
            .args(["-c", &format!("{d}/nats.conf")])
            .env("WORKER_PASSWORD", WORKER_PASSWORD)
            .env("TRADING_ENGINE_PASSWORD", ENGINE_PASSWORD)
            .env("REPLAY_PASSWORD", REPLAY_PASSWORD)
            .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut nats = Self { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !nats.greets() {
            let exited = nats.child.try_wait().unwrap();
            assert!(
                Instant::now() < deadline && exited.is_none(),
                "nats-server did not start ({exited:?}):\n{}",
                nats.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        nats
    }

    /// Whether the port answers with a NATS `INFO` greeting.
    fn greets(&self) -> bool {
        use std::io::Read;
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).is_ok() && &buf == b"INFO "
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The server's permission-violation lines ("Publish Violation", "Subscription Violation").
    fn violations(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("Violation"))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for AuthorizedNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client of `user`, and every connection event it sees (permission violations arrive as
/// `Event::ServerError`, asynchronously, after the offending publish or subscribe).
async fn connect(
    nats: &AuthorizedNats,
    user: &str,
    password: &str,
) -> (async_nats::Client, UnboundedReceiver<String>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::with_user_and_password(user.into(), password.into())
        .name(format!("test-{user}"))
        .event_callback(move |event| {
            let tx = tx.clone();
            let text = event.to_string();
            async move {
                let _ = tx.send(text);
            }
        })
        .connect(nats.url())
        .await
        .unwrap();
    (client, rx)
}

fn context(client: &async_nats::Client) -> jetstream::Context {
    jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(5))
        .ack_timeout(Duration::from_secs(3))
        .build(client.clone())
}

/// Waits for the server's permissions error about `subject` (case-insensitive: the server
/// echoes the subject as sent).
async fn violation(events: &mut UnboundedReceiver<String>, subject: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no permissions violation reported for {subject}"))
            .expect("event channel closed");
        let lower = event.to_lowercase();
        if lower.contains("permissions violation") && lower.contains(&subject.to_lowercase()) {
            return event;
        }
    }
}

/// Every connection event received so far that reports a server error.
fn server_errors(events: &mut UnboundedReceiver<String>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(e) = events.try_recv() {
        if e.contains("server error") {
            out.push(e);
        }
    }
    out
}

fn worker_env(partitions: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SIGNAL_WORKER_NATS_USER", "worker".to_owned()),
        ("SIGNAL_WORKER_NATS_PASSWORD", WORKER_PASSWORD.to_owned()),
        ("SIGNAL_WORKER_NATS_PARTITIONS", partitions.to_owned()),
        ("SIGNAL_WORKER_SERVE_PINNED_TTL_MS", "2000".to_owned()),
    ]
}

fn start_worker(nats: &AuthorizedNats, dir: &Path, name: &str, partitions: &str) -> Worker {
    let env = worker_env(partitions);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Worker::start(&nats.url(), dir, name, &env)
}

/// Whether the worker's `/readyz` says ready (false while it is not listening yet).
fn ready(worker: &Worker) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", worker.metrics_port)) else {
        return false;
    };
    let mut out = String::new();
    write!(s, "GET /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n").is_ok()
        && s.read_to_string(&mut out).is_ok()
        && out.contains("\"ready\":true")
}

/// Waits until the worker has connected, checked or created the streams and opened its candle
/// intake under its permissions: `/readyz` with one durable intake; with partitions, its
/// partition consumers exist (it creates them under its permissions) and it answers `/healthz`.
async fn wait_started(worker: &mut Worker, admin: &jetstream::Context, partitions: u32) {
    let deadline = Instant::now() + WAIT;
    loop {
        let started = match partitions {
            0 => ready(worker),
            p => healthy(worker) && partition_consumers(admin, p).await,
        };
        if started {
            return;
        }
        assert!(
            Instant::now() < deadline && worker.child.try_wait().unwrap().is_none(),
            "the worker did not start under its permissions\n{}",
            worker.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the `p` partition consumers of the worker exist on CANDLES.
async fn partition_consumers(admin: &jetstream::Context, p: u32) -> bool {
    let Ok(stream) = admin.get_stream("CANDLES").await else {
        return false;
    };
    for i in 0..p {
        if stream
            .consumer_info(format!("signal-worker-p{i}"))
            .await
            .is_err()
        {
            return false;
        }
    }
    true
}

/// Whether the worker answers `/healthz`.
fn healthy(worker: &Worker) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", worker.metrics_port)) else {
        return false;
    };
    let mut out = String::new();
    write!(s, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").is_ok()
        && s.read_to_string(&mut out).is_ok()
        && out.starts_with("HTTP/1.1 200")
}

/// `signal-worker replay` as user `replay`, the CSV as coinbase BTC/USD 1h, as fast as acked.
fn replay_as_replay_user(nats: &AuthorizedNats, csv: &Path, partitions: &str) -> String {
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SIGNAL_WORKER_")) {
        cmd.env_remove(k);
    }
    let out = cmd
        .arg("replay")
        .arg(csv)
        .args([
            "--exchange",
            "coinbase",
            "--symbol",
            "BTCUSD",
            "--interval",
            "1h",
            "--max",
        ])
        .env("SIGNAL_WORKER_NATS_URL", nats.url())
        .env("SIGNAL_WORKER_NATS_USER", "replay")
        .env("SIGNAL_WORKER_NATS_PASSWORD", REPLAY_PASSWORD)
        .env("SIGNAL_WORKER_NATS_PARTITIONS", partitions)
        .env("SIGNAL_WORKER_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "replay as user replay failed: {stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        nats.log()
    );
    stdout
}

/// What the pure pipeline makes of the stored candles: the signals as (series, open_time) and
/// how many dead letters. A partitioned stream stores `candles.<p>.<e>.<s>.<i>`; each partition
/// is its own pipeline, as in the worker.
async fn expected(js: &jetstream::Context, partitions: u32) -> (BTreeSet<(String, i64)>, usize) {
    let messages = all_messages(js, "CANDLES").await;
    let mut groups: BTreeMap<String, Vec<&jetstream::Message>> = BTreeMap::new();
    for m in &messages {
        let prefix = if partitions == 0 {
            "candles".to_owned()
        } else {
            format!("candles.{}", m.subject.split('.').nth(1).unwrap())
        };
        groups.entry(prefix).or_default().push(m);
    }
    let (mut signals, mut dead) = (BTreeSet::new(), 0);
    for (prefix, messages) in groups {
        let mut settings = Settings::default();
        settings.nats.candle_subject_prefix = prefix;
        let predictor = signal_worker::runtime::model::load_predictor(
            &settings,
            Path::new(&format!("{ROOT}/models/default")),
        )
        .unwrap();
        let mut pipeline =
            signal_worker::runtime::model::build_pipeline(&settings, predictor).unwrap();
        let inputs: Vec<Input<'_>> = messages
            .iter()
            .map(|m| Input {
                bytes: &m.payload,
                encoding: Encoding::MessagePack,
                subject: Some(m.subject.as_str()),
            })
            .collect();
        for outcome in pipeline.process(&inputs, Some(i64::MAX / 4)).unwrap() {
            match outcome {
                Outcome::Signal(s) => {
                    signals.insert((
                        format!("{}.{}.{}", s.exchange, s.symbol, s.interval),
                        s.open_time,
                    ));
                }
                Outcome::Rejected(_) => dead += 1,
                _ => {}
            }
        }
    }
    (signals, dead)
}

/// Whether the worker's candle consumer(s) acked everything stored.
async fn drained(js: &jetstream::Context, partitions: u32) -> bool {
    let Ok(stream) = js.get_stream("CANDLES").await else {
        return false;
    };
    let names: Vec<String> = match partitions {
        0 => vec!["signal-worker".to_owned()],
        p => (0..p).map(|i| format!("signal-worker-p{i}")).collect(),
    };
    for name in names {
        match stream.consumer_info(&name).await {
            Ok(info) if info.num_pending == 0 && info.num_ack_pending == 0 => {}
            _ => return false,
        }
    }
    true
}

/// Waits until the worker has turned every stored candle into its outcome, then checks the
/// outcome is exactly the pure pipeline's. Returns the numbers of signals and dead letters.
async fn assert_worker_output(
    admin: &jetstream::Context,
    partitions: u32,
    worker: &Worker,
) -> (usize, usize) {
    let (want, dead) = expected(admin, partitions).await;
    assert!(
        !want.is_empty(),
        "the slice is long enough to yield signals"
    );
    let deadline = Instant::now() + WAIT;
    loop {
        let stored = stream_count(admin, "SIGNALS").await as usize;
        if stored >= want.len() && drained(admin, partitions).await {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{stored} of {} signals stored under the worker's permissions\n{}",
            want.len(),
            worker.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = signals(admin).await;
    let unique: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(
        got.len(),
        unique.len(),
        "duplicate signals\n{}",
        worker.log()
    );
    assert_eq!(
        unique,
        want,
        "signals differ from the pure pipeline\n{}",
        worker.log()
    );
    let deadline = Instant::now() + WAIT;
    while (stream_count(admin, "DLQ").await as usize) < dead {
        assert!(
            Instant::now() < deadline,
            "dead letters missing\n{}",
            worker.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stream_count(admin, "DLQ").await as usize, dead);
    (want.len(), dead)
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
    assert_eq!(reply.request_id.as_deref(), Some(id));
}

/// Reads `count` signals through the trading engine's own durable consumer, acking each.
async fn engine_reads_signals(engine: &jetstream::Context, count: usize) -> usize {
    let stream = engine.get_stream("SIGNALS").await.unwrap();
    let consumer: consumer::PullConsumer = stream
        .get_or_create_consumer(
            ENGINE_DURABLE,
            consumer::pull::Config {
                durable_name: Some(ENGINE_DURABLE.into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut read = 0;
    let deadline = Instant::now() + WAIT;
    while read < count {
        assert!(Instant::now() < deadline, "read {read} of {count} signals");
        let mut batch = consumer
            .batch()
            .max_messages(100)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .unwrap();
        while let Some(m) = batch.next().await {
            let m = m.unwrap();
            assert!(m.subject.as_str().starts_with("signals."), "{}", m.subject);
            m.ack().await.unwrap();
            read += 1;
        }
    }
    read
}

/// The whole scenario with `nats.partitions` = `partitions`.
async fn scenario(partitions: u32) {
    let dir = tempfile::tempdir().unwrap();
    let nats = AuthorizedNats::start(dir.path());
    let p = partitions.to_string();
    let (admin_client, _admin_events) = connect(&nats, "admin", ADMIN_PASSWORD).await;
    let admin = context(&admin_client);

    // The worker creates the streams and its consumers under its own permissions.
    let mut worker = start_worker(&nats, dir.path(), "worker-1", &p);
    wait_started(&mut worker, &admin, partitions).await;

    // Replay publishes a first slice; the worker turns it into signals.
    let (first, _) = btc_rows(dir.path(), "first.csv", 1, 250);
    let out = replay_as_replay_user(&nats, &first, &p);
    assert!(out.contains("published 250 candles"), "{out}");
    assert_worker_output(&admin, partitions, &worker).await;

    // A restart: the warm start reads its consumer's ack floor, the candle history and the
    // last signal of each series (consumer info/delete, ordered consumers on CANDLES and
    // SIGNALS), all of them under the worker's permissions.
    worker.sigterm();
    let status = worker.wait_exit(WAIT).expect("the worker stops on SIGTERM");
    assert!(status.success(), "{status}\n{}", worker.log());
    let first_log = worker.log();
    // One durable intake records its release on the consumer (a consumer update) under the
    // same permissions, so the restart takes it over at once.
    if partitions == 0 {
        assert!(
            first_log.contains("durable consumer released for the next worker"),
            "{first_log}"
        );
    }
    let mut worker = start_worker(&nats, dir.path(), "worker-2", &p);
    wait_started(&mut worker, &admin, partitions).await;

    // The trading engine publishes candles too (JetStream, acknowledged): here one that does
    // not decode, which the worker dead-letters on dlq.<reason>.
    let (engine_client, mut engine_events) =
        connect(&nats, "trading-engine", ENGINE_PASSWORD).await;
    let engine = context(&engine_client);
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", "garbage-1");
    let ack = engine
        .publish_with_headers("candles.coinbase.BTCUSD.1h", headers, "not a candle".into())
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(ack.stream, "CANDLES");

    let (second, _) = btc_rows(dir.path(), "second.csv", 251, 350);
    let out = replay_as_replay_user(&nats, &second, &p);
    assert!(out.contains("published 100 candles"), "{out}");
    let (total, dead) = assert_worker_output(&admin, partitions, &worker).await;
    assert_eq!(dead, 1, "the undecodable candle is dead-lettered");

    // The trading engine reads every signal through its own durable consumer…
    assert_eq!(engine_reads_signals(&engine, total).await, total);

    // …and asks for backtests: a plain request, answered live by the worker's queue
    // subscription, and a persisted one (Reply-To header), answered from BACKTEST.
    let reply = engine_client
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
    let inbox = engine_client.new_inbox();
    let mut answers = engine_client.subscribe(inbox.clone()).await.unwrap();
    let mut headers = json_headers();
    headers.insert("Reply-To", inbox.as_str());
    engine_client
        .publish_with_headers(
            "backtest.requests",
            headers,
            request_body("persisted-1").into(),
        )
        .await
        .unwrap();
    engine_client.flush().await.unwrap();
    let answer = tokio::time::timeout(WAIT, answers.next())
        .await
        .expect("no answer to the persisted backtest request")
        .unwrap();
    assert_not_implemented(&answer.payload, "persisted-1");

    // A model rollout (by an operator; here the admin user): the worker receives it on
    // control.model.reload and answers on the requester's inbox.
    // (The model in force itself: verified, answered, nothing to swap — the worker recorded it
    // in the models bucket at start, under its permissions.)
    let reloaded = reload_model(&admin_client, Path::new(&format!("{ROOT}/models/default"))).await;
    assert_eq!(reloaded["unchanged"], true, "{reloaded}\n{}", worker.log());

    // Nothing legitimate was refused: no violation in the server's log, none reported to
    // the worker or the trading engine.
    let violations = nats.violations();
    assert!(
        violations.is_empty(),
        "legitimate operations were refused:\n{}",
        violations.join("\n")
    );
    let engine_errors = server_errors(&mut engine_events);
    assert!(engine_errors.is_empty(), "{engine_errors:?}");
    for log in [first_log, worker.log()] {
        assert!(
            !log.to_lowercase().contains("permissions violation"),
            "the worker was refused something:\n{log}"
        );
    }

    // The trading engine cannot forge a signal: a core publish is refused…
    let signals_before = stream_count(&admin, "SIGNALS").await;
    engine_client
        .publish(FORGED, "forged".into())
        .await
        .unwrap();
    engine_client.flush().await.unwrap();
    let refused = violation(&mut engine_events, FORGED).await;
    eprintln!("trading-engine → {FORGED}: {refused}");
    // …and a JetStream publish is never acknowledged (the server drops it unstored).
    let ack = engine.publish(FORGED, "forged".into()).await.unwrap().await;
    assert!(
        matches!(&ack, Err(e) if e.kind() == PublishErrorKind::TimedOut),
        "a forged signal was not simply dropped: {ack:?}"
    );
    violation(&mut engine_events, FORGED).await;
    // Nor may it write dead letters or reload the model.
    for subject in ["dlq.forged", "control.model.reload"] {
        engine_client.publish(subject, "x".into()).await.unwrap();
        engine_client.flush().await.unwrap();
        violation(&mut engine_events, subject).await;
    }
    assert_eq!(stream_count(&admin, "SIGNALS").await, signals_before);
    let stored = all_messages(&admin, "SIGNALS").await;
    assert!(
        stored
            .iter()
            .all(|m| m.subject.as_str() == "signals.coinbase.BTCUSD.1h"),
        "something other than the worker's signals is stored in SIGNALS"
    );

    // The worker user cannot publish candles, nor listen to backtest requests outside its
    // queue group.
    let (worker_client, mut worker_events) = connect(&nats, "worker", WORKER_PASSWORD).await;
    worker_client
        .publish("candles.coinbase.BTCUSD.1h", "forged".into())
        .await
        .unwrap();
    worker_client.flush().await.unwrap();
    violation(&mut worker_events, "candles.coinbase.BTCUSD.1h").await;
    let _eavesdrop = worker_client.subscribe("backtest.requests").await.unwrap();
    worker_client.flush().await.unwrap();
    violation(&mut worker_events, "backtest.requests").await;
    // Its SIGNALS wildcards (for the ordered consumer's server-made name) stop short of the
    // trading engine's durable: deleting it is refused, and it is still there.
    let deleted = context(&worker_client)
        .get_stream("SIGNALS")
        .await
        .unwrap()
        .delete_consumer(ENGINE_DURABLE)
        .await;
    assert!(deleted.is_err(), "the worker deleted the engine's consumer");
    violation(
        &mut worker_events,
        "$JS.API.CONSUMER.DELETE.SIGNALS.trading-engine",
    )
    .await;
    let signals_stream = admin.get_stream("SIGNALS").await.unwrap();
    assert!(signals_stream.consumer_info(ENGINE_DURABLE).await.is_ok());

    // Replay publishes candles only.
    let (replay_client, mut replay_events) = connect(&nats, "replay", REPLAY_PASSWORD).await;
    replay_client
        .publish(FORGED, "forged".into())
        .await
        .unwrap();
    replay_client.flush().await.unwrap();
    violation(&mut replay_events, FORGED).await;
    assert_eq!(stream_count(&admin, "SIGNALS").await, signals_before);

    // The server logged exactly the refusals provoked here, each for the user that tried
    // (it may write a line just after sending the client its error, hence the poll).
    let deadline = Instant::now() + Duration::from_secs(10);
    while nats.violations().len() < 8 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let violations = nats.violations();
    assert_eq!(violations.len(), 8, "{}", violations.join("\n"));
    for (user, count) in [("trading-engine", 4), ("worker", 3), ("replay", 1)] {
        let by = violations
            .iter()
            .filter(|l| l.contains(&format!("user:{user}\"")))
            .count();
        assert_eq!(by, count, "{user}: {}", violations.join("\n"));
    }

    worker.sigterm();
    let status = worker.wait_exit(WAIT).expect("the worker stops on SIGTERM");
    assert!(status.success(), "{status}\n{}", worker.log());
    eprintln!("partitions={partitions}: {total} signals under the deployed authorization");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_can_do_its_job_and_nothing_else_with_one_durable_intake() {
    let _serial = serial();
    scenario(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_can_do_its_job_and_nothing_else_with_pinned_partitions() {
    let _serial = serial();
    scenario(2).await;
}
