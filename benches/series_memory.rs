//! Heap bytes per series, by component, counted by the allocator itself.
//!
//! RSS (what `signal-worker bench` reports) says how much a worker holds in all, but not what
//! holds it. This counts the live heap bytes the allocator hands out while `SERIES` series are
//! built and fed real bars, then divides by the series: the feature state alone (bar history,
//! indicator streams, rolling windows), and whole pipelines with the shipped windowed and
//! streaming models (feature state, model window or recurrent state, the series map and its
//! keys, sequencing, scoring trail). Each is measured young (one bar), at the models' first
//! signal, and with the history full (more bars than `features.snapshot_bars`).
//!
//! Run: `cargo bench --bench series_memory`. Heap bytes are exact and deterministic: this needs
//! no repetition; RSS adds the allocator's own overhead and fragmentation on top.

use signal_worker::config::Settings;
use signal_worker::contract::CandleMessage;
use signal_worker::contract::codec::{self, Encoding};
use signal_worker::core::bar::Bar;
use signal_worker::core::features::{FeatureSettings, SeriesFeatures};
use signal_worker::core::pipeline::{Input, Pipeline};
use signal_worker::runtime::model::{build_pipeline, load_predictor};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicIsize, Ordering};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Series measured at once (pipelines: the difference between this and a quarter of it).
const SERIES: usize = 2_000;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled BTC/USD hourly bars.
fn bars() -> Result<Vec<CandleMessage>, Box<dyn std::error::Error>> {
    let mut bars = Vec::new();
    for record in csv::Reader::from_path(root().join("data/btcusd-1h.csv"))?.records() {
        let r = record?;
        let f = |i: usize| -> Result<f64, Box<dyn std::error::Error>> {
            Ok(r.get(i).ok_or("short row")?.parse()?)
        };
        bars.push(CandleMessage {
            exchange: "memory".into(),
            symbol: String::new(),
            interval: "1h".into(),
            open_time: r.get(0).ok_or("short row")?.parse()?,
            close_time: None,
            open: f(1)?,
            high: f(2)?,
            low: f(3)?,
            close: f(4)?,
            volume: f(5)?,
            trades: None,
            is_closed: true,
        });
    }
    Ok(bars)
}

/// Bytes per series of `SERIES` feature states retaining `settings.snapshot_bars` bars, after
/// `bars` bars each.
fn features_only(candles: &[CandleMessage], settings: FeatureSettings, bars: usize) -> f64 {
    let before = live();
    let mut all: Vec<SeriesFeatures> = Vec::with_capacity(SERIES);
    let vec_bytes = (SERIES * std::mem::size_of::<SeriesFeatures>()) as isize;
    for _ in 0..SERIES {
        let mut series = SeriesFeatures::new(&settings);
        for c in candles.iter().take(bars) {
            let bar = Bar {
                open_time: c.open_time,
                open: c.open,
                high: c.high,
                low: c.low,
                close: c.close,
                volume: c.volume,
            };
            let _ = series.update(&bar);
        }
        all.push(series);
    }
    // The Vec's own slots are the inline size of each state: counted too (a map holds them).
    let bytes = live() - before;
    debug_assert!(bytes >= vec_bytes);
    drop(all);
    bytes as f64 / SERIES as f64
}

/// Live heap bytes of a pipeline around the model in `dir` after `bars` bars of each of
/// `series` series, fed as the wire carries them in batches of `serve.batch_size`.
fn pipeline_bytes(
    dir: &Path,
    candles: &[CandleMessage],
    series: usize,
    bars: usize,
) -> Result<isize, String> {
    let settings = Settings::default();
    let predictor = load_predictor(&settings, dir).map_err(|e| e.to_string())?;
    let mut pipeline: Pipeline = build_pipeline(&settings, predictor).map_err(|e| e.to_string())?;
    let mut encoded: Vec<(String, Vec<u8>)> = Vec::with_capacity(settings.serve.batch_size);
    let now = signal_worker::runtime::clock::now_ms();
    let before = live();
    let mut feed = |encoded: &mut Vec<(String, Vec<u8>)>| -> Result<(), String> {
        let inputs: Vec<Input<'_>> = encoded
            .iter()
            .map(|(subject, bytes)| Input::on_subject(subject, bytes))
            .collect();
        pipeline
            .process(&inputs, Some(now))
            .map_err(|e| e.to_string())?;
        // As `serve` does after every batch: the live scores go to the scoreboard.
        drop(pipeline.take_scores());
        encoded.clear();
        Ok(())
    };
    for c in candles.iter().take(bars) {
        for s in 0..series {
            let mut candle = c.clone();
            candle.symbol = format!("S{s:05}");
            let subject = format!("candles.memory.{}.1h", candle.symbol);
            let bytes = codec::encode(&candle, Encoding::MessagePack).map_err(|e| e.to_string())?;
            encoded.push((subject, bytes));
            if encoded.len() == settings.serve.batch_size {
                feed(&mut encoded)?;
            }
        }
    }
    feed(&mut encoded)?;
    let bytes = live() - before;
    drop(pipeline);
    Ok(bytes)
}

/// Heap bytes each series adds to a pipeline around the model in `dir` after `bars` bars:
/// the difference between two series counts, so the batch buffers (sized by the batch, not the
/// series) drop out.
fn pipeline(dir: &Path, candles: &[CandleMessage], bars: usize) -> Result<f64, String> {
    let few = pipeline_bytes(dir, candles, SERIES / 4, bars)?;
    let many = pipeline_bytes(dir, candles, SERIES, bars)?;
    Ok((many - few) as f64 / (SERIES - SERIES / 4) as f64)
}

fn main() {
    let candles = match bars() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot read the bundled bars: {e}");
            std::process::exit(2);
        }
    };
    // Past the retention of every row below (the 1,000-bar one included).
    let full = 1_200;
    println!(
        "heap bytes per series, {SERIES} series (features.snapshot_bars {})",
        FeatureSettings::default().snapshot_bars
    );
    println!(
        "{:<44} {:>10} {:>10} {:>10}",
        "state",
        "1 bar",
        "100 bars",
        format!("{full} bars")
    );
    let row = |name: &str, f: &dyn Fn(usize) -> Result<f64, String>| {
        let cell = |bars: usize| match f(bars) {
            Ok(b) => format!("{b:.0}"),
            Err(e) => format!("error: {e}"),
        };
        println!(
            "{name:<44} {:>10} {:>10} {:>10}",
            cell(1),
            cell(100),
            cell(full)
        );
    };
    println!(
        "inline: SeriesFeatures {} B (every indicator stream inside), SeriesState {} B",
        std::mem::size_of::<SeriesFeatures>(),
        std::mem::size_of::<signal_worker::core::series::SeriesState>(),
    );
    row(
        "features, snapshot_bars 1000 (a format-1 default)",
        &|bars| {
            let thousand = FeatureSettings {
                snapshot_bars: 1_000,
            };
            Ok(features_only(&candles, thousand, bars))
        },
    );
    row(
        "features, 21 bars (default, snapshots on or off)",
        &|bars| Ok(features_only(&candles, FeatureSettings::default(), bars)),
    );
    for model in ["models/default", "models/streaming"] {
        let dir = root().join(model);
        row(&format!("pipeline, {model}"), &|bars| {
            pipeline(&dir, &candles, bars)
        });
    }
}
