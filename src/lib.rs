//! signal-worker: turns market-data candle streams on NATS into trading signals.
//!
//! A pure core ([`core`], and the model) with thin edges around it. See
//! `README.md` for the architecture and the failure model.

pub mod archive;
pub(crate) mod bench;
pub mod bus;
pub mod cache;
pub mod cli;
pub mod config;
pub mod contract;
pub mod core;
pub mod error;
pub mod io;
#[cfg(test)]
mod layering;
pub mod model;
pub(crate) mod plots;
pub mod runtime;
pub mod telemetry;
