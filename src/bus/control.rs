//! The control subjects: hot model reloads and live-score requests over NATS.
//!
//! A reload request's body is a model directory (UTF-8 path, as seen by the worker); a scores
//! request's body is ignored. The NATS side lives here; what a request means is the handler's
//! business (the runtime verifies and records a model, or reads its scoreboards). The answer is
//! JSON: the handler's value, or an `ErrorReply`.

use super::BusError;
use super::headers;
use crate::contract::codec::JSON_CONTENT_TYPE;
use crate::error::ErrorReply;
use futures::StreamExt;
use std::future::Future;
use tokio_util::sync::CancellationToken;

/// Serves requests on `subject` until `token` is cancelled. With a queue group (reloads: the
/// deployment's durable name) one worker of a deployment handles each request — it verifies and
/// records a model, and every worker follows the record; without one (scores) every worker
/// answers for itself. A request whose reply subject is not in `allowed_replies` is not acted
/// on and not answered (counted).
pub async fn serve<F, Fut>(
    connection: super::Connection,
    subject: String,
    queue: Option<String>,
    allowed_replies: Vec<String>,
    token: CancellationToken,
    handle: F,
) -> Result<(), BusError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<serde_json::Value, ErrorReply>>,
{
    let client = connection.client().clone();
    let subscribed = match queue {
        Some(queue) => client.queue_subscribe(subject.clone(), queue).await,
        None => client.subscribe(subject.clone()).await,
    };
    let mut subscription = subscribed.map_err(|e| BusError::read(&subject, e))?;
    loop {
        let message = tokio::select! {
            () = token.cancelled() => break,
            m = subscription.next() => m,
        };
        let Some(message) = message else {
            return Err(BusError::read(&subject, "subscription ended"));
        };
        if let Some(reply) = &message.reply
            && !crate::contract::subject::reply_allowed(&allowed_replies, reply)
        {
            super::backtest::refused("control", reply);
            continue;
        }
        let dir = String::from_utf8_lossy(&message.payload).trim().to_owned();
        let result = handle(dir.clone()).await;
        let body = match &result {
            Ok(value) => serde_json::to_vec(value),
            Err(reply) => serde_json::to_vec(reply),
        }
        .map_err(|e| BusError::Encode {
            subject: subject.clone(),
            message: e.to_string(),
        })?;
        if let Some(reply_to) = message.reply {
            let mut map = async_nats::HeaderMap::new();
            map.insert(headers::CONTENT_TYPE, JSON_CONTENT_TYPE);
            client
                .publish_with_headers(reply_to.clone(), map, body.into())
                .await
                .map_err(|e| BusError::publish(reply_to.as_str(), e))?;
        }
    }
    let _ = subscription.unsubscribe().await;
    Ok(())
}
