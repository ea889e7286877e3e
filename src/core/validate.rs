//! Stateless candle validation: decoding limits and one rule per reason code.
//!
//! Pure and clock-free: the caller passes "now", so the same bytes always get
//! the same verdict in tests, replays and the live worker.

use super::rejection::Rejection;
use crate::contract::codec::{self, Encoding};
use crate::contract::subject::SubjectTokens;
use crate::contract::{Candle, CandleMessage, Exchange, Interval, SeriesKey, Symbol};
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
}

impl Default for ValidationSettings {
    fn default() -> Self {
        Self {
            max_message_bytes: 4096,
            max_future_skew_ms: 60_000,
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
        Ok(())
    }
}

/// Decodes a candle body, refusing oversize and undecodable bytes.
pub fn decode_candle(
    bytes: &[u8],
    encoding: Encoding,
    settings: &ValidationSettings,
) -> Result<CandleMessage, Rejection> {
    if bytes.len() > settings.max_message_bytes {
        return Err(Rejection::new(
            ErrorCode::Oversize,
            format!(
                "{} bytes > limit {}",
                bytes.len(),
                settings.max_message_bytes
            ),
        ));
    }
    codec::decode(bytes, encoding)
        .map_err(|e| Rejection::new(ErrorCode::Undecodable, e.to_string()))
}

/// Applies every stateless rule to a decoded candle.
///
/// `subject` is the subject it arrived on (None for recorded files, whose
/// identity comes from the body or the command line); `now_ms` is the
/// receiver's clock (None disables the future check, e.g. for training data).
pub fn validate_candle(
    msg: &CandleMessage,
    subject: Option<&SubjectTokens<'_>>,
    now_ms: Option<i64>,
    settings: &ValidationSettings,
) -> Result<Candle, Rejection> {
    let series = check_identity(msg, subject)?;
    check_prices(msg)?;
    check_times(msg, series.interval, now_ms, settings)?;
    Ok(Candle {
        series,
        open_time: msg.open_time,
        open: msg.open,
        high: msg.high,
        low: msg.low,
        close: msg.close,
        volume: msg.volume,
        trades: msg.trades,
        is_closed: msg.is_closed,
    })
}

fn check_identity(
    msg: &CandleMessage,
    subject: Option<&SubjectTokens<'_>>,
) -> Result<SeriesKey, Rejection> {
    if let Some(s) = subject {
        for (field, body, token) in [
            ("exchange", msg.exchange.as_str(), s.exchange),
            ("symbol", msg.symbol.as_str(), s.symbol),
            ("interval", msg.interval.as_str(), s.interval),
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
    let exchange = Exchange::new(msg.exchange.clone())
        .map_err(|e| Rejection::new(ErrorCode::InvalidField, e.to_string()))?;
    let symbol = Symbol::new(msg.symbol.clone())
        .map_err(|e| Rejection::new(ErrorCode::InvalidField, e.to_string()))?;
    Ok(SeriesKey {
        exchange,
        symbol,
        interval,
    })
}

fn check_prices(msg: &CandleMessage) -> Result<(), Rejection> {
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
    msg: &CandleMessage,
    interval: Interval,
    now_ms: Option<i64>,
    settings: &ValidationSettings,
) -> Result<(), Rejection> {
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
        let end = msg.open_time.saturating_add(interval.millis());
        // Exchanges publish either the last millisecond of the bar or its end.
        if close_time != end - 1 && close_time != end {
            return Err(Rejection::new(
                ErrorCode::InconsistentCloseTime,
                format!(
                    "close_time {close_time} != open_time + {interval} ({} or {end})",
                    end - 1
                ),
            ));
        }
    }
    if let Some(now) = now_ms {
        let limit = now.saturating_add(settings.max_future_skew_ms);
        if msg.open_time > limit {
            return Err(Rejection::new(
                ErrorCode::FutureOpenTime,
                format!(
                    "open_time {} is {} ms ahead of the clock (skew limit {} ms)",
                    msg.open_time,
                    msg.open_time - now,
                    settings.max_future_skew_ms
                ),
            ));
        }
    }
    Ok(())
}
