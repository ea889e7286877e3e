//! Header names the worker reads and writes (the wire contract beside the bodies).

/// JetStream's de-duplication id.
pub const MSG_ID: &str = "Nats-Msg-Id";
/// The pin a partition consumer's priority group delivered a message under.
pub const PIN_ID: &str = "Nats-Pin-Id";
/// The body encoding (`application/msgpack` or `application/json`).
pub const CONTENT_TYPE: &str = "Content-Type";
/// When the signal was produced (Unix ms, UTC): wall clock, so not in the body.
pub const PRODUCED_AT: &str = "Produced-At";
/// Time from receiving the candle's batch to publishing its signal (µs).
pub const LATENCY_US: &str = "Latency-Us";
/// The subject a dead-lettered message arrived on.
pub const ORIGINAL_SUBJECT: &str = "Original-Subject";
/// The stream sequence of a dead-lettered message in its stream.
pub const ORIGINAL_SEQUENCE: &str = "Original-Stream-Seq";
/// Length in bytes of a dead-lettered body when the dead letter keeps only a prefix of it.
pub const ORIGINAL_LENGTH: &str = "Original-Length";
/// SHA-256 (hex) of the whole dead-lettered body when the dead letter keeps only a prefix.
pub const ORIGINAL_SHA256: &str = "Original-Sha256";
/// `true` when the dead letter's payload is a prefix of the original body.
pub const TRUNCATED: &str = "Truncated";
/// The `ErrorReply` (JSON) of a dead letter.
pub const ERROR_REPLY: &str = "Error-Reply";
/// The reason code of a dead letter (also its subject's last token).
pub const ERROR_CODE: &str = "Error-Code";
/// Where a JetStream-persisted request wants its answer: the message's own
/// reply subject is JetStream's ack subject, so the requester's inbox has to
/// travel in a header.
pub const REPLY_TO: &str = "Reply-To";

/// The value of header `name`, if present and valid UTF-8.
pub fn get<'a>(headers: Option<&'a async_nats::HeaderMap>, name: &str) -> Option<&'a str> {
    headers?.get(name).map(|v| v.as_str())
}
