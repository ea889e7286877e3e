//! Idle-series eviction between batches: what keeps the series map bounded over time (the
//! `sequence.max_series` cap bounds it at any moment).
//!
//! A series silent for `sequence.idle_evict_ms` (plus two of its bars) is dropped from memory,
//! from the "already signalled" map and, through the next checkpoint, from Redis, so made-up
//! series neither stay resident nor come back at the next start.

use super::clock;
use crate::bus::readback::Covered;
use crate::contract::SeriesKey;
use crate::core::routing::Router;
use crate::telemetry::metrics as m;
use std::time::{Duration, Instant};

/// The eviction schedule of one intake (or partition).
#[derive(Debug)]
pub struct Eviction {
    every: Duration,
    last: Instant,
}

impl Eviction {
    /// Looks for idle series every `every_ms`.
    pub fn new(every_ms: u64) -> Self {
        Self {
            every: Duration::from_millis(every_ms),
            last: Instant::now(),
        }
    }

    /// Whether the next tick does something.
    pub fn due(&self) -> bool {
        self.last.elapsed() >= self.every
    }

    /// When due, drops the idle series from `pipeline` and `covered`; returns their keys (for
    /// the checkpoints to forget).
    pub fn tick(&mut self, pipeline: &mut Router, covered: &mut Covered) -> Vec<SeriesKey> {
        if !self.due() {
            return Vec::new();
        }
        self.last = Instant::now();
        let evicted = pipeline.evict_idle(clock::now_ms());
        for key in &evicted {
            covered.remove(&key.id());
        }
        if !evicted.is_empty() {
            metrics::counter!(m::SERIES_EVICTED).increment(evicted.len() as u64);
            metrics::gauge!(m::SERIES_TRACKED).set(pipeline.series_count() as f64);
            tracing::info!(
                evicted = evicted.len(),
                series = pipeline.series_count(),
                "idle series evicted"
            );
        }
        evicted
    }
}
