//! The backtest responder: every request gets exactly one `ErrorReply`
//! `not_implemented` (501) with its id echoed and a warning never to trade on
//! simulated results. No simulated numbers, ever.
//!
//! Two ways in, one answer each:
//! - A request persisted for later (published with a `Reply-To` header, so it
//!   is answered even if no worker runs at the time) is answered from the
//!   BACKTEST stream by a durable consumer, to the `Reply-To` subject, then
//!   acked. JetStream does not keep a message's own reply subject (on
//!   delivery it is the ack subject), hence the header.
//! - A plain NATS request (a reply inbox, no `Reply-To` header) is answered
//!   live by a queue subscription on the same subject, while the requester
//!   still waits. Its stored copy is acked by the stream path without a
//!   second answer.
//!
//! The stream is `no_ack` (see [`super::streams::specs`]), so a plain
//! requester's inbox sees the worker's answer, not a JetStream `PubAck`.

use super::BusError;
use super::headers;
use crate::config::{NatsSettings, ServeSettings};
use crate::contract::BacktestRequest;
use crate::contract::backtest::SIMULATION_WARNING;
use crate::contract::codec::{self, Encoding};
use crate::contract::subject::reply_allowed;
use crate::error::{ErrorCode, ErrorReply};
use crate::telemetry::metrics as m;
use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{self, AckPolicy, PullConsumer};
use futures::StreamExt;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The one answer to a backtest request body.
pub fn answer(payload: &[u8], encoding: Encoding, now_ms: i64) -> ErrorReply {
    match codec::decode::<BacktestRequest>(payload, encoding) {
        Ok(request) => ErrorReply::new(
            ErrorCode::NotImplemented,
            format!("backtest is not available: {SIMULATION_WARNING}"),
            Some(request.request_id),
            now_ms,
        )
        .with_detail("warning", SIMULATION_WARNING),
        Err(e) => ErrorReply::new(
            ErrorCode::Undecodable,
            format!("not a backtest request: {e}; {SIMULATION_WARNING}"),
            None,
            now_ms,
        )
        .with_detail("warning", SIMULATION_WARNING),
    }
}

/// Sends `reply` to `subject` in the request's encoding and flushes, so the
/// answer has left before the request is acked.
async fn send(
    client: &async_nats::Client,
    subject: String,
    reply: &ErrorReply,
    encoding: Encoding,
) -> Result<(), BusError> {
    let body = codec::encode(reply, encoding).map_err(|e| BusError::Encode {
        subject: subject.clone(),
        message: e.to_string(),
    })?;
    let mut map = async_nats::HeaderMap::new();
    map.insert(headers::CONTENT_TYPE, encoding.content_type());
    client
        .publish_with_headers(subject.clone(), map, body.into())
        .await
        .map_err(|e| BusError::publish(&subject, e))?;
    client
        .flush()
        .await
        .map_err(|e| BusError::publish(&subject, e))
}

fn encoding_of(headers: Option<&async_nats::HeaderMap>) -> Encoding {
    Encoding::from_content_type(headers::get(headers, headers::CONTENT_TYPE))
}

/// Counts and logs a request whose reply subject is not allowed (`nats.reply_subjects`): it is
/// never answered, so no requester can make the worker publish into a stream or the
/// JetStream API with its credentials. Only the subject's length is logged, never the text.
pub(super) fn refused(path: &'static str, reply_to: &str) {
    metrics::counter!(m::REPLIES_REFUSED, "path" => path).increment(1);
    tracing::warn!(
        path,
        reply_len = reply_to.len(),
        "request refused: its reply subject is not in nats.reply_subjects; not answered"
    );
}

/// Answers persisted requests from the BACKTEST stream until `token` is cancelled.
pub async fn serve_stream(
    connection: super::Connection,
    nats: NatsSettings,
    serve: ServeSettings,
    token: CancellationToken,
    now_ms: impl Fn() -> i64,
) -> Result<(), BusError> {
    let (client, js) = (connection.client().clone(), connection.jetstream().clone());
    let name = serve.backtest_durable.clone();
    let stream = js
        .get_stream(&nats.backtest_stream)
        .await
        .map_err(|e| BusError::api("get stream", &nats.backtest_stream, e))?;
    let consumer: PullConsumer = stream
        .get_or_create_consumer(
            &name,
            consumer::pull::Config {
                durable_name: Some(name.clone()),
                description: Some("signal-worker backtest responder".into()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_millis(serve.ack_wait_ms),
                // As many copies as its stream: a cluster node lost loses no ack state.
                num_replicas: nats.replicas,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| BusError::api("create consumer", &name, e))?;
    let wait = Duration::from_millis(serve.max_wait_ms);
    while !token.is_cancelled() {
        let mut batch = consumer
            .batch()
            .max_messages(serve.batch_size)
            .expires(wait)
            .messages()
            .await
            .map_err(|e| BusError::read(&name, e))?;
        while let Some(message) = batch.next().await {
            let message = message.map_err(|e| BusError::read(&name, e))?;
            match headers::get(message.headers.as_ref(), headers::REPLY_TO) {
                Some(reply_to) if !reply_allowed(&nats.reply_subjects, reply_to) => {
                    // Never answered, never redelivered: its one outcome is termination.
                    refused("backtest_stream", reply_to);
                    message
                        .ack_with(AckKind::Term)
                        .await
                        .map_err(|e| BusError::publish(&name, e))?;
                    continue;
                }
                Some(reply_to) => {
                    let encoding = encoding_of(message.headers.as_ref());
                    let reply = answer(&message.payload, encoding, now_ms());
                    send(&client, reply_to.to_owned(), &reply, encoding).await?;
                    tracing::info!(reply_to, request_id = ?reply.request_id, "backtest request answered (persisted path)");
                }
                None => {
                    tracing::debug!(
                        "stored backtest request without Reply-To: answered live, if at all"
                    );
                }
            }
            message
                .ack()
                .await
                .map_err(|e| BusError::publish(&name, e))?;
        }
    }
    Ok(())
}

/// Answers plain request/reply clients live until `token` is cancelled.
pub async fn serve_live(
    connection: super::Connection,
    nats: NatsSettings,
    serve: ServeSettings,
    token: CancellationToken,
    now_ms: impl Fn() -> i64,
) -> Result<(), BusError> {
    let client = connection.client().clone();
    let mut subscription = client
        .queue_subscribe(
            nats.backtest_subject.clone(),
            serve.backtest_queue_group.clone(),
        )
        .await
        .map_err(|e| BusError::read(&nats.backtest_subject, e))?;
    loop {
        let message = tokio::select! {
            () = token.cancelled() => break,
            m = subscription.next() => m,
        };
        let Some(message) = message else {
            return Err(BusError::read(&nats.backtest_subject, "subscription ended"));
        };
        if headers::get(message.headers.as_ref(), headers::REPLY_TO).is_some() {
            continue; // answered from the stream
        }
        let Some(reply_to) = message.reply.clone() else {
            tracing::warn!(
                "backtest request with neither a reply subject nor Reply-To: nobody to answer"
            );
            continue;
        };
        if !reply_allowed(&nats.reply_subjects, &reply_to) {
            refused("backtest_live", &reply_to);
            continue;
        }
        let encoding = encoding_of(message.headers.as_ref());
        let reply = answer(&message.payload, encoding, now_ms());
        send(&client, reply_to.to_string(), &reply, encoding).await?;
        tracing::info!(request_id = ?reply.request_id, "backtest request answered (live path)");
    }
    let _ = subscription.unsubscribe().await;
    Ok(())
}
