//! The pure pipeline: validation, per-series sequencing and state, features.
//!
//! Plain synchronous Rust with no I/O and no clock reads (time is an input),
//! shared by `serve`, `replay --offline`, `demo`, `train` and the benches so
//! live and training features can never drift apart.

pub mod bar;
pub mod dataset;
pub(crate) mod feature_window;
pub mod features;
pub mod intake;
pub mod pipeline;
pub(crate) mod recurrent;
pub(crate) mod rejection;
pub mod routing;
pub mod scoring;
pub mod sequence;
pub mod series;
pub mod series_snapshot;
pub(crate) mod session;
pub mod validate;

pub use bar::Bar;
pub use rejection::Rejection;
