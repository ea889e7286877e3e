//! The standard indicators, as ta-lib streaming handles.
//!
//! TA-Lib's warm-up is reproduced by *when* a stream is opened: a stream can
//! only be opened on at least `lookback + 1` bars (`InsufficientHistory`
//! otherwise), and its opener returns the value at the last history bar,
//! bit-identical to the batch call. So while a series is young every bar is
//! retained in [`BarHistory`], each missing stream is tried on the whole
//! history after every bar, and the first success is exactly the first bar
//! for which TA-Lib's batch output is defined. From then on each stream takes
//! one `update` per bar. A restore opens every stream on the retained bars.

use super::error::FeatureError;
use super::history::{BarHistory, Columns};
use super::names::*;
use crate::core::bar::Bar;
use ta_lib::{
    AtrStream, BbandsStream, CciStream, Core, EmaStream, MAType, MacdStream, ObvStream, RetCode,
    RocStream, RsiStream, SmaStream, StochStream, WillrStream,
};

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
/// Simple moving average period (`sma_20`).
const SMA_PERIOD: i32 = 20;
/// Bollinger Bands period.
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

/// Every indicator stream of one series and their latest values.
///
/// `None` streams have not been opened yet (their warm-up is not over).
#[derive(Debug, Clone, Default)]
pub(crate) struct Indicators {
    rsi: Option<RsiStream>,
    macd: Option<MacdStream>,
    ema_short: Option<EmaStream>,
    ema_medium: Option<EmaStream>,
    ema_long: Option<EmaStream>,
    sma: Option<SmaStream>,
    bbands: Option<BbandsStream>,
    atr: Option<AtrStream>,
    stoch: Option<StochStream>,
    willr: Option<WillrStream>,
    roc: Option<RocStream>,
    cci: Option<CciStream>,
    obv: Option<ObvStream>,
    /// Latest value of each column of [`INDICATOR_NAMES`].
    values: [Option<f64>; INDICATOR_COUNT],
    /// Every stream is open: skips the open attempts once warm.
    all_open: bool,
    /// Bars in the streams' index space (history at opening + updates since),
    /// checked against ta-lib's `INDEX_MAX`.
    indexed: u64,
}

/// Maps ta-lib's "not enough history yet" to `None`, any other refusal to
/// an error naming the indicator.
fn opened<T>(
    result: Result<T, RetCode>,
    indicator: &'static str,
) -> Result<Option<T>, FeatureError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(RetCode::InsufficientHistory) => Ok(None),
        Err(code) => Err(FeatureError::Indicator { indicator, code }),
    }
}

/// Builds the error for a stream that refused an update.
fn refused(indicator: &'static str) -> impl Fn(RetCode) -> FeatureError {
    move |code| FeatureError::Indicator { indicator, code }
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

    /// Feeds one bar, which `history` already holds as its latest. On error
    /// some streams may have taken the bar and others not; the caller resets.
    #[inline]
    pub(crate) fn update(&mut self, bar: &Bar, history: &BarHistory) -> Result<(), FeatureError> {
        let (h, l, c, v) = (bar.high, bar.low, bar.close, bar.volume);
        let vals = &mut self.values;
        if let Some(s) = &mut self.rsi {
            vals[RSI_14] = Some(s.update(c).map_err(refused("rsi_14"))?);
        }
        if let Some(s) = &mut self.macd {
            let (m, sig, hist) = s.update(c).map_err(refused("macd"))?;
            (vals[MACD], vals[MACD_SIGNAL], vals[MACD_HIST]) = (Some(m), Some(sig), Some(hist));
        }
        if let Some(s) = &mut self.ema_short {
            vals[EMA_9] = Some(s.update(c).map_err(refused("ema_9"))?);
        }
        if let Some(s) = &mut self.ema_medium {
            vals[EMA_21] = Some(s.update(c).map_err(refused("ema_21"))?);
        }
        if let Some(s) = &mut self.ema_long {
            vals[EMA_50] = Some(s.update(c).map_err(refused("ema_50"))?);
        }
        if let Some(s) = &mut self.sma {
            vals[SMA_20] = Some(s.update(c).map_err(refused("sma_20"))?);
        }
        if let Some(s) = &mut self.bbands {
            let (up, mid, low) = s.update(c).map_err(refused("bbands"))?;
            (vals[BB_UPPER], vals[BB_MIDDLE], vals[BB_LOWER]) = (Some(up), Some(mid), Some(low));
        }
        if let Some(s) = &mut self.atr {
            vals[ATR_14] = Some(s.update(h, l, c).map_err(refused("atr_14"))?);
        }
        if let Some(s) = &mut self.stoch {
            let (k, d) = s.update(h, l, c).map_err(refused("stoch"))?;
            (vals[STOCH_K], vals[STOCH_D]) = (Some(k), Some(d));
        }
        if let Some(s) = &mut self.willr {
            vals[WILLR_14] = Some(s.update(h, l, c).map_err(refused("willr_14"))?);
        }
        if let Some(s) = &mut self.roc {
            vals[ROC_12] = Some(s.update(c).map_err(refused("roc_12"))?);
        }
        if let Some(s) = &mut self.cci {
            vals[CCI_20] = Some(s.update(h, l, c).map_err(refused("cci_20"))?);
        }
        if let Some(s) = &mut self.obv {
            vals[OBV] = Some(s.update(c, v).map_err(refused("obv"))?);
        }
        self.indexed += 1;
        if !self.all_open {
            self.open_missing(history)?;
        }
        Ok(())
    }

    /// Whether every stream is open (the warm-up is over: older bars are no longer needed).
    pub(crate) fn all_open(&self) -> bool {
        self.all_open
    }

    /// Opens every stream on the whole retained history (a restore).
    pub(crate) fn open_on(history: &BarHistory) -> Result<Self, FeatureError> {
        let mut me = Self {
            indexed: history.len() as u64,
            ..Self::default()
        };
        me.open_missing(history)?;
        Ok(me)
    }

    /// Tries to open each stream that is not open yet on `history`; the ones
    /// still inside their warm-up stay closed.
    fn open_missing(&mut self, history: &BarHistory) -> Result<(), FeatureError> {
        let Columns {
            high,
            low,
            close,
            obv_volume,
        } = &history.columns();
        let core = Core::new();
        let vals = &mut self.values;
        if self.rsi.is_none()
            && let Some((s, x)) = opened(core.rsi_open(close, RSI_PERIOD), "rsi_14")?
        {
            (self.rsi, vals[RSI_14]) = (Some(s), Some(x));
        }
        if self.macd.is_none()
            && let Some((s, (m, sig, hist))) = opened(
                core.macd_open(close, MACD_FAST, MACD_SLOW, MACD_SIGNAL_PERIOD),
                "macd",
            )?
        {
            self.macd = Some(s);
            (vals[MACD], vals[MACD_SIGNAL], vals[MACD_HIST]) = (Some(m), Some(sig), Some(hist));
        }
        if self.ema_short.is_none()
            && let Some((s, x)) = opened(core.ema_open(close, EMA_SHORT), "ema_9")?
        {
            (self.ema_short, vals[EMA_9]) = (Some(s), Some(x));
        }
        if self.ema_medium.is_none()
            && let Some((s, x)) = opened(core.ema_open(close, EMA_MEDIUM), "ema_21")?
        {
            (self.ema_medium, vals[EMA_21]) = (Some(s), Some(x));
        }
        if self.ema_long.is_none()
            && let Some((s, x)) = opened(core.ema_open(close, EMA_LONG), "ema_50")?
        {
            (self.ema_long, vals[EMA_50]) = (Some(s), Some(x));
        }
        if self.sma.is_none()
            && let Some((s, x)) = opened(core.sma_open(close, SMA_PERIOD), "sma_20")?
        {
            (self.sma, vals[SMA_20]) = (Some(s), Some(x));
        }
        if self.bbands.is_none()
            && let Some((s, (up, mid, low))) = opened(
                core.bbands_open(close, BB_PERIOD, BB_DEVIATIONS, BB_DEVIATIONS, MAType::SMA),
                "bbands",
            )?
        {
            self.bbands = Some(s);
            (vals[BB_UPPER], vals[BB_MIDDLE], vals[BB_LOWER]) = (Some(up), Some(mid), Some(low));
        }
        if self.atr.is_none()
            && let Some((s, x)) = opened(core.atr_open(high, low, close, ATR_PERIOD), "atr_14")?
        {
            (self.atr, vals[ATR_14]) = (Some(s), Some(x));
        }
        if self.stoch.is_none()
            && let Some((s, (k, d))) = opened(
                core.stoch_open(
                    high,
                    low,
                    close,
                    STOCH_FAST_K,
                    STOCH_SLOW_K,
                    MAType::SMA,
                    STOCH_SLOW_D,
                    MAType::SMA,
                ),
                "stoch",
            )?
        {
            self.stoch = Some(s);
            (vals[STOCH_K], vals[STOCH_D]) = (Some(k), Some(d));
        }
        if self.willr.is_none()
            && let Some((s, x)) =
                opened(core.willr_open(high, low, close, WILLR_PERIOD), "willr_14")?
        {
            (self.willr, vals[WILLR_14]) = (Some(s), Some(x));
        }
        if self.roc.is_none()
            && let Some((s, x)) = opened(core.roc_open(close, ROC_PERIOD), "roc_12")?
        {
            (self.roc, vals[ROC_12]) = (Some(s), Some(x));
        }
        if self.cci.is_none()
            && let Some((s, x)) = opened(core.cci_open(high, low, close, CCI_PERIOD), "cci_20")?
        {
            (self.cci, vals[CCI_20]) = (Some(s), Some(x));
        }
        if self.obv.is_none()
            && let Some((s, x)) = opened(core.obv_open(close, obv_volume), "obv")?
        {
            (self.obv, vals[OBV]) = (Some(s), Some(x));
        }
        self.all_open = vals.iter().all(Option::is_some);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::features::WARM_UP_BARS;

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
}
