//! The workload: N series of real bundled bars, deterministic.
//!
//! Series `i` is named `S<i>` (zero-padded) on the bench's exchange and
//! carries consecutive real rows of the bundled BTC/USD file, starting at one
//! of a few fixed offsets spread over the file. Distinct slices keep the
//! inputs from being one repeated series (so per-series state genuinely
//! differs) while keeping the expected outcomes cheap to compute: series that
//! share a slice share their outcomes. Original timestamps are kept (they are
//! real, aligned and in the past), so every candle passes validation.

use super::BenchError;
use crate::contract::CandleMessage;
use crate::io::csv_file::CsvIdentity;
use crate::io::open_candles;
use std::ops::Range;
use std::path::Path;

/// Distinct slices of the file the series are spread over: enough for
/// variety, few enough that computing their outcomes takes milliseconds.
pub const MAX_VARIANTS: usize = 16;

/// Interval of the bundled file's bars (hourly).
pub const INTERVAL: &str = "1h";

/// Reads every bar of a bundled CSV file; a bad row is an error, because a
/// benchmark input must be exactly the same every run.
pub fn read_bars(path: &Path, max_record_bytes: usize) -> Result<Vec<CandleMessage>, BenchError> {
    let data_error = |message: String| BenchError::Data {
        path: path.display().to_string(),
        message,
    };
    let identity = CsvIdentity {
        exchange: "bench".into(),
        symbol: "S0".into(),
        interval: INTERVAL.into(),
    };
    let records = open_candles(path, None, Some(identity), max_record_bytes)
        .map_err(|e| data_error(e.to_string()))?;
    let mut bars = Vec::new();
    for record in records {
        let record = record.map_err(|e| data_error(e.to_string()))?;
        let bar = record
            .candle
            .map_err(|r| data_error(format!("line {}: {r}", record.number)))?;
        bars.push(bar);
    }
    if bars.is_empty() {
        return Err(data_error("no bars".into()));
    }
    Ok(bars)
}

/// The symbol of series `index`: `S` and the index, zero-padded so names sort.
pub fn symbol(index: u32) -> String {
    format!("S{index:05}")
}

/// The series index of a bench symbol (inverse of [`symbol`]).
pub fn series_index(symbol: &str) -> Option<u32> {
    symbol.strip_prefix('S')?.parse().ok()
}

/// N series over slices of the bundled bars, `per_series` candles each.
#[derive(Debug, Clone)]
pub struct Workload {
    exchange: String,
    bars: Vec<CandleMessage>,
    offsets: Vec<usize>,
    series: u32,
    per_series: usize,
}

impl Workload {
    /// Spreads `series` series over up to [`MAX_VARIANTS`] slices of `bars`,
    /// each `per_series` bars long. Fails when the file is too short.
    pub fn new(
        bars: Vec<CandleMessage>,
        exchange: &str,
        series: u32,
        per_series: usize,
    ) -> Result<Self, BenchError> {
        if series == 0 || per_series == 0 {
            return Err(BenchError::Usage(
                "--series and the candles per series must be at least 1".into(),
            ));
        }
        crate::contract::Exchange::new(exchange)
            .map_err(|e| BenchError::Usage(format!("--exchange: {e}")))?;
        if bars.len() < per_series {
            return Err(BenchError::Usage(format!(
                "{per_series} candles per series exceed the {} bars of the bundled file; lower --candles or --rate x --paced-seconds",
                bars.len()
            )));
        }
        let variants = (series as usize).min(MAX_VARIANTS);
        let spare = bars.len() - per_series;
        let stride = if variants > 1 {
            spare / (variants - 1)
        } else {
            0
        };
        let offsets = (0..variants).map(|v| v * stride).collect();
        Ok(Self {
            exchange: exchange.to_owned(),
            bars,
            offsets,
            series,
            per_series,
        })
    }

    /// Number of series.
    pub fn series(&self) -> u32 {
        self.series
    }

    /// Candles every series gets over the whole run.
    pub fn per_series(&self) -> usize {
        self.per_series
    }

    /// The bench's exchange name (the first identity token of every series).
    pub fn exchange(&self) -> &str {
        &self.exchange
    }

    /// Number of distinct slices.
    pub fn variants(&self) -> usize {
        self.offsets.len()
    }

    /// The slice series `series` carries.
    pub fn variant_of(&self, series: u32) -> usize {
        series as usize % self.offsets.len()
    }

    /// The bars of slice `variant` (as series `variant` carries them).
    pub fn variant_candles(&self, variant: usize) -> Vec<CandleMessage> {
        (0..self.per_series)
            .filter_map(|i| self.candle(variant as u32, i))
            .collect()
    }

    /// Candle `index` of series `series`, with the series' identity.
    pub fn candle(&self, series: u32, index: usize) -> Option<CandleMessage> {
        if series >= self.series || index >= self.per_series {
            return None;
        }
        let offset = self.offsets.get(self.variant_of(series))?;
        let mut bar = self.bars.get(offset + index)?.clone();
        bar.exchange.clone_from(&self.exchange);
        bar.symbol = symbol(series);
        Some(bar)
    }

    /// Candles `range` of every series, round-robin (candle `j` of every
    /// series before candle `j + 1` of any): how a market's bars close.
    pub fn round_robin(
        &self,
        range: Range<usize>,
    ) -> impl Iterator<Item = (super::CandleKey, CandleMessage)> + '_ {
        range.flat_map(move |index| {
            (0..self.series).filter_map(move |series| {
                self.candle(series, index)
                    .map(|c| ((series, c.open_time), c))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn bars(n: usize) -> Vec<CandleMessage> {
        (0..n)
            .map(|i| CandleMessage {
                exchange: "x".into(),
                symbol: "y".into(),
                interval: INTERVAL.into(),
                open_time: i as i64 * 3_600_000,
                close_time: None,
                open: 1.0,
                high: 1.0,
                low: 1.0,
                close: 1.0,
                volume: 1.0,
                trades: None,
                is_closed: true,
            })
            .collect()
    }

    #[test]
    fn symbols_round_trip() {
        assert_eq!(symbol(42), "S00042");
        assert_eq!(series_index(&symbol(12_345)), Some(12_345));
        assert_eq!(series_index("BTCUSD"), None);
    }

    #[test]
    fn slices_are_spread_and_stay_inside_the_file() {
        let w = Workload::new(bars(1_000), "bench", 40, 100).unwrap();
        assert_eq!(w.variants(), MAX_VARIANTS);
        assert_eq!(w.candle(0, 0).unwrap().open_time, 0);
        assert_eq!(w.candle(15, 99).unwrap().open_time, (900 + 99) * 3_600_000);
        assert_eq!(w.candle(16, 0).unwrap().open_time, 0);
        assert_eq!(w.candle(3, 0).unwrap().symbol, "S00003");
        assert!(w.candle(40, 0).is_none() && w.candle(0, 100).is_none());
        let order: Vec<_> = w.round_robin(0..2).map(|(k, _)| k.0).take(42).collect();
        assert_eq!(order[..3], [0, 1, 2]);
        assert_eq!(order[40..], [0, 1]);
    }

    #[test]
    fn too_many_candles_per_series_is_a_usage_error() {
        assert!(matches!(
            Workload::new(bars(10), "bench", 1, 11),
            Err(BenchError::Usage(_))
        ));
    }
}
