//! A candle as the bus delivered it, and how its outcome is settled with the server.
//!
//! The runtime sees only this type: the bytes and subject the pipeline decodes, the stream
//! position the intake orders by, and the three ways a candle is settled once its outcome is
//! durable (ack, terminate, hand back). Everything NATS-specific — the JetStream reply subject
//! its metadata is parsed from, the pin header, the ack protocol — stays here.

use super::{BusError, headers};
use crate::contract::codec::Encoding;
use crate::core::pipeline::Input;
use async_nats::jetstream::{AckKind, Message};

/// One delivered candle with its JetStream metadata read once (the reply subject is parsed at
/// delivery, not at every look).
#[derive(Debug)]
pub struct Delivered {
    message: Message,
    sequence: Option<u64>,
    stored_at_ms: Option<i64>,
    pending: Option<u64>,
}

impl From<Message> for Delivered {
    fn from(message: Message) -> Self {
        let info = message.info().ok();
        let sequence = info.as_ref().map(|i| i.stream_sequence);
        let pending = info.as_ref().map(|i| i.pending);
        let stored_at_ms =
            info.and_then(|i| i64::try_from(i.published.unix_timestamp_nanos() / 1_000_000).ok());
        Self {
            message,
            sequence,
            stored_at_ms,
            pending,
        }
    }
}

impl Delivered {
    /// The pipeline input: body, encoding (from `Content-Type`) and subject.
    pub fn input(&self) -> Input<'_> {
        Input {
            bytes: &self.message.payload,
            encoding: Encoding::from_content_type(headers::get(
                self.message.headers.as_ref(),
                headers::CONTENT_TYPE,
            )),
            subject: Some(self.message.subject.as_str()),
        }
    }

    /// The stream sequence; `None` when the JetStream metadata cannot be read (then the candle
    /// is processed like a new one, never acked unprocessed as "already seen").
    pub fn sequence(&self) -> Option<u64> {
        self.sequence
    }

    /// When the stream stored the candle (Unix ms): what candles are judged by, live and in a
    /// replay alike, so a restart rebuilds the state the uninterrupted run built.
    pub fn stored_at_ms(&self) -> Option<i64> {
        self.stored_at_ms
    }

    /// Messages still pending behind this one on its consumer (from its metadata).
    pub(crate) fn pending(&self) -> Option<u64> {
        self.pending
    }

    /// The pin a partition consumer delivered it under (`Nats-Pin-Id`), if any: a change of
    /// pin is how a worker learns it has just been handed the partition.
    pub fn pin(&self) -> Option<&str> {
        headers::get(self.message.headers.as_ref(), headers::PIN_ID)
    }

    /// The message the bus received, for the bus's own use (dead letters copy its body and
    /// headers; the pass-through bench republishes it).
    pub(crate) fn message(&self) -> &Message {
        &self.message
    }

    /// Settles the candle: its outcome is durable (`Settle::Done`), it can never have one
    /// (`Settle::Terminate`), or it goes back for redelivery (`Settle::Retry`).
    pub async fn settle(&self, how: Settle) -> Result<(), BusError> {
        let kind = match how {
            Settle::Done => AckKind::Ack,
            Settle::Terminate => AckKind::Term,
            Settle::Retry => AckKind::Nak(None),
        };
        self.message
            .ack_with(kind)
            .await
            .map_err(|e| BusError::publish("ack", e))
    }
}

/// How a delivered candle is settled with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Its outcome is durable: never deliver it again.
    Done,
    /// It has no storable outcome (its dead letter was refused for good): never again either.
    Terminate,
    /// Nothing durable came of it: deliver it again (the task restarts and rebuilds state).
    Retry,
}
