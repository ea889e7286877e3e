//! NATS: the edge the candles come in through and signals leave by.
//!
//! Thin adapters around async-nats: connecting, creating or checking the
//! streams, the durable candle intake, publishing signals and dead letters,
//! reading history for a warm start, the backtest responder and the control
//! subject. No decisions about candles are made here; the pure pipeline makes
//! them.

pub mod archiver;
pub mod backtest;
pub mod connect;
pub mod control;
pub mod error;
pub mod headers;
pub mod history;
pub mod intake;
pub mod model_record;
pub mod partition;
pub mod publish;
pub mod retry;
pub mod streams;

pub use error::BusError;
