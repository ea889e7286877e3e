//! The control subject: hot model reloads announced over NATS.
//!
//! A request's body is a model directory (UTF-8 path, as seen by the worker).
//! The NATS side lives here; what "reload" means is the handler's business
//! (the runtime verifies the model and swaps it in between batches). The
//! answer is JSON: the new model on success, an `ErrorReply` otherwise.

use super::BusError;
use super::headers;
use crate::contract::codec::JSON_CONTENT_TYPE;
use crate::error::ErrorReply;
use futures::StreamExt;
use std::future::Future;
use tokio_util::sync::CancellationToken;

/// Serves reload requests on `subject` until `token` is cancelled, in queue group `queue` (the
/// deployment's durable name): one worker of a deployment verifies and records each request,
/// and every worker follows the recorded model. A request whose reply subject is not in
/// `allowed_replies` is not acted on and not answered (counted).
pub async fn serve<F, Fut>(
    client: async_nats::Client,
    subject: String,
    queue: String,
    allowed_replies: Vec<String>,
    token: CancellationToken,
    handle: F,
) -> Result<(), BusError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<serde_json::Value, ErrorReply>>,
{
    let mut subscription = client
        .queue_subscribe(subject.clone(), queue)
        .await
        .map_err(|e| BusError::read(&subject, e))?;
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
        match &result {
            Ok(_) => tracing::info!("model reload accepted"),
            Err(reply) => {
                tracing::warn!(code = %reply.error.code, reason = %reply.error.message, "model reload refused; the old model stays")
            }
        }
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
