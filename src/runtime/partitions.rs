//! The candle intake of a partitioned stream: one task per partition, each owning the
//! partition only while the server pins this worker to it.
//!
//! Ownership changes are read off the `Nats-Pin-Id` every delivered message carries. Messages
//! under a pin this task does not own mean the partition has just been handed to it — at start,
//! after a task restart, or because the previous owner died. The task then takes over before
//! processing anything:
//!
//! 1. reads the consumer's ack floor `F` and last delivered sequence `D`;
//! 2. resumes the partition's series from their Redis snapshots and replays the partition's
//!    history up to `F` (outcomes already durable: nothing is published);
//! 3. processes the candles in `(F, D]` straight from the stream, in order — the ones the
//!    previous owner had in flight — publishing their outcomes (a signal already published is
//!    recognised by its series' last signal and by its `Nats-Msg-Id`);
//! 4. from then on, a delivered candle at or below `D` is only acked (its outcome is durable),
//!    and every later one is processed as it comes, in stream order.
//!
//! So no candle is lost (everything after `F` is processed), none yields a second signal, and
//! each series' candles are processed in order even though the server redelivers the previous
//! owner's unacked candles only after `ack_wait`, behind newer ones.

use super::batch::Acks;
use super::serving::{Serving, Stretch, filter};
use super::signal_cache::SignalCache;
use super::{AppState, TaskError};
use crate::bus::Delivered;
use crate::bus::partition::{self, PartitionIntake};
use crate::bus::readback::History;
use crate::config::Settings;
use crate::contract::subject::partition_prefix;
use crate::telemetry::metrics as m;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What a task holds while it owns its partition: the pin it owns it under, and the partition
/// served.
struct Owned {
    pin: String,
    serving: Serving,
}

/// How many partitions this worker process holds, shared by its partition tasks.
pub type Held = Arc<AtomicUsize>;

/// Serves partition `partition` until `token` is cancelled: on standby while another worker
/// holds it, processing it while this one does, and handing it over when this worker holds more
/// than its fair share.
pub async fn run(
    state: AppState,
    partition: u32,
    held: Held,
    token: CancellationToken,
) -> Result<(), TaskError> {
    let settings = std::sync::Arc::new(partition_settings(&state.settings, partition));
    // The consumer's filter is built from the stream's own prefix, not the partition's.
    let mut intake =
        PartitionIntake::open(&state.bus, &state.settings.nats, &settings.serve, partition).await?;
    let mut owned: Option<Owned> = None;
    let cache = match settings.redis.enabled {
        true => Some(SignalCache::new(&state, &settings.redis)?),
        false => None,
    };
    let check_every = Duration::from_millis(settings.serve.pinned_ttl_ms);
    let mut last_check = Instant::now();
    let result = loop {
        if token.is_cancelled() {
            break Ok(());
        }
        if owned.is_some() && last_check.elapsed() >= check_every {
            last_check = Instant::now();
            if let Err(e) = review(&settings, &mut intake, &mut owned, &held).await {
                break Err(e);
            }
        }
        if let Some(o) = owned.as_mut() {
            o.serving.between_batches(&state).await;
        }
        let batch = match intake.next_batch().await {
            Ok(batch) => batch,
            Err(e) => break Err(e.into()),
        };
        // Standing by counts as progress: the pull cycle is alive.
        state.health.beat();
        if batch.is_empty() {
            continue;
        }
        let served = serve_batch(
            &state,
            &settings,
            &mut intake,
            &mut owned,
            &held,
            &cache,
            batch,
            &token,
        )
        .await;
        if let Err(e) = served {
            break Err(e);
        }
    };
    if let Some(mut o) = owned.take() {
        held.fetch_sub(1, Ordering::SeqCst);
        publish_held(&held);
        if result.is_ok() {
            o.serving.finish().await;
            tracing::info!(
                partition,
                processed_through = o.serving.processed_through,
                "partition intake stopped; every candle it received acked"
            );
        }
    }
    result
}

/// Processes one delivered batch, taking the partition over first when it arrives under a pin
/// this task does not hold.
#[allow(clippy::too_many_arguments)] // the task's state, passed down rather than bundled for one call
async fn serve_batch(
    state: &AppState,
    settings: &Settings,
    intake: &mut PartitionIntake,
    owned: &mut Option<Owned>,
    held: &Held,
    cache: &Option<SignalCache>,
    batch: Vec<Delivered>,
    token: &CancellationToken,
) -> Result<(), TaskError> {
    for run in runs_by_pin(batch) {
        let Some(first) = run.first() else { continue };
        let pin = first.pin().unwrap_or_default().to_owned();
        if owned.as_ref().is_none_or(|o| o.pin != pin) {
            release(owned, held);
            *owned = Some(take_over(state, settings, intake, pin, token).await?);
            held.fetch_add(1, Ordering::SeqCst);
            publish_held(held);
        }
        let Some(o) = owned.as_mut() else { continue };
        o.serving
            .serve(state, run, Acks::Each, cache.as_ref())
            .await?;
    }
    Ok(())
}

/// The batch split where the pin changes (a batch normally carries one pin), each run owned.
fn runs_by_pin(batch: Vec<Delivered>) -> Vec<Vec<Delivered>> {
    let mut runs: Vec<Vec<Delivered>> = Vec::new();
    for message in batch {
        match runs.last_mut() {
            Some(run) if run.last().map(Delivered::pin) == Some(message.pin()) => run.push(message),
            _ => runs.push(vec![message]),
        }
    }
    runs
}

/// The worker's settings as seen by one partition: its stored candle subjects are
/// `<prefix>.<partition>.<exchange>.<symbol>.<interval>`, so the pipeline checks them against
/// the partition's prefix.
fn partition_settings(settings: &Settings, partition: u32) -> Settings {
    let mut settings = settings.clone();
    settings.nats.candle_subject_prefix =
        partition_prefix(&settings.nats.candle_subject_prefix, partition);
    settings
}

/// Takes the partition over under `pin`: rebuilds its series state up to the ack floor, then
/// processes what the previous owner left in flight (see the module documentation).
async fn take_over(
    state: &AppState,
    settings: &Settings,
    intake: &mut PartitionIntake,
    pin: String,
    token: &CancellationToken,
) -> Result<Owned, TaskError> {
    let started = Instant::now();
    let partition = intake.partition;
    let pipeline = super::routes::open_router(state, settings).await?;
    let position = intake.position().await?;
    let stretch = Stretch::Partition(partition);
    let (mut serving, opened) = Serving::open(
        state,
        settings,
        stretch,
        pipeline,
        position.ack_floor,
        token,
    )
    .await?;
    let mut caught_up = 0;
    if let Some(mut in_flight) = History::open(
        &state.bus,
        &settings.nats,
        filter(settings, stretch),
        position.ack_floor,
        position.delivered,
        settings.serve.batch_size,
    )
    .await?
    {
        while let Some(chunk) = in_flight.next_chunk().await? {
            if token.is_cancelled() {
                // Stopping mid-takeover: publish nothing more from this partial state.
                return Err(TaskError::Interrupted("a partition takeover"));
            }
            caught_up += chunk.len();
            // Read back from the stream, not delivered: published, never settled.
            serving.serve(state, chunk, Acks::None, None).await?;
        }
    }
    // Everything delivered before the takeover now has a durable outcome. (The caught-up state
    // is checkpointed by the next scheduled checkpoint, labelled with what it reflects.)
    serving.processed_through = serving.processed_through.max(position.delivered);
    metrics::counter!(m::PARTITION_TAKEOVERS).increment(1);
    tracing::info!(
        partition,
        consumer = %partition::consumer_name(&settings.serve, partition),
        ack_floor = position.ack_floor,
        delivered = position.delivered,
        resumed_series = opened.resumed_series,
        replayed = opened.replayed,
        caught_up,
        series = serving.pipeline.series_count(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "partition taken over"
    );
    Ok(Owned { pin, serving })
}

/// Every `pinned_ttl_ms` while it holds the partition: asks the server whether this worker
/// still holds the pin — if another one does (this one was silent too long), the partition's
/// state here is stale and dropped — and hands the partition over when this worker holds more
/// than its fair share, `ceil(partitions / workers pulling)`, one partition per review.
async fn review(
    settings: &Settings,
    intake: &mut PartitionIntake,
    owned: &mut Option<Owned>,
    held: &Held,
) -> Result<(), TaskError> {
    let Some(o) = owned.as_mut() else {
        return Ok(());
    };
    let standing = intake.standing().await?;
    if standing.pinned.as_deref() != Some(o.pin.as_str()) {
        tracing::warn!(
            partition = intake.partition,
            "partition pinned to another worker; its state here is dropped"
        );
        release(owned, held);
        return Ok(());
    }
    let workers = standing.waiting.max(1);
    let fair = (settings.nats.partitions as usize).div_ceil(workers);
    let handed = held.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
        (n > fair).then(|| n - 1)
    });
    let Ok(holding) = handed else {
        return Ok(());
    };
    publish_held(held);
    // The next owner resumes from this checkpoint instead of replaying the partition.
    o.serving.finish().await;
    tracing::info!(
        partition = intake.partition,
        holding,
        fair,
        workers,
        processed_through = o.serving.processed_through,
        "handing the partition over to a standby (more than a fair share held)"
    );
    *owned = None;
    metrics::counter!(m::PARTITION_HANDOVERS).increment(1);
    // Long enough for the pin to expire and a standby to take it before this worker pulls again.
    intake.hand_over(Duration::from_millis(settings.serve.pinned_ttl_ms * 2));
    Ok(())
}

/// Drops the partition's state (if held), counting it off.
fn release(owned: &mut Option<Owned>, held: &Held) {
    if owned.take().is_some() {
        held.fetch_sub(1, Ordering::SeqCst);
        publish_held(held);
    }
}

/// Publishes how many partitions this worker holds.
fn publish_held(held: &Held) {
    metrics::gauge!(m::PARTITIONS_OWNED).set(held.load(Ordering::SeqCst) as f64);
}
