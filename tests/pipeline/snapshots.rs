//! Series snapshots at the pipeline level: a pipeline resumed from its checkpoint continues
//! exactly as the uninterrupted one (both model modes), keeps ordering and duplicates across the
//! restart, writes only what changed, and refuses snapshots it must not trust.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use signal_worker::config::Settings;
use signal_worker::contract::CandleMessage;
use signal_worker::contract::codec::{self, Encoding};
use signal_worker::core::pipeline::{Input, Outcome, Pipeline};
use signal_worker::core::series_snapshot::{SeriesSnapshot, SnapshotError};
use signal_worker::error::ErrorCode;
use signal_worker::io::csv_file::{CsvIdentity, read_csv};
use signal_worker::runtime::model::{build_pipeline, load_predictor};
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The bundled BTC/USD candles, repeated under `symbols` (series interleaved per bar).
fn candles(symbols: &[&str], limit: usize) -> Vec<Vec<u8>> {
    let data = format!("{ROOT}/data/btcusd-1h.csv");
    let identity = CsvIdentity {
        exchange: "coinbase".into(),
        symbol: "BTCUSD".into(),
        interval: "1h".into(),
    };
    let bars: Vec<CandleMessage> = read_csv(&data, std::fs::File::open(&data).unwrap(), identity)
        .unwrap()
        .take(limit)
        .map(|r| r.unwrap().candle.unwrap())
        .collect();
    let mut out = Vec::new();
    for bar in &bars {
        for symbol in symbols {
            let mut c = bar.clone();
            c.symbol = (*symbol).into();
            out.push(codec::encode(&c, Encoding::MessagePack).unwrap());
        }
    }
    out
}

/// A pipeline as a worker that writes series snapshots builds it (it retains
/// `features.snapshot_bars` bars; without snapshots it keeps only what the features need).
fn pipeline(model: &str) -> Pipeline {
    let mut settings = Settings::default();
    settings.redis.enabled = true;
    settings.redis.snapshots = true;
    let predictor =
        load_predictor(&settings, Path::new(&format!("{ROOT}/models/{model}"))).unwrap();
    build_pipeline(&settings, predictor).unwrap()
}

fn run(p: &mut Pipeline, bodies: &[Vec<u8>]) -> Vec<Outcome> {
    let mut out = Vec::new();
    for chunk in bodies.chunks(256) {
        let inputs: Vec<Input<'_>> = chunk
            .iter()
            .map(|b| Input {
                bytes: b,
                encoding: Encoding::MessagePack,
                subject: None,
            })
            .collect();
        out.extend(p.process(&inputs, None).unwrap());
    }
    out
}

/// Encodes and decodes every snapshot, as Redis would carry them, into a fresh pipeline.
fn resumed(model: &str, snapshots: &[SeriesSnapshot]) -> Pipeline {
    let mut p = pipeline(model);
    for s in snapshots {
        let back = SeriesSnapshot::decode(&s.encode().unwrap()).unwrap();
        assert_eq!(&back, s);
        p.resume(&back).unwrap();
    }
    p
}

/// Outcome by outcome: the same kind, the same signal side, probabilities within `tol`.
fn assert_same(a: &[Outcome], b: &[Outcome], tol: f64) {
    assert_eq!(a.len(), b.len());
    let mut signals = 0;
    for (x, y) in a.iter().zip(b) {
        match (x, y) {
            (Outcome::Signal(s), Outcome::Signal(t)) => {
                signals += 1;
                assert_eq!((&s.symbol, s.open_time), (&t.symbol, t.open_time));
                let diff = (s.probabilities.long - t.probabilities.long)
                    .abs()
                    .max((s.probabilities.short - t.probabilities.short).abs())
                    .max((s.probabilities.neutral - t.probabilities.neutral).abs());
                assert!(diff <= tol, "{} {}: {diff}", s.symbol, s.open_time);
                if tol == 0.0 {
                    assert_eq!(s, t);
                }
            }
            _ => assert_eq!(x, y),
        }
    }
    assert!(signals > 0, "the comparison covered no signal");
}

/// Interrupts a two-series run after `cut` bars, resumes from the checkpoint, and compares the
/// rest with the uninterrupted run.
fn interrupted_equals_uninterrupted(model: &str, cut: usize, total: usize, tol: f64) {
    let bodies = candles(&["BTCUSD", "XBTUSD"], total);
    let (head, tail) = bodies.split_at(cut * 2);
    let mut whole = pipeline(model);
    run(&mut whole, head);
    let snapshots = whole.checkpoint(42, true);
    assert_eq!(snapshots.len(), 2);
    assert!(snapshots.iter().all(|s| s.through_sequence == 42));
    let mut again = resumed(model, &snapshots);
    let expected = run(&mut whole, tail);
    let got = run(&mut again, tail);
    assert_same(&expected, &got, tol);
}

#[test]
fn windowed_resume_is_exact_within_the_retained_bars() {
    // 600 bars: the snapshot holds the whole history, so everything comes back bit for bit.
    interrupted_equals_uninterrupted("default", 600, 900, 0.0);
}

#[test]
fn windowed_resume_deep_into_the_history_agrees_to_rounding() {
    // 3,000 bars, beyond the 1,000 retained: exponential indicators restart from a seed whose
    // error has decayed below f32 resolution (see core/features/snapshot.rs).
    interrupted_equals_uninterrupted("default", 3_000, 3_400, 1e-5);
}

#[test]
fn streaming_resume_carries_the_recurrent_state_and_the_burn_in() {
    // Cut inside the burn-in (warm-up ~50 bars + 64 burn-in steps) and far beyond it.
    interrupted_equals_uninterrupted("streaming", 90, 400, 0.0);
    interrupted_equals_uninterrupted("streaming", 3_000, 3_300, 1e-5);
}

#[test]
fn ordering_and_duplicates_survive_the_restart() {
    let bodies = candles(&["BTCUSD"], 300);
    let mut p = pipeline("default");
    run(&mut p, &bodies[..200]);
    let mut again = resumed("default", &p.checkpoint(7, true));
    let outcomes = run(&mut again, &[bodies[199].clone(), bodies[150].clone()]);
    assert!(
        matches!(outcomes[0], Outcome::Duplicate(_)),
        "{:?}",
        outcomes[0]
    );
    assert!(
        matches!(&outcomes[1], Outcome::Rejected(r) if r.code == ErrorCode::OutOfOrder),
        "{:?}",
        outcomes[1]
    );
    assert!(matches!(
        run(&mut again, &bodies[200..201])[0],
        Outcome::Signal(_)
    ));
}

#[test]
fn a_checkpoint_holds_only_the_series_that_changed() {
    let bodies = candles(&["AAA", "BBB", "CCC"], 100);
    let mut p = pipeline("default");
    run(&mut p, &bodies);
    assert_eq!(p.checkpoint(1, false).len(), 3, "new series are changed");
    assert!(p.checkpoint(2, false).is_empty(), "nothing changed since");
    let more = candles(&["BBB"], 101);
    run(&mut p, &more[100..]);
    let changed = p.checkpoint(3, false);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].series.symbol.to_string(), "BBB");
    assert_eq!(p.checkpoint(4, true).len(), 3, "`all` writes every series");
    // A resumed series is what the store holds: not changed until a candle arrives.
    let mut again = resumed("default", &p.checkpoint(5, true));
    assert!(again.checkpoint(6, false).is_empty());
}

#[test]
fn untrustworthy_snapshots_are_refused() {
    let bodies = candles(&["BTCUSD"], 200);
    let mut p = pipeline("default");
    run(&mut p, &bodies);
    let good = p.checkpoint(9, true).remove(0);
    let mut target = pipeline("default");

    let mut other_model = good.clone();
    other_model.model_sha256 = "f".repeat(64);
    assert!(matches!(
        target.resume(&other_model),
        Err(SnapshotError::OtherModel { .. })
    ));
    // The streaming model refuses the windowed model's snapshot (other weights).
    assert!(pipeline("streaming").resume(&good).is_err());

    let mut ragged = good.clone();
    ragged.window.pop();
    assert!(matches!(
        target.resume(&ragged),
        Err(SnapshotError::Shape(_))
    ));

    let mut stray = good.clone();
    stray.recurrent = vec![0.0; 3];
    assert!(matches!(
        target.resume(&stray),
        Err(SnapshotError::Shape(_))
    ));

    let mut poisoned = good.clone();
    poisoned.window[0] = f32::NAN;
    assert!(matches!(
        target.resume(&poisoned),
        Err(SnapshotError::Shape(_))
    ));

    let mut future = good.clone();
    future.format_version += 1;
    assert!(matches!(
        SeriesSnapshot::decode(&future.encode().unwrap()),
        Err(SnapshotError::Version { .. })
    ));
    let bytes = good.encode().unwrap();
    assert!(matches!(
        SeriesSnapshot::decode(&bytes[..bytes.len() / 2]),
        Err(SnapshotError::Decode(_))
    ));
    assert_eq!(target.series_count(), 0, "nothing refused was installed");
    target.resume(&good).unwrap();
    assert_eq!(target.series_count(), 1);
}
