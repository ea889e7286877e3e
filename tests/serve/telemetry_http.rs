//! The metrics and health endpoints over real HTTP, and `promtool check
//! metrics` (Debian's prometheus package) on the live exposition.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

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
    let findings = crate::common::promtool_findings(&body);
    assert!(findings.is_empty(), "promtool: {findings}");

    let (status, _) = get(port, "/nope").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    cancel.cancel();
    server.await.unwrap().unwrap();
}

/// Sends `request` as is and returns the status line of the answer ("" when the connection
/// closed without one).
async fn raw(port: u16, request: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    // The server may answer (and close) before taking everything of an oversized head.
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn hostile_clients_get_an_error_and_never_hold_the_endpoints() {
    use signal_worker::telemetry::http::{MAX_CONNECTIONS, MAX_REQUEST_BYTES};
    let recorder = signal_worker::telemetry::metrics::recorder().unwrap();
    let health = Arc::new(Health::default());
    health.beat();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let cancel = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(serve(
        listener,
        Endpoints {
            metrics: recorder.handle(),
            health,
            stall_after: Duration::from_secs(60),
        },
        cancel.clone(),
    ));

    // Clients that open a request and never finish it hold one slot each, the rest stay free.
    let mut stalled = Vec::new();
    for _ in 0..MAX_CONNECTIONS - 1 {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        s.write_all(b"GET /metr").await.unwrap();
        stalled.push(s);
    }
    let (status, body) = get(port, "/healthz").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, "ok\n");

    // A head larger than the bound is refused with a status, not read on without end.
    let huge = format!(
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(MAX_REQUEST_BYTES * 4)
    );
    let status = raw(port, huge.as_bytes()).await;
    assert!(
        status.is_empty() || status.starts_with("HTTP/1.1 431"),
        "an oversized head was answered with {status:?}"
    );
    // Not GET, and not HTTP at all.
    let status = raw(
        port,
        b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    let status = raw(port, b"\x16\x03\x01\x02\x00garbage\r\n\r\n").await;
    assert!(
        status.is_empty() || status.starts_with("HTTP/1.1 400"),
        "garbage was answered with {status:?}"
    );
    // And the endpoints still answer after all of it.
    let (status, _) = get(port, "/healthz").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    drop(stalled);
    cancel.cancel();
    server.await.unwrap().unwrap();
}
