//! Publishing the bench's candles through JetStream, with a bounded number of
//! acknowledgements outstanding.
//!
//! Each candle goes out exactly as the trading engine would send it
//! (MessagePack, `Nats-Msg-Id` = `<exchange>:<symbol>:<interval>:<open_time>`)
//! and counts only once its stream has acknowledged it. Pipelining up to
//! `in_flight` publishes keeps the server busy without unbounded memory; when
//! the window is full the bench waits for the oldest ack, which is how "as
//! fast as the worker takes them" is bounded by what the server can store.

use super::{BenchError, CandleKey};
use crate::bus::{BusError, headers};
use crate::contract::CandleMessage;
use crate::contract::codec::{self, Encoding};
use crate::contract::subject::series_subject;
use async_nats::jetstream::{self, context::PublishAckFuture, message::PublishMessage};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// What a phase published.
#[derive(Debug, Default)]
pub struct Sent {
    /// When each candle was handed to the client.
    pub at: HashMap<CandleKey, Instant>,
    /// When the first candle was handed to the client.
    pub first: Option<Instant>,
    /// When the stream acknowledged the last one.
    pub acked: Option<Instant>,
}

/// Publishes candles to `<prefix>.<exchange>.<symbol>.<interval>`.
#[derive(Debug, Clone)]
pub struct CandlePublisher {
    js: jetstream::Context,
    prefix: String,
    in_flight: usize,
}

impl CandlePublisher {
    /// A publisher with at most `in_flight` (>= 1) acknowledgements outstanding.
    pub fn new(js: jetstream::Context, prefix: &str, in_flight: usize) -> Self {
        Self {
            js,
            prefix: prefix.to_owned(),
            in_flight: in_flight.max(1),
        }
    }

    /// Publishes every candle, in order; with `rate` (candles/s) candle `k`
    /// is sent no earlier than `k / rate` s after the first, otherwise as fast
    /// as the acknowledgement window allows. Returns once every publish is acked.
    pub async fn publish(
        &self,
        candles: impl Iterator<Item = (CandleKey, CandleMessage)>,
        rate: Option<f64>,
    ) -> Result<Sent, BenchError> {
        let mut sent = Sent::default();
        let mut window: VecDeque<(String, PublishAckFuture)> =
            VecDeque::with_capacity(self.in_flight);
        let mut start: Option<Instant> = None;
        for (k, (key, candle)) in candles.enumerate() {
            if let (Some(rate), Some(start)) = (rate, start) {
                // Pace against the schedule, not the previous send, so timer
                // granularity never lowers the average rate.
                let due = start + Duration::from_secs_f64(k as f64 / rate);
                if due > Instant::now() {
                    tokio::time::sleep_until(due.into()).await;
                }
            }
            let subject = series_subject(
                &self.prefix,
                &candle.exchange,
                &candle.symbol,
                &candle.interval,
            );
            let body =
                codec::encode(&candle, Encoding::MessagePack).map_err(|e| BusError::Encode {
                    subject: subject.clone(),
                    message: e.to_string(),
                })?;
            let message = PublishMessage::build()
                .payload(body.into())
                .message_id(format!(
                    "{}:{}:{}:{}",
                    candle.exchange, candle.symbol, candle.interval, candle.open_time
                ))
                .header(headers::CONTENT_TYPE, Encoding::MessagePack.content_type());
            let now = Instant::now();
            start.get_or_insert(now);
            sent.first.get_or_insert(now);
            sent.at.insert(key, now);
            let ack = self
                .js
                .send_publish(subject.clone(), message)
                .await
                .map_err(|e| BusError::publish(&subject, e))?;
            window.push_back((subject, ack));
            if window.len() >= self.in_flight {
                confirm_oldest(&mut window).await?;
            }
        }
        while !window.is_empty() {
            confirm_oldest(&mut window).await?;
        }
        sent.acked = Some(Instant::now());
        Ok(sent)
    }
}

/// Waits for the oldest outstanding acknowledgement. A duplicate ack would
/// mean the server already held this candle; [`super::run`] refuses a server
/// holding the bench's subjects, so it is an error here.
async fn confirm_oldest(
    window: &mut VecDeque<(String, PublishAckFuture)>,
) -> Result<(), BenchError> {
    if let Some((subject, ack)) = window.pop_front() {
        let ack = ack.await.map_err(|e| BusError::publish(&subject, e))?;
        if ack.duplicate {
            return Err(BenchError::Dirty { subject });
        }
    }
    Ok(())
}
