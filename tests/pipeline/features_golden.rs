//! The indicators equal TA-Lib's reference values (C TA-Lib 0.8.1 via the
//! Python wheel) on every column of every bundled file, with the same
//! warm-up rows empty.

use crate::features_support::{FILES, TOL, TestResult, load_bars, load_golden, scaled_error};
use signal_worker::core::features::{
    FeatureSettings, INDICATOR_COUNT, INDICATOR_NAMES, SeriesFeatures,
};

/// Streams one file bar by bar and compares every cell with its golden value.
fn check_file(name: &str) -> TestResult {
    let bars = load_bars(name)?;
    let golden = load_golden(name)?;
    assert_eq!(
        golden.columns, INDICATOR_NAMES,
        "{name}: golden columns differ from INDICATOR_NAMES"
    );
    assert_eq!(
        bars.len(),
        golden.rows.len(),
        "{name}: data and golden row counts differ"
    );

    let mut series = SeriesFeatures::new(&FeatureSettings::default());
    let mut compared = [0usize; INDICATOR_COUNT];
    let mut worst = [0.0f64; INDICATOR_COUNT];
    let mut failures = Vec::new();
    for (row, (bar, (ts, want))) in bars.iter().zip(&golden.rows).enumerate() {
        assert_eq!(bar.open_time, *ts, "{name} row {row}: timestamps differ");
        series.update(bar)?;
        let got = series.indicators();
        for (col, (g, w)) in got.iter().zip(want).enumerate() {
            match (g, w) {
                (None, None) => {}
                (Some(a), Some(b)) => {
                    let err = scaled_error(*a, *b);
                    compared[col] += 1;
                    worst[col] = worst[col].max(err);
                    if err > TOL {
                        failures.push(format!(
                            "row {row} {}: got {a} want {b}",
                            INDICATOR_NAMES[col]
                        ));
                    }
                }
                _ => failures.push(format!(
                    "row {row} {}: got {g:?} want {w:?} (warm-up differs)",
                    INDICATOR_NAMES[col]
                )),
            }
        }
    }
    for (col, name_col) in INDICATOR_NAMES.iter().enumerate() {
        println!(
            "{name} {name_col}: {} values, worst scaled error {:.3e}",
            compared[col], worst[col]
        );
        // Only the warm-up may be empty: a column compared on few rows would
        // make this test vacuous.
        assert!(
            compared[col] + 60 > bars.len(),
            "{name} {name_col}: only {} values compared",
            compared[col]
        );
    }
    assert!(
        failures.is_empty(),
        "{name}: {} mismatches, first: {:?}",
        failures.len(),
        failures.iter().take(10).collect::<Vec<_>>()
    );
    Ok(())
}

#[test]
fn indicators_match_talib_on_btcusd_1h() -> TestResult {
    check_file(FILES[0])
}

#[test]
fn indicators_match_talib_on_icl8_cffex_1m() -> TestResult {
    check_file(FILES[1])
}

#[test]
fn indicators_match_talib_on_iml8_cffex_1m() -> TestResult {
    check_file(FILES[2])
}
