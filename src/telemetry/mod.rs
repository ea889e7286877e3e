//! Logs, metrics and the health endpoints.

pub mod health;
pub mod http;
pub(crate) mod logging;
pub mod metrics;
