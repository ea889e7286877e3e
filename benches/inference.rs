//! Batched inference cost per batch size, mode, engine and backend.
//!
//! - `windowed/<engine>/<batch>`: the shipped windowed model (`models/default`) through the full
//!   `Predictor::predict` path (checks, scaling, forward pass, softmax), windows of real features.
//! - `streaming/<engine>/<batch>`: the shipped streaming model (`models/streaming`) through
//!   `Predictor::step`: one candle of each of `batch` series.
//! - `reference/<engine>/<batch>`: issue 7's reference shape (LSTM 2 x 64, 24 inputs, window 60,
//!   untrained weights), the bare forward pass, to compare with its onnxruntime figures.
//!
//! Engines: `fused` (the kernel; batches of 64 and more use both cores), `burn-flex`,
//! `burn-ndarray`. Run: `cargo bench --bench inference`; throughput is samples/s.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use signal_worker::core::dataset::feature_rows;
use signal_worker::core::features::{FEATURE_NAMES, FeatureSettings};
use signal_worker::core::validate::ValidationSettings;
use signal_worker::io::csv_file::{CsvIdentity, read_csv};
use signal_worker::model::kernel::Scratch;
use signal_worker::model::time_major::batch_to_time_major;
use signal_worker::model::{
    Architecture, BackendKind, FusedNetwork, InferenceEngine, Kind, Network, Predictor,
};
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

/// Every engine/backend pair compiled in, with its label.
fn engines() -> Vec<(String, BackendKind, InferenceEngine)> {
    let mut all = vec![(
        "fused".to_string(),
        BackendKind::Flex,
        InferenceEngine::Fused,
    )];
    for &backend in BackendKind::ALL {
        all.push((
            format!("burn-{}", backend.as_str()),
            backend,
            InferenceEngine::Burn,
        ));
    }
    all
}

fn windowed(c: &mut Criterion, rows: &[f32], n: usize) {
    let model = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/models/default"));
    let width = FEATURE_NAMES.len();
    let mut group = c.benchmark_group("windowed");
    for (label, backend, engine) in engines() {
        let Ok(mut predictor) = Predictor::load_with(model, &FEATURE_NAMES, backend, engine) else {
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
            group.bench_with_input(BenchmarkId::new(&label, batch), &batch, |b, &batch| {
                b.iter(|| {
                    let _ = predictor.predict(black_box(&windows), batch, &mut out);
                    black_box(&out);
                });
            });
        }
    }
    group.finish();
}

fn streaming(c: &mut Criterion, rows: &[f32], n: usize) {
    let model = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/models/streaming"));
    let width = FEATURE_NAMES.len();
    let mut group = c.benchmark_group("streaming");
    for (label, backend, engine) in engines() {
        let Ok(mut predictor) = Predictor::load_with(model, &FEATURE_NAMES, backend, engine) else {
            eprintln!("cannot load {}", model.display());
            return;
        };
        let state_len = predictor.state_len();
        for batch in BATCH_SIZES {
            if n < batch {
                continue;
            }
            let inputs = rows[..batch * width].to_vec();
            let mut states = vec![0.0f32; batch * state_len];
            let mut out = Vec::new();
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_with_input(BenchmarkId::new(&label, batch), &batch, |b, &batch| {
                b.iter(|| {
                    let _ = predictor.step(black_box(&inputs), &mut states, batch, &mut out);
                    black_box(&out);
                });
            });
        }
    }
    group.finish();
}

fn reference(c: &mut Criterion) {
    let architecture = Architecture {
        kind: Kind::Lstm,
        layers: 2,
        hidden: 64,
        inputs: 24,
        sequence_length: 60,
        classes: 3,
    };
    let steps = architecture.sequence_length;
    let mut group = c.benchmark_group("reference");
    group.sample_size(10);
    for &backend in BackendKind::ALL {
        let device = backend.device();
        let Ok(network) = Network::seeded(&architecture, 1, &device) else {
            return;
        };
        let Ok(fused) = FusedNetwork::from_network(&network, &architecture) else {
            return;
        };
        for batch in BATCH_SIZES {
            let raw: Vec<f32> = (0..batch * architecture.window_len())
                .map(|i| ((i % 97) as f32 * 0.37).sin())
                .collect();
            let mut time_major = Vec::new();
            batch_to_time_major(&raw, batch, steps, 24, &mut time_major, |row, out| {
                out.extend_from_slice(row)
            });
            group.throughput(Throughput::Elements(batch as u64));
            let mut out = Vec::new();
            if backend == BackendKind::Flex {
                let mut scratch = Scratch::default();
                group.bench_with_input(
                    BenchmarkId::new("fused-1-thread", batch),
                    &batch,
                    |b, &batch| {
                        b.iter(|| {
                            out.clear();
                            let _ = fused.forward_windows(
                                &time_major,
                                batch,
                                steps,
                                &mut scratch,
                                &mut out,
                            );
                            black_box(&out);
                        });
                    },
                );
                if batch >= 2 {
                    // Both cores: each half of the batch on its own thread, as the Predictor does.
                    let half = batch / 2;
                    let mut halves = Vec::new();
                    for part in [&raw[..half * steps * 24], &raw[half * steps * 24..]] {
                        let mut tm = Vec::new();
                        batch_to_time_major(
                            part,
                            part.len() / (steps * 24),
                            steps,
                            24,
                            &mut tm,
                            |row, out| out.extend_from_slice(row),
                        );
                        halves.push(tm);
                    }
                    let (mut sa, mut sb) = (Scratch::default(), Scratch::default());
                    let (mut oa, mut ob) = (Vec::new(), Vec::new());
                    group.bench_with_input(
                        BenchmarkId::new("fused-2-threads", batch),
                        &batch,
                        |b, &batch| {
                            b.iter(|| {
                                oa.clear();
                                ob.clear();
                                let (first, second) = (&halves[0], &halves[1]);
                                let _ = rayon::join(
                                    || fused.forward_windows(first, half, steps, &mut sa, &mut oa),
                                    || {
                                        fused.forward_windows(
                                            second,
                                            batch - half,
                                            steps,
                                            &mut sb,
                                            &mut ob,
                                        )
                                    },
                                );
                                black_box((&oa, &ob));
                            });
                        },
                    );
                }
            }
            group.bench_with_input(
                BenchmarkId::new(format!("burn-{}", backend.as_str()), batch),
                &batch,
                |b, &batch| {
                    b.iter(|| {
                        out.clear();
                        let x = burn::tensor::Tensor::<2>::from_data(
                            burn::tensor::TensorData::new(time_major.clone(), [steps * batch, 24]),
                            &device,
                        );
                        let _ = network.probabilities(x, batch, steps, &mut out);
                        black_box(&out);
                    });
                },
            );
        }
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let (rows, n) = rows();
    windowed(c, &rows, n);
    streaming(c, &rows, n);
    reference(c);
}

criterion_group!(benches, bench);
criterion_main!(benches);
