//! `serve` against a bus shared with hostile clients (real nats-server): bodies up to the
//! server's `max_payload`, reply subjects that point into the streams, forged signals, and a
//! flood of made-up series. Every message has one outcome, the worker never stops, publishes
//! nowhere it should not, and real series stay fully signalled.

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
use signal_worker::contract::{ClassProbabilities, ModelRef, Side, Signal, Thresholds};
use std::time::Duration;

/// A body of `len` bytes that is not a candle (the worker must not even try to decode it).
fn junk(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Publishes `body` to `subject`; whether the server stored it (`false`: refused at the
/// publisher, e.g. larger than the stream's `max_msg_size` or the server's `max_payload`).
async fn try_publish(js: &async_nats::jetstream::Context, subject: &str, body: Vec<u8>) -> bool {
    match js.publish(subject.to_owned(), body.into()).await {
        Ok(ack) => ack.await.is_ok(),
        Err(_) => false,
    }
}

/// The worker's peak resident set (VmHWM), in bytes.
fn peak_rss(worker: &Worker) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", worker.child.id())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap()
        * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_up_to_max_payload_each_get_one_outcome_and_never_stop_the_worker() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let (client, js) = js(&url).await;
    let max_payload = client.server_info().max_payload;
    assert!(max_payload >= 1 << 20, "{max_payload}");
    // The candle stream takes anything the server does, and dead letters keep whole bodies:
    // the largest dead letters cannot be stored, and must still be a final outcome.
    let whole = max_payload.to_string();
    // The DLQ stream's own limit is no obstacle either: the server's max_payload is.
    let dlq_limit = (max_payload + 16_384).to_string();
    let env = [
        ("SIGNAL_WORKER_NATS_CANDLES_MAX_MSG_BYTES", whole.as_str()),
        ("SIGNAL_WORKER_NATS_DLQ_MAX_BODY_BYTES", whole.as_str()),
        ("SIGNAL_WORKER_NATS_DLQ_MAX_MSG_BYTES", dlq_limit.as_str()),
    ];
    let worker = Worker::start(&url, dir.path(), "worker", &env);
    wait_streams(&js).await;
    let (first, _) = btc_rows(dir.path(), "first.csv", 1, 150);
    replay_btc_with(&url, &first, &env);
    // Oversize bodies, from just over the validation limit to just under max_payload.
    let sizes = [
        5_000,
        70_000,
        512 * 1024,
        max_payload - 4_096,
        max_payload - 200,
    ];
    let mut stored = 0;
    for size in sizes {
        if try_publish(&js, "candles.coinbase.BTCUSD.1h", junk(size)).await {
            stored += 1;
        }
    }
    assert!(stored >= 4, "only {stored} oversize bodies were stored");
    let (second, _) = btc_rows(dir.path(), "second.csv", 151, 300);
    replay_btc_with(&url, &second, &env);
    wait_drained(&js, &worker).await;

    // Every stored candle has one outcome: signals exactly as the pure pipeline gives them,
    // oversize bodies dead-lettered whole where that fits, terminated (and counted) where not.
    let e = expected(&js).await;
    let got: std::collections::BTreeSet<_> = signals(&js).await.into_iter().collect();
    assert_eq!(got, e.signals, "{}", worker.log());
    let dead = stream_count(&js, "DLQ").await;
    let unstorable = metric_sum(&worker, "signal_worker_dead_letters_unstorable_total");
    assert_eq!(e.dead.len(), stored, "every oversize body is rejected");
    assert!(
        unstorable >= 1.0,
        "no dead letter was too large\n{}",
        worker.log()
    );
    assert_eq!(dead as f64 + unstorable, stored as f64, "{}", worker.log());
    assert!(
        !worker.log().contains("task failed") && !worker.log().contains("restarting"),
        "a batch failed\n{}",
        worker.log()
    );
    drop(nats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_dead_letters_keep_a_prefix_with_the_length_and_hash_of_the_body() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let (client, js) = js(&url).await;
    let max_payload = client.server_info().max_payload;
    let worker = Worker::start(&url, dir.path(), "worker", &[]);
    wait_streams(&js).await;
    // Default settings: the candle stream stores at most 64 KiB, dead letters keep 8 KiB.
    let settings = signal_worker::config::Settings::default();
    let limit = settings.nats.candles_max_msg_bytes as usize;
    let prefix = settings.nats.dlq_max_body_bytes;
    assert!(try_publish(&js, "candles.coinbase.BTCUSD.1h", junk(limit)).await);
    assert!(try_publish(&js, "candles.coinbase.BTCUSD.1h", junk(5_000)).await);
    for too_big in [limit + 1, max_payload - 100] {
        assert!(
            !try_publish(&js, "candles.coinbase.BTCUSD.1h", junk(too_big)).await,
            "{too_big} bytes stored past the stream's max_msg_size"
        );
    }
    let (rows, _) = btc_rows(dir.path(), "rows.csv", 1, 150);
    replay_btc(&url, &rows);
    wait_drained(&js, &worker).await;
    assert_exact(&js, &worker.log()).await;
    let letters = all_messages(&js, "DLQ").await;
    assert_eq!(letters.len(), 2);
    for (letter, len) in letters.iter().zip([limit, 5_000]) {
        let body = junk(len);
        let h = letter.headers.as_ref().unwrap();
        assert_eq!(letter.subject.as_str(), "dlq.oversize");
        if len <= prefix {
            // Short enough: the whole body, as it came.
            assert_eq!(&letter.payload[..], &body[..]);
            assert!(h.get("Truncated").is_none());
            continue;
        }
        assert_eq!(&letter.payload[..], &body[..prefix]);
        assert_eq!(h.get("Truncated").map(|v| v.as_str()), Some("true"));
        assert_eq!(
            h.get("Original-Length").map(|v| v.as_str().to_owned()),
            Some(len.to_string())
        );
        assert_eq!(
            h.get("Original-Sha256").map(|v| v.as_str().to_owned()),
            Some(signal_worker::model::digest::sha256_hex(&body))
        );
    }
    drop(nats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_go_only_to_allowed_subjects_and_never_into_a_stream() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let (client, js) = js(&url).await;
    let worker = Worker::start(&url, dir.path(), "worker", &[]);
    wait_streams(&js).await;
    let request = br#"{"request_id":"r","exchange":"coinbase","symbol":"BTCUSD","interval":"1h","from":0,"to":1}"#;
    let json = || {
        let mut h = async_nats::HeaderMap::new();
        h.insert("Content-Type", "application/json");
        h
    };
    let hostile = [
        "signals.coinbase.BTCUSD.1h",
        "candles.coinbase.BTCUSD.1h",
        "dlq.oversize",
        "$JS.API.STREAM.DELETE.SIGNALS",
        "not a subject",
        "_INBOX..x",
    ];
    // Persisted requests (Reply-To header) naming each hostile subject…
    for reply in hostile {
        let mut h = json();
        h.insert("Reply-To", reply);
        client
            .publish_with_headers("backtest.requests", h, request.to_vec().into())
            .await
            .unwrap();
    }
    // …plain requests with a hostile reply subject, and a control request with one.
    for reply in &hostile[..4] {
        client
            .publish_with_reply_and_headers(
                "backtest.requests",
                reply.to_string(),
                json(),
                request.to_vec().into(),
            )
            .await
            .unwrap();
    }
    client
        .publish_with_reply(
            "control.model.reload",
            "signals.coinbase.BTCUSD.1h",
            format!("{ROOT}/models/default").into(),
        )
        .await
        .unwrap();
    client.flush().await.unwrap();
    // A legitimate request is still answered (on its inbox, once). The worker subscribes its
    // live responder after creating the streams waited for above: until the stream exists the
    // server answers "no responders" at once; once it exists but before the responder is
    // subscribed, the stream stores the request (no `Reply-To`: never answered from there) and
    // the requester times out. Either way the request is asked again (CI hit both races).
    let deadline = tokio::time::Instant::now() + WAIT;
    let answer = loop {
        let asked = client
            .send_request(
                "backtest.requests",
                async_nats::Request::new()
                    .headers(json())
                    .payload(request.to_vec().into())
                    .timeout(Some(Duration::from_secs(2))),
            )
            .await;
        match asked {
            Ok(answer) => break answer,
            Err(e)
                if matches!(
                    e.kind(),
                    async_nats::client::RequestErrorKind::NoResponders
                        | async_nats::client::RequestErrorKind::TimedOut
                ) =>
            {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no worker answers backtest requests"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("backtest request: {e}"),
        }
    };
    let reply: signal_worker::error::ErrorReply =
        codec::decode(&answer.payload, Encoding::Json).unwrap();
    assert_eq!(reply.error.code.as_str(), "not_implemented");
    // Every persisted request has its outcome (answered or terminated), none comes back.
    wait_for("backtest requests settled", WAIT, || async {
        let stream = js.get_stream("BACKTEST").await.unwrap();
        match stream.consumer_info("signal-worker-backtest").await {
            Ok(i) => i.num_pending == 0 && i.num_ack_pending == 0,
            Err(_) => false,
        }
    })
    .await;
    wait_for("refusals counted", WAIT, || async {
        metric_sum(&worker, "signal_worker_replies_refused_total") >= 11.0
    })
    .await;
    assert_eq!(
        metric_sum(&worker, "signal_worker_replies_refused_total"),
        11.0,
        "6 persisted + 4 plain + 1 control\n{}",
        worker.log()
    );
    for stream in ["SIGNALS", "CANDLES", "DLQ"] {
        assert_eq!(
            stream_count(&js, stream).await,
            0,
            "a reply landed in {stream}"
        );
    }
    assert!(
        js.get_stream("SIGNALS").await.is_ok(),
        "SIGNALS was deleted"
    );
    drop(nats);
}

/// A signal as a hostile client could publish it to the signal stream.
fn forged(symbol: &str, open_time: i64, sha256: &str) -> Signal {
    Signal {
        exchange: "coinbase".into(),
        symbol: symbol.into(),
        interval: "1h".into(),
        open_time,
        side: Side::Long,
        confidence: 1.0,
        probabilities: ClassProbabilities {
            long: 1.0,
            short: 0.0,
            neutral: 0.0,
        },
        model: ModelRef {
            name: "default".into(),
            version: "1".into(),
            sha256: sha256.into(),
        },
        thresholds: Thresholds {
            min_confidence: 0.0,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_signals_in_the_signal_stream_do_not_mute_a_series() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let (_client, js) = js(&url).await;
    ensure_default_streams(&js).await;
    let ours = signal_worker::model::artifact::read_unverified_metadata(std::path::Path::new(
        &format!("{ROOT}/models/default"),
    ))
    .unwrap()
    .weights_sha256;
    // The real series' last signal is forged far in the future (which would mute it), and two
    // other subjects end in a signal of another model and one with a forged message id.
    let hour = 3_600_000;
    let far_future = forged("BTCUSD", 4_000_000_000_000 / hour * hour, &ours);
    let other_model = forged("ETHUSD", 1_500_000_000_000 / hour * hour, &"f".repeat(64));
    let wrong_id = forged("LTCUSD", 1_500_000_000_000 / hour * hour, &ours);
    for (signal, id) in [
        (&far_future, far_future.message_id(12)),
        (&other_model, other_model.message_id(12)),
        (&wrong_id, "forged-1".to_owned()),
    ] {
        publish_raw(
            &js,
            &format!("signals.coinbase.{}.1h", signal.symbol),
            codec::encode(signal, Encoding::MessagePack).unwrap(),
            &id,
        )
        .await;
    }
    let (rows, _) = btc_rows(dir.path(), "rows.csv", 1, 200);
    replay_btc(&url, &rows);
    let worker = Worker::start(&url, dir.path(), "worker", &[]);
    wait_drained(&js, &worker).await;
    let e = expected(&js).await;
    let real: std::collections::BTreeSet<_> = signals(&js)
        .await
        .into_iter()
        .filter(|(series, t)| series == "coinbase.BTCUSD.1h" && *t != far_future.open_time)
        .collect();
    assert!(!e.signals.is_empty());
    assert_eq!(real, e.signals, "{}", worker.log());
    assert_eq!(
        metric_sum(&worker, "signal_worker_last_signals_ignored_total"),
        3.0,
        "{}",
        worker.log()
    );
    drop(nats);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_made_up_series_stays_bounded_and_real_series_stay_signalled() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let (_client, js) = js(&url).await;
    // Default settings: sequence.max_series = 20,000.
    let worker = Worker::start(&url, dir.path(), "worker", &[]);
    wait_streams(&js).await;
    let (first, _) = btc_rows(dir.path(), "first.csv", 1, 150);
    replay_btc(&url, &first);
    const FLOOD: usize = 200_000;
    let mut acks = Vec::with_capacity(4_096);
    for i in 0..FLOOD {
        let c = candle(&format!("X{i}"), 1_498_906_800_000, 100.0);
        let subject = format!("candles.test.X{i}.1h");
        let body = codec::encode(&c, Encoding::MessagePack).unwrap();
        acks.push(js.publish(subject, body.into()).await.unwrap());
        if acks.len() == 4_096 {
            for ack in acks.drain(..) {
                ack.await.unwrap();
            }
        }
    }
    for ack in acks.drain(..) {
        ack.await.unwrap();
    }
    let (second, _) = btc_rows(dir.path(), "second.csv", 151, 300);
    replay_btc(&url, &second);
    wait_drained(&js, &worker).await;
    let rss = peak_rss(&worker);
    eprintln!("peak RSS after {FLOOD} made-up series: {} MiB", rss >> 20);
    assert!(rss < 1 << 30, "peak RSS {} MiB", rss >> 20);
    let series = metric_sum(&worker, "signal_worker_series_tracked");
    assert_eq!(series, 20_000.0, "the cap holds\n{}", worker.log());
    // The real series is signalled exactly as the pure pipeline (same cap) signals it, and
    // every made-up series past the cap is dead-lettered once as series_limit.
    assert_exact(&js, &worker.log()).await;
    let e = expected(&js).await;
    let limited = e
        .dead
        .values()
        .filter(|c| c.as_str() == "series_limit")
        .count();
    assert_eq!(limited, FLOOD + 1 - 20_000);
    assert!(e.signals.iter().any(|(s, _)| s == "coinbase.BTCUSD.1h"));
    drop(nats);
}
