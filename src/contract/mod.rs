//! Wire types and their encoding: the contract with the trading engine.
//!
//! Depends on nothing inside the crate but [`crate::error`], so the contract can
//! be read (and versioned) on its own. `schemas/` holds the JSON Schema of each type.

pub mod backtest;
pub(crate) mod candle;
pub mod codec;
pub(crate) mod ids;
pub(crate) mod interval;
pub(crate) mod signal;
pub mod subject;
pub(crate) mod text;

pub use backtest::BacktestRequest;
pub use candle::{Candle, CandleMessage, CandleView, SeriesKey, SeriesRef};
pub use codec::{CodecError, Encoding};
pub use ids::{Exchange, NameError, Symbol};
pub use interval::{Interval, UnknownInterval};
pub use signal::{ClassProbabilities, ModelRef, Side, Signal, Thresholds};
pub use text::Text;
