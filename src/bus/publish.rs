//! Publishing signals and dead letters through JetStream, acknowledged.

use super::BusError;
use super::headers;
use crate::config::NatsSettings;
use crate::contract::Signal;
use crate::contract::codec::{self, Encoding};
use crate::contract::subject::series_subject;
use crate::core::Rejection;
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, publish::PublishAck};

/// Longest header value copied from a candle onto its dead letter.
const MAX_COPIED_HEADER_BYTES: usize = 256;

/// A publish sent and not yet acknowledged by its stream.
#[derive(Debug)]
pub struct Unconfirmed {
    subject: String,
    ack: PublishAckFuture,
}

impl Unconfirmed {
    /// Waits for the stream's acknowledgement: only then is the message durable.
    pub async fn confirm(self) -> Result<PublishAck, BusError> {
        self.ack
            .await
            .map_err(|e| BusError::from_publish(&self.subject, &e))
    }
}

/// Wall-clock facts about a signal, sent as headers so the body stays a pure
/// function of the input.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// When the signal is published (Unix ms).
    pub produced_at_ms: i64,
    /// From receiving the candle's batch to publishing (µs).
    pub latency_us: u64,
}

/// Publishes to the signal and dead-letter streams.
#[derive(Debug, Clone)]
pub struct Publisher {
    js: jetstream::Context,
    signal_prefix: String,
    shadow_prefix: String,
    dlq_prefix: String,
    hash_prefix_len: usize,
    dlq_max_body_bytes: usize,
    encoding: Encoding,
}

impl Publisher {
    /// A publisher with the subjects and message-id length of the settings.
    pub fn new(connection: &super::Connection, nats: &NatsSettings) -> Self {
        Self {
            js: connection.jetstream().clone(),
            signal_prefix: nats.signal_subject_prefix.clone(),
            shadow_prefix: nats.shadow_subject_prefix.clone(),
            dlq_prefix: nats.dlq_subject_prefix.clone(),
            hash_prefix_len: nats.msg_id_hash_prefix_len,
            dlq_max_body_bytes: nats.dlq_max_body_bytes,
            encoding: Encoding::MessagePack,
        }
    }

    /// Sends a signal with `Nats-Msg-Id` = [`Signal::message_id`], so a
    /// redelivered candle never stores a second signal within the duplicate window.
    pub async fn signal(&self, signal: &Signal, timing: Timing) -> Result<Unconfirmed, BusError> {
        let subject = series_subject(
            &self.signal_prefix,
            &signal.exchange,
            &signal.symbol,
            &signal.interval,
        );
        self.send_signal(subject, signal, timing).await
    }

    /// Sends a shadow route's signal on `<shadow prefix>.<route>.<exchange>.<symbol>.<interval>`
    /// (the shadow stream; never a subject the signal stream captures), with the same body,
    /// headers and `Nats-Msg-Id` rule as a live signal.
    pub async fn shadow_signal(
        &self,
        route: &str,
        signal: &Signal,
        timing: Timing,
    ) -> Result<Unconfirmed, BusError> {
        let subject = series_subject(
            &format!("{}.{route}", self.shadow_prefix),
            &signal.exchange,
            &signal.symbol,
            &signal.interval,
        );
        self.send_signal(subject, signal, timing).await
    }

    async fn send_signal(
        &self,
        subject: String,
        signal: &Signal,
        timing: Timing,
    ) -> Result<Unconfirmed, BusError> {
        let body = codec::encode(signal, self.encoding).map_err(|e| BusError::Encode {
            subject: subject.clone(),
            message: e.to_string(),
        })?;
        let message = PublishMessage::build()
            .payload(body.into())
            .message_id(signal.message_id(self.hash_prefix_len))
            .header(headers::CONTENT_TYPE, self.encoding.content_type())
            .header(headers::PRODUCED_AT, timing.produced_at_ms.to_string())
            .header(headers::LATENCY_US, timing.latency_us.to_string());
        self.send(subject, message).await
    }

    /// Sends a dead letter on `dlq.<reason>`: the original bytes untouched (so
    /// it can be inspected or re-injected), its subject and stream sequence,
    /// and the `ErrorReply` as JSON in a header. Its `Nats-Msg-Id` is
    /// `dlq:<stream>:<sequence>`, so a redelivered bad candle is stored once.
    ///
    /// A body longer than `nats.dlq_max_body_bytes` keeps only that prefix, with its length
    /// and SHA-256 in headers: a candle just under the server's `max_payload` would otherwise
    /// make a dead letter (body plus headers) the server cannot take.
    pub async fn dead_letter(
        &self,
        delivered: &super::Delivered,
        rejection: &Rejection,
        now_ms: i64,
    ) -> Result<Unconfirmed, BusError> {
        let original = delivered.message();
        let subject = format!("{}.{}", self.dlq_prefix, rejection.code.as_str());
        let (stream, sequence) = match original.info() {
            Ok(info) => (info.stream.to_owned(), info.stream_sequence),
            Err(_) => (String::new(), 0),
        };
        let request_id = headers::get(original.headers.as_ref(), headers::MSG_ID)
            .filter(|id| id.len() <= MAX_COPIED_HEADER_BYTES)
            .map(str::to_owned)
            .or_else(|| Some(format!("{stream}:{sequence}")));
        let reply = rejection
            .to_reply(request_id, now_ms)
            .with_detail("subject", original.subject.as_str())
            .with_detail("stream_sequence", sequence);
        let reply_json = serde_json::to_string(&reply).map_err(|e| BusError::Encode {
            subject: subject.clone(),
            message: e.to_string(),
        })?;
        let body = &original.payload;
        let kept = body.len().min(self.dlq_max_body_bytes);
        let mut message = PublishMessage::build()
            .payload(body.slice(..kept))
            .message_id(format!("dlq:{stream}:{sequence}"))
            .header(headers::ORIGINAL_SUBJECT, original.subject.as_str())
            .header(headers::ORIGINAL_SEQUENCE, sequence.to_string())
            .header(headers::ERROR_CODE, rejection.code.as_str())
            .header(headers::ERROR_REPLY, reply_json);
        if kept < body.len() {
            message = message
                .header(headers::TRUNCATED, "true")
                .header(headers::ORIGINAL_LENGTH, body.len().to_string())
                .header(
                    headers::ORIGINAL_SHA256,
                    crate::model::digest::sha256_hex(body),
                );
        }
        if let Some(ct) = headers::get(original.headers.as_ref(), headers::CONTENT_TYPE) {
            // Only a well-formed, short value is copied: headers are the publisher's, and a
            // huge one would make the dead letter too large to store.
            if ct.len() <= MAX_COPIED_HEADER_BYTES {
                message = message.header(headers::CONTENT_TYPE, ct);
            }
        }
        self.send(subject, message).await
    }

    async fn send(
        &self,
        subject: String,
        message: PublishMessage,
    ) -> Result<Unconfirmed, BusError> {
        let ack = self
            .js
            .send_publish(subject.clone(), message)
            .await
            .map_err(|e| BusError::from_publish(&subject, &e))?;
        Ok(Unconfirmed { subject, ack })
    }
}
