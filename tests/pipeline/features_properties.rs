//! Properties of the model feature vector on the bundled real data: always
//! finite, explicit warm-up, no look-ahead, exact snapshot/restore, clean
//! refusal of bad input, and formulas that agree with a naive recomputation.

use crate::features_support::{
    FILES, Run, TOL, TestResult, load_bars, run, run_from, scaled_error,
};
use signal_worker::core::bar::Bar;
use signal_worker::core::features::{
    FEATURE_COUNT, FEATURE_NAMES, FeatureError, FeatureSettings, FeatureSnapshot, INDICATOR_NAMES,
    SNAPSHOT_FORMAT_VERSION, SeriesFeatures, WARM_UP_BARS,
};

/// Position of a feature by name (panics in the test if it was renamed).
fn feature(name: &str) -> usize {
    let found = FEATURE_NAMES.iter().position(|n| *n == name);
    assert!(found.is_some(), "no feature named {name}");
    found.unwrap_or_default()
}

/// Position of an indicator by name.
fn indicator(name: &str) -> usize {
    let found = INDICATOR_NAMES.iter().position(|n| *n == name);
    assert!(found.is_some(), "no indicator named {name}");
    found.unwrap_or_default()
}

#[test]
fn feature_names_are_stable_and_unique() {
    // The order is a contract with trained models: this list changes only by
    // appending, and only together with the models.
    let expected = [
        "log_return_1",
        "log_return_5",
        "log_return_10",
        "volatility_5",
        "volatility_10",
        "volatility_20",
        "volatility_ratio_5_20",
        "volatility_ratio_10_20",
        "close_to_ema_9",
        "close_to_ema_21",
        "close_to_ema_50",
        "macd_to_close",
        "macd_hist_to_close",
        "bb_percent_b",
        "bb_width",
        "atr_to_close",
        "rsi_14_over_100",
        "stoch_k_over_100",
        "stoch_d_over_100",
        "willr_14_over_100",
        "cci_20_over_100",
        "roc_12_over_100",
        "volume_ratio_20",
        "obv_slope_10",
        "vwap_distance_20",
        "body_to_range",
        "upper_wick_to_range",
        "lower_wick_to_range",
        "range_to_close",
        "time_of_day_sin",
        "time_of_day_cos",
        "day_of_week_sin",
        "day_of_week_cos",
    ];
    assert_eq!(FEATURE_NAMES, expected);
    let mut sorted = FEATURE_NAMES.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), FEATURE_COUNT, "duplicate feature names");
}

/// Every feature of every bar of every file is finite, the vector appears at
/// exactly bar WARM_UP_BARS and never disappears afterwards, and the f32
/// vector is the f64 one narrowed. btcusd-1h's zero-volume and flat bars are
/// among the bars checked.
#[test]
fn every_feature_is_finite_and_warm_up_is_explicit_on_every_file() -> TestResult {
    for name in FILES {
        let bars = load_bars(name)?;
        let zero_volume = bars.iter().filter(|b| b.volume == 0.0).count();
        let flat = bars.iter().filter(|b| b.high == b.low).count();
        let mut series = SeriesFeatures::new(&FeatureSettings::default());
        for (i, bar) in bars.iter().enumerate() {
            series.update(bar)?;
            assert_eq!(series.bars_seen(), i as u64 + 1);
            let ready = i + 1 >= WARM_UP_BARS;
            assert_eq!(series.is_ready(), ready, "{name} bar {i}: readiness");
            assert_eq!(
                series.features().is_some(),
                ready,
                "{name} bar {i}: features()"
            );
            let (Some(narrow), Some(wide)) = (series.features(), series.features_f64()) else {
                continue;
            };
            assert_eq!(narrow.len(), FEATURE_COUNT);
            for (j, (x, y)) in narrow.iter().zip(wide).enumerate() {
                assert!(
                    x.is_finite() && y.is_finite(),
                    "{name} bar {i} {}: {y}",
                    FEATURE_NAMES[j]
                );
                assert_eq!(*x, *y as f32, "{name} bar {i} {}", FEATURE_NAMES[j]);
            }
            for (j, v) in series.indicators().iter().enumerate() {
                assert!(
                    v.is_some_and(f64::is_finite),
                    "{name} bar {i} {}: {v:?}",
                    INDICATOR_NAMES[j]
                );
            }
        }
        println!(
            "{name}: {} bars, {zero_volume} zero-volume, {flat} flat, all finite",
            bars.len()
        );
        if name == "btcusd-1h" {
            assert_eq!(
                zero_volume, 28,
                "the zero-volume bars this test relies on are gone"
            );
        }
    }
    Ok(())
}

/// A long run of identical zero-volume bars: every guarded division takes
/// its documented fallback instead of producing NaN.
#[test]
fn a_dead_market_yields_the_documented_fallbacks() -> TestResult {
    let mut series = SeriesFeatures::new(&FeatureSettings::default());
    for i in 0..200 {
        let bar = Bar {
            open_time: i * 60_000,
            open: 10.0,
            high: 10.0,
            low: 10.0,
            close: 10.0,
            volume: 0.0,
        };
        series.update(&bar)?;
    }
    let Some(f) = series.features_f64() else {
        return Err("features not ready after 200 bars".into());
    };
    let expect = [
        ("log_return_1", 0.0),
        ("volatility_20", 0.0),
        ("volatility_ratio_5_20", 1.0),
        ("volatility_ratio_10_20", 1.0),
        ("close_to_ema_50", 0.0),
        ("bb_percent_b", 0.5),
        ("bb_width", 0.0),
        ("atr_to_close", 0.0),
        ("volume_ratio_20", 1.0),
        ("obv_slope_10", 0.0),
        ("vwap_distance_20", 0.0),
        ("body_to_range", 0.0),
        ("upper_wick_to_range", 0.0),
        ("range_to_close", 0.0),
    ];
    for (name, want) in expect {
        assert!(
            scaled_error(f[feature(name)], want) <= TOL,
            "{name}: {} != {want}",
            f[feature(name)]
        );
    }
    assert!(f.iter().all(|x| x.is_finite()));
    Ok(())
}

/// Changing every row after t (prices, volumes and times) leaves the
/// features and indicators at t bit-identical, while it does change the
/// rows after t (so the alteration is not a no-op).
#[test]
fn features_at_t_do_not_depend_on_any_later_row() -> TestResult {
    for name in FILES {
        let bars = load_bars(name)?;
        let original = run(&bars)?;
        let n = bars.len();
        for t in [
            0,
            WARM_UP_BARS - 2,
            WARM_UP_BARS - 1,
            WARM_UP_BARS,
            137,
            n / 3,
            n / 2,
            n - 2,
        ] {
            let mut altered = bars.clone();
            for (k, bar) in altered.iter_mut().enumerate().skip(t + 1) {
                // Different scale per row, volumes shuffled, timestamps shifted
                // (still increasing): every later input differs.
                let scale = 1.0 + 0.03 * ((k % 7) as f64 - 3.0);
                bar.open *= scale;
                bar.high *= scale * 1.01;
                bar.low *= scale * 0.99;
                bar.close *= scale;
                bar.volume = bar.volume * 2.0 + (k % 5) as f64;
                bar.open_time += 1_000;
            }
            let changed = run(&altered)?;
            assert_eq!(
                changed.features[t], original.features[t],
                "{name}: features at {t} changed"
            );
            assert_eq!(
                changed.indicators[t], original.indicators[t],
                "{name}: indicators at {t} changed"
            );
            let later = (t + 1..n).find(|&k| original.features[k].is_some());
            if let Some(k) = later {
                assert_ne!(
                    changed.features[k], original.features[k],
                    "{name}: alteration after {t} was a no-op"
                );
            }
        }
    }
    Ok(())
}

/// Asserts two runs over the same bars agree (readiness exactly, values
/// within TOL) and returns the largest scaled error with the column it
/// occurred in.
fn compare_runs(a: &Run, b: &Run, label: &str) -> (f64, &'static str) {
    let mut worst: (f64, &'static str) = (0.0, "-");
    for (i, (fa, fb)) in a.features.iter().zip(&b.features).enumerate() {
        assert_eq!(
            fa.is_some(),
            fb.is_some(),
            "{label}: readiness differs at bar {i}"
        );
        if let (Some(fa), Some(fb)) = (fa, fb) {
            for (j, (x, y)) in fa.iter().zip(fb).enumerate() {
                let err = scaled_error(*x, *y);
                assert!(
                    err <= TOL,
                    "{label}: bar {i} {}: restored {x} vs uninterrupted {y}",
                    FEATURE_NAMES[j]
                );
                if err > worst.0 {
                    worst = (err, FEATURE_NAMES[j]);
                }
            }
        }
    }
    for (i, (ia, ib)) in a.indicators.iter().zip(&b.indicators).enumerate() {
        for (j, (x, y)) in ia.iter().zip(ib).enumerate() {
            assert_eq!(
                x.is_some(),
                y.is_some(),
                "{label}: bar {i} {} warm-up differs",
                INDICATOR_NAMES[j]
            );
            if let (Some(x), Some(y)) = (x, y) {
                let err = scaled_error(*x, *y);
                assert!(
                    err <= TOL,
                    "{label}: bar {i} {}: restored {x} vs uninterrupted {y}",
                    INDICATOR_NAMES[j]
                );
                if err > worst.0 {
                    worst = (err, INDICATOR_NAMES[j]);
                }
            }
        }
    }
    worst
}

/// Snapshot at many points (inside the warm-up, at its end, around the
/// retained-bar limit, deep into the file), pass the snapshot through
/// MessagePack, restore, continue to the end: every feature and indicator
/// equals the uninterrupted run bit for bit (the snapshot carries the streams'
/// own state), right after the restore and at every later bar.
#[test]
fn restore_continues_like_an_uninterrupted_run() -> TestResult {
    let settings = FeatureSettings::default();
    for name in FILES {
        let bars = load_bars(name)?;
        let reference = run(&bars)?;
        let n = bars.len();
        let limit = settings.snapshot_bars;
        let mut worst: (f64, &str, usize) = (0.0, "-", 0);
        for cut in [
            1,
            limit - 1,
            limit,
            limit + 1,
            30,
            WARM_UP_BARS - 1,
            WARM_UP_BARS,
            WARM_UP_BARS + 1,
            1_000,
            5_000,
            n / 2,
            n - 2,
        ] {
            let mut series = SeriesFeatures::new(&settings);
            run_from(&mut series, &bars[..cut])?;
            let bytes = rmp_serde::to_vec(&series.snapshot())?;
            let snapshot: FeatureSnapshot = rmp_serde::from_slice(&bytes)?;
            let mut restored = SeriesFeatures::restore(&settings, &snapshot)?;
            assert_eq!(restored.bars_seen(), cut as u64);
            // The restored state itself, before any further bar.
            let now = Run {
                indicators: vec![restored.indicators().to_vec()],
                features: vec![restored.features_f64().map(<[f64]>::to_vec)],
            };
            let then = Run {
                indicators: vec![reference.indicators[cut - 1].clone()],
                features: vec![reference.features[cut - 1].clone()],
            };
            let err_now =
                compare_runs(&now, &then, &format!("{name} right after restore at {cut}"));
            let continued = run_from(&mut restored, &bars[cut..])?;
            let uninterrupted = Run {
                indicators: reference.indicators[cut..].to_vec(),
                features: reference.features[cut..].to_vec(),
            };
            let label = format!("{name} restored at {cut}");
            let err = compare_runs(&continued, &uninterrupted, &label);
            assert_eq!(
                (err.0, err_now.0),
                (0.0, 0.0),
                "{label}: expected bit-identical"
            );
            assert!(snapshot.bars.len() <= limit.max(WARM_UP_BARS));
            // OBV continues from its stored level: bit-exact at every cut.
            let obv = indicator("obv");
            let obv_of = |r: &Run| r.indicators.iter().map(|row| row[obv]).collect::<Vec<_>>();
            assert_eq!(
                obv_of(&continued),
                obv_of(&uninterrupted),
                "{label}: OBV drifted"
            );
            for (e, column) in [err, err_now] {
                if e > worst.0 {
                    worst = (e, column, cut);
                }
            }
        }
        println!(
            "{name}: worst scaled error after restore {:.3e} ({} after a restore at bar {})",
            worst.0, worst.1, worst.2
        );
    }
    Ok(())
}

/// A restore with a smaller retained window than the snapshot holds keeps
/// the newest bars and still continues bit for bit (OBV's level is carried
/// across the dropped bars).
#[test]
fn restore_into_a_smaller_window_keeps_the_newest_bars() -> TestResult {
    let bars = load_bars(FILES[0])?;
    let reference = run(&bars)?;
    let cut = 3_000;
    let mut series = SeriesFeatures::new(&FeatureSettings {
        snapshot_bars: 1_000,
    });
    run_from(&mut series, &bars[..cut])?;
    assert_eq!(series.snapshot().bars.len(), 1_000);
    let smaller = FeatureSettings { snapshot_bars: 800 };
    let mut restored = SeriesFeatures::restore(&smaller, &series.snapshot())?;
    assert_eq!(restored.snapshot().bars.len(), 800);
    let continued = run_from(&mut restored, &bars[cut..])?;
    let uninterrupted = Run {
        indicators: reference.indicators[cut..].to_vec(),
        features: reference.features[cut..].to_vec(),
    };
    let worst = compare_runs(
        &continued,
        &uninterrupted,
        "btcusd-1h restored into 800 bars",
    );
    let obv = indicator("obv");
    assert_eq!(
        continued.indicators[0][obv], reference.indicators[cut][obv],
        "OBV level not carried bit-exactly"
    );
    assert_eq!(
        worst.0, 0.0,
        "restored into 800 bars: not bit-identical ({})",
        worst.1
    );
    Ok(())
}

/// A worker that writes no snapshots retains only `FEWEST_RETAINED_BARS` bars per warm series
/// (every bar while it warms up): every
/// indicator and feature must be bit for bit what the default 1,000 retained bars give, over
/// every bundled file (only snapshots read older bars).
#[test]
fn the_fewest_retained_bars_give_the_same_features() -> TestResult {
    for file in FILES {
        let bars = load_bars(file)?;
        let reference = run(&bars)?;
        let fewest = FeatureSettings {
            snapshot_bars: signal_worker::core::features::FEWEST_RETAINED_BARS,
        };
        let mut series = SeriesFeatures::new(&fewest);
        let lean = run_from(&mut series, &bars)?;
        assert!(bars.len() > WARM_UP_BARS);
        assert_eq!(
            series.snapshot().bars.len(),
            signal_worker::core::features::FEWEST_RETAINED_BARS
        );
        for (i, (a, b)) in lean
            .indicators
            .iter()
            .zip(&reference.indicators)
            .enumerate()
        {
            let same = a.iter().zip(b).all(|(x, y)| match (x, y) {
                (Some(x), Some(y)) => x.to_bits() == y.to_bits(),
                (None, None) => true,
                _ => false,
            });
            assert!(same, "{file}: indicators differ at bar {i}");
        }
        for (i, (a, b)) in lean.features.iter().zip(&reference.features).enumerate() {
            let same = match (a, b) {
                (Some(a), Some(b)) => a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                (None, None) => true,
                _ => false,
            };
            assert!(same, "{file}: features differ at bar {i}");
        }
        assert_eq!(lean.features.len(), reference.features.len());
    }
    Ok(())
}

#[test]
fn restore_refuses_malformed_snapshots() -> TestResult {
    let settings = FeatureSettings::default();
    let bars = load_bars(FILES[1])?;
    let mut series = SeriesFeatures::new(&settings);
    run_from(&mut series, &bars[..100])?;
    let good = series.snapshot();
    assert!(SeriesFeatures::restore(&settings, &good).is_ok());

    let mut wrong_version = good.clone();
    wrong_version.format_version = SNAPSHOT_FORMAT_VERSION + 1;
    let mut unordered = good.clone();
    unordered.bars.swap(10, 11);
    let mut overclaimed = good.clone();
    overclaimed.bars_seen = 10;
    let mut truncated = good.clone();
    truncated.bars.drain(..10);
    let mut stateless = good.clone();
    stateless.indicators = None;
    let mut young = SeriesFeatures::new(&settings);
    run_from(&mut young, &bars[..40])?;
    let mut young_cut = young.snapshot();
    young_cut.bars.drain(..1);
    // Stream state edited where it is stored: a counter no series reaches, a NaN-free but
    // impossible value; and a moving-average ring of the wrong length, refused by decoding.
    let mut edited = serde_json::to_value(&good)?;
    edited["indicators"]["bbands"]["next"] = serde_json::json!(-5);
    let forged: FeatureSnapshot = serde_json::from_value(edited)?;
    let mut wrong_ring = serde_json::to_value(&good)?;
    wrong_ring["indicators"]["stoch"]["slow_k"]["ring"] = serde_json::json!([1.0]);
    assert!(serde_json::from_value::<FeatureSnapshot>(wrong_ring).is_err());
    let mut bad_bar = good.clone();
    bad_bar.bars[5].close = f64::NAN;
    for (label, snapshot) in [
        ("version", wrong_version),
        ("unordered", unordered),
        ("more bars than seen", overclaimed),
        ("too few bars for a warm series", truncated),
        ("no stream state", stateless),
        ("a warming series missing a bar", young_cut),
        ("a stream counter no series reaches", forged),
        ("NaN close", bad_bar),
    ] {
        let result = SeriesFeatures::restore(&settings, &snapshot);
        assert!(
            matches!(result, Err(FeatureError::InvalidSnapshot { .. })),
            "{label}: {:?}",
            result.err()
        );
    }
    let bad_settings = FeatureSettings { snapshot_bars: 3 };
    assert!(matches!(
        SeriesFeatures::restore(&bad_settings, &good),
        Err(FeatureError::InvalidSettings { .. })
    ));
    Ok(())
}

/// A refused bar (non-finite, non-positive, negative volume, out of order)
/// changes nothing: the state's snapshot and outputs are as before, and the
/// series then continues exactly like one that never saw the bad bar.
#[test]
fn bad_bars_are_refused_with_state_unchanged() -> TestResult {
    let bars = load_bars(FILES[0])?;
    let reference = run(&bars[..400])?;
    let mut series = SeriesFeatures::new(&FeatureSettings::default());
    run_from(&mut series, &bars[..300])?;
    let before = series.snapshot();
    let features_before = series.features_f64().map(<[f64]>::to_vec);
    let next = bars[300];
    let bad = [
        Bar {
            close: f64::NAN,
            ..next
        },
        Bar {
            high: f64::INFINITY,
            ..next
        },
        Bar {
            volume: f64::NAN,
            ..next
        },
        Bar { low: 0.0, ..next },
        Bar { open: -1.0, ..next },
        Bar {
            volume: -5.0,
            ..next
        },
        Bar {
            open_time: bars[299].open_time,
            ..next
        },
        Bar {
            open_time: bars[10].open_time,
            ..next
        },
    ];
    for bar in bad {
        let result = series.update(&bar);
        assert!(
            matches!(
                result,
                Err(FeatureError::InvalidBar { .. } | FeatureError::OutOfOrder { .. })
            ),
            "{bar:?}: {result:?}"
        );
        assert_eq!(series.snapshot(), before, "{bar:?} changed the state");
        assert_eq!(series.features_f64().map(<[f64]>::to_vec), features_before);
        assert_eq!(series.bars_seen(), 300);
    }
    let continued = run_from(&mut series, &bars[300..400])?;
    assert_eq!(continued.features, reference.features[300..400].to_vec());
    assert_eq!(
        continued.indicators,
        reference.indicators[300..400].to_vec()
    );
    Ok(())
}

/// `reset` forgets everything: afterwards the series behaves exactly like a
/// new one.
#[test]
fn reset_behaves_like_a_new_series() -> TestResult {
    let bars = load_bars(FILES[2])?;
    let fresh = run(&bars[..500])?;
    let mut series = SeriesFeatures::new(&FeatureSettings::default());
    run_from(&mut series, &bars[1_000..1_700])?;
    series.reset();
    assert_eq!(series.bars_seen(), 0);
    assert!(!series.is_ready());
    assert!(series.indicators().iter().all(Option::is_none));
    let again = run_from(&mut series, &bars[..500])?;
    assert_eq!(again.features, fresh.features);
    assert_eq!(again.indicators, fresh.indicators);
    Ok(())
}

/// The rolling features agree with a naive, independent recomputation over
/// the whole bar array, and the indicator-derived ones with their formulas
/// over `indicators()`; `obv_slope_10` is cross-checked against ta-lib's own
/// OBV levels.
#[test]
fn features_match_a_naive_recomputation() -> TestResult {
    for name in FILES {
        let bars = load_bars(name)?;
        let out = run(&bars)?;
        let mut worst: f64 = 0.0;
        let mut check = |i: usize, feature_name: &str, want: f64| {
            let got = out.features[i]
                .as_ref()
                .map_or(f64::NAN, |f| f[feature(feature_name)]);
            let err = scaled_error(got, want);
            assert!(
                err <= TOL,
                "{name} bar {i} {feature_name}: {got} vs naive {want}"
            );
            worst = worst.max(err);
        };
        for i in (WARM_UP_BARS - 1..bars.len()).step_by(7) {
            let b = &bars[i];
            let ind = &out.indicators[i];
            let value = |n: &str| ind[indicator(n)].unwrap_or(f64::NAN);
            check(i, "log_return_5", (b.close / bars[i - 5].close).ln());
            let returns: Vec<f64> = (i - 19..=i)
                .map(|k| (bars[k].close / bars[k - 1].close).ln())
                .collect();
            let std = |xs: &[f64]| {
                let m = xs.iter().sum::<f64>() / xs.len() as f64;
                (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
            };
            check(i, "volatility_20", std(&returns));
            check(i, "volatility_5", std(&returns[15..]));
            let window = &bars[i - 19..=i];
            let volume: f64 = window.iter().map(|b| b.volume).sum();
            if volume > 0.0 {
                check(i, "volume_ratio_20", b.volume / (volume / 20.0));
                let pv: f64 = window
                    .iter()
                    .map(|b| (b.high + b.low + b.close) / 3.0 * b.volume)
                    .sum();
                check(i, "vwap_distance_20", b.close / (pv / volume) - 1.0);
            }
            let traded: f64 = bars[i - 9..=i].iter().map(|b| b.volume).sum();
            if traded > 0.0 {
                let obv_change =
                    value("obv") - out.indicators[i - 10][indicator("obv")].unwrap_or(f64::NAN);
                check(i, "obv_slope_10", obv_change / traded);
            }
            let range = b.high - b.low;
            if range > 0.0 {
                check(i, "body_to_range", (b.close - b.open) / range);
                check(
                    i,
                    "lower_wick_to_range",
                    (b.open.min(b.close) - b.low) / range,
                );
            }
            check(i, "close_to_ema_21", b.close / value("ema_21") - 1.0);
            check(i, "macd_hist_to_close", value("macd_hist") / b.close);
            let (up, low) = (value("bb_upper"), value("bb_lower"));
            if up - low > 1e-9 * b.close {
                check(i, "bb_percent_b", (b.close - low) / (up - low));
            }
            check(i, "bb_width", (up - low) / value("bb_middle"));
            check(i, "rsi_14_over_100", value("rsi_14") / 100.0);
            check(i, "cci_20_over_100", value("cci_20") / 100.0);
            let hours = (b.open_time.rem_euclid(86_400_000)) as f64 / 3_600_000.0;
            check(
                i,
                "time_of_day_sin",
                (std::f64::consts::TAU * hours / 24.0).sin(),
            );
            // 1970-01-05 was a Monday.
            let days_since_monday =
                (b.open_time - 4 * 86_400_000).rem_euclid(7 * 86_400_000) as f64 / 86_400_000.0;
            check(
                i,
                "day_of_week_cos",
                (std::f64::consts::TAU * days_since_monday / 7.0).cos(),
            );
        }
        println!("{name}: worst scaled error against naive formulas {worst:.3e}");
    }
    Ok(())
}
