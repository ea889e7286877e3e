//! The backtest request: accepted and persisted, answered with `not_implemented`.
//!
//! The old service answered backtests with simulated numbers that looked real;
//! this worker never does. The type exists so requests are decoded, their id is
//! echoed, and the schema documents what a future implementation will take.

use serde::{Deserialize, Serialize};

/// A backtest request on `backtest.requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestRequest {
    /// Caller-chosen id, echoed in the reply.
    pub request_id: String,
    /// Exchange to test on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Symbol to test on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Interval token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// First bar open time (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    /// Last bar open time (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
    /// Model name to test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// The warning every backtest reply carries.
pub const SIMULATION_WARNING: &str =
    "backtesting is not implemented; never trade on simulated results";
