//! Reading what the streams already hold: each series' last signal, and the
//! candle history a warm start rebuilds series state from.

use super::BusError;
use super::headers;
use crate::config::NatsSettings;
use crate::contract::Signal;
use crate::contract::codec::{self, Encoding};
use async_nats::jetstream::consumer::{self, DeliverPolicy};
use async_nats::jetstream::{self, Message};
use futures::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

/// Per series (`exchange:symbol:interval`), the newest candle open time that
/// already has a signal in the signal stream.
pub type Covered = HashMap<String, i64>;

/// The key of [`Covered`] for a signal.
pub fn covered_key(exchange: &str, symbol: &str, interval: &str) -> String {
    format!("{exchange}:{symbol}:{interval}")
}

/// Reads the last signal of every signal subject (one per series).
///
/// The duplicate window alone cannot stop a second signal when a restart
/// outlasts it; this map can: a candle at or before its series' entry was
/// signalled already.
pub async fn last_signals(
    js: &jetstream::Context,
    nats: &NatsSettings,
) -> Result<Covered, BusError> {
    let name = &nats.signals_stream;
    let mut stream = js
        .get_stream(name)
        .await
        .map_err(|e| BusError::api("get stream", name, e))?;
    let mut covered = Covered::new();
    let info = stream
        .info()
        .await
        .map_err(|e| BusError::api("stream info", name, e))?;
    if info.state.messages == 0 {
        return Ok(covered);
    }
    let mut messages = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: DeliverPolicy::LastPerSubject,
            filter_subject: format!("{}.>", nats.signal_subject_prefix),
            ..Default::default()
        })
        .await
        .map_err(|e| BusError::api("create ordered consumer", name, e))?
        .messages()
        .await
        .map_err(|e| BusError::read(name, e))?;
    let timeout = Duration::from_millis(nats.request_timeout_ms);
    loop {
        let message = next(&mut messages, timeout, name).await?;
        let encoding = Encoding::from_content_type(headers::get(
            message.headers.as_ref(),
            headers::CONTENT_TYPE,
        ));
        match codec::decode::<Signal>(&message.payload, encoding) {
            Ok(signal) => {
                let key = covered_key(&signal.exchange, &signal.symbol, &signal.interval);
                let slot = covered.entry(key).or_insert(signal.open_time);
                *slot = (*slot).max(signal.open_time);
            }
            Err(e) => {
                tracing::warn!(subject = %message.subject, error = %e, "undecodable message in the signal stream; ignored");
            }
        }
        let pending = message.info().map(|i| i.pending).unwrap_or(0);
        if pending == 0 {
            return Ok(covered);
        }
    }
}

/// Candle history in stream order, from the first stored message (or the one after a
/// checkpoint) up to a sequence (inclusive), in chunks.
pub struct History {
    messages: consumer::pull::Ordered,
    upto: u64,
    done: bool,
    chunk: usize,
    timeout: Duration,
    name: String,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("upto", &self.upto)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl History {
    /// Opens an ordered (ephemeral) consumer over the candle stream, reading the messages
    /// after sequence `after` (0: from the first stored) up to `upto`. `upto` is usually the
    /// durable consumer's ack floor: everything at or below it has a durable outcome already.
    /// `None` when there is nothing to read.
    /// `filter` restricts it to one partition's subjects (`None`: the whole stream).
    pub async fn open(
        js: &jetstream::Context,
        nats: &NatsSettings,
        filter: Option<String>,
        after: u64,
        upto: u64,
        chunk: usize,
    ) -> Result<Option<Self>, BusError> {
        let name = &nats.candles_stream;
        let mut stream = js
            .get_stream(name)
            .await
            .map_err(|e| BusError::api("get stream", name, e))?;
        let info = stream
            .info()
            .await
            .map_err(|e| BusError::api("stream info", name, e))?;
        if upto <= after || info.state.messages == 0 || info.state.first_sequence > upto {
            return Ok(None);
        }
        let deliver_policy = match after {
            0 => DeliverPolicy::All,
            after => DeliverPolicy::ByStartSequence {
                start_sequence: after + 1,
            },
        };
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy,
                filter_subject: filter.unwrap_or_default(),
                ..Default::default()
            })
            .await
            .map_err(|e| BusError::api("create ordered consumer", name, e))?;
        // A partition may hold nothing in the range: waiting for its first message would only
        // time out.
        if consumer.cached_info().num_pending == 0 {
            return Ok(None);
        }
        let messages = consumer
            .messages()
            .await
            .map_err(|e| BusError::read(name, e))?;
        Ok(Some(Self {
            messages,
            upto,
            done: false,
            chunk,
            timeout: Duration::from_millis(nats.request_timeout_ms),
            name: name.clone(),
        }))
    }

    /// The next chunk (at most `chunk` messages), or `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<Message>>, BusError> {
        if self.done {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(self.chunk);
        while out.len() < self.chunk {
            let message = next(&mut self.messages, self.timeout, &self.name).await?;
            let info = message.info().map_err(|e| BusError::read(&self.name, e))?;
            let (sequence, pending) = (info.stream_sequence, info.pending);
            if sequence > self.upto {
                self.done = true;
                break;
            }
            out.push(message);
            if sequence == self.upto || pending == 0 {
                self.done = true;
                break;
            }
        }
        Ok(if out.is_empty() { None } else { Some(out) })
    }
}

/// The next message of an ordered consumer, or an error after `timeout`
/// (the caller knows more is stored, so silence means trouble).
async fn next(
    messages: &mut consumer::pull::Ordered,
    timeout: Duration,
    name: &str,
) -> Result<Message, BusError> {
    match tokio::time::timeout(timeout, messages.next()).await {
        Ok(Some(Ok(message))) => Ok(message),
        Ok(Some(Err(e))) => Err(BusError::read(name, e)),
        Ok(None) => Err(BusError::read(name, "ordered consumer ended")),
        Err(_) => Err(BusError::read(
            name,
            format!("no message within {timeout:?}"),
        )),
    }
}
