//! The whole pure pipeline under hostile input (property tests): arbitrary bytes on any subject,
//! and well-formed candles with extreme values (huge, tiny, subnormal, 1e308 volume, one-tick
//! ranges). Never a panic, one outcome per input, every rejection with a reason, and every
//! signal's probabilities finite and summing to one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use signal_worker::config::Settings;
use signal_worker::contract::CandleMessage;
use signal_worker::contract::codec::{self, Encoding};
use signal_worker::core::pipeline::{Input, Outcome, Pipeline};
use signal_worker::error::ErrorCode;
use signal_worker::runtime::model::{build_pipeline, load_predictor};
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const HOUR_MS: i64 = 3_600_000;

fn pipeline() -> Pipeline {
    let settings = Settings::default();
    let predictor =
        load_predictor(&settings, Path::new(&format!("{ROOT}/models/default"))).unwrap();
    build_pipeline(&settings, predictor).unwrap()
}

/// What every outcome must satisfy, whatever the input.
fn check(outcomes: &[Outcome], inputs: usize) {
    assert_eq!(outcomes.len(), inputs, "one outcome per input");
    for outcome in outcomes {
        match outcome {
            Outcome::Rejected(r) => {
                assert!(
                    !r.detail.trim().is_empty(),
                    "a rejection without a reason: {r:?}"
                );
                assert_ne!(
                    r.code,
                    ErrorCode::Internal,
                    "input reached an internal error: {r:?}"
                );
            }
            Outcome::Signal(s) => {
                let p = [
                    s.probabilities.long,
                    s.probabilities.short,
                    s.probabilities.neutral,
                ];
                assert!(
                    p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)),
                    "{p:?}"
                );
                assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4, "{p:?}");
                assert!(s.confidence.is_finite());
            }
            _ => {}
        }
    }
}

fn process(p: &mut Pipeline, bodies: &[(Vec<u8>, Encoding, Option<String>)]) -> Vec<Outcome> {
    let inputs: Vec<Input<'_>> = bodies
        .iter()
        .map(|(bytes, encoding, subject)| Input {
            bytes,
            encoding: *encoding,
            subject: subject.as_deref(),
        })
        .collect();
    p.process(&inputs, Some(i64::MAX / 4)).unwrap()
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![Just(Encoding::MessagePack), Just(Encoding::Json)]
}

/// Magnitudes where floating point misbehaves, plus ordinary ones.
fn magnitude() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(1e300),
        Just(1e-300),
        Just(f64::MIN_POSITIVE / 4.0), // subnormal
        Just(5e-324),                  // the smallest subnormal
        Just(1e-8),
        Just(65_000.0),
        1e-6..1e6f64,
    ]
}

fn volume() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(1e308),
        Just(5e-324),
        Just(f64::MAX),
        0.0..1e9f64
    ]
}

/// A well-formed series: each bar moves from the previous close by a factor, with a range
/// from nothing (one tick, all four prices equal) to wide.
fn series() -> impl Strategy<Value = Vec<CandleMessage>> {
    (
        magnitude(),
        prop::collection::vec(
            (
                prop_oneof![Just(1.0), 0.9..1.1f64],
                prop_oneof![Just(0.0), Just(1e-15), 0.0..0.05f64],
                volume(),
            ),
            60..160,
        ),
    )
        .prop_map(|(start, moves)| {
            let mut close = start;
            moves
                .into_iter()
                .enumerate()
                .map(|(i, (factor, range, volume))| {
                    let open = close;
                    close *= factor;
                    CandleMessage {
                        exchange: "fuzz".into(),
                        symbol: "XYZ".into(),
                        interval: "1h".into(),
                        open_time: i as i64 * HOUR_MS,
                        close_time: None,
                        open,
                        high: open.max(close) * (1.0 + range),
                        low: open.min(close) * (1.0 - range),
                        close,
                        volume,
                        trades: None,
                        is_closed: true,
                    }
                })
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_on_any_subject_are_rejected_with_a_reason(
        messages in prop::collection::vec(
            (
                prop::collection::vec(any::<u8>(), 0..300),
                encoding(),
                prop::option::of("[a-zA-Z0-9.>*_-]{0,40}"),
            ),
            1..16,
        )
    ) {
        let mut p = pipeline();
        let outcomes = process(&mut p, &messages);
        check(&outcomes, messages.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn extreme_but_well_formed_candles_never_make_a_nan(
        candles in series(),
        encoding in encoding(),
    ) {
        let mut p = pipeline();
        let bodies: Vec<_> = candles
            .iter()
            .map(|c| (codec::encode(c, encoding).unwrap(), encoding, None))
            .collect();
        let outcomes = process(&mut p, &bodies);
        check(&outcomes, bodies.len());
        // Consecutive bars of one series: once warm, every candle is signalled, whatever the
        // magnitudes (none of these values is invalid, so nothing may be refused either).
        let first = outcomes.iter().position(|o| matches!(o, Outcome::Signal(_)));
        prop_assert!(first.is_some() || candles.len() < 100, "no signal in {} bars", candles.len());
        if let Some(first) = first {
            let warm = |o: &Outcome| matches!(o, Outcome::Warming { .. });
            prop_assert!(outcomes[first..].iter().all(|o| matches!(o, Outcome::Signal(_))), "a gap in the signals");
            prop_assert!(outcomes[..first].iter().all(warm), "a refusal during the warm-up");
        }
    }

    #[test]
    fn corrupted_valid_candles_are_rejected_with_a_reason(
        candles in series(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut p = pipeline();
        let bodies: Vec<_> = candles
            .iter()
            .map(|c| {
                let mut bytes = codec::encode(c, Encoding::MessagePack).unwrap();
                for (at, byte) in &flips {
                    let i = at.index(bytes.len());
                    bytes[i] = *byte;
                }
                (bytes, Encoding::MessagePack, Some("candles.fuzz.XYZ.1h".to_owned()))
            })
            .collect();
        let outcomes = process(&mut p, &bodies);
        check(&outcomes, bodies.len());
    }
}

/// A real-looking series around 6e4 with one bar spiking by `10^exponent` (up or down).
fn spiked(exponent: i32, up: bool, at: usize, bars: usize) -> Vec<CandleMessage> {
    (0..bars)
        .map(|i| {
            let base = 60_000.0 * (1.0 + 0.001 * ((i as f64) * 0.7).sin());
            let factor = 10f64.powi(exponent);
            let close = match (i == at, up) {
                (true, true) => base * factor,
                (true, false) => base / factor,
                _ => base,
            };
            let open = base;
            CandleMessage {
                exchange: "spike".into(),
                symbol: "BTCUSD".into(),
                interval: "1h".into(),
                open_time: i as i64 * HOUR_MS,
                close_time: None,
                open,
                high: open.max(close) * 1.001,
                low: open.min(close) * 0.999,
                close,
                volume: 10.0,
                trades: None,
                is_closed: true,
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// A spike of 10^1 .. 10^300 (f64's range) on one bar: features past f32's range are
    /// clamped, never an `internal` error; a window that cannot be scored finitely says so
    /// (`unscorable`) and is never published; every published probability is finite; and
    /// the series is signalled again once the spike is behind it.
    #[test]
    fn price_spikes_over_many_orders_of_magnitude_never_publish_a_non_finite_signal(
        exponent in 1i32..=300,
        up in any::<bool>(),
        at in 120usize..160,
    ) {
        let bars = at + 260;
        let candles = spiked(exponent, up, at, bars);
        let mut p = pipeline();
        let bodies: Vec<_> = candles
            .iter()
            .map(|c| (codec::encode(c, Encoding::MessagePack).unwrap(), Encoding::MessagePack, None))
            .collect();
        let outcomes = process(&mut p, &bodies);
        check(&outcomes, bodies.len());
        for (i, o) in outcomes.iter().enumerate() {
            match o {
                Outcome::Signal(_) | Outcome::Warming { .. } => {}
                Outcome::Rejected(r) => prop_assert_eq!(r.code, ErrorCode::Unscorable, "bar {}: {:?}", i, r),
                other => prop_assert!(false, "bar {}: {:?}", i, other),
            }
        }
        prop_assert!(
            matches!(outcomes.last(), Some(Outcome::Signal(_))),
            "not signalled again 260 bars after a 1e{} spike: {:?}", exponent, outcomes.last()
        );
        // Before the spike nothing differs from an unspiked run.
        let mut calm = pipeline();
        let plain: Vec<_> = spiked(0, up, at, at)
            .iter()
            .map(|c| (codec::encode(c, Encoding::MessagePack).unwrap(), Encoding::MessagePack, None))
            .collect();
        prop_assert_eq!(&process(&mut calm, &plain)[..], &outcomes[..at]);
    }
}
