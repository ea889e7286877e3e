//! The metrics and health endpoints over real HTTP, and `promtool check
//! metrics` (Debian's prometheus package) on the live exposition.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

mod common;

use signal_worker::error::ErrorCode;
use signal_worker::telemetry::health::{Dependency, Health};
use signal_worker::telemetry::http::{Endpoints, serve};
use signal_worker::telemetry::metrics as names;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(port: u16, path: &str) -> (String, String) {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

#[tokio::test]
async fn endpoints_answer_and_the_exposition_passes_promtool() {
    let recorder = signal_worker::telemetry::metrics::recorder().unwrap();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        names::describe();
        metrics::counter!(names::CANDLES_RECEIVED).increment(7);
        metrics::counter!(names::CANDLES_ACCEPTED).increment(5);
        metrics::counter!(names::CANDLES_REJECTED, "reason" => ErrorCode::OutOfOrder.as_str())
            .increment(1);
        metrics::counter!(names::CANDLES_DUPLICATE).increment(1);
        metrics::counter!(names::SIGNALS_PUBLISHED, "side" => "long").increment(3);
        metrics::counter!(names::DLQ_WRITES, "reason" => "out_of_order").increment(1);
        metrics::counter!(names::TASK_RESTARTS, "task" => "intake").increment(1);
        metrics::counter!(names::RECONNECTS, "dependency" => "nats").increment(1);
        metrics::histogram!(names::FEATURE_SECONDS).record(0.0004);
        metrics::histogram!(names::INFERENCE_SECONDS).record(0.003);
        metrics::histogram!(names::BATCH_SIZE).record(64.0);
        metrics::histogram!(names::CANDLE_TO_SIGNAL_SECONDS).record(0.004);
        metrics::gauge!(names::SERIES_TRACKED).set(12.0);
        metrics::gauge!(names::IN_FLIGHT_MESSAGES).set(0.0);
        metrics::gauge!(names::MODEL_INFO, "name" => "default", "version" => "1", "hash" => "ad1f333cd7fe").set(1.0);
    });
    let health = Arc::new(Health::default());
    metrics::with_local_recorder(&recorder, || health.set(Dependency::Redis, true));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let cancel = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(serve(
        listener,
        Endpoints {
            metrics: handle,
            health: health.clone(),
            stall_after: Duration::from_millis(300),
        },
        cancel.clone(),
    ));

    health.beat();
    let (status, body) = get(port, "/healthz").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, "ok\n");
    // No fetch cycle for longer than the stall limit: unhealthy, until the intake beats again.
    // (The passing time is what is tested here, not a stand-in for an event.)
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, body) = get(port, "/healthz").await;
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable", "{body}");
    assert!(body.contains("stalled"), "{body}");
    health.beat();
    let (status, _) = get(port, "/healthz").await;
    assert_eq!(status, "HTTP/1.1 200 OK");

    let (status, body) = get(port, "/readyz").await;
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["ready"], false);
    assert_eq!(report["dependencies"]["redis"], "up");
    health.set(Dependency::Nats, true);
    health.set(Dependency::Model, true);
    let (status, _) = get(port, "/readyz").await;
    assert_eq!(
        status, "HTTP/1.1 200 OK",
        "redis/mongodb do not gate readiness"
    );

    let (status, body) = get(port, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    for needle in [
        "signal_worker_candles_received_total 7",
        "signal_worker_candles_rejected_total{reason=\"out_of_order\"} 1",
        "signal_worker_signals_published_total{side=\"long\"} 3",
        "signal_worker_inference_seconds_bucket",
        "signal_worker_dependency_up{dependency=\"redis\"} 1",
        "signal_worker_model_info{name=\"default\",version=\"1\",hash=\"ad1f333cd7fe\"} 1",
        "# HELP signal_worker_candles_accepted_total",
    ] {
        assert!(body.contains(needle), "{needle} missing from\n{body}");
    }
    let findings = common::promtool_findings(&body);
    assert!(findings.is_empty(), "promtool: {findings}");

    let (status, _) = get(port, "/nope").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    cancel.cancel();
    server.await.unwrap().unwrap();
}
