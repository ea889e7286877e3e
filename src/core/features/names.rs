//! The indicator column names: the contract with the golden files and with
//! the `features` CSV output. Model feature names live with their groups and
//! are assembled in [`super::vector`].

/// Number of indicator columns.
pub const INDICATOR_COUNT: usize = 18;

/// Indicator names, exactly the golden CSV columns, in golden order; index
/// `i` of [`super::SeriesFeatures::indicators`] is the value of column `i`.
pub const INDICATOR_NAMES: [&str; INDICATOR_COUNT] = [
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

// Positions in INDICATOR_NAMES, so code indexes by name rather than by number.
pub(crate) const RSI_14: usize = 0;
pub(crate) const MACD: usize = 1;
pub(crate) const MACD_SIGNAL: usize = 2;
pub(crate) const MACD_HIST: usize = 3;
pub(crate) const EMA_9: usize = 4;
pub(crate) const EMA_21: usize = 5;
pub(crate) const EMA_50: usize = 6;
pub(crate) const SMA_20: usize = 7;
pub(crate) const BB_UPPER: usize = 8;
pub(crate) const BB_MIDDLE: usize = 9;
pub(crate) const BB_LOWER: usize = 10;
pub(crate) const ATR_14: usize = 11;
pub(crate) const STOCH_K: usize = 12;
pub(crate) const STOCH_D: usize = 13;
pub(crate) const WILLR_14: usize = 14;
pub(crate) const ROC_12: usize = 15;
pub(crate) const CCI_20: usize = 16;
pub(crate) const OBV: usize = 17;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_constants_point_at_their_names() {
        let pairs = [
            (RSI_14, "rsi_14"),
            (MACD, "macd"),
            (MACD_SIGNAL, "macd_signal"),
            (MACD_HIST, "macd_hist"),
            (EMA_9, "ema_9"),
            (EMA_21, "ema_21"),
            (EMA_50, "ema_50"),
            (SMA_20, "sma_20"),
            (BB_UPPER, "bb_upper"),
            (BB_MIDDLE, "bb_middle"),
            (BB_LOWER, "bb_lower"),
            (ATR_14, "atr_14"),
            (STOCH_K, "stoch_k"),
            (STOCH_D, "stoch_d"),
            (WILLR_14, "willr_14"),
            (ROC_12, "roc_12"),
            (CCI_20, "cci_20"),
            (OBV, "obv"),
        ];
        assert_eq!(pairs.len(), INDICATOR_COUNT);
        for (i, name) in pairs {
            assert_eq!(INDICATOR_NAMES[i], name);
        }
    }
}
