//! The HTTP endpoints: `/metrics` (Prometheus text), `/healthz` (alive) and
//! `/readyz` (NATS connected and model loaded; Redis and MongoDB reported).
//!
//! A deliberately tiny HTTP/1.1 responder on tokio: three GET routes, one
//! response per connection, bounded request size and read time, so a slow or
//! hostile client cannot hold the worker.

use super::health::Health;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Longest request head accepted; the routes take no body.
const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Pause after a failed accept before the next one.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// How long a client may take to send its request line.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// What the endpoints read.
#[derive(Clone)]
pub struct Endpoints {
    /// Renders the metrics.
    pub metrics: PrometheusHandle,
    /// Liveness and readiness flags.
    pub health: Arc<Health>,
    /// `/healthz` fails once the intake has not completed a fetch cycle for this long.
    pub stall_after: Duration,
}

/// Serves until `cancel` fires. Binding errors are returned before serving starts.
pub async fn serve(
    listener: TcpListener,
    endpoints: Endpoints,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => {
                // A failed accept (e.g. out of file descriptors) ends one connection, never the
                // endpoints: wait a moment and accept again.
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "metrics/health accept failed; retrying");
                        tokio::time::sleep(ACCEPT_RETRY).await;
                        continue;
                    }
                };
                let endpoints = endpoints.clone();
                connections.spawn(async move {
                    if let Err(e) = answer(stream, &endpoints).await {
                        tracing::debug!(error = %e, "metrics/health connection ended with an error");
                    }
                });
            }
            // Reap finished connections so the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
    Ok(())
}

async fn answer(mut stream: TcpStream, endpoints: &Endpoints) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let head_complete = |b: &[u8]| b.windows(4).any(|w| w == b"\r\n\r\n");
    let read = tokio::time::timeout(READ_TIMEOUT, async {
        while !head_complete(&buf) && buf.len() < MAX_REQUEST_BYTES {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Ok::<(), std::io::Error>(())
    })
    .await;
    if !matches!(read, Ok(Ok(()))) {
        return Ok(());
    }
    let line = buf.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4",
            endpoints.metrics.render(),
        ),
        ("GET", "/healthz") if endpoints.health.alive(endpoints.stall_after) => {
            ("200 OK", "text/plain", "ok\n".to_owned())
        }
        ("GET", "/healthz") => (
            "503 Service Unavailable",
            "text/plain",
            "stalled: the candle intake has not completed a fetch cycle in time\n".to_owned(),
        ),
        ("GET", "/readyz") => {
            let status = if endpoints.health.ready() {
                "200 OK"
            } else {
                "503 Service Unavailable"
            };
            (
                status,
                "application/json",
                endpoints.health.report().to_string(),
            )
        }
        ("GET", _) => ("404 Not Found", "text/plain", "not found\n".to_owned()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "method not allowed\n".to_owned(),
        ),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}
