//! The running worker: state built once, supervised tasks, orderly shutdown.
//!
//! `serve` is [`app::run`]: connect, create or check the streams, start the
//! supervised tasks (candle intake, backtest responders, model control), wait
//! for SIGTERM/SIGINT or a fatal failure, then stop within the deadline.

pub mod app;
mod batch;
pub mod candles;
pub mod checkpoint;
pub mod clock;
pub mod error;
pub mod eviction;
pub mod live_scores;
pub mod model;
pub mod model_in_force;
pub mod model_source;
pub mod partitions;
pub mod promote;
pub mod reload;
pub mod routes;
mod serving;
pub mod shutdown;
pub mod signal_cache;
pub mod state;
pub mod supervisor;

pub use error::TaskError;
pub use state::AppState;
