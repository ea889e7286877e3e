//! The candle message: what the trading engine publishes on `candles.<exchange>.<symbol>.<interval>`.

use super::ids::{Exchange, Symbol};
use super::interval::Interval;
use serde::{Deserialize, Serialize};

/// A candle exactly as it arrives on the wire, before validation.
///
/// Identity fields are plain strings here on purpose: a bad interval or symbol
/// must be reported with its own reason code (`unknown_interval`,
/// `invalid_field`), not drowned in a generic decoding error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandleMessage {
    /// Exchange name (subject token 2).
    pub exchange: String,
    /// Instrument symbol (subject token 3).
    pub symbol: String,
    /// Interval token such as `1m` (subject token 4).
    pub interval: String,
    /// Bar open time, Unix milliseconds UTC.
    pub open_time: i64,
    /// Bar close time, Unix milliseconds UTC: `open_time + interval - 1` (exchange
    /// convention) or `open_time + interval`; optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_time: Option<i64>,
    /// Opening price.
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Closing price.
    pub close: f64,
    /// Traded base quantity.
    pub volume: f64,
    /// Number of trades, when the source reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trades: Option<u64>,
    /// Whether the bar is final; only closed bars produce signals.
    pub is_closed: bool,
}

/// A candle that passed every stateless validation rule, with typed identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candle {
    /// The series this candle belongs to.
    pub series: SeriesKey,
    /// Bar open time, Unix milliseconds UTC, aligned to the interval.
    pub open_time: i64,
    /// Opening price (> 0).
    pub open: f64,
    /// Highest price (>= max(open, close)).
    pub high: f64,
    /// Lowest price (<= min(open, close), > 0).
    pub low: f64,
    /// Closing price (> 0).
    pub close: f64,
    /// Traded base quantity (>= 0).
    pub volume: f64,
    /// Number of trades, when known.
    pub trades: Option<u64>,
    /// Whether the bar is final.
    pub is_closed: bool,
}

/// The identity of one candle series: the unit of ordering, state and partitioning.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeriesKey {
    /// Exchange name.
    pub exchange: Exchange,
    /// Instrument symbol.
    pub symbol: Symbol,
    /// Bar interval.
    pub interval: Interval,
}

impl SeriesKey {
    /// `exchange:symbol:interval`, the prefix of message ids and cache keys.
    pub fn id(&self) -> String {
        format!("{}:{}:{}", self.exchange, self.symbol, self.interval)
    }
}

impl std::fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.exchange, self.symbol, self.interval)
    }
}

impl Candle {
    /// The wire form of this candle (with `close_time` in the exchange convention).
    pub fn to_message(&self) -> CandleMessage {
        CandleMessage {
            exchange: self.series.exchange.to_string(),
            symbol: self.series.symbol.to_string(),
            interval: self.series.interval.to_string(),
            open_time: self.open_time,
            close_time: Some(self.open_time + self.series.interval.millis() - 1),
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
            trades: self.trades,
            is_closed: self.is_closed,
        }
    }
}
