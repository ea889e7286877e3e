//! End-to-end tests of the model layer on real data (tests/data/btcusd-1h.csv): training without
//! leakage, determinism, bad input, the verified artifact and batched inference on both backends.
//!
//! The real feature engine is written elsewhere; these tests build a few simple scale-free
//! features (lagged log returns, candle range and body) from the candles themselves.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use signal_worker::contract::Side;
use signal_worker::model::artifact::{METADATA_FILE, WEIGHTS_FILE};
use signal_worker::model::digest::sha256_hex;
use signal_worker::model::train::prepare;
use signal_worker::model::{
    Architecture, Artifact, ArtifactError, BackendKind, DecisionConfig, InferenceEngine,
    InferenceError, Kind, LabelKind, LabelSpec, ModelIdentity, ModelMetadata, NetworkSettings,
    Predictor, Progress, SplitError, TrainError, TrainSettings, TrainedModel, TrainingData, train,
};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/btcusd-1h.csv");

/// Bars of look-back the simple features need (the longest return).
const WARM_UP: usize = 24;

fn feature_names() -> Vec<String> {
    ["ret_1", "ret_2", "ret_3", "range", "body", "ret_24"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// The real candles, first `limit` rows after the warm-up, as training data.
fn load(limit: usize) -> TrainingData {
    let bytes = std::fs::read(DATA).expect("test data present");
    let text = String::from_utf8(bytes.clone()).expect("utf-8");
    let mut times = Vec::new();
    let mut candles = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        times.push(f[0].parse::<i64>().unwrap());
        let v: Vec<f64> = f[1..5].iter().map(|x| x.parse::<f64>().unwrap()).collect();
        candles.push([v[0], v[1], v[2], v[3]]); // open high low close
    }
    let end = (WARM_UP + limit).min(candles.len());
    let mut rows = Vec::new();
    let mut closes = Vec::new();
    let mut open_times = Vec::new();
    for t in WARM_UP..end {
        let c = |k: usize| candles[t - k][3];
        let [open, high, low, close] = candles[t];
        rows.extend_from_slice(&[
            (c(0) / c(1)).ln() as f32,
            (c(1) / c(2)).ln() as f32,
            (c(2) / c(3)).ln() as f32,
            (high / low).ln() as f32,
            (close / open).ln() as f32,
            (c(0) / c(24)).ln() as f32,
        ]);
        closes.push(close);
        open_times.push(times[t]);
    }
    TrainingData {
        feature_names: feature_names(),
        rows,
        closes,
        open_times,
        source_sha256: sha256_hex(&bytes),
    }
}

/// A tiny, fast configuration.
fn tiny(kind: Kind) -> TrainSettings {
    TrainSettings {
        epochs: 2,
        batch_size: 64,
        patience: 2,
        seed: 7,
        network: NetworkSettings {
            kind,
            layers: 2,
            hidden: 8,
            sequence_length: 8,
            dropout: 0.1,
        },
        ..TrainSettings::default()
    }
}

fn identity() -> ModelIdentity {
    ModelIdentity {
        name: "test".into(),
        version: "0.0.1".into(),
        created_at: "2026-11-26T00:00:00Z".into(),
    }
}

fn seal(model: TrainedModel) -> Artifact {
    model
        .into_artifact(identity(), DecisionConfig::default())
        .expect("seal")
}

fn known() -> Vec<&'static str> {
    vec![
        "ret_1",
        "ret_2",
        "ret_3",
        "range",
        "body",
        "ret_24",
        "unused_extra",
    ]
}

/// Raw windows of the model's shape, drawn around the scaler's mean (deterministic).
fn windows(metadata: &ModelMetadata, batch: usize) -> Vec<f32> {
    let a = metadata.architecture;
    let mut out = Vec::with_capacity(batch * a.window_len());
    let mut x: u32 = 12345;
    for _ in 0..batch * a.sequence_length {
        for f in 0..a.inputs {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let u = (x >> 8) as f32 / (1u32 << 24) as f32 * 4.0 - 2.0;
            out.push(metadata.scaler.mean[f] + u * metadata.scaler.std[f]);
        }
    }
    out
}

fn temp_dir(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    (dir, path)
}

#[test]
fn train_save_load_predict_end_to_end() {
    let data = load(3000);
    let mut events = Vec::new();
    let mut on_progress = |p: Progress| events.push(p);
    let model = train(&data, &tiny(Kind::Lstm), Some(&mut on_progress)).expect("train");
    assert!(matches!(events.first(), Some(Progress::Started { .. })));
    assert!(events.iter().any(|e| matches!(e, Progress::Epoch(_))));
    assert!(matches!(events.last(), Some(Progress::Testing)));

    let report = model.report.clone();
    assert_eq!(report.epochs_run, 2);
    assert!(report.test.samples > 0 && report.test.log_loss.is_finite());
    assert_eq!(report.test.samples, report.baselines.always_neutral.samples);
    let confusion_total: u64 = report.test.confusion.iter().flatten().sum();
    assert_eq!(confusion_total as usize, report.test.samples);

    let artifact = seal(model);
    let (_guard, dir) = temp_dir("tiny");
    artifact.save(&dir).expect("save");
    assert!(dir.join(WEIGHTS_FILE).exists() && dir.join(METADATA_FILE).exists());

    // The in-memory model and the reloaded one predict the same.
    let batch = 5;
    let input = windows(&artifact.metadata, batch);
    let mut before = Vec::new();
    Predictor::new(artifact.clone(), BackendKind::Flex, InferenceEngine::Fused)
        .expect("fused")
        .predict(&input, batch, &mut before)
        .expect("predict");
    let mut loaded = Predictor::load(&dir, &known(), BackendKind::Flex).expect("load");
    let mut after = Vec::new();
    loaded.predict(&input, batch, &mut after).expect("predict");
    assert_eq!(before, after);
    assert_eq!(after.len(), batch);
    for p in &after {
        let sum: f32 = p.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "probabilities sum to {sum}");
    }
    let decision = loaded.metadata().decision.decide(&after[0]);
    assert!(decision.confidence >= 1.0 / 3.0);

    // The buffer is reused: a second call replaces, not appends.
    loaded.predict(&input, batch, &mut after).expect("predict");
    assert_eq!(after.len(), batch);
}

#[test]
fn gru_trains_and_round_trips() {
    let data = load(2000);
    let model = train(&data, &tiny(Kind::Gru), None).expect("train");
    assert_eq!(model.architecture.kind, Kind::Gru);
    let artifact = seal(model);
    let (_guard, dir) = temp_dir("gru");
    artifact.save(&dir).expect("save");
    let loaded = Artifact::load(&dir, &known(), BackendKind::Flex).expect("load");
    assert_eq!(loaded.metadata, artifact.metadata);
    assert_eq!(loaded.weights_bytes(), artifact.weights_bytes());
}

#[test]
#[cfg(feature = "ndarray")]
fn trains_on_the_ndarray_backend_too() {
    let data = load(1200);
    let settings = TrainSettings {
        epochs: 1,
        backend: BackendKind::Ndarray,
        ..tiny(Kind::Lstm)
    };
    let model = train(&data, &settings, None).expect("train on ndarray");
    assert!(model.report.test.log_loss.is_finite());
    let flex = train(
        &data,
        &TrainSettings {
            backend: BackendKind::Flex,
            ..settings
        },
        None,
    )
    .expect("train on flex");
    // Same seed, same data: the two backends learn (numerically) the same model.
    let gap = (model.report.best_validation_loss - flex.report.best_validation_loss).abs();
    assert!(gap < 1e-3, "validation loss differs by {gap}");
}

#[test]
fn same_seed_gives_the_same_weights_hash() {
    let data = load(1500);
    let settings = tiny(Kind::Lstm);
    let a = seal(train(&data, &settings, None).expect("train"));
    let b = seal(train(&data, &settings, None).expect("train"));
    assert_eq!(a.metadata.weights_sha256, b.metadata.weights_sha256);
    assert_eq!(a.metadata.metadata_sha256, b.metadata.metadata_sha256);
    let other = TrainSettings {
        seed: 8,
        ..settings
    };
    let c = seal(train(&data, &other, None).expect("train"));
    assert_ne!(a.metadata.weights_sha256, c.metadata.weights_sha256);
}

/// Changing every feature and close after the training slice changes neither the scaler, nor the
/// training labels, nor (with one epoch, so early stopping has no say) the trained weights.
#[test]
fn validation_and_test_rows_do_not_leak_into_training() {
    let data = load(1500);
    let settings = TrainSettings {
        epochs: 1,
        ..tiny(Kind::Lstm)
    };
    let original = prepare(&data, &settings).expect("prepare");
    let mut altered = data.clone();
    let inputs = data.feature_names.len();
    let train_end = original.split.train.end;
    for v in &mut altered.rows[train_end * inputs..] {
        *v = *v * 50.0 + 3.0;
    }
    for (i, c) in altered.closes[train_end..].iter_mut().enumerate() {
        *c *= 1.0 + 0.03 * (i % 7) as f64;
    }
    let changed = prepare(&altered, &settings).expect("prepare");
    assert_eq!(original.scaler, changed.scaler);
    assert_eq!(original.split, changed.split);
    let train_labels = original.split.train_samples();
    assert_eq!(
        original.labels[train_labels.clone()],
        changed.labels[train_labels.clone()]
    );
    assert_ne!(original.labels[train_end..], changed.labels[train_end..]);

    let a = seal(train(&data, &settings, None).expect("train"));
    let b = seal(train(&altered, &settings, None).expect("train"));
    assert_eq!(a.metadata.scaler, b.metadata.scaler);
    assert_eq!(a.metadata.weights_sha256, b.metadata.weights_sha256);
    // ...while the test report, computed on the altered slice, does differ.
    assert_ne!(
        a.metadata.provenance.report.test,
        b.metadata.provenance.report.test
    );
}

#[test]
fn bad_training_input_gives_typed_errors() {
    let settings = tiny(Kind::Lstm);
    let good = load(600);

    let mut nan = good.clone();
    nan.rows[10 * 6 + 2] = f32::NAN;
    match train(&nan, &settings, None) {
        Err(TrainError::NonFiniteFeature { row, feature, .. }) => {
            assert_eq!(row, 10);
            assert_eq!(feature, "ret_3");
        }
        other => panic!("expected NonFiniteFeature, got {other:?}"),
    }

    let mut short_rows = good.clone();
    short_rows.rows.pop();
    assert!(matches!(
        train(&short_rows, &settings, None),
        Err(TrainError::LengthMismatch { what: "rows", .. })
    ));

    let mut short_times = good.clone();
    short_times.open_times.pop();
    assert!(matches!(
        train(&short_times, &settings, None),
        Err(TrainError::LengthMismatch {
            what: "open_times",
            ..
        })
    ));

    let mut unsorted = good.clone();
    unsorted.open_times.swap(3, 4);
    assert!(matches!(
        train(&unsorted, &settings, None),
        Err(TrainError::TimesNotIncreasing { row: 4, .. })
    ));

    let few = load(40);
    assert!(matches!(
        train(&few, &settings, None),
        Err(TrainError::Split(SplitError::TooFewRows { .. }))
    ));

    let empty = TrainingData {
        feature_names: vec![],
        rows: vec![],
        closes: vec![],
        open_times: vec![],
        source_sha256: String::new(),
    };
    assert!(matches!(
        train(&empty, &settings, None),
        Err(TrainError::NoFeatures)
    ));

    let bad_settings = TrainSettings {
        learning_rate: -1.0,
        ..settings
    };
    assert!(matches!(
        train(&good, &bad_settings, None),
        Err(TrainError::Setting {
            field: "learning_rate",
            ..
        })
    ));
}

/// One trained artifact saved to a fresh directory, for the refusal tests.
fn saved_artifact(name: &str) -> (tempfile::TempDir, PathBuf, Artifact) {
    let data = load(1200);
    let settings = TrainSettings {
        epochs: 1,
        ..tiny(Kind::Lstm)
    };
    let artifact = seal(train(&data, &settings, None).expect("train"));
    let (guard, dir) = temp_dir(name);
    artifact.save(&dir).expect("save");
    (guard, dir, artifact)
}

fn read_json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join(METADATA_FILE)).unwrap()).unwrap()
}

fn write_json(dir: &Path, value: &serde_json::Value) {
    std::fs::write(
        dir.join(METADATA_FILE),
        serde_json::to_vec_pretty(value).unwrap(),
    )
    .unwrap();
}

/// Write metadata with a recomputed seal: an edit made by someone who knows the scheme, which
/// only the consistency checks can catch.
fn write_resealed(dir: &Path, mut metadata: ModelMetadata) {
    metadata.metadata_sha256 = sha256_hex(&metadata.canonical_bytes().unwrap());
    std::fs::write(
        dir.join(METADATA_FILE),
        serde_json::to_vec(&metadata).unwrap(),
    )
    .unwrap();
}

#[test]
fn artifact_refuses_tampering_unknown_features_and_wrong_shapes() {
    let (_guard, dir, artifact) = saved_artifact("refusals");
    let load = |known: &[&str]| Artifact::load(&dir, known, BackendKind::Flex);
    assert!(load(&known()).is_ok());

    // Unknown feature: the engine does not produce `ret_24`.
    match load(&["ret_1", "ret_2", "ret_3", "range", "body"]) {
        Err(ArtifactError::UnknownFeature { feature, path }) => {
            assert_eq!(feature, "ret_24");
            assert!(path.ends_with(METADATA_FILE));
        }
        other => panic!("expected UnknownFeature, got {other:?}"),
    }

    // Tampered weights: flip one byte in the middle of model.bpk.
    let weights_path = dir.join(WEIGHTS_FILE);
    let original_weights = std::fs::read(&weights_path).unwrap();
    let mut tampered = original_weights.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    std::fs::write(&weights_path, &tampered).unwrap();
    match load(&known()) {
        Err(ArtifactError::WeightsHashMismatch {
            path,
            expected,
            actual,
        }) => {
            assert!(path.ends_with(WEIGHTS_FILE));
            assert_eq!(expected, artifact.metadata.weights_sha256[..12]);
            assert_eq!(actual, sha256_hex(&tampered)[..12]);
            let message = load(&known()).unwrap_err().to_string();
            assert!(message.contains("model.bpk") && message.contains(&expected));
        }
        other => panic!("expected WeightsHashMismatch, got {other:?}"),
    }
    std::fs::write(&weights_path, &original_weights).unwrap();
    assert!(load(&known()).is_ok());

    // Edited metadata: a scaler mean changed by hand.
    let original_json = read_json(&dir);
    let mut edited = original_json.clone();
    edited["scaler"]["mean"][0] = serde_json::json!(0.5);
    write_json(&dir, &edited);
    assert!(matches!(
        load(&known()),
        Err(ArtifactError::MetadataHashMismatch { .. })
    ));
    // Edited weights hash alone is also an edit of the metadata.
    let mut edited = original_json.clone();
    edited["weights_sha256"] = serde_json::json!("0".repeat(64));
    write_json(&dir, &edited);
    assert!(matches!(
        load(&known()),
        Err(ArtifactError::MetadataHashMismatch { .. })
    ));

    // Wrong shapes, even when the edit is resealed.
    let mut wrong_inputs = artifact.metadata.clone();
    wrong_inputs.architecture.inputs += 1;
    write_resealed(&dir, wrong_inputs);
    assert!(matches!(load(&known()), Err(ArtifactError::Shape { .. })));

    let mut wrong_scaler = artifact.metadata.clone();
    wrong_scaler.scaler.std.pop();
    write_resealed(&dir, wrong_scaler);
    assert!(matches!(load(&known()), Err(ArtifactError::Shape { .. })));

    let mut wrong_hidden = artifact.metadata.clone();
    wrong_hidden.architecture.hidden *= 2;
    write_resealed(&dir, wrong_hidden);
    match load(&known()) {
        Err(ArtifactError::WeightsMismatch { path, reason }) => {
            assert!(path.ends_with(WEIGHTS_FILE));
            assert!(reason.contains("shape"), "{reason}");
        }
        other => panic!("expected WeightsMismatch, got {other:?}"),
    }

    let mut wrong_kind = artifact.metadata.clone();
    wrong_kind.architecture.kind = Kind::Gru;
    write_resealed(&dir, wrong_kind);
    assert!(matches!(
        load(&known()),
        Err(ArtifactError::WeightsMismatch { .. })
    ));

    let mut future = original_json.clone();
    future["format_version"] = serde_json::json!(99);
    write_json(&dir, &future);
    assert!(matches!(
        load(&known()),
        Err(ArtifactError::FormatVersion { found: 99, .. })
    ));

    // Sealing refuses inconsistent metadata up front.
    let mut inconsistent = artifact.metadata.clone();
    inconsistent.feature_names.pop();
    assert!(matches!(
        Artifact::seal(inconsistent, artifact.network.clone()),
        Err(ArtifactError::Shape { .. })
    ));
}

#[test]
fn predict_validates_shape_and_finiteness() {
    let (_guard, dir, _) = saved_artifact("validation");
    let mut predictor = Predictor::load(&dir, &known(), BackendKind::Flex).expect("load");
    let Architecture {
        sequence_length,
        inputs,
        ..
    } = *predictor.architecture();
    let mut out = vec![[0.0; 3]];
    assert_eq!(
        predictor.predict(&[], 0, &mut out),
        Err(InferenceError::EmptyBatch)
    );
    assert!(out.is_empty());
    let mut input = windows(predictor.metadata(), 2);
    assert!(matches!(
        predictor.predict(&input[1..], 2, &mut out),
        Err(InferenceError::Shape { .. })
    ));
    assert!(matches!(
        predictor.predict(&input, 3, &mut out),
        Err(InferenceError::Shape { .. })
    ));
    let position = (sequence_length + 2) * inputs + 1; // window 1, step 2, feature 1
    input[position] = f32::INFINITY;
    assert_eq!(
        predictor.predict(&input, 2, &mut out),
        Err(InferenceError::NonFinite {
            window: 1,
            step: 2,
            feature: 1,
            value: f32::INFINITY,
        })
    );
}

/// The shipped model (models/default); the backend comparison must run on it.
fn shipped() -> PathBuf {
    let shipped = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models/default"));
    assert!(
        shipped.join(METADATA_FILE).exists(),
        "models/default is shipped with the repository"
    );
    shipped
}

#[test]
#[cfg(feature = "ndarray")]
fn flex_and_ndarray_give_the_same_probabilities() {
    let dir = shipped();
    let metadata: ModelMetadata =
        serde_json::from_slice(&std::fs::read(dir.join(METADATA_FILE)).unwrap()).unwrap();
    let names: Vec<&str> = metadata.feature_names.iter().map(String::as_str).collect();
    let batch = 64;
    let input = windows(&metadata, batch);
    let mut results = Vec::new();
    for &backend in BackendKind::ALL {
        let mut predictor =
            Predictor::load_with(&dir, &names, backend, InferenceEngine::Burn).expect("load");
        let mut out = Vec::new();
        predictor.predict(&input, batch, &mut out).expect("predict");
        results.push(out);
    }
    // The fused kernel over the same weights, at batch sizes on both sides of the threading
    // threshold (so the split into per-thread chunks is checked too).
    for batch_size in [1usize, batch] {
        let mut fused =
            Predictor::load_with(&dir, &names, BackendKind::Flex, InferenceEngine::Fused)
                .expect("load");
        let mut out = Vec::new();
        for chunk in input.chunks(batch_size * metadata.architecture.window_len()) {
            let mut part = Vec::new();
            fused
                .predict(chunk, batch_size, &mut part)
                .expect("predict");
            out.extend(part);
        }
        results.push(out);
    }
    let worst = |a: &[[f32; 3]], b: &[[f32; 3]]| {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
            .fold(0.0f32, f32::max)
    };
    assert_eq!(results[0].len(), batch);
    let backends = worst(&results[0], &results[1]);
    assert!(backends < 1e-4, "backends differ by {backends}");
    for fused in &results[2..] {
        let kernel = worst(&results[0], fused);
        assert!(
            kernel < 1e-5,
            "fused kernel differs from burn flex by {kernel}"
        );
    }
}

#[test]
fn decision_rule_is_config() {
    let p = [0.45, 0.35, 0.20];
    assert_eq!(
        DecisionConfig {
            min_confidence: 0.4
        }
        .decide(&p)
        .side,
        Side::Long
    );
    assert_eq!(
        DecisionConfig {
            min_confidence: 0.5
        }
        .decide(&p)
        .side,
        Side::Neutral
    );
}

/// 24 scale-free inputs like the real engine's count: 21 lagged one-bar log returns, range, body
/// and the 24-bar return.
fn load_wide(limit: usize) -> TrainingData {
    let base = load(limit + 30);
    let lags = 21;
    let mut rows = Vec::new();
    let mut closes = Vec::new();
    let mut open_times = Vec::new();
    for t in lags..base.closes.len() {
        for k in 0..lags {
            rows.push((base.closes[t - k] / base.closes[t - k - 1]).ln() as f32);
        }
        let f = &base.rows[t * 6..(t + 1) * 6];
        rows.extend_from_slice(&[f[3], f[4], f[5]]);
        closes.push(base.closes[t]);
        open_times.push(base.open_times[t]);
    }
    let mut feature_names: Vec<String> = (1..=lags).map(|k| format!("lag_{k}")).collect();
    feature_names.extend(["range", "body", "ret_24"].map(String::from));
    TrainingData {
        feature_names,
        rows,
        closes,
        open_times,
        source_sha256: base.source_sha256,
    }
}

/// Measures training and inference time for the report (run with `--ignored --nocapture`):
/// the default settings (LSTM 2 x 32, 32 steps, batch 64) on all ~20k rows with 24 inputs.
#[test]
#[ignore = "timing run, minutes long"]
fn timing_default_training_and_inference() {
    use std::time::Instant;
    let data = load_wide(1_000_000);
    let settings = TrainSettings::default();
    eprintln!(
        "rows {} inputs {} settings {:?}",
        data.closes.len(),
        data.feature_names.len(),
        settings.network
    );
    let start = Instant::now();
    let mut last = Instant::now();
    let mut on_progress = |p: Progress| match p {
        Progress::Started {
            train_samples,
            batches_per_epoch,
            ..
        } => {
            eprintln!("train samples {train_samples}, {batches_per_epoch} batches/epoch");
            last = Instant::now();
        }
        Progress::Epoch(e) => {
            eprintln!(
                "epoch {:2} train {:.4} valid {:.4} {} {:.1}s",
                e.epoch,
                e.train_loss,
                e.validation_loss,
                if e.improved { "*" } else { " " },
                last.elapsed().as_secs_f64()
            );
            last = Instant::now();
        }
        _ => {}
    };
    let model = train(&data, &settings, Some(&mut on_progress)).expect("train");
    eprintln!("total training time {:.1}s", start.elapsed().as_secs_f64());
    let r = &model.report;
    eprintln!(
        "test: acc {:.4} logloss {:.4} | neutral acc {:.4} logloss {:.4} | prev-sign acc {:.4} logloss {:.4} | beats {}",
        r.test.accuracy,
        r.test.log_loss,
        r.baselines.always_neutral.accuracy,
        r.baselines.always_neutral.log_loss,
        r.baselines.previous_return_sign.accuracy,
        r.baselines.previous_return_sign.log_loss,
        r.beats_baselines_on_log_loss
    );
    let artifact = seal(model);
    for &backend in BackendKind::ALL {
        let mut predictor =
            Predictor::new(artifact.clone(), backend, InferenceEngine::Burn).expect("burn");
        for batch in [1usize, 256] {
            let input = windows(&artifact.metadata, batch);
            let mut out = Vec::new();
            predictor.predict(&input, batch, &mut out).expect("warm-up");
            let calls = if batch == 1 { 200 } else { 10 };
            let t = Instant::now();
            for _ in 0..calls {
                predictor.predict(&input, batch, &mut out).expect("predict");
            }
            let per_window = t.elapsed().as_secs_f64() / (calls * batch) as f64;
            eprintln!(
                "{backend} batch {batch}: {:.1} us/window ({:.0} windows/s)",
                per_window * 1e6,
                1.0 / per_window
            );
        }
    }
    // Issue 7's reference shape (LSTM 2 x 64, 24 inputs, window 60), untrained weights, through
    // the same fused network (no scaler or validation: the bare forward pass).
    let architecture = Architecture {
        kind: Kind::Lstm,
        layers: 2,
        hidden: 64,
        inputs: 24,
        sequence_length: 60,
        classes: 3,
    };
    for &backend in BackendKind::ALL {
        let device = backend.device();
        let network = signal_worker::model::Network::seeded(&architecture, 1, &device).unwrap();
        for batch in [1usize, 256] {
            let values = vec![0.1f32; batch * architecture.window_len()];
            let run = |out: &mut Vec<[f32; 3]>| {
                let x = burn::tensor::Tensor::<2>::from_data(
                    burn::tensor::TensorData::new(values.clone(), [60 * batch, 24]),
                    &device,
                );
                network.probabilities(x, batch, 60, out).unwrap();
            };
            let mut out = Vec::new();
            run(&mut out);
            let calls = if batch == 1 { 100 } else { 5 };
            let t = Instant::now();
            for _ in 0..calls {
                out.clear();
                run(&mut out);
            }
            let per_window = t.elapsed().as_secs_f64() / (calls * batch) as f64;
            eprintln!(
                "issue-7 shape 2x64/60 {backend} batch {batch}: {:.1} us/window ({:.0} windows/s)",
                per_window * 1e6,
                1.0 / per_window
            );
        }
    }
}

#[test]
fn volatility_labels_train_seal_and_load_with_their_definition() {
    let data = load(2000);
    let mut settings = tiny(Kind::Gru);
    settings.labels = LabelSpec {
        kind: LabelKind::Volatility,
        volatility_k: 0.7,
        volatility_window: 50,
        ..LabelSpec::default()
    };
    let model = train(&data, &settings, None).expect("train");
    // Every slice has all three classes, none of them near-empty (volatility labels balance).
    for counts in &model.report.class_counts {
        let total: u64 = counts.iter().sum();
        for &c in counts {
            assert!(c * 10 > total, "class counts {counts:?}");
        }
    }
    let artifact = seal(model);
    let (_guard, dir) = temp_dir("volatility");
    artifact.save(&dir).expect("save");
    let loaded = Artifact::load(&dir, &known(), BackendKind::Flex).expect("load");
    assert_eq!(loaded.metadata.labels, settings.labels);
    let mut value = read_json(&dir);
    assert_eq!(value["labels"]["kind"], "volatility", "{value}");
    // A changed definition is a tampered model.
    value["labels"]["volatility_k"] = serde_json::json!(0.8);
    write_json(&dir, &value);
    assert!(Artifact::load(&dir, &known(), BackendKind::Flex).is_err());
}

#[test]
fn models_sealed_before_volatility_labels_still_verify() {
    // The shipped model's model.json has no label kind: it reads as fixed labels and its
    // metadata hash, sealed then, still holds.
    let value = read_json(&shipped());
    assert!(
        value["labels"].get("kind").is_none(),
        "the shipped model predates volatility labels: {}",
        value["labels"]
    );
    let names: Vec<String> = serde_json::from_value(value["feature_names"].clone()).unwrap();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let loaded = Artifact::load(&shipped(), &names, BackendKind::Flex).expect("load");
    assert_eq!(loaded.metadata.labels.kind, LabelKind::Fixed);
}

#[test]
fn walk_forward_folds_train_on_the_past_and_test_on_the_next_block() {
    use signal_worker::model::train::{Fold, fold_ends, walk_forward};
    let data = load(4_000);
    let settings = tiny(Kind::Gru);
    let full = train(&data, &settings, None).expect("train");
    let last = Fold::from_report(data.closes.len(), &full.report, full.split_open_times[2]);
    let mut heard = Vec::new();
    let folds = walk_forward(&data, &settings, 3, last.clone(), &mut |k, f| {
        heard.push((k, f.rows))
    })
    .expect("walk forward");
    assert_eq!(folds.len(), 3);
    assert_eq!(folds.last(), Some(&last), "the last fold is the full run");
    let ends = fold_ends(data.closes.len(), settings.split.test, 3);
    assert_eq!(
        heard,
        ends.iter()
            .enumerate()
            .map(|(i, &e)| (i + 1, e))
            .collect::<Vec<_>>()
    );
    for pair in folds.windows(2) {
        // Each fold is tested on the block after the previous fold's, never on what it saw.
        assert!(
            pair[0].test_open_times[1] < pair[1].test_open_times[0],
            "{pair:?}"
        );
        assert!(pair[0].rows < pair[1].rows);
    }
    // A fold is exactly a training run on the data's prefix: no information from after it.
    let end = ends[0];
    let inputs = data.feature_names.len();
    let prefix = TrainingData {
        rows: data.rows[..end * inputs].to_vec(),
        closes: data.closes[..end].to_vec(),
        open_times: data.open_times[..end].to_vec(),
        ..data.clone()
    };
    let alone = train(&prefix, &settings, None).expect("train prefix");
    assert_eq!(
        folds[0],
        Fold::from_report(end, &alone.report, alone.split_open_times[2])
    );
}

/// The PyTorch fixtures (`python/torch_export/make_fixtures.py`): LSTM and GRU, 1 and 2 layers.
const TORCH_FIXTURES: [&str; 4] = ["lstm_1", "lstm_2", "gru_1", "gru_2"];

fn torch_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/torch")
        .join(name)
}

fn import_fixture(
    src: &Path,
    out: &Path,
) -> Result<Artifact, signal_worker::model::import::ImportError> {
    let identity = ModelIdentity {
        name: "imported".into(),
        version: "1".into(),
        created_at: "2026-12-02T00:00:00Z".into(),
    };
    let artifact = signal_worker::model::import::import(
        src,
        identity,
        DecisionConfig::default(),
        &signal_worker::core::features::FEATURE_NAMES,
        &BackendKind::default().device(),
    )?;
    artifact.save(out).unwrap();
    Ok(artifact)
}

#[test]
fn imported_pytorch_models_give_pytorchs_probabilities_on_every_engine_and_backend() {
    for name in TORCH_FIXTURES {
        let dir = tempfile::tempdir().unwrap();
        let artifact = import_fixture(&torch_fixture(name), dir.path()).unwrap();
        let meta = &artifact.metadata;
        assert!(
            meta.provenance.imported.is_some(),
            "{name}: provenance says imported"
        );
        let expected: serde_json::Value = serde_json::from_slice(
            &std::fs::read(torch_fixture(name).join("expected.json")).unwrap(),
        )
        .unwrap();
        // The fixture's windows are already scaled; the worker scales raw features itself, so
        // feed it the raw values the model's scaler maps onto them.
        let scaler = &meta.scaler;
        let mut windows = Vec::new();
        for window in expected["scaled"].as_array().unwrap() {
            for step in window.as_array().unwrap() {
                for (f, v) in step.as_array().unwrap().iter().enumerate() {
                    let scaled = v.as_f64().unwrap() as f32;
                    windows.push(scaled * scaler.std[f] + scaler.mean[f]);
                }
            }
        }
        let batch = expected["scaled"].as_array().unwrap().len();
        let want = expected["probabilities"].as_array().unwrap();
        let runs = [
            (BackendKind::default(), InferenceEngine::Fused),
            (BackendKind::default(), InferenceEngine::Burn),
            #[cfg(feature = "ndarray")]
            (BackendKind::Ndarray, InferenceEngine::Burn),
        ];
        for (backend, engine) in runs {
            let mut worst = 0.0f64;
            let mut predictor = Predictor::load_with(
                dir.path(),
                &signal_worker::core::features::FEATURE_NAMES,
                backend,
                engine,
            )
            .unwrap();
            let mut out = Vec::new();
            predictor.predict(&windows, batch, &mut out).unwrap();
            for (b, (got, want)) in out.iter().zip(want).enumerate() {
                for (k, w) in want.as_array().unwrap().iter().enumerate() {
                    let w = w.as_f64().unwrap();
                    worst = worst.max((f64::from(got[k]) - w).abs());
                    assert!(
                        (f64::from(got[k]) - w).abs() < 1e-5,
                        "{name} {backend:?} {engine:?} window {b} class {k}: {} vs PyTorch {w}",
                        got[k]
                    );
                }
            }
            eprintln!("{name} {backend:?} {engine:?}: largest difference from PyTorch {worst:.2e}");
        }
    }
}

/// A copy of a fixture whose weights are `edit`ed (tensors by name), the description's hash
/// updated to match.
fn edited_fixture(
    name: &str,
    edit: impl FnOnce(&mut std::collections::BTreeMap<String, (Vec<usize>, Vec<f32>)>),
) -> tempfile::TempDir {
    use safetensors::tensor::{Dtype, TensorView};
    let src = torch_fixture(name);
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: std::collections::BTreeMap<String, (Vec<usize>, Vec<f32>)> = file
        .tensors()
        .into_iter()
        .map(|(n, v)| {
            let values = v
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (n, (v.shape().to_vec(), values))
        })
        .collect();
    edit(&mut tensors);
    let raw: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(n, (shape, values))| {
            (
                n,
                shape,
                values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = raw
        .iter()
        .map(|(n, shape, data)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    let out = safetensors::serialize(views, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.safetensors"), &out).unwrap();
    let mut description: serde_json::Value =
        serde_json::from_slice(&std::fs::read(src.join("model.json")).unwrap()).unwrap();
    description["weights"]["sha256"] = sha256_hex(&out).into();
    std::fs::write(
        dir.path().join("model.json"),
        serde_json::to_vec(&description).unwrap(),
    )
    .unwrap();
    dir
}

#[test]
fn imports_are_refused_with_the_reason_and_nothing_written() {
    use signal_worker::model::import::ImportError;
    let refused = |src: &Path| {
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("m");
        let Err(error) = import_fixture(src, &target) else {
            panic!("{} was imported", src.display());
        };
        assert!(!target.exists(), "nothing written for {error}");
        error
    };
    let missing = edited_fixture("lstm_2", |t| {
        t.remove("rnn.bias_hh_l1");
    });
    assert!(matches!(refused(missing.path()), ImportError::Missing(n) if n == "rnn.bias_hh_l1"));
    let extra = edited_fixture("gru_1", |t| {
        let copy = t["rnn.weight_ih_l0"].clone();
        t.insert("rnn.weight_ih_l0_reverse".into(), copy);
    });
    let error = refused(extra.path());
    assert!(error.to_string().contains("bidirectional"), "{error}");
    let shape = edited_fixture("gru_2", |t| {
        let (_, values) = t.remove("head.weight").unwrap();
        t.insert("head.weight".into(), (vec![8, 3], values));
    });
    assert!(matches!(refused(shape.path()), ImportError::Shape { .. }));
    let nan = edited_fixture("lstm_1", |t| {
        if let Some((_, values)) = t.get_mut("rnn.weight_hh_l0") {
            values[3] = f32::NAN;
        }
    });
    assert!(matches!(refused(nan.path()), ImportError::NonFinite(n) if n == "rnn.weight_hh_l0"));
    // A description naming a feature the engine does not compute.
    let unknown = edited_fixture("lstm_1", |_| {});
    let path = unknown.path().join("model.json");
    let mut description: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    description["feature_names"][0] = "order_book_imbalance".into();
    std::fs::write(&path, serde_json::to_vec(&description).unwrap()).unwrap();
    assert!(
        matches!(refused(unknown.path()), ImportError::UnknownFeature(f) if f == "order_book_imbalance")
    );
    // Weights that are not the ones the description names.
    let swapped = edited_fixture("lstm_1", |_| {});
    std::fs::copy(
        torch_fixture("lstm_2").join("model.safetensors"),
        swapped.path().join("model.safetensors"),
    )
    .unwrap();
    assert!(matches!(
        refused(swapped.path()),
        ImportError::WeightsHash { .. }
    ));
}

/// Rows `start..start + len` of `data` as a series of their own.
fn rows_of(data: &TrainingData, start: usize, len: usize, sha: &str) -> TrainingData {
    let inputs = data.feature_names.len();
    TrainingData {
        feature_names: data.feature_names.clone(),
        rows: data.rows[start * inputs..(start + len) * inputs].to_vec(),
        closes: data.closes[start..start + len].to_vec(),
        open_times: data.open_times[start..start + len].to_vec(),
        source_sha256: sha.into(),
    }
}

#[test]
fn several_series_train_one_model_each_split_on_its_own_with_one_scaler() {
    use signal_worker::model::train::{NamedSeries, Slice, prepare_series, train_series};
    let all = load(4200);
    // Two series over overlapping times (the second is the first 2,000 bars shifted by 700):
    // what two markets recorded over the same months look like to training.
    let a = rows_of(&all, 0, 2200, "a");
    let b = rows_of(&all, 700, 2000, "b");
    let settings = TrainSettings {
        epochs: 1,
        ..tiny(Kind::Lstm)
    };
    let series = [
        NamedSeries {
            name: "x.A.1h",
            data: &a,
        },
        NamedSeries {
            name: "x.B.1h",
            data: &b,
        },
    ];
    let both = prepare_series(&series, &settings).expect("prepare");
    let alone = [
        prepare(&a, &settings).expect("a"),
        prepare(&b, &settings).expect("b"),
    ];
    // Each series is labelled and split exactly as alone: no label reads the other's closes...
    assert_eq!(both.parts.len(), 2);
    assert_eq!(both.parts[1].offset, a.closes.len());
    for (part, single) in both.parts.iter().zip(&alone) {
        assert_eq!(part.split, single.split);
        assert_eq!(
            both.labels[part.offset..part.offset + part.rows],
            single.labels[..]
        );
    }
    // ...every sample's window and label rows lie inside its own series...
    let seq = settings.sample_span();
    let horizon = settings.labels.horizon;
    for slice in [Slice::Train, Slice::Validation, Slice::Test] {
        let samples = both.samples(slice);
        let expected: usize = alone.iter().map(|p| p.samples(slice).len()).sum();
        assert_eq!(samples.len(), expected, "{slice:?}");
        for (row, _) in samples {
            let (_, part) = both.series_of(row).expect("a series");
            assert!(row + 1 >= part.offset + seq && row + horizon < part.offset + part.rows);
            assert!(both.is_sample(row, slice));
        }
    }
    // ...and one scaler is fitted over both training slices, neither alone.
    let inputs = a.feature_names.len();
    let mut train_rows = Vec::new();
    for (data, single) in [(&a, &alone[0]), (&b, &alone[1])] {
        let r = &single.split.train;
        train_rows.extend_from_slice(&data.rows[r.start * inputs..r.end * inputs]);
    }
    assert_eq!(
        both.scaler,
        signal_worker::model::Scaler::fit(&train_rows, inputs).unwrap()
    );
    assert_ne!(both.scaler, alone[0].scaler);

    let trained = train_series(&series, &settings, None).expect("train");
    assert_eq!(trained.rows, 4200);
    assert_eq!(
        trained
            .series
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["x.A.1h", "x.B.1h"]
    );
    assert_eq!(trained.series[1].split, alone[1].split);
    // The test samples of both series, interleaved by time for the report's pictures.
    let trace = &trained.test_trace;
    assert_eq!(trace.labels.len(), trained.report.samples[2]);
    assert_eq!(trace.model.len(), trace.labels.len());
    assert!(trace.open_times.windows(2).all(|p| p[0] <= p[1]));
    // Rewriting the second series' validation and test rows leaves the weights unchanged: no
    // row outside the training slices reaches the model, in either series.
    let mut b_later = b.clone();
    let cut = alone[1].split.train.end;
    for v in &mut b_later.rows[cut * inputs..] {
        *v = *v * 40.0 - 2.0;
    }
    let changed = [
        series[0],
        NamedSeries {
            name: "x.B.1h",
            data: &b_later,
        },
    ];
    let again = train_series(&changed, &settings, None).expect("train");
    let weights = |m: TrainedModel| seal(m).metadata.weights_sha256;
    assert_ne!(again.report.test, trained.report.test);
    assert_eq!(weights(again), weights(trained));
    // Series with other feature columns cannot share a model.
    let mut other = b.clone();
    other.feature_names[0] = "something_else".into();
    let mixed = [
        series[0],
        NamedSeries {
            name: "x.C.1h",
            data: &other,
        },
    ];
    assert!(matches!(
        train_series(&mixed, &settings, None),
        Err(TrainError::FeatureMismatch { .. })
    ));
}
