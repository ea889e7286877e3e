//! Heap allocations on the hot path, counted by the allocator itself: the pure pipeline
//! (decode, validation, sequencing, features, the forward pass, the signal) makes none per
//! candle once its series are warm.
//!
//! Its own test binary because it installs a counting global allocator, and one test function
//! so nothing else allocates while it counts. The figures are printed (`--nocapture`); an
//! allocation added per candle fails here rather than showing up as a slower bench.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may fail loudly

use signal_worker::config::Settings;
use signal_worker::contract::CandleMessage;
use signal_worker::contract::codec::{self, Encoding};
use signal_worker::core::pipeline::{Input, Outcome, Pipeline};
use signal_worker::runtime::model::{build_pipeline, load_predictor};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the allocations it hands out.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Series fed at once in the larger run (one candle of each per batch, as a live worker's
/// batches mostly are); the smaller run feeds half as many.
const SERIES: usize = 128;
/// Bars fed before counting: past every model's warm-up, so each candle yields a signal.
const WARM_BARS: usize = 120;
/// Batches counted.
const COUNTED_BARS: usize = 20;

/// Allocations a batch may make beyond a batch of half as many candles: none is per candle (a
/// few may come from buffers that grow to a new size once).
const GROWTH_SLACK_PER_BATCH: f64 = 1.0;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled BTC/USD hourly bars.
fn bars() -> Vec<CandleMessage> {
    let mut bars = Vec::new();
    let mut reader = csv::Reader::from_path(root().join("data/btcusd-1h.csv")).unwrap();
    for record in reader.records().take(WARM_BARS + COUNTED_BARS) {
        let r = record.unwrap();
        let f = |i: usize| -> f64 { r.get(i).unwrap().parse().unwrap() };
        bars.push(CandleMessage {
            exchange: "alloc".into(),
            symbol: String::new(),
            interval: "1h".into(),
            open_time: r.get(0).unwrap().parse().unwrap(),
            close_time: None,
            open: f(1),
            high: f(2),
            low: f(3),
            close: f(4),
            volume: f(5),
            trades: None,
            is_closed: true,
        });
    }
    bars
}

/// One batch per bar: that bar of each of `series` series, encoded as the wire carries it.
fn batches(bars: &[CandleMessage], series: usize) -> Vec<Vec<(String, Vec<u8>)>> {
    bars.iter()
        .map(|bar| {
            (0..series)
                .map(|s| {
                    let mut candle = bar.clone();
                    candle.symbol = format!("S{s:04}");
                    let subject = format!("candles.alloc.{}.1h", candle.symbol);
                    (
                        subject,
                        codec::encode(&candle, Encoding::MessagePack).unwrap(),
                    )
                })
                .collect()
        })
        .collect()
}

/// Processes one batch; returns the signals it yielded.
fn feed(pipeline: &mut Pipeline, batch: &[(String, Vec<u8>)], now: i64) -> usize {
    let inputs: Vec<Input<'_>> = batch
        .iter()
        .map(|(subject, bytes)| Input::on_subject(subject, bytes))
        .collect();
    let outcomes = pipeline.process(&inputs, Some(now)).unwrap();
    drop(pipeline.take_scores());
    outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Signal(_)))
        .count()
}

/// Allocations per batch of `series` warm series' candles, for the model in `dir`.
fn per_batch(dir: &Path, series: usize) -> f64 {
    let settings = Settings::default();
    let predictor = load_predictor(&settings, dir).unwrap();
    let mut pipeline = build_pipeline(&settings, predictor).unwrap();
    let batches = batches(&bars(), series);
    let now = signal_worker::runtime::clock::now_ms();
    let (warm, counted) = batches.split_at(WARM_BARS);
    for batch in warm {
        feed(&mut pipeline, batch, now);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut signals = 0;
    for batch in counted {
        signals += feed(&mut pipeline, batch, now);
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    // The hot path: every counted candle was scored and signalled.
    assert_eq!(signals, series * COUNTED_BARS, "{}", dir.display());
    allocations as f64 / COUNTED_BARS as f64
}

/// Decoding, validation, sequencing, features, the forward pass and the signal of a candle of a
/// known series allocate nothing: a batch of twice the candles makes no more allocations (those
/// left are the batch's own: its outcome list, the scores handed over).
#[test]
fn warm_series_allocate_nothing_per_candle() {
    for model in ["default", "streaming"] {
        let dir = root().join("models").join(model);
        let small = per_batch(&dir, SERIES / 2);
        let large = per_batch(&dir, SERIES);
        let per_candle = (large - small) / (SERIES - SERIES / 2) as f64;
        println!(
            "models/{model}: {small:.1} allocations per batch of {}, {large:.1} per batch of {SERIES}: {per_candle:.3} per candle",
            SERIES / 2
        );
        assert!(
            large <= small + GROWTH_SLACK_PER_BATCH,
            "models/{model}: {large:.1} allocations per batch of {SERIES} candles against {small:.1} for {}: the hot path allocates per candle",
            SERIES / 2
        );
    }
}
