//! The running worker: state built once, supervised tasks, orderly shutdown.
//!
//! `serve` is [`app::run`]: connect, create or check the streams, start the
//! supervised tasks (candle intake, backtest responders, model control), wait
//! for SIGTERM/SIGINT or a fatal failure, then stop within the deadline.

pub(crate) mod app;
mod batch;
mod batch_tally;
pub(crate) mod candles;
pub mod checkpoint;
pub mod clock;
pub(crate) mod error;
pub(crate) mod eviction;
pub(crate) mod live_scores;
pub(crate) mod loaded_models;
pub mod model;
pub(crate) mod model_in_force;
pub(crate) mod model_source;
pub(crate) mod partitions;
pub(crate) mod promote;
pub(crate) mod reload;
pub(crate) mod routes;
mod serving;
pub(crate) mod shutdown;
pub(crate) mod signal_cache;
pub(crate) mod state;
pub(crate) mod supervisor;

pub use error::TaskError;
pub use state::AppState;
