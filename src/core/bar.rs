//! The candle as the pure core sees it: already validated, already closed.

use serde::{Deserialize, Serialize};

/// One closed, validated candle of a single series.
///
/// It carries no series identity: the core keeps one state per series, so the
/// identity lives with the state, not in every bar. Validation (finite,
/// positive prices, `low <= open, close <= high`, non-negative volume) happens
/// before a `Bar` is built; the feature engine re-checks only what it needs to
/// stay finite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    /// Bar open time, Unix milliseconds UTC. Known when the bar closes, so
    /// time features built from it never look ahead.
    pub open_time: i64,
    /// First traded price of the bar.
    pub open: f64,
    /// Highest traded price of the bar.
    pub high: f64,
    /// Lowest traded price of the bar.
    pub low: f64,
    /// Last traded price of the bar.
    pub close: f64,
    /// Traded base quantity; zero is legal (quiet markets, exchange outages).
    pub volume: f64,
}

impl From<&crate::contract::Candle> for Bar {
    /// The core's view of a validated candle: its time and prices, nothing of its identity.
    fn from(c: &crate::contract::Candle) -> Self {
        Bar {
            open_time: c.open_time,
            open: c.open,
            high: c.high,
            low: c.low,
            close: c.close,
            volume: c.volume,
        }
    }
}
