//! The standard indicators, as bit-identical transcriptions of ta-lib's streams (`streams`: why
//! they are written here). ta-lib itself still defines the semantics: the tests hold every stream
//! against its own, and its lookbacks against the warm-up.
//!
//! TA-Lib's warm-up is reproduced by *when* a stream is opened: a stream can
//! only be opened on at least `lookback + 1` bars (`InsufficientHistory`
//! otherwise), and its opener returns the value at the last history bar,
//! bit-identical to the batch call. So while a series is young every bar is
//! retained in [`BarHistory`], each missing stream is tried on the whole
//! history after every bar, and the first success is exactly the first bar
//! for which TA-Lib's batch output is defined. From then on each stream takes
//! one `update` per bar. A restore puts the streams' own state back (`snapshot.rs`).

//!
//! The set is one table (below): an entry per stream — its columns, how it opens, how
//! it takes a bar — from which `indicator_table!` writes the fields, the column names, their
//! index constants and the update and open loops. Adding an indicator is adding an entry.

use super::bars::BarHistory;
use super::error::FeatureError;
use super::indicator_table::indicator_table;
use super::streams::{
    Atr, Bbands, Cci, Ema, Macd, Obv, ReadsBack, Roc, Rsi, Stoch, TakesBars, Willr,
};
use crate::core::bar::Bar;
use ta_lib::Core;

/// RSI period (`rsi_14`).
const RSI_PERIOD: i32 = 14;
/// MACD fast EMA period.
const MACD_FAST: i32 = 12;
/// MACD slow EMA period.
const MACD_SLOW: i32 = 26;
/// MACD signal EMA period.
const MACD_SIGNAL_PERIOD: i32 = 9;
/// Short EMA (`ema_9`).
const EMA_SHORT: i32 = 9;
/// Medium EMA (`ema_21`).
const EMA_MEDIUM: i32 = 21;
/// Long EMA (`ema_50`); its lookback sets the warm-up of the whole vector.
pub(crate) const EMA_LONG: i32 = 50;
/// Bollinger Bands period, and the simple moving average's (`sma_20`, their middle band).
const BB_PERIOD: i32 = 20;
/// Bollinger Bands width in standard deviations, both sides.
const BB_DEVIATIONS: f64 = 2.0;
/// ATR period (`atr_14`).
const ATR_PERIOD: i32 = 14;
/// Stochastic fast %K period.
const STOCH_FAST_K: i32 = 14;
/// Stochastic slow %K smoothing (SMA).
const STOCH_SLOW_K: i32 = 3;
/// Stochastic slow %D smoothing (SMA).
const STOCH_SLOW_D: i32 = 3;
/// Williams %R period (`willr_14`).
const WILLR_PERIOD: i32 = 14;
/// Rate of change period (`roc_12`).
const ROC_PERIOD: i32 = 12;
/// CCI period (`cci_20`).
const CCI_PERIOD: i32 = 20;

indicator_table! {
    rsi: Rsi<{ RSI_PERIOD as usize }> = "rsi_14" {
        columns: [RSI_14 = "rsi_14"],
        open: |bars| Rsi::open(bars),
        update: |s, bar| s.update(bar),
    },
    macd: Macd<{ MACD_FAST as usize }, { MACD_SLOW as usize }, { MACD_SIGNAL_PERIOD as usize }> = "macd" {
        columns: [MACD = "macd", MACD_SIGNAL = "macd_signal", MACD_HIST = "macd_hist"],
        open: |bars| Macd::open(bars),
        update: |s, bar| s.update(bar),
    },
    ema_short: Ema<{ EMA_SHORT as usize }> = "ema_9" {
        columns: [EMA_9 = "ema_9"],
        open: |bars| Ema::open(bars),
        update: |s, bar| s.update(bar),
    },
    ema_medium: Ema<{ EMA_MEDIUM as usize }> = "ema_21" {
        columns: [EMA_21 = "ema_21"],
        open: |bars| Ema::open(bars),
        update: |s, bar| s.update(bar),
    },
    ema_long: Ema<{ EMA_LONG as usize }> = "ema_50" {
        columns: [EMA_50 = "ema_50"],
        open: |bars| Ema::open(bars),
        update: |s, bar| s.update(bar),
    },
    // SMA(20) is BBANDS' middle band bit for bit (the same running total over the same closes),
    // so one stream yields both. This and STOCH, WILLR, ROC and CCI read their bars from the
    // history (`streams`: why they are not ta-lib's).
    bbands: Bbands<{ BB_PERIOD as usize }> = "bbands" {
        columns: [
            SMA_20 = "sma_20",
            BB_UPPER = "bb_upper",
            BB_MIDDLE = "bb_middle",
            BB_LOWER = "bb_lower",
        ],
        open: |bars| Bbands::open(bars, BB_DEVIATIONS),
        update: |s, _bar, history| s.update(history),
    },
    atr: Atr<{ ATR_PERIOD as usize }> = "atr_14" {
        columns: [ATR_14 = "atr_14"],
        open: |bars| Atr::open(bars),
        update: |s, bar| s.update(bar),
    },
    stoch: Stoch<{ STOCH_FAST_K as usize }, { STOCH_SLOW_K as usize }, { STOCH_SLOW_D as usize }> = "stoch" {
        columns: [STOCH_K = "stoch_k", STOCH_D = "stoch_d"],
        open: |bars| Stoch::open(bars),
        update: |s, _bar, history| s.update(history),
    },
    willr: Willr<{ WILLR_PERIOD as usize }> = "willr_14" {
        columns: [WILLR_14 = "willr_14"],
        open: |bars| Willr::open(bars),
        update: |s, _bar, history| s.update(history),
    },
    roc: Roc<{ ROC_PERIOD as usize }> = "roc_12" {
        columns: [ROC_12 = "roc_12"],
        open: |bars| Roc::open(bars),
        update: |s, _bar, history| s.update(history),
    },
    cci: Cci<{ CCI_PERIOD as usize }> = "cci_20" {
        columns: [CCI_20 = "cci_20"],
        open: |bars| Cci::open(bars),
        update: |s, _bar, history| s.update(history),
    },
    obv: Obv = "obv" {
        columns: [OBV = "obv"],
        open: |bars| Obv::open(bars),
        update: |s, bar| s.update(bar),
    },
}

impl Indicators {
    /// Latest value of every indicator column, `None` during its warm-up.
    #[inline]
    pub(crate) fn values(&self) -> &[Option<f64>; INDICATOR_COUNT] {
        &self.values
    }

    /// Refuses (before any state changes) when one more bar would take the
    /// streams past ta-lib's index domain.
    #[inline]
    pub(crate) fn check_room(&self) -> Result<(), FeatureError> {
        let limit = Core::INDEX_MAX as u64;
        if self.indexed >= limit {
            return Err(FeatureError::SeriesTooLong { limit });
        }
        Ok(())
    }

    /// Whether every stream is open (the warm-up is over: older bars are no longer needed).
    pub(crate) fn all_open(&self) -> bool {
        self.all_open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::features::WARM_UP_BARS;
    use ta_lib::MAType;

    #[test]
    fn longest_lookback_sets_the_warm_up() {
        let core = Core::new();
        let lookbacks = [
            core.rsi_lookback(RSI_PERIOD),
            core.macd_lookback(MACD_FAST, MACD_SLOW, MACD_SIGNAL_PERIOD),
            core.ema_lookback(EMA_LONG),
            core.bbands_lookback(BB_PERIOD, BB_DEVIATIONS, BB_DEVIATIONS, MAType::SMA),
            core.stoch_lookback(
                STOCH_FAST_K,
                STOCH_SLOW_K,
                MAType::SMA,
                STOCH_SLOW_D,
                MAType::SMA,
            ),
            core.cci_lookback(CCI_PERIOD),
        ];
        let longest = lookbacks.iter().map(|l| (*l).unwrap_or(usize::MAX)).max();
        assert_eq!(longest.map(|l| l + 1), Some(WARM_UP_BARS));
    }

    #[test]
    fn a_state_holding_a_non_finite_value_is_not_sane() {
        use crate::core::features::{FeatureSettings, SeriesFeatures};
        let mut series = SeriesFeatures::new(&FeatureSettings::default());
        for i in 0..60_i64 {
            let close = 100.0 + (i % 5) as f64;
            let bar = Bar {
                open_time: i * 60_000,
                open: close,
                high: close + 1.0,
                low: close - 1.0,
                close,
                volume: 3.0,
            };
            assert!(series.update(&bar).is_ok());
        }
        let mut indicators = series.indicators.clone();
        assert!(indicators.all_open() && indicators.is_sane());
        indicators.values[OBV] = Some(f64::INFINITY);
        assert!(!indicators.is_sane());
    }

    #[test]
    fn the_table_writes_every_column_once_in_golden_order() {
        let golden = [
            "rsi_14",
            "macd",
            "macd_signal",
            "macd_hist",
            "ema_9",
            "ema_21",
            "ema_50",
            "sma_20",
            "bb_upper",
            "bb_middle",
            "bb_lower",
            "atr_14",
            "stoch_k",
            "stoch_d",
            "willr_14",
            "roc_12",
            "cci_20",
            "obv",
        ];
        assert_eq!(INDICATOR_NAMES, golden);
        let indexed = [
            (RSI_14, "rsi_14"),
            (MACD_HIST, "macd_hist"),
            (BB_LOWER, "bb_lower"),
            (STOCH_D, "stoch_d"),
            (OBV, "obv"),
        ];
        for (i, name) in indexed {
            assert_eq!(INDICATOR_NAMES[i], name);
        }
    }
}
