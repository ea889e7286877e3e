//! Shared helpers of the feature-engine integration tests: loading the
//! bundled data files, running a series over them and comparing numbers.

#![allow(dead_code)] // each test binary uses a different subset

use signal_worker::core::bar::Bar;
use signal_worker::core::features::{FeatureSettings, SeriesFeatures};
use std::error::Error;
use std::path::PathBuf;

/// What the tests return: any failure to read data ends the test with it.
pub type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// The bundled data files (`data/NAME.csv`, golden in `tests/data/golden/`).
pub const FILES: [&str; 3] = ["btcusd-1h", "icl8-cffex-1m", "iml8-cffex-1m"];

/// Tolerance of every numeric comparison: |a - b| <= TOL * max(|b|, 1).
/// The floor of 1 makes it an absolute 1e-9 for values below 1 (most
/// features, and indicator values near zero such as MACD histograms), where
/// a pure relative bound would ask for more digits than the
/// 10-significant-digit golden files carry.
pub const TOL: f64 = 1e-9;

/// Scaled error of `a` against the reference `b`: |a - b| / max(|b|, 1).
pub fn scaled_error(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1.0)
}

fn manifest_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Reads `data/NAME.csv` (`timestamp,open,high,low,close,volume`).
pub fn load_bars(name: &str) -> TestResult<Vec<Bar>> {
    let path = manifest_path(&format!("data/{name}.csv"));
    let mut reader = csv::Reader::from_path(&path)?;
    let headers: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    assert_eq!(
        headers,
        ["timestamp", "open", "high", "low", "close", "volume"],
        "{}",
        path.display()
    );
    let mut bars = Vec::new();
    for record in reader.records() {
        let record = record?;
        let num = |c: usize| -> TestResult<f64> { Ok(record.get(c).ok_or("short row")?.parse()?) };
        bars.push(Bar {
            open_time: record.get(0).ok_or("short row")?.parse()?,
            open: num(1)?,
            high: num(2)?,
            low: num(3)?,
            close: num(4)?,
            volume: num(5)?,
        });
    }
    Ok(bars)
}

/// A golden file: its header and, per row, the timestamp and each column's
/// value (`None` for an empty cell, TA-Lib's warm-up NaN).
pub struct Golden {
    /// Column names after `timestamp`.
    pub columns: Vec<String>,
    /// (timestamp, values) per row.
    pub rows: Vec<(i64, Vec<Option<f64>>)>,
}

/// Reads `tests/data/golden/NAME.csv`.
pub fn load_golden(name: &str) -> TestResult<Golden> {
    let path = manifest_path(&format!("tests/data/golden/{name}.csv"));
    let mut reader = csv::Reader::from_path(&path)?;
    let headers: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    assert_eq!(headers.first().map(String::as_str), Some("timestamp"));
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        let ts = record.get(0).ok_or("empty row")?.parse()?;
        let mut values = Vec::with_capacity(record.len());
        for cell in record.iter().skip(1) {
            values.push(if cell.is_empty() {
                None
            } else {
                Some(cell.parse::<f64>()?)
            });
        }
        rows.push((ts, values));
    }
    Ok(Golden {
        columns: headers.into_iter().skip(1).collect(),
        rows,
    })
}

/// Per-bar output of one run: indicators and (f64) features, `None` while
/// the vector is incomplete.
pub struct Run {
    /// `indicators()` after each bar.
    pub indicators: Vec<Vec<Option<f64>>>,
    /// `features_f64()` after each bar.
    pub features: Vec<Option<Vec<f64>>>,
}

/// Feeds `bars` into `series` and records everything after each bar.
pub fn run_from(series: &mut SeriesFeatures, bars: &[Bar]) -> TestResult<Run> {
    let mut run = Run {
        indicators: Vec::with_capacity(bars.len()),
        features: Vec::with_capacity(bars.len()),
    };
    for bar in bars {
        series.update(bar)?;
        run.indicators.push(series.indicators().to_vec());
        run.features
            .push(series.features_f64().map(<[f64]>::to_vec));
    }
    Ok(run)
}

/// A fresh series with default settings over `bars`.
pub fn run(bars: &[Bar]) -> TestResult<Run> {
    run_from(&mut SeriesFeatures::new(&FeatureSettings::default()), bars)
}
