//! NATS: the edge the candles come in through and signals leave by.
//!
//! Thin adapters around async-nats: connecting, creating or checking the
//! streams, the durable candle intake, publishing signals and dead letters,
//! reading history for a warm start, the backtest responder and the control
//! subject. No decisions about candles are made here; the pure pipeline makes
//! them.

pub(crate) mod archiver;
pub(crate) mod backtest;
pub mod connect;
pub(crate) mod connection;
pub(crate) mod consumer;
pub(crate) mod control;
pub(crate) mod delivery;
pub(crate) mod error;
pub(crate) mod headers;
pub(crate) mod model_record;
pub(crate) mod partition;
pub(crate) mod publish;
pub(crate) mod readback;
pub(crate) mod retry;
pub mod streams;

pub use connection::Connection;
pub use delivery::{Delivered, Settle};
pub use error::BusError;
