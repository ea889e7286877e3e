//! Reading what the streams already hold: each series' last signal, and the
//! candle history a warm start rebuilds series state from.

use super::BusError;
use super::Delivered;
use super::headers;
use crate::config::NatsSettings;
use crate::contract::Signal;
use crate::contract::codec::{self, Encoding};
use async_nats::jetstream::Message;
use async_nats::jetstream::consumer::{self, DeliverPolicy};
use futures::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

/// Per series (`exchange:symbol:interval`), the newest candle open time that
/// already has a signal in the signal stream.
pub type Covered = HashMap<String, i64>;

/// The key of [`Covered`] for a signal.
pub fn covered_key(exchange: &str, symbol: &str, interval: &str) -> String {
    let mut key = String::new();
    write_covered_key(&mut key, exchange, symbol, interval);
    key
}

/// [`covered_key`] written into `buf` (cleared first): the hot path looks a signal's series up
/// in [`Covered`] through one reused buffer instead of a new string per signal.
pub fn write_covered_key(buf: &mut String, exchange: &str, symbol: &str, interval: &str) {
    buf.clear();
    for (i, part) in [exchange, symbol, interval].into_iter().enumerate() {
        if i > 0 {
            buf.push(':');
        }
        buf.push_str(part);
    }
}

/// Which messages of the signal stream the start-up read believes: only this worker's own.
#[derive(Debug, Clone)]
pub struct Trust {
    /// Weights SHA-256 of the models whose signals count (the model in force, allow-listed ones).
    pub model_hashes: Vec<String>,
    /// The clock: a signal for a candle that opens later than this is forged.
    pub now_ms: i64,
}

impl Trust {
    /// Why `signal` (stored with message id `msg_id`) is not believed, or `None` if it is.
    ///
    /// A message anyone could have published to the signal stream would otherwise mute its
    /// series: a huge `open_time` makes every later candle look signalled already.
    pub fn doubt(
        &self,
        signal: &Signal,
        msg_id: Option<&str>,
        hash_prefix_len: usize,
    ) -> Option<&'static str> {
        if msg_id != Some(signal.message_id(hash_prefix_len).as_str()) {
            return Some("foreign_message_id");
        }
        if !self.model_hashes.iter().any(|h| *h == signal.model.sha256) {
            return Some("other_model");
        }
        if signal.open_time > self.now_ms {
            return Some("future_open_time");
        }
        None
    }
}

/// Reads the last signal of every signal subject (one per series), believing only what
/// `trust` does (the rest is counted and logged once per read).
///
/// The duplicate window alone cannot stop a second signal when a restart
/// outlasts it; this map can: a candle at or before its series' entry was
/// signalled already.
pub async fn last_signals(
    connection: &super::Connection,
    nats: &NatsSettings,
    trust: &Trust,
) -> Result<Covered, BusError> {
    let js = connection.jetstream();
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
    let mut ignored: HashMap<&'static str, u64> = HashMap::new();
    loop {
        let message = next(&mut messages, timeout, name).await?;
        let encoding = Encoding::from_content_type(headers::get(
            message.headers.as_ref(),
            headers::CONTENT_TYPE,
        ));
        let msg_id = headers::get(message.headers.as_ref(), headers::MSG_ID);
        let doubt = match codec::decode::<Signal>(&message.payload, encoding) {
            Ok(signal) => match trust.doubt(&signal, msg_id, nats.msg_id_hash_prefix_len) {
                None => {
                    let key = covered_key(&signal.exchange, &signal.symbol, &signal.interval);
                    let slot = covered.entry(key).or_insert(signal.open_time);
                    *slot = (*slot).max(signal.open_time);
                    None
                }
                Some(reason) => Some(reason),
            },
            Err(_) => Some("undecodable"),
        };
        if let Some(reason) = doubt {
            metrics::counter!(crate::telemetry::metrics::LAST_SIGNALS_IGNORED, "reason" => reason)
                .increment(1);
            *ignored.entry(reason).or_default() += 1;
        }
        let pending = message.info().map(|i| i.pending).unwrap_or(0);
        if pending == 0 {
            if !ignored.is_empty() {
                tracing::warn!(
                    ?ignored,
                    "signal-stream messages not written by this worker's models were ignored by the start-up read"
                );
            }
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
        connection: &super::Connection,
        nats: &NatsSettings,
        filter: Option<String>,
        after: u64,
        upto: u64,
        chunk: usize,
    ) -> Result<Option<Self>, BusError> {
        let js = connection.jetstream();
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
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<Delivered>>, BusError> {
        if self.done {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(self.chunk);
        while out.len() < self.chunk {
            let message =
                Delivered::from(next(&mut self.messages, self.timeout, &self.name).await?);
            let (Some(sequence), Some(pending)) = (message.sequence(), message.pending()) else {
                return Err(BusError::read(
                    &self.name,
                    "a history message without JetStream metadata",
                ));
            };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{ClassProbabilities, ModelRef, Side, Thresholds};

    fn signal(open_time: i64, sha256: &str) -> Signal {
        Signal {
            exchange: "coinbase".into(),
            symbol: "BTCUSD".into(),
            interval: "1h".into(),
            open_time,
            side: Side::Neutral,
            confidence: 0.5,
            probabilities: ClassProbabilities {
                long: 0.25,
                short: 0.25,
                neutral: 0.5,
            },
            model: ModelRef {
                name: "default".into(),
                version: "1".into(),
                sha256: sha256.into(),
            },
            thresholds: Thresholds {
                min_confidence: 0.0,
            },
        }
    }

    #[test]
    fn only_this_workers_own_signals_are_believed() {
        let ours = "a".repeat(64);
        let trust = Trust {
            model_hashes: vec![ours.clone()],
            now_ms: 10_000_000,
        };
        let good = signal(3_600_000, &ours);
        let id = good.message_id(12);
        assert_eq!(trust.doubt(&good, Some(&id), 12), None);
        assert_eq!(trust.doubt(&good, None, 12), Some("foreign_message_id"));
        assert_eq!(
            trust.doubt(&good, Some("forged"), 12),
            Some("foreign_message_id")
        );
        let other = signal(3_600_000, &"b".repeat(64));
        let other_id = other.message_id(12);
        assert_eq!(
            trust.doubt(&other, Some(&other_id), 12),
            Some("other_model")
        );
        let future = signal(i64::MAX / 2, &ours);
        let future_id = future.message_id(12);
        assert_eq!(
            trust.doubt(&future, Some(&future_id), 12),
            Some("future_open_time")
        );
    }
}
