//! Batched inference cost of the shipped model per batch size and backend:
//! the full `Predictor::predict` path (shape and finiteness checks, scaling,
//! forward pass, softmax read-back), windows drawn from real features.
//!
//! Run: `cargo bench --bench inference`. Criterion's throughput is windows/s.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use signal_worker::core::dataset::feature_rows;
use signal_worker::core::features::{FEATURE_NAMES, FeatureSettings};
use signal_worker::core::validate::ValidationSettings;
use signal_worker::io::csv_file::{CsvIdentity, read_csv};
use signal_worker::model::{BackendKind, Predictor};
use std::hint::black_box;
use std::path::Path;

const BATCH_SIZES: [usize; 5] = [1, 8, 64, 256, 1024];

/// Real feature rows of the bundled BTC/USD file (empty if it cannot be read: reported).
fn rows() -> (Vec<f32>, usize) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/btcusd-1h.csv");
    let identity = CsvIdentity {
        exchange: "coinbase".into(),
        symbol: "BTCUSD".into(),
        interval: "1h".into(),
    };
    let Ok(file) = std::fs::File::open(path) else {
        eprintln!("cannot open {path}");
        return (Vec::new(), 0);
    };
    let Ok(records) = read_csv(path, file, identity) else {
        eprintln!("cannot read {path}");
        return (Vec::new(), 0);
    };
    let candles = records.filter_map(|r| r.ok()?.candle.ok());
    let table = feature_rows(
        candles,
        &ValidationSettings::default(),
        &FeatureSettings::default(),
    );
    (table.rows, table.closes.len())
}

fn bench(c: &mut Criterion) {
    let model = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/models/default"));
    let (rows, n) = rows();
    let width = FEATURE_NAMES.len();
    let mut group = c.benchmark_group("inference");
    for &backend in BackendKind::ALL {
        let Ok(mut predictor) = Predictor::load(model, &FEATURE_NAMES, backend) else {
            eprintln!("cannot load {}", model.display());
            return;
        };
        let steps = predictor.architecture().sequence_length;
        for batch in BATCH_SIZES {
            if n < steps + batch {
                continue;
            }
            // Consecutive windows, as a burst of many series would give.
            let mut windows = Vec::with_capacity(batch * steps * width);
            for w in 0..batch {
                windows.extend_from_slice(&rows[w * width..(w + steps) * width]);
            }
            let mut out = Vec::new();
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_with_input(
                BenchmarkId::new(backend.as_str(), batch),
                &batch,
                |b, &batch| {
                    b.iter(|| {
                        let _ = predictor.predict(black_box(&windows), batch, &mut out);
                        black_box(&out);
                    });
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
