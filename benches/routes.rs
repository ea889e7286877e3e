//! What a live model and its shadows cost in one worker, against running the models apart.
//!
//! Over the same candles (three real series interleaved as a bus delivers them, 2,100 candles):
//! - `routes/shared`: one router, a live route and two shadows over every candle (the shipped
//!   windowed, CFFEX and streaming models); each series' features computed once, by the live
//!   route, and read by the shadows.
//! - `routes/apart`: the same three models as three single-model pipelines, each computing its
//!   own features over every candle: what the router did before features were shared.
//! - `routes/live-only`: the live model alone, the floor.
//!
//! The ratio shared / apart, measured in one run, is what sharing saves. Run:
//! `cargo bench --bench routes`; throughput is candles/s.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use signal_worker::config::Settings;
use signal_worker::contract::CandleMessage;
use signal_worker::contract::codec::{self, Encoding};
use signal_worker::core::features::FEATURE_NAMES;
use signal_worker::core::pipeline::{Input, Pipeline};
use signal_worker::core::routing::{Role, RouteSpec, Router};
use signal_worker::io::csv_file::{CsvIdentity, read_csv};
use signal_worker::model::{BackendKind, InferenceEngine, Predictor};
use std::hint::black_box;

const MODELS: [&str; 3] = ["models/default", "models/cffex-1m", "models/streaming"];
const BARS: usize = 700;
const BATCH: usize = 256;

fn pipeline(dir: &str) -> Option<Pipeline> {
    let path = format!("{}/{dir}", env!("CARGO_MANIFEST_DIR"));
    let predictor = Predictor::load_with(
        path.as_ref(),
        &FEATURE_NAMES,
        BackendKind::default(),
        InferenceEngine::Fused,
    )
    .map_err(|e| eprintln!("cannot load {path}: {e}"))
    .ok()?;
    let settings = signal_worker::runtime::model::pipeline_settings(&Settings::default());
    Pipeline::new(predictor, settings)
        .map_err(|e| eprintln!("cannot build {path}: {e}"))
        .ok()
}

fn router() -> Option<Router> {
    let names = ["live", "futures", "streaming"];
    let specs: Vec<RouteSpec> = names
        .iter()
        .enumerate()
        .map(|(i, name)| RouteSpec {
            name: (*name).into(),
            subjects: vec!["candles.>".into()],
            role: if i == 0 { Role::Live } else { Role::Shadow },
        })
        .collect();
    let pipelines = MODELS.iter().map(|d| pipeline(d)).collect::<Option<_>>()?;
    Router::new(&specs, pipelines, "candles", "candles")
        .map_err(|e| eprintln!("cannot route: {e}"))
        .ok()
}

fn series(file: &str, exchange: &str, symbol: &str, interval: &str) -> Vec<CandleMessage> {
    let path = format!("{}/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let identity = CsvIdentity {
        exchange: exchange.into(),
        symbol: symbol.into(),
        interval: interval.into(),
    };
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!("cannot open {path}");
        return Vec::new();
    };
    match read_csv(&path, file, identity) {
        Ok(records) => records
            .filter_map(|r| r.ok()?.candle.ok())
            .take(BARS)
            .collect(),
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            Vec::new()
        }
    }
}

/// (subject, MessagePack body) of three series, interleaved.
fn candles() -> Vec<(String, Vec<u8>)> {
    let all = [
        series("btcusd-1h.csv", "coinbase", "BTCUSD", "1h"),
        series("btcusd-1h.csv", "kraken", "XBTUSD", "1h"),
        series("icl8-cffex-1m.csv", "cffex", "IC", "1m"),
    ];
    let mut mixed = Vec::new();
    for i in 0..BARS {
        for m in all.iter().filter_map(|s| s.get(i)) {
            let subject = format!("candles.{}.{}.{}", m.exchange, m.symbol, m.interval);
            if let Ok(body) = codec::encode(m, Encoding::MessagePack) {
                mixed.push((subject, body));
            }
        }
    }
    mixed
}

fn inputs(mixed: &[(String, Vec<u8>)]) -> Vec<Input<'_>> {
    mixed
        .iter()
        .map(|(subject, body)| Input {
            bytes: body,
            encoding: Encoding::MessagePack,
            subject: Some(subject),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mixed = candles();
    let all = inputs(&mixed);
    if all.is_empty() || router().is_none() {
        eprintln!("no candles or no models: nothing measured");
        return;
    }
    let mut group = c.benchmark_group("routes");
    group.sample_size(10);
    group.throughput(Throughput::Elements(all.len() as u64));
    group.bench_function("shared", |b| {
        b.iter_batched(
            router,
            |mut router| {
                for chunk in all.chunks(BATCH) {
                    if let Some(r) = router.as_mut() {
                        let _ = black_box(r.process(chunk, None));
                        black_box(r.take_shadow_signals());
                    }
                }
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("apart", |b| {
        b.iter_batched(
            || {
                MODELS
                    .iter()
                    .filter_map(|d| pipeline(d))
                    .collect::<Vec<_>>()
            },
            |mut pipelines| {
                for chunk in all.chunks(BATCH) {
                    for p in &mut pipelines {
                        let _ = black_box(p.process(chunk, None));
                    }
                }
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("live-only", |b| {
        b.iter_batched(
            || pipeline(MODELS[0]),
            |mut pipeline| {
                for chunk in all.chunks(BATCH) {
                    if let Some(p) = pipeline.as_mut() {
                        let _ = black_box(p.process(chunk, None));
                    }
                }
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
