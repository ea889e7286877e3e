//! The one wire error format (`ErrorReply`) and its closed set of codes.
//!
//! The old service answered with three different error shapes; here every
//! reply, dead letter and CLI rejection speaks the same `ErrorCode`, so a
//! consumer can switch on one field and a dashboard can count by one label.

use serde::{Deserialize, Serialize};

/// Every reason the worker can give for refusing or failing something.
///
/// The snake_case name is the wire value, the `dlq.<reason>` subject token and
/// the metrics label, so it must stay stable once published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The bytes could not be decoded as a message of the expected type.
    Undecodable,
    /// The message is larger than the configured limit.
    Oversize,
    /// A number is NaN or infinite.
    NonFinite,
    /// A price (open, high, low or close) is zero or negative.
    NonPositivePrice,
    /// The volume is negative.
    NegativeVolume,
    /// `high` is below `max(open, close)`.
    HighBelowBody,
    /// `low` is above `min(open, close)`.
    LowAboveBody,
    /// The interval token is not one of the supported intervals.
    UnknownInterval,
    /// `open_time` is not a multiple of the interval.
    MisalignedOpenTime,
    /// `close_time` does not match `open_time + interval`.
    InconsistentCloseTime,
    /// `open_time` lies further in the future than the allowed clock skew.
    FutureOpenTime,
    /// The subject tokens disagree with the message body.
    SubjectMismatch,
    /// `open_time` lies outside the accepted range (`validation.min_open_time_ms` ..
    /// `validation.max_open_time_ms`).
    OpenTimeOutOfRange,
    /// The exchange or interval is not in the configured allow-list.
    NotAllowed,
    /// A new series would exceed `sequence.max_series`: the worker's state stays bounded.
    SeriesLimit,
    /// The candle was accepted but its window cannot be scored: a scaled feature or the
    /// model's output is not finite. No signal is made from it.
    Unscorable,
    /// A request asked for something this worker may not do (a reply subject outside the
    /// allowed ones, a model outside `model.root` or not allow-listed).
    Forbidden,
    /// A field is missing or malformed in an otherwise decodable record.
    InvalidField,
    /// The same candle (series and `open_time`) was already processed.
    Duplicate,
    /// The candle is older than the last one processed for its series.
    OutOfOrder,
    /// The requested feature exists in the contract but is not built.
    NotImplemented,
    /// A dependency (NATS, Redis, MongoDB) is unavailable.
    Unavailable,
    /// The model could not be loaded or run.
    ModelError,
    /// An unexpected internal failure; details are logged, not leaked.
    Internal,
}

impl ErrorCode {
    /// Every code, in declaration order (for docs, metrics pre-registration and tests).
    pub const ALL: [ErrorCode; 24] = [
        Self::Undecodable,
        Self::Oversize,
        Self::NonFinite,
        Self::NonPositivePrice,
        Self::NegativeVolume,
        Self::HighBelowBody,
        Self::LowAboveBody,
        Self::UnknownInterval,
        Self::MisalignedOpenTime,
        Self::InconsistentCloseTime,
        Self::FutureOpenTime,
        Self::SubjectMismatch,
        Self::OpenTimeOutOfRange,
        Self::NotAllowed,
        Self::SeriesLimit,
        Self::Unscorable,
        Self::Forbidden,
        Self::InvalidField,
        Self::Duplicate,
        Self::OutOfOrder,
        Self::NotImplemented,
        Self::Unavailable,
        Self::ModelError,
        Self::Internal,
    ];

    /// The stable snake_case name used on the wire, in subjects and in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Undecodable => "undecodable",
            Self::Oversize => "oversize",
            Self::NonFinite => "non_finite",
            Self::NonPositivePrice => "non_positive_price",
            Self::NegativeVolume => "negative_volume",
            Self::HighBelowBody => "high_below_body",
            Self::LowAboveBody => "low_above_body",
            Self::UnknownInterval => "unknown_interval",
            Self::MisalignedOpenTime => "misaligned_open_time",
            Self::InconsistentCloseTime => "inconsistent_close_time",
            Self::FutureOpenTime => "future_open_time",
            Self::SubjectMismatch => "subject_mismatch",
            Self::OpenTimeOutOfRange => "open_time_out_of_range",
            Self::NotAllowed => "not_allowed",
            Self::SeriesLimit => "series_limit",
            Self::Unscorable => "unscorable",
            Self::Forbidden => "forbidden",
            Self::InvalidField => "invalid_field",
            Self::Duplicate => "duplicate",
            Self::OutOfOrder => "out_of_order",
            Self::NotImplemented => "not_implemented",
            Self::Unavailable => "unavailable",
            Self::ModelError => "model_error",
            Self::Internal => "internal",
        }
    }

    /// The HTTP-style status that travels with the code, so request/reply
    /// clients can map errors without knowing every code.
    pub fn status(self) -> u16 {
        match self {
            Self::Undecodable
            | Self::NonFinite
            | Self::NonPositivePrice
            | Self::NegativeVolume
            | Self::HighBelowBody
            | Self::LowAboveBody
            | Self::UnknownInterval
            | Self::MisalignedOpenTime
            | Self::InconsistentCloseTime
            | Self::SubjectMismatch
            | Self::OpenTimeOutOfRange
            | Self::InvalidField => 400,
            Self::NotAllowed | Self::Forbidden => 403,
            Self::SeriesLimit => 429,
            Self::Unscorable => 422,
            Self::Duplicate | Self::OutOfOrder => 409,
            Self::Oversize => 413,
            Self::FutureOpenTime => 422,
            Self::Internal | Self::ModelError => 500,
            Self::NotImplemented => 501,
            Self::Unavailable => 503,
        }
    }

    /// Whether sending the same thing again later may succeed.
    pub fn retryable(self) -> bool {
        matches!(self, Self::Unavailable | Self::Internal)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of an [`ErrorReply`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable reason.
    pub code: ErrorCode,
    /// HTTP-style status derived from the code.
    pub status: u16,
    /// Human-readable explanation; never contains secrets or file-system paths.
    pub message: String,
    /// Whether the same request may succeed if retried.
    pub retryable: bool,
    /// Structured context (offending field, values, limits).
    #[serde(default)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// The one error format for every reply and dead letter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// What went wrong.
    pub error: ErrorBody,
    /// The id of the request or message this answers, when it had one.
    pub request_id: Option<String>,
    /// When the reply was produced (Unix ms, UTC); the caller passes the clock.
    pub ts: i64,
}

impl ErrorReply {
    /// Builds a reply whose status and retryability follow from `code`.
    pub fn new(
        code: ErrorCode,
        message: impl Into<String>,
        request_id: Option<String>,
        ts: i64,
    ) -> Self {
        Self {
            error: ErrorBody {
                code,
                status: code.status(),
                message: message.into(),
                retryable: code.retryable(),
                details: serde_json::Map::new(),
            },
            request_id,
            ts,
        }
    }

    /// Adds one structured detail.
    pub fn with_detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.error.details.insert(key.to_owned(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_round_trip_through_serde() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, code);
        }
    }

    #[test]
    fn not_implemented_is_501_and_not_retryable() {
        let reply = ErrorReply::new(ErrorCode::NotImplemented, "no", Some("r1".into()), 5);
        assert_eq!(reply.error.status, 501);
        assert!(!reply.error.retryable);
        assert_eq!(reply.request_id.as_deref(), Some("r1"));
    }
}
