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
pub mod connection;
pub mod consumer;
pub mod control;
pub mod delivery;
pub mod error;
pub mod headers;
pub mod model_record;
pub mod partition;
pub mod publish;
pub mod readback;
pub mod retry;
pub mod streams;

pub use connection::Connection;
pub use delivery::{Delivered, Settle};
pub use error::BusError;
