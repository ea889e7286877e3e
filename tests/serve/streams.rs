//! Stream limits against a real nats-server 2.15: `ensure_streams` creates every stream with the
//! configured retention, storage, replicas and limits, and refuses an existing stream that
//! differs (the library call and the worker binary alike), naming the setting. Also the
//! settings' own checks, which name the key.

// Tests may fail loudly; each test has its own runtime on its own thread, so holding the std
// mutex that serialises them across awaits is harmless.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::await_holding_lock
)]

use crate::serve_support::*;

use async_nats::jetstream::{self, stream};
use local_servers::{ServerKind, ServerProcess};
use signal_worker::bus::BusError;
use signal_worker::bus::streams::{self, ensure_streams};
use signal_worker::config::{NatsSettings, Settings};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(86_400);
const MIB: i64 = 1 << 20;
const GIB: i64 = 1 << 30;

async fn config_of(js: &jetstream::Context, name: &str) -> stream::Config {
    js.get_stream(name)
        .await
        .unwrap_or_else(|e| panic!("stream {name}: {e}"))
        .info()
        .await
        .unwrap()
        .config
        .clone()
}

/// (max_age, max_bytes, max_msg_size) of a stream as the server reports it, after checking
/// that it keeps messages by limits, on file, in one replica.
async fn limits_of(js: &jetstream::Context, name: &str) -> (Duration, i64, i32) {
    let c = config_of(js, name).await;
    assert_eq!(c.retention, stream::RetentionPolicy::Limits, "{name}");
    assert_eq!(c.storage, stream::StorageType::File, "{name}");
    assert_eq!(c.num_replicas, 1, "{name}");
    assert_eq!(c.discard, stream::DiscardPolicy::Old, "{name}");
    (c.max_age, c.max_bytes, c.max_message_size)
}

/// A mismatch refusal's text (any other outcome fails the test).
async fn refusal(js: &jetstream::Context, settings: &NatsSettings) -> String {
    match ensure_streams(js, settings).await {
        Err(e @ BusError::StreamMismatch { .. }) => e.to_string(),
        other => panic!("expected a stream mismatch, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_server_gets_every_stream_with_the_configured_limits_and_accepts_them_again() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let (_client, js) = js(&nats.url()).await;

    // The defaults: CANDLES keeps its history, the others are bounded.
    let defaults = Settings::default().nats;
    ensure_streams(&js, &defaults).await.unwrap();
    assert_eq!(
        limits_of(&js, "CANDLES").await,
        (Duration::ZERO, -1, 64 * 1024)
    );
    assert_eq!(limits_of(&js, "SIGNALS").await, (30 * DAY, GIB, 64 * 1024));
    assert_eq!(
        limits_of(&js, "DLQ").await,
        (14 * DAY, 256 * MIB, 64 * 1024)
    );
    assert_eq!(
        limits_of(&js, "BACKTEST").await,
        (7 * DAY, 64 * MIB, 64 * 1024)
    );
    // What was created is what a restart finds: checking it again changes nothing.
    ensure_streams(&js, &defaults).await.unwrap();

    // Other values, through the environment as an operator sets them, for four more streams.
    let settings = Settings::from_sources(
        None,
        [
            ("SIGNAL_WORKER_NATS_CANDLES_STREAM", "C2"),
            ("SIGNAL_WORKER_NATS_SIGNALS_STREAM", "S2"),
            ("SIGNAL_WORKER_NATS_DLQ_STREAM", "D2"),
            ("SIGNAL_WORKER_NATS_BACKTEST_STREAM", "B2"),
            ("SIGNAL_WORKER_NATS_CANDLE_SUBJECT_PREFIX", "c2"),
            ("SIGNAL_WORKER_NATS_SIGNAL_SUBJECT_PREFIX", "s2"),
            ("SIGNAL_WORKER_NATS_DLQ_SUBJECT_PREFIX", "d2"),
            ("SIGNAL_WORKER_NATS_BACKTEST_SUBJECT", "b2.requests"),
            ("SIGNAL_WORKER_NATS_CANDLES_MAX_AGE_MS", "31536000000"),
            ("SIGNAL_WORKER_NATS_CANDLES_MAX_BYTES", "2147483648"),
            ("SIGNAL_WORKER_NATS_CANDLES_MAX_MSG_BYTES", "8192"),
            ("SIGNAL_WORKER_NATS_SIGNALS_MAX_AGE_MS", "3600000"),
            ("SIGNAL_WORKER_NATS_SIGNALS_MAX_BYTES", "1000000"),
            ("SIGNAL_WORKER_NATS_SIGNALS_MAX_MSG_BYTES", "32768"),
            ("SIGNAL_WORKER_NATS_DLQ_MAX_AGE_MS", "0"),
            ("SIGNAL_WORKER_NATS_DLQ_MAX_BYTES", "0"),
            ("SIGNAL_WORKER_NATS_DLQ_MAX_MSG_BYTES", "100000"),
            ("SIGNAL_WORKER_NATS_BACKTEST_MAX_AGE_MS", "120000"),
            ("SIGNAL_WORKER_NATS_BACKTEST_MAX_BYTES", "20000"),
            ("SIGNAL_WORKER_NATS_BACKTEST_MAX_MSG_BYTES", "20000"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap()
    .nats;
    ensure_streams(&js, &settings).await.unwrap();
    assert_eq!(limits_of(&js, "C2").await, (365 * DAY, 2 * GIB, 8 * 1024));
    assert_eq!(
        limits_of(&js, "S2").await,
        (Duration::from_secs(3_600), 1_000_000, 32 * 1024)
    );
    assert_eq!(limits_of(&js, "D2").await, (Duration::ZERO, -1, 100_000));
    assert_eq!(
        limits_of(&js, "B2").await,
        (Duration::from_secs(120), 20_000, 20_000)
    );
    ensure_streams(&js, &settings).await.unwrap();
    // The first four are untouched, and still fit the defaults.
    assert_eq!(limits_of(&js, "SIGNALS").await.0, 30 * DAY);
    ensure_streams(&js, &defaults).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_work_queue_candle_stream_is_refused_by_the_library_and_the_worker_and_left_alone() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let (_client, js) = js(&url).await;
    let defaults = Settings::default().nats;
    // Just like the worker's own, but every acknowledged candle would be deleted.
    let spec = streams::specs(&defaults)[0].clone();
    assert_eq!(spec.name, "CANDLES");
    let mut work_queue = streams::config(&spec, Duration::from_secs(120));
    work_queue.retention = stream::RetentionPolicy::WorkQueue;
    js.create_stream(work_queue).await.unwrap();

    let message = refusal(&js, &defaults).await;
    assert!(message.starts_with("stream CANDLES: "), "{message}");
    assert!(
        message.contains("retention is WorkQueue, this worker needs Limits"),
        "{message}"
    );
    // Only retention differs, so only retention is named.
    assert!(!message.contains(';'), "{message}");

    let mut worker = Worker::start(&url, dir.path(), "worker", &[]);
    let status = worker.wait_exit(WAIT).unwrap_or_else(|| {
        panic!(
            "the worker kept running on a WorkQueue stream\n{}",
            worker.log()
        )
    });
    let log = worker.log();
    assert!(!status.success(), "{status:?}\n{log}");
    assert!(
        log.contains("stream CANDLES: retention is WorkQueue"),
        "the reason is not in the log:\n{log}"
    );
    // Nothing was changed or created behind the operator's back.
    assert_eq!(
        config_of(&js, "CANDLES").await.retention,
        stream::RetentionPolicy::WorkQueue
    );
    assert!(js.get_stream("SIGNALS").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_stream_with_another_age_is_refused_naming_the_setting_until_it_matches() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let (_client, js) = js(&nats.url()).await;
    let defaults = Settings::default().nats;
    let spec = streams::specs(&defaults)[1].clone();
    assert_eq!(spec.name, "SIGNALS");
    let mut one_day = streams::config(&spec, Duration::from_secs(120));
    one_day.max_age = DAY;
    js.create_stream(one_day).await.unwrap();

    let message = refusal(&js, &defaults).await;
    assert!(message.starts_with("stream SIGNALS: "), "{message}");
    assert!(
        message.contains("max_age is 1d, this worker needs 30d (nats.signals_max_age_ms"),
        "{message}"
    );
    assert!(!message.contains(';'), "{message}");
    assert_eq!(config_of(&js, "SIGNALS").await.max_age, DAY);

    // Following the stream (the operator's way out) is accepted.
    let following = NatsSettings {
        signals_max_age_ms: 86_400_000,
        ..defaults.clone()
    };
    ensure_streams(&js, &following).await.unwrap();

    // And a stream edited to several other limits is refused naming each setting.
    let mut edited = config_of(&js, "SIGNALS").await;
    edited.max_bytes = 2 * GIB;
    edited.max_message_size = 1024;
    edited.max_messages_per_subject = 10;
    js.update_stream(edited).await.unwrap();
    let message = refusal(&js, &following).await;
    for needle in [
        "max_bytes is 2 GiB, this worker needs 1 GiB (nats.signals_max_bytes",
        "max_msg_size is 1 KiB, this worker needs 64 KiB (nats.signals_max_msg_bytes",
        "max_msgs_per_subject is 10",
    ] {
        assert!(message.contains(needle), "{message} lacks {needle:?}");
    }
    assert!(!message.contains("max_age"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_limit_the_server_cannot_reserve_is_refused_naming_the_setting() {
    let _serial = serial();
    let nats = ServerProcess::start(ServerKind::Nats).unwrap();
    let (_client, js) = js(&nats.url()).await;
    let huge = NatsSettings {
        signals_max_bytes: 1 << 60,
        ..Settings::default().nats
    };
    let err = ensure_streams(&js, &huge).await.unwrap_err();
    // Refused for good (never retried: waiting cannot give the server the storage).
    assert!(
        matches!(err, signal_worker::bus::BusError::StreamRefused { .. }),
        "{err:?}"
    );
    let err = err.to_string();
    assert!(err.contains("create stream SIGNALS"), "{err}");
    assert!(err.contains("nats.signals_max_bytes"), "{err}");
    assert!(err.contains("1073741824 GiB"), "{err}");
    assert!(js.get_stream("SIGNALS").await.is_err());
}

/// A setting's refusal, from the environment.
fn refused(pairs: &[(&str, &str)]) -> String {
    let env = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    Settings::from_sources(None, env.collect::<Vec<_>>())
        .unwrap_err()
        .to_string()
}

#[test]
fn stream_limit_settings_are_checked_naming_the_key() {
    let cases: [(&[(&str, &str)], &str); 10] = [
        (
            &[("SIGNAL_WORKER_NATS_DLQ_MAX_MSG_BYTES", "20000")],
            "nats.dlq_max_msg_bytes (20000) must be at least nats.dlq_max_body_bytes + 16 KiB (24576)",
        ),
        (
            &[("SIGNAL_WORKER_NATS_DLQ_MAX_BODY_BYTES", "60000")],
            "nats.dlq_max_msg_bytes (65536) must be at least nats.dlq_max_body_bytes + 16 KiB",
        ),
        (
            &[("SIGNAL_WORKER_VALIDATION_MAX_MESSAGE_BYTES", "30000")],
            "nats.signals_max_msg_bytes (65536) must be at least 2 x validation.max_message_bytes + 16 KiB (76384)",
        ),
        (
            &[("SIGNAL_WORKER_NATS_BACKTEST_MAX_MSG_BYTES", "3000000000")],
            "nats.backtest_max_msg_bytes (3000000000) must fit",
        ),
        (
            &[("SIGNAL_WORKER_NATS_BACKTEST_MAX_MSG_BYTES", "1000")],
            "nats.backtest_max_msg_bytes (1000) must be at least 16 KiB",
        ),
        (
            &[("SIGNAL_WORKER_NATS_SIGNALS_MAX_AGE_MS", "60000")],
            "nats.signals_max_age_ms (60000) must be 0 (no limit) or at least nats.duplicate_window_ms (120000)",
        ),
        (
            &[("SIGNAL_WORKER_NATS_CANDLES_MAX_AGE_MS", "9300000000000")],
            "nats.candles_max_age_ms (9300000000000) must be at most 9223372036854",
        ),
        (
            &[("SIGNAL_WORKER_NATS_DLQ_MAX_BYTES", "1000")],
            "nats.dlq_max_bytes (1000) must be 0 (no limit) or at least nats.dlq_max_msg_bytes (65536)",
        ),
        (
            &[("SIGNAL_WORKER_NATS_CANDLES_MAX_BYTES", "65535")],
            "nats.candles_max_bytes (65535) must be 0 (no limit) or at least nats.candles_max_msg_bytes (65536)",
        ),
        (
            &[("SIGNAL_WORKER_NATS_DUPLICATE_WINDOW_MS", "50")],
            "nats.duplicate_window_ms (50) must be at least 100",
        ),
    ];
    for (pairs, needle) in cases {
        let err = refused(pairs);
        assert!(err.contains(needle), "{err}\nshould contain {needle:?}");
    }
    // The old all-streams key is gone (its meaning changed): an old file is told so.
    let err = Settings::from_sources(Some(("f.toml", "[nats]\nmax_age_ms = 0\n")), Vec::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("max_age_ms"), "{err}");
    // Raising the floor's inputs together is accepted, and so is 0 (no limit) everywhere.
    let ok = Settings::from_sources(
        None,
        [
            ("SIGNAL_WORKER_NATS_DLQ_MAX_BODY_BYTES", "60000"),
            ("SIGNAL_WORKER_NATS_DLQ_MAX_MSG_BYTES", "76384"),
            ("SIGNAL_WORKER_NATS_SIGNALS_MAX_AGE_MS", "0"),
            ("SIGNAL_WORKER_NATS_SIGNALS_MAX_BYTES", "0"),
            ("SIGNAL_WORKER_NATS_BACKTEST_MAX_AGE_MS", "120000"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap();
    assert_eq!(ok.nats.dlq_max_msg_bytes, 76_384);
    assert_eq!(ok.nats.signals_max_age_ms, 0);
}
