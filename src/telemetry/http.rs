//! The HTTP endpoints: `/metrics` (Prometheus text), `/healthz` (alive) and
//! `/readyz` (NATS connected and model loaded; Redis and MongoDB reported).
//!
//! Served by hyper's HTTP/1.1 server (already in the tree under the Prometheus exporter), one
//! response per connection, with the bounds a scrape endpoint on a trading host needs: at most
//! [`MAX_CONNECTIONS`] at once (further clients wait in the listen backlog, never in memory),
//! a request head of at most [`MAX_REQUEST_BYTES`] read within [`READ_TIMEOUT`], and every
//! connection over within [`CONNECTION_TIMEOUT`] — so a slow or hostile client cannot hold
//! the worker.

use super::health::Health;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::PrometheusHandle;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Connections served at once; the next ones are accepted as these finish.
pub const MAX_CONNECTIONS: usize = 32;
/// Longest request head accepted (hyper's smallest buffer); the routes take no body.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// How long a client may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one connection may last in all (a client that never reads its answer included).
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(15);
/// Pause after a failed accept before the next one.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

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
            accepted = listener.accept(), if connections.len() < MAX_CONNECTIONS => {
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
                    let service = service_fn(move |request| {
                        let answer = respond(&request, &endpoints);
                        async move { Ok::<_, Infallible>(answer) }
                    });
                    let connection = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(READ_TIMEOUT)
                        .max_buf_size(MAX_REQUEST_BYTES)
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service);
                    match tokio::time::timeout(CONNECTION_TIMEOUT, connection).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::debug!(error = %e, "metrics/health connection ended with an error"),
                        Err(_) => tracing::debug!("metrics/health connection cut after its time limit"),
                    }
                });
            }
            // Reap finished connections so a slot frees up.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
    Ok(())
}

/// The answer to one request.
fn respond(request: &Request<Incoming>, endpoints: &Endpoints) -> Response<Full<Bytes>> {
    if request.method() != Method::GET {
        return answer(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "method not allowed\n".to_owned(),
        );
    }
    match request.uri().path() {
        "/metrics" => answer(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            endpoints.metrics.render(),
        ),
        "/healthz" if endpoints.health.alive(endpoints.stall_after) => {
            answer(StatusCode::OK, "text/plain", "ok\n".to_owned())
        }
        "/healthz" => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "stalled: the candle intake has not completed a fetch cycle in time\n".to_owned(),
        ),
        "/readyz" => {
            let status = match endpoints.health.ready() {
                true => StatusCode::OK,
                false => StatusCode::SERVICE_UNAVAILABLE,
            };
            answer(
                status,
                "application/json",
                endpoints.health.report().to_string(),
            )
        }
        _ => answer(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found\n".to_owned(),
        ),
    }
}

fn answer(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
