//! `signal-worker bench`: an end-to-end load generator and meter over a real
//! NATS server and a real worker.
//!
//! Every series carries real bundled bars ([`load`]); how many signals each
//! phase must yield is computed beforehand with the same pure pipeline the
//! worker runs ([`expect`]), so the meter ([`meter`]) knows exactly when a
//! phase is over instead of sleeping and hoping. Candles go out through
//! JetStream with bounded in-flight acks ([`publish`]); the worker and its
//! server are either the bench's own children ([`worker`]) or an already
//! running pair on 127.0.0.1. The worker's CPU time and peak RSS come from
//! `/proc` ([`procstat`]); with `--passthrough` the same phases also run against a minimal
//! consumer ([`passthrough`]), the ceiling the worker is measured against; [`run`] sequences the phases and [`report`] turns
//! the figures into a table or one JSON object. Nothing here prints.

pub(crate) mod error;
pub(crate) mod expect;
pub(crate) mod load;
mod measured;
pub(crate) mod meter;
pub(crate) mod passthrough;
mod phases;
pub(crate) mod procstat;
pub(crate) mod publish;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod worker;

pub use error::BenchError;
pub use run::{BenchOptions, run};

/// Identifies one candle (and the signal answering it): the series' index in
/// the workload and the bar's open time.
pub type CandleKey = (u32, i64);
