//! Stateless candle validation: decoding limits (in `decode`) and one rule per reason code.
//!
//! Pure and clock-free: the caller passes "now", so the same bytes always get
//! the same verdict in tests, replays and the live worker.

mod decode;

pub use decode::{Decoded, decode_candle, decode_candle_view};

use super::rejection::Rejection;
use crate::contract::subject::SubjectTokens;
use crate::contract::{
    Candle, CandleMessage, CandleView, Exchange, Interval, SeriesKey, SeriesRef, Symbol,
};
use crate::error::ErrorCode;
use serde::{Deserialize, Serialize};

/// Limits applied to every incoming candle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidationSettings {
    /// Largest accepted message body in bytes; a candle is ~200 bytes, so
    /// anything far larger is a bug or an attack and is refused before decoding.
    pub max_message_bytes: usize,
    /// How far `open_time` may lie ahead of the receiver's clock (ms), to
    /// tolerate clock skew between the engine and the worker.
    pub max_future_skew_ms: i64,
    /// Earliest accepted `open_time` (Unix ms). With the latest, it keeps every time
    /// computation on a candle (alignment, bar ends, gaps) far from `i64` overflow.
    pub min_open_time_ms: i64,
    /// Latest accepted `open_time` (Unix ms); the default is the last millisecond of 9999.
    pub max_open_time_ms: i64,
    /// Exchanges whose candles are accepted; empty accepts every exchange. Anything else is
    /// dead-lettered as `not_allowed` and never creates series state.
    pub allowed_exchanges: Vec<String>,
    /// Intervals (`1m`, `1h`, ...) whose candles are accepted; empty accepts every interval.
    pub allowed_intervals: Vec<String>,
}

/// The last millisecond of the year 9999 (Unix ms).
const YEAR_9999_END_MS: i64 = 253_402_300_799_999;

impl Default for ValidationSettings {
    fn default() -> Self {
        Self {
            max_message_bytes: 4096,
            max_future_skew_ms: 60_000,
            min_open_time_ms: 0,
            max_open_time_ms: YEAR_9999_END_MS,
            allowed_exchanges: Vec::new(),
            allowed_intervals: Vec::new(),
        }
    }
}

impl ValidationSettings {
    /// Checks the settings, naming the bad key.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_message_bytes < 64 {
            return Err("validation.max_message_bytes must be at least 64".into());
        }
        if self.max_future_skew_ms < 0 {
            return Err("validation.max_future_skew_ms must not be negative".into());
        }
        // Beyond these bounds `open_time + interval` and friends could overflow.
        if self.min_open_time_ms < 0
            || self.max_open_time_ms > YEAR_9999_END_MS
            || self.min_open_time_ms > self.max_open_time_ms
        {
            return Err(format!(
                "validation.min_open_time_ms and validation.max_open_time_ms must satisfy \
                 0 <= min <= max <= {YEAR_9999_END_MS}"
            ));
        }
        if let Some(bad) = self
            .allowed_intervals
            .iter()
            .find(|i| i.parse::<Interval>().is_err())
        {
            return Err(format!(
                "validation.allowed_intervals: {bad:?} is not a supported interval"
            ));
        }
        if let Some(bad) = self
            .allowed_exchanges
            .iter()
            .find(|e| Exchange::new((*e).clone()).is_err())
        {
            return Err(format!(
                "validation.allowed_exchanges: {bad:?} is not a valid exchange"
            ));
        }
        Ok(())
    }
}

/// Applies every stateless rule to a decoded candle.
///
/// `subject` is the subject it arrived on (None for recorded files, whose
/// identity comes from the body or the command line); `now_ms` is the
/// receiver's clock (None disables the future checks, e.g. for training data): `open_time`
/// may not lie ahead of it by more than the skew, and a bar marked closed must have ended.
pub fn validate_candle(
    msg: &CandleMessage,
    subject: Option<&SubjectTokens<'_>>,
    now_ms: Option<i64>,
    settings: &ValidationSettings,
) -> Result<Candle, Rejection> {
    let checked = check_candle(msg.view(), subject, now_ms, settings)?;
    let series = checked.new_key()?;
    Ok(checked.into_candle(series))
}

/// A candle that passed every stateless rule, its identity still borrowed from its body: the
/// caller supplies its [`SeriesKey`] (the one it already holds for a known series, or
/// [`Checked::new_key`]).
#[derive(Debug, Clone, Copy)]
pub struct Checked<'a> {
    view: CandleView<'a>,
    interval: Interval,
}

impl<'a> Checked<'a> {
    /// The series, borrowed.
    pub fn series(&self) -> SeriesRef<'a> {
        SeriesRef {
            exchange: self.view.exchange,
            symbol: self.view.symbol,
            interval: self.interval,
        }
    }

    /// A new key for the series (its names copied once, for a series not seen before).
    pub fn new_key(&self) -> Result<SeriesKey, Rejection> {
        let name =
            |e: crate::contract::NameError| Rejection::new(ErrorCode::InvalidField, e.to_string());
        Ok(SeriesKey {
            exchange: Exchange::new(self.view.exchange).map_err(name)?,
            symbol: Symbol::new(self.view.symbol).map_err(name)?,
            interval: self.interval,
        })
    }

    /// The typed candle under `series` (which must be this candle's).
    pub fn into_candle(self, series: SeriesKey) -> Candle {
        let msg = self.view;
        Candle {
            series,
            open_time: msg.open_time,
            open: msg.open,
            high: msg.high,
            low: msg.low,
            close: msg.close,
            volume: msg.volume,
            trades: msg.trades,
            is_closed: msg.is_closed,
        }
    }
}

/// Every stateless rule of [`validate_candle`], without making the series' key.
pub fn check_candle<'a>(
    msg: CandleView<'a>,
    subject: Option<&SubjectTokens<'_>>,
    now_ms: Option<i64>,
    settings: &ValidationSettings,
) -> Result<Checked<'a>, Rejection> {
    let interval = check_identity(&msg, subject)?;
    check_allowed(msg.exchange, interval, settings)?;
    check_prices(&msg)?;
    check_times(&msg, interval, now_ms, settings)?;
    Ok(Checked {
        view: msg,
        interval,
    })
}

/// Checks the body's identity against the subject's and the names' rules; returns the interval.
fn check_identity(
    msg: &CandleView<'_>,
    subject: Option<&SubjectTokens<'_>>,
) -> Result<Interval, Rejection> {
    if let Some(s) = subject {
        for (field, body, token) in [
            ("exchange", msg.exchange, s.exchange),
            ("symbol", msg.symbol, s.symbol),
            ("interval", msg.interval, s.interval),
        ] {
            if body != token {
                return Err(Rejection::new(
                    ErrorCode::SubjectMismatch,
                    format!("{field} {body:?} in body, {token:?} in subject"),
                ));
            }
        }
    }
    let interval: Interval =
        msg.interval
            .parse()
            .map_err(|e: crate::contract::UnknownInterval| {
                Rejection::new(ErrorCode::UnknownInterval, e.to_string())
            })?;
    let name =
        |e: crate::contract::NameError| Rejection::new(ErrorCode::InvalidField, e.to_string());
    Exchange::check(msg.exchange).map_err(name)?;
    Symbol::check(msg.symbol).map_err(name)?;
    Ok(interval)
}

/// The exchange and interval allow-lists (empty lists allow everything).
fn check_allowed(
    exchange: &str,
    interval: Interval,
    settings: &ValidationSettings,
) -> Result<(), Rejection> {
    if !settings.allowed_exchanges.is_empty()
        && !settings.allowed_exchanges.iter().any(|e| e == exchange)
    {
        return Err(Rejection::new(
            ErrorCode::NotAllowed,
            format!("exchange {exchange:?} is not in validation.allowed_exchanges"),
        ));
    }
    let interval = interval.as_str();
    if !settings.allowed_intervals.is_empty()
        && !settings.allowed_intervals.iter().any(|i| i == interval)
    {
        return Err(Rejection::new(
            ErrorCode::NotAllowed,
            format!("interval {interval:?} is not in validation.allowed_intervals"),
        ));
    }
    Ok(())
}

fn check_prices(msg: &CandleView<'_>) -> Result<(), Rejection> {
    let fields = [
        ("open", msg.open),
        ("high", msg.high),
        ("low", msg.low),
        ("close", msg.close),
        ("volume", msg.volume),
    ];
    if let Some((name, v)) = fields.iter().find(|(_, v)| !v.is_finite()) {
        return Err(Rejection::new(
            ErrorCode::NonFinite,
            format!("{name} is {v}"),
        ));
    }
    if let Some((name, v)) = fields[..4].iter().find(|(_, v)| *v <= 0.0) {
        return Err(Rejection::new(
            ErrorCode::NonPositivePrice,
            format!("{name} is {v}"),
        ));
    }
    if msg.volume < 0.0 {
        return Err(Rejection::new(
            ErrorCode::NegativeVolume,
            format!("volume is {}", msg.volume),
        ));
    }
    let body_top = msg.open.max(msg.close);
    if msg.high < body_top {
        return Err(Rejection::new(
            ErrorCode::HighBelowBody,
            format!("high {} < max(open, close) {}", msg.high, body_top),
        ));
    }
    let body_bottom = msg.open.min(msg.close);
    if msg.low > body_bottom {
        return Err(Rejection::new(
            ErrorCode::LowAboveBody,
            format!("low {} > min(open, close) {}", msg.low, body_bottom),
        ));
    }
    Ok(())
}

fn check_times(
    msg: &CandleView<'_>,
    interval: Interval,
    now_ms: Option<i64>,
    settings: &ValidationSettings,
) -> Result<(), Rejection> {
    if msg.open_time < settings.min_open_time_ms || msg.open_time > settings.max_open_time_ms {
        return Err(Rejection::new(
            ErrorCode::OpenTimeOutOfRange,
            format!(
                "open_time {} is outside {}..={}",
                msg.open_time, settings.min_open_time_ms, settings.max_open_time_ms
            ),
        ));
    }
    if !interval.is_aligned(msg.open_time) {
        return Err(Rejection::new(
            ErrorCode::MisalignedOpenTime,
            format!(
                "open_time {} is not a multiple of {}",
                msg.open_time, interval
            ),
        ));
    }
    if let Some(close_time) = msg.close_time {
        // In range (checked above), so this cannot overflow; saturating all the same.
        let end = msg.open_time.saturating_add(interval.millis());
        // Exchanges publish either the last millisecond of the bar or its end.
        if close_time != end.saturating_sub(1) && close_time != end {
            return Err(Rejection::new(
                ErrorCode::InconsistentCloseTime,
                format!(
                    "close_time {close_time} != open_time + {interval} ({} or {end})",
                    end.saturating_sub(1)
                ),
            ));
        }
    }
    if let Some(now) = now_ms {
        let limit = now.saturating_add(settings.max_future_skew_ms);
        // A bar marked closed must have ended: its end lies within the skew of the clock.
        let end = msg.open_time.saturating_add(interval.millis());
        if msg.is_closed && end > limit {
            return Err(Rejection::new(
                ErrorCode::FutureOpenTime,
                format!(
                    "the bar is marked closed but ends at {end}, {} ms after the clock (skew limit {} ms)",
                    end.saturating_sub(now),
                    settings.max_future_skew_ms
                ),
            ));
        }
        if msg.open_time > limit {
            return Err(Rejection::new(
                ErrorCode::FutureOpenTime,
                format!(
                    "open_time {} is {} ms ahead of the clock (skew limit {} ms)",
                    msg.open_time,
                    msg.open_time.saturating_sub(now),
                    settings.max_future_skew_ms
                ),
            ));
        }
    }
    Ok(())
}
