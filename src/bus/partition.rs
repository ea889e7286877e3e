//! One partition of the candle stream: its durable consumer, pulled in a priority group with
//! the pinned-client policy, so that the server delivers a partition to one worker at a time.
//!
//! Every worker pulls every partition it serves; the server pins one of them per partition
//! (each delivered message carries the pin in its `Nats-Pin-Id` header) and keeps the others on
//! standby. When the pinned worker stops pulling for `serve.pinned_ttl_ms` (it died, or hung),
//! the server pins a standby, whose messages then carry a new pin id: that change is how a
//! worker knows it has just taken a partition over and must rebuild its state first.
//!
//! Unlike the single intake, a partition consumer is never deleted or repositioned: standbys
//! hold pull requests on it. The new owner instead reads what its predecessor left in flight
//! straight from the stream (see `runtime::partitions`).

use super::BusError;
use super::Delivered;
use crate::config::{NatsSettings, ServeSettings};
use async_nats::jetstream::Message;
use async_nats::jetstream::consumer::pull::MessagesErrorKind;
use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy, PriorityPolicy};
use futures::{FutureExt, StreamExt};
use std::time::Duration;

/// Where the consumer stands: what a taking-over worker must rebuild and catch up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Every candle of the partition at or below this stream sequence has a durable outcome.
    pub ack_floor: u64,
    /// The highest stream sequence the consumer has delivered (to any worker).
    pub delivered: u64,
}

/// What the server says about a partition's consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// The pin id the server holds for the workers' group (`None`: nobody is pinned).
    pub pinned: Option<String>,
    /// Pull requests waiting on the consumer: about one per worker pulling the partition.
    pub waiting: usize,
}

/// The pull stream of one partition's durable consumer, in the workers' priority group.
pub struct PartitionIntake {
    /// The partition number.
    pub partition: u32,
    consumer: consumer::PullConsumer,
    /// `None` while pulling is paused (the partition was handed over).
    messages: Option<consumer::pull::Stream>,
    paused_until: Option<tokio::time::Instant>,
    name: String,
    group: String,
    batch_size: usize,
    max_wait: Duration,
    expires: Duration,
    /// How long management calls are tried again through a leader election.
    bound: Duration,
}

/// How long an idempotent JetStream call is tried again while a cluster elects a leader.
fn election_bound(nats: &NatsSettings) -> Duration {
    Duration::from_millis(nats.request_timeout_ms.saturating_mul(6))
}

impl std::fmt::Debug for PartitionIntake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionIntake")
            .field("partition", &self.partition)
            .field("consumer", &self.name)
            .finish_non_exhaustive()
    }
}

/// The durable consumer name of a partition: `<serve.durable>-p<partition>`.
pub fn consumer_name(serve: &ServeSettings, partition: u32) -> String {
    format!("{}-p{partition}", serve.durable)
}

/// The subjects of a partition's stored candles: `<candle_subject_prefix>.<partition>.>`.
pub fn filter_subject(nats: &NatsSettings, partition: u32) -> String {
    format!("{}.{partition}.>", nats.candle_subject_prefix)
}

impl PartitionIntake {
    /// Creates the partition's durable consumer if missing (idempotent: every worker calls it
    /// with the same configuration) and starts pulling in the priority group, on standby until
    /// the server pins this worker.
    pub async fn open(
        connection: &super::Connection,
        nats: &NatsSettings,
        serve: &ServeSettings,
        partition: u32,
    ) -> Result<Self, BusError> {
        let js = connection.jetstream();
        let name = consumer_name(serve, partition);
        let config = consumer::pull::Config {
            durable_name: Some(name.clone()),
            description: Some(format!(
                "signal-worker candle intake, partition {partition}"
            )),
            filter_subject: filter_subject(nats, partition),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: Duration::from_millis(serve.ack_wait_ms),
            max_ack_pending: serve.max_ack_pending,
            priority_policy: PriorityPolicy::PinnedClient,
            priority_groups: vec![serve.priority_group.clone()],
            priority_timeout: Duration::from_millis(serve.pinned_ttl_ms),
            // As many copies as its stream: a cluster node lost loses no ack state.
            num_replicas: nats.replicas,
            ..Default::default()
        };
        // Idempotent (the same configuration every time), so tried again through an election.
        let bound = election_bound(nats);
        let consumer =
            super::retry::through_elections("open partition consumer", bound, || async {
                let stream = js
                    .get_stream(&nats.candles_stream)
                    .await
                    .map_err(|e| BusError::api("get stream", &nats.candles_stream, e))?;
                stream
                    .create_consumer(config.clone())
                    .await
                    .map_err(|e| BusError::api("create consumer", &name, e))
            })
            .await?;
        let mut intake = Self {
            partition,
            consumer,
            messages: None,
            paused_until: None,
            name,
            group: serve.priority_group.clone(),
            batch_size: serve.batch_size,
            max_wait: Duration::from_millis(serve.max_wait_ms),
            // Pull requests expire well inside the pin's lifetime, so a live worker renews its
            // pin long before the server could hand the partition to a standby.
            expires: Duration::from_millis(serve.pinned_ttl_ms / 4),
            bound,
        };
        intake.pull().await?;
        Ok(intake)
    }

    /// Starts pulling in the priority group (on standby until the server pins this worker).
    async fn pull(&mut self) -> Result<(), BusError> {
        let messages = self
            .consumer
            .stream()
            .group(self.group.clone())
            .max_messages_per_batch(self.batch_size)
            .expires(self.expires)
            .heartbeat(self.expires / 4)
            .messages()
            .await
            .map_err(|e| BusError::read(&self.name, e))?;
        tracing::debug!(consumer = %self.name, partition = self.partition, "pulling partition (standby until pinned)");
        self.messages = Some(messages);
        self.paused_until = None;
        Ok(())
    }

    /// Stops pulling for `pause`: the pin expires after the consumer's priority timeout and a
    /// standby worker takes the partition over. Pulling resumes, on standby, after the pause.
    pub fn hand_over(&mut self, pause: Duration) {
        self.messages = None;
        self.paused_until = Some(tokio::time::Instant::now() + pause);
    }

    /// The next batch: waits up to `max_wait` for one candle, then takes every candle already
    /// received, up to `batch_size` (empty: nothing arrived, or this worker is on standby).
    pub async fn next_batch(&mut self) -> Result<Vec<Delivered>, BusError> {
        if let Some(until) = self.paused_until {
            if tokio::time::Instant::now() < until {
                tokio::time::sleep(self.max_wait).await;
                return Ok(Vec::new());
            }
            self.pull().await?;
        }
        let Some(messages) = self.messages.as_mut() else {
            return Ok(Vec::new());
        };
        let first = match tokio::time::timeout(self.max_wait, messages.next()).await {
            Err(_) => return Ok(Vec::new()),
            Ok(Some(Err(e))) if e.kind() == MessagesErrorKind::MissingHeartbeat => {
                // The connection was lost or the consumer changed leader: the pull stream
                // pulls again by itself once connected (with this worker's pin), so this is
                // not a failure of the partition.
                tracing::info!(consumer = %self.name, "missed an idle heartbeat; the pull goes on");
                metrics::counter!(crate::telemetry::metrics::PULL_HEARTBEATS_MISSED).increment(1);
                return Ok(Vec::new());
            }
            Ok(first) => first,
        };
        let mut out = Vec::with_capacity(self.batch_size);
        out.push(take(&self.name, first)?);
        while out.len() < self.batch_size {
            match messages.next().now_or_never() {
                Some(next) => out.push(take(&self.name, next)?),
                None => break,
            }
        }
        Ok(out)
    }

    /// The consumer's ack floor and last delivered sequence, read from the server.
    pub async fn position(&mut self) -> Result<Position, BusError> {
        let info = self.info().await?;
        Ok(Position {
            ack_floor: info.ack_floor.stream_sequence,
            delivered: info.delivered.stream_sequence,
        })
    }

    /// Who holds the pin and how many workers pull the partition, read from the server.
    pub async fn standing(&mut self) -> Result<Standing, BusError> {
        let info = self.info().await?;
        Ok(Standing {
            pinned: info
                .priority_groups
                .iter()
                .find(|g| g.group == self.group)
                .and_then(|g| g.pinned_client_id.clone()),
            waiting: info.num_waiting,
        })
    }

    /// The consumer's state from the server, tried again through a leader election.
    async fn info(&mut self) -> Result<consumer::Info, BusError> {
        let (consumer, name) = (&self.consumer, &self.name);
        super::retry::through_elections("consumer info", self.bound, || async {
            consumer
                .get_info()
                .await
                .map_err(|e| BusError::api("consumer info", name, e))
        })
        .await
    }
}

fn take(
    name: &str,
    next: Option<Result<Message, consumer::pull::MessagesError>>,
) -> Result<Delivered, BusError> {
    match next {
        Some(Ok(message)) => Ok(Delivered::from(message)),
        Some(Err(e)) => Err(BusError::read(name, e)),
        None => Err(BusError::read(name, "pull stream ended")),
    }
}
