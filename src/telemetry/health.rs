//! Liveness and readiness, as the HTTP endpoints report them.
//!
//! Tasks flip these flags as dependencies come and go; the HTTP server only
//! reads them. Shared through an `Arc` built once in the app state.

use std::sync::atomic::{AtomicBool, Ordering};

/// What `/readyz` reports. NATS and the model gate readiness; Redis and
/// MongoDB are reported but do not block it (the worker degrades without them).
#[derive(Debug, Default)]
pub struct Health {
    nats: AtomicBool,
    model: AtomicBool,
    redis: AtomicBool,
    mongodb: AtomicBool,
}

/// A dependency whose state is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    /// The message bus (essential).
    Nats,
    /// The loaded model (essential).
    Model,
    /// The cache (optional).
    Redis,
    /// The archive (optional).
    Mongodb,
}

impl Dependency {
    /// Every dependency, in report order.
    pub const ALL: [Dependency; 4] = [Self::Nats, Self::Model, Self::Redis, Self::Mongodb];

    /// The name used in `/readyz` and as the `dependency` metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nats => "nats",
            Self::Model => "model",
            Self::Redis => "redis",
            Self::Mongodb => "mongodb",
        }
    }

    /// Whether readiness requires it.
    pub fn essential(self) -> bool {
        matches!(self, Self::Nats | Self::Model)
    }
}

impl Health {
    fn flag(&self, d: Dependency) -> &AtomicBool {
        match d {
            Dependency::Nats => &self.nats,
            Dependency::Model => &self.model,
            Dependency::Redis => &self.redis,
            Dependency::Mongodb => &self.mongodb,
        }
    }

    /// Records whether `d` is up (and mirrors it in the `dependency_up` gauge).
    pub fn set(&self, d: Dependency, up: bool) {
        self.flag(d).store(up, Ordering::Relaxed);
        metrics::gauge!(super::metrics::DEPENDENCY_UP, "dependency" => d.as_str()).set(if up {
            1.0
        } else {
            0.0
        });
    }

    /// Whether `d` is up.
    pub fn is_up(&self, d: Dependency) -> bool {
        self.flag(d).load(Ordering::Relaxed)
    }

    /// Ready when every essential dependency is up.
    pub fn ready(&self) -> bool {
        Dependency::ALL
            .iter()
            .filter(|d| d.essential())
            .all(|d| self.is_up(*d))
    }

    /// The `/readyz` body: `{"ready": bool, "dependencies": {"nats": "up", ...}}`.
    pub fn report(&self) -> serde_json::Value {
        let deps: serde_json::Map<String, serde_json::Value> = Dependency::ALL
            .iter()
            .map(|d| {
                (
                    d.as_str().to_owned(),
                    serde_json::Value::from(if self.is_up(*d) { "up" } else { "down" }),
                )
            })
            .collect();
        serde_json::json!({ "ready": self.ready(), "dependencies": deps })
    }
}
