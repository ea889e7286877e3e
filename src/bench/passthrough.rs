//! The ceiling `bench --passthrough` measures the worker against: a consumer that does only
//! what the bus demands and none of the worker's work.
//!
//! It opens the same durable consumer on the same candle stream as `serve` (so the bench waits
//! for it and feeds it exactly as it feeds the worker), and for every candle it fetches it
//! publishes one signal-sized message with a `Nats-Msg-Id` to the signal subject of that
//! candle's series, awaits the stream's acknowledgement and only then acks the candle. No
//! decoding, validation, features or inference: what is left is the round trips and the
//! server's storage, which bound any consumer of these streams on this machine. The loop has
//! the shape of the worker's own (fetch a batch, publish it, await its acks, ack it), so the
//! ratio of the two rates is what the worker's work costs.

use super::BenchError;
use crate::bus::consumer::CandleConsumer;
use crate::bus::headers;
use crate::bus::{BusError, Settle};
use crate::config::Settings;
use crate::runtime::shutdown::StopSignals;
use async_nats::jetstream::message::PublishMessage;

/// Suffix of the pass-through's message ids: `<candle's Nats-Msg-Id>:passthrough`, so the
/// bench's meter reads the candle's key from them as it does from a worker's signal ids.
const ID_SUFFIX: &str = "passthrough";

/// Runs the pass-through consumer until SIGTERM or SIGINT, publishing `payload_bytes` bytes per
/// candle (the size of the worker's signal for the same candle, measured by the bench).
pub async fn run(settings: &Settings, payload_bytes: usize) -> Result<(), BenchError> {
    let mut stop = StopSignals::install()
        .map_err(|e| BenchError::Worker(format!("cannot install signal handlers: {e}")))?;
    let nats = &settings.nats;
    let connection = crate::bus::Connection::open(nats, "signal-worker-passthrough").await?;
    let js = connection.jetstream();
    crate::bus::streams::ensure_streams(js, nats).await?;
    let intake = CandleConsumer::open(&connection, nats, &settings.serve).await?;
    let payload = bytes::Bytes::from(vec![0u8; payload_bytes]);
    let candle_prefix = format!("{}.", nats.candle_subject_prefix);
    loop {
        let batch = tokio::select! {
            batch = intake.fetch() => batch?,
            _ = stop.recv() => break,
        };
        let mut acks = Vec::with_capacity(batch.len());
        for delivered in &batch {
            let candle = delivered.message();
            let series = candle
                .subject
                .as_str()
                .strip_prefix(&candle_prefix)
                .unwrap_or(candle.subject.as_str());
            let subject = format!("{}.{series}", nats.signal_subject_prefix);
            let id = headers::get(candle.headers.as_ref(), headers::MSG_ID).unwrap_or_default();
            let message = PublishMessage::build()
                .payload(payload.clone())
                .message_id(format!("{id}:{ID_SUFFIX}"));
            let ack = js
                .send_publish(subject.clone(), message)
                .await
                .map_err(|e| BusError::from_publish(&subject, &e))?;
            acks.push((subject, ack));
        }
        for (subject, ack) in acks {
            ack.await
                .map_err(|e| BusError::from_publish(&subject, &e))?;
        }
        for candle in &batch {
            candle.settle(Settle::Done).await?;
        }
        connection.flush().await?;
    }
    connection.drain().await;
    Ok(())
}
