//! Logs (and, with the side-edges issue, metrics and health endpoints).

pub mod logging;
