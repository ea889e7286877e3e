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

impl CandleMessage {
    /// The candle with its names borrowed from this message.
    pub fn view(&self) -> CandleView<'_> {
        CandleView {
            exchange: &self.exchange,
            symbol: &self.symbol,
            interval: &self.interval,
            open_time: self.open_time,
            close_time: self.close_time,
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

impl<'a> From<&'a CandleMessage> for CandleView<'a> {
    fn from(message: &'a CandleMessage) -> Self {
        message.view()
    }
}

/// [`CandleMessage`] with its names borrowed from the body it was decoded from: the same fields
/// under the same rules, and what the hot path decodes (MessagePack strings are read in place),
/// so a candle of a series already known costs no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct CandleView<'a> {
    /// Exchange name (subject token 2).
    pub exchange: &'a str,
    /// Instrument symbol (subject token 3).
    pub symbol: &'a str,
    /// Interval token such as `1m` (subject token 4).
    pub interval: &'a str,
    /// Bar open time, Unix milliseconds UTC.
    pub open_time: i64,
    /// Bar close time, as in [`CandleMessage::close_time`].
    #[serde(default)]
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
    #[serde(default)]
    pub trades: Option<u64>,
    /// Whether the bar is final.
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

/// A [`SeriesKey`] borrowed from a candle's body (its names already validated): a known
/// series is looked up with it, without making a key.
///
/// It hashes exactly as the key it stands for (the same fields, as `str`, in the same order), so
/// a map of [`SeriesKey`]s finds it through [`hashbrown::Equivalent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeriesRef<'a> {
    /// Exchange name.
    pub exchange: &'a str,
    /// Instrument symbol.
    pub symbol: &'a str,
    /// Bar interval.
    pub interval: Interval,
}

impl hashbrown::Equivalent<SeriesKey> for SeriesRef<'_> {
    fn equivalent(&self, key: &SeriesKey) -> bool {
        self.interval == key.interval
            && self.symbol == key.symbol.as_str()
            && self.exchange == key.exchange.as_str()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use hashbrown::Equivalent;
    use std::hash::{BuildHasher, RandomState};

    /// A map of keys finds a series by its borrowed form only if both hash alike.
    #[test]
    fn a_borrowed_series_hashes_and_compares_as_its_key() {
        let hasher = RandomState::new();
        for (exchange, symbol, interval) in [
            ("binance", "BTCUSDT", Interval::H1),
            ("cffex", "IC-L8", Interval::M1),
            ("x", "y_z", Interval::W1),
        ] {
            let key = SeriesKey {
                exchange: Exchange::new(exchange).unwrap(),
                symbol: Symbol::new(symbol).unwrap(),
                interval,
            };
            let borrowed = SeriesRef {
                exchange,
                symbol,
                interval,
            };
            assert_eq!(hasher.hash_one(&key), hasher.hash_one(borrowed));
            assert!(borrowed.equivalent(&key));
            let other = SeriesRef {
                interval: Interval::D1,
                ..borrowed
            };
            assert!(!other.equivalent(&key));
        }
        let mut map: hashbrown::HashMap<SeriesKey, u32, RandomState> = Default::default();
        let key = SeriesKey {
            exchange: Exchange::new("binance").unwrap(),
            symbol: Symbol::new("ETHUSDT").unwrap(),
            interval: Interval::M5,
        };
        map.insert(key.clone(), 7);
        let found = map.get_key_value(&SeriesRef {
            exchange: "binance",
            symbol: "ETHUSDT",
            interval: Interval::M5,
        });
        assert_eq!(found, Some((&key, &7)));
    }

    /// The borrowed decoder reads what the owned one reads.
    #[test]
    fn a_view_decodes_as_the_message_does() {
        let message = CandleMessage {
            exchange: "binance".into(),
            symbol: "BTCUSDT".into(),
            interval: "1h".into(),
            open_time: 3_600_000,
            close_time: Some(7_199_999),
            open: 1.0,
            high: 2.0,
            low: 0.5,
            close: 1.5,
            volume: 10.0,
            trades: Some(3),
            is_closed: true,
        };
        for encoding in [
            crate::contract::Encoding::MessagePack,
            crate::contract::Encoding::Json,
        ] {
            let bytes = crate::contract::codec::encode(&message, encoding).unwrap();
            let view: CandleView<'_> =
                crate::contract::codec::decode_borrowed(&bytes, encoding).unwrap();
            assert_eq!(view, message.view());
        }
    }
}
