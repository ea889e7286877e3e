//! The streaming model: trained by truncated BPTT, evaluated by one continuous run, and run live
//! by the pipeline one step per candle — with the live probabilities equal to the evaluated ones.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use signal_worker::config::Settings;
use signal_worker::contract::CandleMessage;
use signal_worker::contract::codec::{self, Encoding};
use signal_worker::core::dataset::feature_rows;
use signal_worker::core::features::FEATURE_NAMES;
use signal_worker::core::pipeline::{Input, Outcome, Pipeline, PipelineSettings};
use signal_worker::core::sequence::SequenceSettings;
use signal_worker::io::csv_file::{CsvIdentity, read_csv};
use signal_worker::model::train::prepare;
use signal_worker::model::{
    Artifact, BackendKind, DecisionConfig, InferenceEngine, Kind, Metrics, ModelIdentity,
    ModelMode, NetworkSettings, Predictor, TrainSettings, TrainingData, train,
};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/btcusd-1h.csv");

fn candles(limit: usize) -> Vec<CandleMessage> {
    let identity = CsvIdentity {
        exchange: "coinbase".into(),
        symbol: "BTCUSD".into(),
        interval: "1h".into(),
    };
    read_csv(DATA, std::fs::File::open(DATA).unwrap(), identity)
        .unwrap()
        .take(limit)
        .map(|r| r.unwrap().candle.unwrap())
        .collect()
}

fn streaming_settings(kind: Kind) -> TrainSettings {
    TrainSettings {
        epochs: 2,
        patience: 2,
        seed: 11,
        network: NetworkSettings {
            kind,
            layers: 2,
            hidden: 8,
            sequence_length: 16,
            dropout: 0.0,
        },
        streaming: Some(signal_worker::model::train::StreamingSettings {
            burn_in: 24,
            lanes: 8,
        }),
        ..TrainSettings::default()
    }
}

fn training_data(msgs: &[CandleMessage], settings: &Settings) -> TrainingData {
    let table = feature_rows(msgs.to_vec(), &settings.validation, &settings.features);
    TrainingData {
        feature_names: FEATURE_NAMES.iter().map(|s| (*s).to_owned()).collect(),
        rows: table.rows,
        closes: table.closes,
        open_times: table.open_times,
        source_sha256: "test".into(),
    }
}

fn pipeline(artifact: Artifact, engine: InferenceEngine, settings: &Settings) -> Pipeline {
    let predictor = Predictor::new(artifact, BackendKind::Flex, engine).unwrap();
    Pipeline::new(
        predictor,
        PipelineSettings {
            validation: settings.validation.clone(),
            // A recorded file is one continuous history, as in training.
            sequence: SequenceSettings {
                gap_reset_bars: 0,
                ..Default::default()
            },
            features: settings.features.clone(),
            decision: settings.decision,
            candle_subject_prefix: settings.nats.candle_subject_prefix.clone(),
        },
    )
    .unwrap()
}

fn run(p: &mut Pipeline, msgs: &[CandleMessage], batch: usize) -> Vec<Outcome> {
    let bodies: Vec<Vec<u8>> = msgs
        .iter()
        .map(|m| codec::encode(m, Encoding::MessagePack).unwrap())
        .collect();
    let mut all = Vec::new();
    for chunk in bodies.chunks(batch) {
        let inputs: Vec<Input<'_>> = chunk
            .iter()
            .map(|b| Input {
                bytes: b,
                encoding: Encoding::MessagePack,
                subject: None,
            })
            .collect();
        all.extend(p.process(&inputs, None).unwrap());
    }
    all
}

#[test]
fn live_streaming_inference_equals_the_evaluation_exactly() {
    let settings = Settings::default();
    let msgs = candles(2_500);
    let data = training_data(&msgs, &settings);
    let train_settings = streaming_settings(Kind::Lstm);
    let model = train(&data, &train_settings, None).unwrap();
    let reported = model.report.test.clone();
    let artifact = model
        .into_artifact(
            ModelIdentity {
                name: "stream".into(),
                version: "1".into(),
                created_at: "2026-11-26T00:00:00Z".into(),
            },
            DecisionConfig::default(),
        )
        .unwrap();
    assert_eq!(artifact.metadata.mode, ModelMode::Streaming { burn_in: 24 });

    // The pipeline, batches of 64 candles of the one series (so several steps per batch).
    let outcomes = run(
        &mut pipeline(artifact.clone(), InferenceEngine::Fused, &settings),
        &msgs,
        64,
    );
    let prepared = prepare(&data, &train_settings).unwrap();
    let test_rows: Vec<usize> = prepared.split.test_samples().collect();
    let mut labels = Vec::new();
    let mut live = Vec::new();
    for row in test_rows {
        let Some(side) = prepared.labels[row] else {
            continue;
        };
        let open_time = data.open_times[row];
        let signal = outcomes
            .iter()
            .find_map(|o| match o {
                Outcome::Signal(s) if s.open_time == open_time => Some(s),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no signal for the test row at {open_time}"));
        let p = signal.probabilities;
        live.push([p.long as f32, p.short as f32, p.neutral as f32]);
        labels.push(side);
    }
    assert_eq!(live.len(), reported.samples);
    let measured = Metrics::score(&labels, &live);
    assert_eq!(
        measured.log_loss, reported.log_loss,
        "live log-loss {} vs evaluated {}",
        measured.log_loss, reported.log_loss
    );
    assert_eq!(measured.accuracy, reported.accuracy);
}

#[test]
fn burn_in_gaps_and_batching_do_what_they_say() {
    let settings = Settings::default();
    let msgs = candles(700);
    let data = training_data(&msgs, &settings);
    for kind in [Kind::Lstm, Kind::Gru] {
        let mut train_settings = streaming_settings(kind);
        train_settings.epochs = 1;
        let artifact = train(&data, &train_settings, None)
            .unwrap()
            .into_artifact(
                ModelIdentity {
                    name: "stream".into(),
                    version: "1".into(),
                    created_at: "2026-11-26T00:00:00Z".into(),
                },
                DecisionConfig::default(),
            )
            .unwrap();
        // Batching does not change anything: 1 candle per batch, 7, and all at once.
        let one = run(
            &mut pipeline(artifact.clone(), InferenceEngine::Fused, &settings),
            &msgs,
            1,
        );
        let all = run(
            &mut pipeline(artifact.clone(), InferenceEngine::Fused, &settings),
            &msgs,
            msgs.len(),
        );
        let seven = run(
            &mut pipeline(artifact.clone(), InferenceEngine::Fused, &settings),
            &msgs,
            7,
        );
        assert_eq!(one, all, "{kind}: batch of 1 vs whole file");
        assert_eq!(one, seven, "{kind}: batch of 1 vs 7");
        // The first feature vector comes at bar WARM_UP_BARS (index 49); 24 burn-in steps follow.
        let first_signal = one
            .iter()
            .position(|o| matches!(o, Outcome::Signal(_)))
            .unwrap();
        assert_eq!(
            first_signal,
            signal_worker::core::features::WARM_UP_BARS - 1 + 24
        );
        assert!(
            one[first_signal..]
                .iter()
                .all(|o| matches!(o, Outcome::Signal(_)))
        );
        // burn's stateful forward on flex agrees with the fused kernel's steps.
        let burn = run(
            &mut pipeline(artifact.clone(), InferenceEngine::Burn, &settings),
            &msgs,
            32,
        );
        let mut worst = 0.0f64;
        for (a, b) in one.iter().zip(&burn) {
            if let (Outcome::Signal(a), Outcome::Signal(b)) = (a, b) {
                worst = worst
                    .max((a.probabilities.long - b.probabilities.long).abs())
                    .max((a.probabilities.short - b.probabilities.short).abs());
            }
        }
        assert!(worst < 1e-5, "{kind}: fused vs burn {worst}");
    }
}

#[test]
fn a_gap_reset_restarts_the_state_and_the_burn_in() {
    let settings = Settings::default();
    let msgs = candles(400);
    let data = training_data(&msgs, &settings);
    let mut train_settings = streaming_settings(Kind::Lstm);
    train_settings.epochs = 1;
    let artifact = train(&data, &train_settings, None)
        .unwrap()
        .into_artifact(
            ModelIdentity {
                name: "stream".into(),
                version: "1".into(),
                created_at: "2026-11-26T00:00:00Z".into(),
            },
            DecisionConfig::default(),
        )
        .unwrap();
    let mut gapped = msgs[..200].to_vec();
    // 10 hours missing, then the rest shifted so it stays a valid continuation.
    for m in &msgs[210..] {
        gapped.push(m.clone());
    }
    let predictor = Predictor::new(artifact, BackendKind::Flex, InferenceEngine::Fused).unwrap();
    let mut p = Pipeline::new(
        predictor,
        PipelineSettings {
            validation: settings.validation.clone(),
            sequence: SequenceSettings {
                gap_reset_bars: 5,
                ..Default::default()
            },
            features: settings.features.clone(),
            decision: settings.decision,
            candle_subject_prefix: settings.nats.candle_subject_prefix.clone(),
        },
    )
    .unwrap();
    let outcomes = run(&mut p, &gapped, 50);
    // After the reset at index 200 the series warms its features again and burns in again.
    let restart = 200 + signal_worker::core::features::WARM_UP_BARS - 1 + 24;
    assert!(matches!(outcomes[199], Outcome::Signal(_)));
    assert!(
        outcomes[200..restart]
            .iter()
            .all(|o| matches!(o, Outcome::Warming { .. }))
    );
    assert!(matches!(outcomes[restart], Outcome::Signal(_)));
}
