//! The signal message: what the worker publishes on `signals.<exchange>.<symbol>.<interval>`.
//!
//! The body is a pure function of the candle history and the model, so that a
//! replay of the same candles yields byte-identical bodies. Wall-clock facts
//! (when it was produced, how long it took) travel as message headers.

use super::text::Text;
use serde::{Deserialize, Serialize};

/// The trading direction a signal recommends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Expect the price to rise past the long threshold.
    Long,
    /// Expect the price to fall past the short threshold.
    Short,
    /// No confident view.
    Neutral,
}

impl Side {
    /// Every side, in the model's class order.
    pub const ALL: [Side; 3] = [Side::Long, Side::Short, Side::Neutral];

    /// The lowercase wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Long => "long",
            Side::Short => "short",
            Side::Neutral => "neutral",
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The model's probability for each class; they sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassProbabilities {
    /// Probability of the long class.
    pub long: f64,
    /// Probability of the short class.
    pub short: f64,
    /// Probability of the neutral class.
    pub neutral: f64,
}

/// Which model produced a signal; `sha256` is the weights hash, so a signal
/// can always be traced to the exact artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    /// Model name (its directory name under `models/`).
    pub name: Text,
    /// Model version string from its metadata.
    pub version: Text,
    /// Hex SHA-256 of the weights file.
    pub sha256: Text,
}

/// The decision thresholds in force when the signal was made.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Minimum winning-class probability for a long or short side.
    pub min_confidence: f64,
}

/// A trading signal for one closed candle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Exchange of the candle.
    pub exchange: Text,
    /// Symbol of the candle.
    pub symbol: Text,
    /// Interval of the candle.
    pub interval: Text,
    /// Open time of the candle this signal answers (Unix ms UTC).
    pub open_time: i64,
    /// The recommended side.
    pub side: Side,
    /// Probability of the winning class (0..1).
    pub confidence: f64,
    /// All three class probabilities.
    pub probabilities: ClassProbabilities,
    /// The model that produced it.
    pub model: ModelRef,
    /// The thresholds used to decide the side.
    pub thresholds: Thresholds,
}

impl Signal {
    /// The `Nats-Msg-Id` that makes redelivery idempotent:
    /// `<exchange>:<symbol>:<interval>:<open_time>:<model sha256 prefix>`.
    pub fn message_id(&self, sha_prefix_len: usize) -> String {
        let prefix = self
            .model
            .sha256
            .get(..sha_prefix_len)
            .unwrap_or(&self.model.sha256);
        format!(
            "{}:{}:{}:{}:{}",
            self.exchange, self.symbol, self.interval, self.open_time, prefix
        )
    }
}
