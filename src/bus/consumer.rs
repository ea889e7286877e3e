//! The durable pull consumer the candles come in through.
//!
//! Ordering is the point: per-series state needs every candle exactly once,
//! in stream order. So each (re)start positions the consumer right after its
//! ack floor (everything at or below it has a durable outcome and is rebuilt
//! into state by the warm start), and the worker processes fetched batches in
//! order, each one's outcomes sent only once the previous one is durable.

use super::BusError;
use super::Delivered;
use crate::config::{NatsSettings, ServeSettings};
use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::context::ConsumerInfoErrorKind;
use futures::StreamExt;
use std::time::Duration;

/// Whether some worker is using the durable consumer described by `info`: it has a pull
/// waiting, or it delivered or was acked within `idle` (a live worker always has one or the
/// other; a dead one's last pull expires within `serve.max_wait_ms`).
/// Consumer metadata a worker leaves when it stops cleanly: the ack floor it released the
/// durable at. A successor that finds the floor unchanged and nothing delivered since takes the
/// durable over at once instead of waiting `serve.standby_idle_ms` for it to look idle.
const RELEASED_AT: &str = "signal-worker-released-at";

/// Whether the last worker on this durable released it and nothing happened on it since.
fn released(info: &consumer::Info) -> bool {
    let floor = info.ack_floor.stream_sequence;
    info.config
        .metadata
        .get(RELEASED_AT)
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|at| at == floor && info.delivered.stream_sequence == floor)
}

fn in_use(info: &consumer::Info, idle: Duration) -> bool {
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    let recent = |at: Option<&async_nats::jetstream::consumer::SequenceInfo>| {
        at.and_then(|s| s.last_active)
            .is_some_and(|t| now_ns - t.unix_timestamp_nanos() < idle.as_nanos() as i128)
    };
    info.num_waiting > 0 || recent(Some(&info.delivered)) || recent(Some(&info.ack_floor))
}

/// The candle consumer, positioned after its ack floor.
#[derive(Debug)]
pub struct CandleConsumer {
    consumer: PullConsumer,
    /// Highest stream sequence whose outcome is durable (the ack floor found
    /// at start); the warm start rebuilds state up to here.
    pub ack_floor: u64,
    name: String,
    batch_size: usize,
    /// `serve.max_ack_pending`: most candles delivered and not acked at once.
    max_ack_pending: usize,
    max_wait: Duration,
    request_timeout: Duration,
}

impl CandleConsumer {
    /// Opens the durable consumer, resetting its position to just after its
    /// ack floor.
    ///
    /// Messages that an earlier process had delivered but not acked would
    /// otherwise come back only after `ack_wait`, behind newer ones, and
    /// arrive out of order. Recreating the consumer at `ack_floor + 1` makes
    /// them the next ones delivered. One worker owns one durable consumer
    /// (run more workers on partitions, each with its own durable).
    pub async fn open(
        connection: &super::Connection,
        nats: &NatsSettings,
        serve: &ServeSettings,
    ) -> Result<Self, BusError> {
        let js = connection.jetstream();
        let name = serve.durable.clone();
        let stream = js
            .get_stream(&nats.candles_stream)
            .await
            .map_err(|e| BusError::api("get stream", &nats.candles_stream, e))?;
        let idle = Duration::from_millis(serve.standby_idle_ms);
        let mut standing_by = false;
        let ack_floor = loop {
            match stream.consumer_info(&name).await {
                // Another worker is pulling from this durable (a rolling deploy, a second
                // worker started by mistake): recreating the consumer under it would run two
                // workers on overlapping candles. Wait as a standby until it has gone quiet —
                // unless the last worker released it when it stopped.
                Ok(info) if !released(&info) && in_use(&info, idle) => {
                    if !standing_by {
                        standing_by = true;
                        tracing::warn!(consumer = %name, waiting_pulls = info.num_waiting, "durable consumer in use by another worker; standing by until it is idle");
                    }
                    tokio::time::sleep(idle / 4).await;
                }
                Ok(info) => {
                    let floor = info.ack_floor.stream_sequence;
                    if released(&info) {
                        tracing::info!(consumer = %name, ack_floor = floor, "durable consumer released by its last worker; taking it over at once");
                    }
                    stream
                        .delete_consumer(&name)
                        .await
                        .map_err(|e| BusError::api("delete consumer", &name, e))?;
                    break floor;
                }
                Err(e) if e.kind() == ConsumerInfoErrorKind::NotFound => break 0,
                Err(e) => return Err(BusError::api("consumer info", &name, e)),
            }
        };
        if standing_by {
            tracing::info!(consumer = %name, "durable consumer idle; taking it over");
        }
        let deliver_policy = if ack_floor == 0 {
            DeliverPolicy::All
        } else {
            DeliverPolicy::ByStartSequence {
                start_sequence: ack_floor + 1,
            }
        };
        let consumer = stream
            .create_consumer(consumer::pull::Config {
                durable_name: Some(name.clone()),
                description: Some("signal-worker candle intake".into()),
                deliver_policy,
                // Cumulative: the intake acks each batch's highest sequence once the whole batch
                // is durable, one ack a batch instead of one a candle.
                ack_policy: AckPolicy::All,
                ack_wait: Duration::from_millis(serve.ack_wait_ms),
                max_ack_pending: serve.max_ack_pending,
                // As many copies as its stream: a cluster node lost loses no ack state.
                num_replicas: nats.replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| BusError::api("create consumer", &name, e))?;
        tracing::info!(consumer = %name, ack_floor, "candle consumer positioned after its ack floor");
        Ok(Self {
            consumer,
            ack_floor,
            name,
            batch_size: serve.batch_size,
            max_ack_pending: usize::try_from(serve.max_ack_pending).unwrap_or(0),
            max_wait: Duration::from_millis(serve.max_wait_ms),
            request_timeout: Duration::from_millis(nats.request_timeout_ms),
        })
    }

    /// After the last batch is settled and flushed: records on the consumer that this worker
    /// released it at its ack floor, so a successor (a restart, the next process of a rolling
    /// deploy) takes over without waiting for the durable to look idle. Not recorded when
    /// something delivered is still unacked — the successor then waits, as after a crash.
    pub async fn release(&self, js: &super::Connection) -> Result<bool, BusError> {
        let mut consumer = self.consumer.clone();
        let info = consumer
            .info()
            .await
            .map_err(|e| BusError::api("consumer info", &self.name, e))?
            .clone();
        let floor = info.ack_floor.stream_sequence;
        if info.delivered.stream_sequence != floor {
            return Ok(false);
        }
        let mut config = info.config;
        config
            .metadata
            .insert(RELEASED_AT.into(), floor.to_string());
        js.jetstream()
            .update_consumer_on_stream(config, &info.stream_name)
            .await
            .map_err(|e| BusError::api("update consumer", &self.name, e))?;
        Ok(true)
    }

    /// Fetches the next batch: every candle already waiting, up to `batch_size`, at once; when
    /// none is, waits up to `max_wait` for the first one (an empty batch means nothing arrived).
    ///
    /// Batches size themselves to the load: under a flood candles pile up while the previous
    /// batch is processed and the next one is full; when the flow is light a candle is
    /// processed the moment it arrives rather than after waiting for a batch to fill (which
    /// bounded latency by the fill time: 51 ms for 256 candles at 5,000 candles/s).
    pub async fn fetch(&self) -> Result<Vec<Delivered>, BusError> {
        // A pull request written to a socket that died under it is never answered, and the
        // client would wait for it for good: bounded, a lost pull fails the cycle instead
        // (the task restarts and repositions the consumer), and the intake never wedges.
        let limit = self.max_wait + self.request_timeout;
        match tokio::time::timeout(limit, self.fetch_unbounded()).await {
            Ok(result) => result,
            Err(_) => Err(BusError::read(
                &self.name,
                format!("no answer to a pull within {limit:?}"),
            )),
        }
    }

    /// The candles already waiting, up to `batch_size`, at once; empty when none is. What the
    /// intake takes while a batch of its own is still being stored: it never waits for a candle
    /// then, it finishes that batch first.
    ///
    /// `unacked` is how many candles the intake holds delivered and not yet acked (the batch in
    /// flight): the pull asks only for what `serve.max_ack_pending` leaves beside them, since the
    /// server leaves a pull past that limit unanswered.
    pub async fn fetch_ready(&self, unacked: usize) -> Result<Vec<Delivered>, BusError> {
        let room = self.max_ack_pending.saturating_sub(unacked);
        // Bounded for the same reason as `fetch`.
        match tokio::time::timeout(self.request_timeout, self.waiting(room)).await {
            Ok(result) => result,
            Err(_) => Err(BusError::read(
                &self.name,
                format!("no answer to a pull within {:?}", self.request_timeout),
            )),
        }
    }

    async fn fetch_unbounded(&self) -> Result<Vec<Delivered>, BusError> {
        let out = self.waiting(self.batch_size).await?;
        if !out.is_empty() {
            return Ok(out);
        }
        let first = self
            .consumer
            .batch()
            .max_messages(1)
            .expires(self.max_wait)
            .messages()
            .await
            .map_err(|e| BusError::read(&self.name, e))?;
        self.collect(first).await
    }

    /// The candles already waiting, up to `limit` and `batch_size` (none asked for at 0).
    async fn waiting(&self, limit: usize) -> Result<Vec<Delivered>, BusError> {
        let limit = limit.min(self.batch_size);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let waiting = self
            .consumer
            .fetch()
            .max_messages(limit)
            .messages()
            .await
            .map_err(|e| BusError::read(&self.name, e))?;
        self.collect(waiting).await
    }

    async fn collect(&self, mut batch: consumer::pull::Batch) -> Result<Vec<Delivered>, BusError> {
        let mut out = Vec::with_capacity(self.batch_size);
        while let Some(message) = batch.next().await {
            out.push(Delivered::from(
                message.map_err(|e| BusError::read(&self.name, e))?,
            ));
        }
        Ok(out)
    }
}
