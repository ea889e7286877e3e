//! Cost per candle of the streaming feature engine against what a
//! batch/pandas-style service does: recompute every indicator over a
//! trailing 500-bar window for each new candle.
//!
//! Run: `cargo bench --bench features`. Criterion reports time per iteration
//! and, through `Throughput::Elements`, candles per second; ns per candle is
//! the iteration time divided by the candles it processed (printed at start).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use signal_worker::core::bar::Bar;
use signal_worker::core::features::{FeatureSettings, SeriesFeatures};
use std::hint::black_box;
use std::path::PathBuf;
use ta_lib::{Core, MAType, RetCode};

/// Trailing window the batch-style service recomputes for every candle.
const BATCH_WINDOW: usize = 500;
/// Candles timed in the batch variant (it is ~100x slower; a subset keeps a
/// criterion sample short).
const BATCH_CANDLES: usize = 1_000;

/// Reads `data/btcusd-1h.csv`; an empty vector if it cannot (reported).
fn load_bars() -> Vec<Bar> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/btcusd-1h.csv");
    let read = || -> Result<Vec<Bar>, Box<dyn std::error::Error>> {
        let mut bars = Vec::new();
        for record in csv::Reader::from_path(&path)?.records() {
            let r = record?;
            let f = |i: usize| -> Result<f64, Box<dyn std::error::Error>> {
                Ok(r.get(i).ok_or("short row")?.parse()?)
            };
            bars.push(Bar {
                open_time: r.get(0).ok_or("short row")?.parse()?,
                open: f(1)?,
                high: f(2)?,
                low: f(3)?,
                close: f(4)?,
                volume: f(5)?,
            });
        }
        Ok(bars)
    };
    read().unwrap_or_else(|e| {
        eprintln!("cannot read {}: {e}", path.display());
        Vec::new()
    })
}

/// The streaming engine over the whole file: every indicator and the full
/// model vector, one update per candle.
fn stream_all(bars: &[Bar]) -> usize {
    let mut series = SeriesFeatures::new(&FeatureSettings::default());
    let mut ready = 0;
    for bar in bars {
        if series.update(bar).is_ok() && series.features().is_some() {
            ready += 1;
        }
        black_box(series.features());
    }
    ready
}

/// Scratch columns and outputs reused across candles, as a tuned batch
/// service would (no allocation in the timed loop).
struct Batch {
    core: Core,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
    out: [Vec<f64>; 3],
}

impl Batch {
    fn new() -> Self {
        let v = || vec![0.0; BATCH_WINDOW];
        Self {
            core: Core::new(),
            high: v(),
            low: v(),
            close: v(),
            volume: v(),
            out: [v(), v(), v()],
        }
    }

    /// Recomputes the same 18 indicator columns over `window` with ta-lib's
    /// batch functions and returns the sum of their last values (so nothing
    /// is optimised away).
    fn last_values(&mut self, window: &[Bar]) -> Result<f64, RetCode> {
        let n = window.len();
        for (i, b) in window.iter().enumerate() {
            (self.high[i], self.low[i], self.close[i], self.volume[i]) =
                (b.high, b.low, b.close, b.volume);
        }
        let (h, l, c, v) = (
            &self.high[..n],
            &self.low[..n],
            &self.close[..n],
            &self.volume[..n],
        );
        let core = &self.core;
        let [o0, o1, o2] = &mut self.out;
        let end = n - 1;
        let mut acc = 0.0;
        let mut last =
            |r: ta_lib::OutRange, o: &[f64]| acc += if r.count > 0 { o[r.count - 1] } else { 0.0 };
        last(core.rsi(0, end, c, 14, o0)?, o0);
        last(core.macd(0, end, c, 12, 26, 9, o0, o1, o2)?, o2);
        last(core.ema(0, end, c, 9, o0)?, o0);
        last(core.ema(0, end, c, 21, o0)?, o0);
        last(core.ema(0, end, c, 50, o0)?, o0);
        last(core.sma(0, end, c, 20, o0)?, o0);
        last(
            core.bbands(0, end, c, 20, 2.0, 2.0, MAType::SMA, o0, o1, o2)?,
            o1,
        );
        last(core.atr(0, end, h, l, c, 14, o0)?, o0);
        last(
            core.stoch(0, end, h, l, c, 14, 3, MAType::SMA, 3, MAType::SMA, o0, o1)?,
            o1,
        );
        last(core.willr(0, end, h, l, c, 14, o0)?, o0);
        last(core.roc(0, end, c, 12, o0)?, o0);
        last(core.cci(0, end, h, l, c, 20, o0)?, o0);
        last(core.obv(0, end, c, v, o0)?, o0);
        Ok(acc)
    }
}

/// The batch service over `BATCH_CANDLES` candles, each recomputing its
/// trailing `BATCH_WINDOW` bars.
fn batch_window(bars: &[Bar], batch: &mut Batch) -> f64 {
    let mut acc = 0.0;
    for end in BATCH_WINDOW..BATCH_WINDOW + BATCH_CANDLES {
        acc += batch
            .last_values(&bars[end - BATCH_WINDOW..end])
            .unwrap_or(f64::NAN);
    }
    acc
}

fn bench(c: &mut Criterion) {
    let bars = load_bars();
    assert!(
        bars.len() > BATCH_WINDOW + BATCH_CANDLES,
        "btcusd-1h.csv missing or short"
    );
    let mut batch = Batch::new();
    assert!(
        batch_window(&bars, &mut batch).is_finite(),
        "ta-lib batch calls failed"
    );
    println!(
        "streaming: {} candles per iteration; batch: {BATCH_CANDLES} candles x {BATCH_WINDOW}-bar window",
        bars.len()
    );

    let mut group = c.benchmark_group("features_per_candle");
    group.throughput(Throughput::Elements(bars.len() as u64));
    group.bench_function("streaming_full_vector", |b| {
        b.iter(|| stream_all(black_box(&bars)))
    });
    group.throughput(Throughput::Elements(BATCH_CANDLES as u64));
    group.sample_size(10);
    group.bench_function("batch_500_window_indicators_only", |b| {
        b.iter(|| batch_window(black_box(&bars), &mut batch))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
