//! Liveness and readiness, as the HTTP endpoints report them.
//!
//! Tasks flip these flags as dependencies come and go; the HTTP server only
//! reads them. Shared through an `Arc` built once in the app state.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What `/readyz` reports. NATS and the model gate readiness; Redis and
/// MongoDB are reported but do not block it (the worker degrades without them).
///
/// `/healthz` reports liveness: the intake beats once per fetch cycle (and per chunk of a
/// warm replay); a worker whose intake has not beaten within the stall limit is wedged.
#[derive(Debug)]
pub struct Health {
    nats: AtomicBool,
    model: AtomicBool,
    redis: AtomicBool,
    mongodb: AtomicBool,
    /// When this was built; heartbeats are milliseconds since then.
    born: Instant,
    /// The intake's last heartbeat (ms since `born`; 0: none yet, counted from `born`).
    beat_ms: AtomicU64,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            nats: AtomicBool::new(false),
            model: AtomicBool::new(false),
            redis: AtomicBool::new(false),
            mongodb: AtomicBool::new(false),
            born: Instant::now(),
            beat_ms: AtomicU64::new(0),
        }
    }
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

    /// The intake completed a fetch cycle (or a chunk of its warm replay) just now.
    pub fn beat(&self) {
        let ms = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.beat_ms.store(ms, Ordering::Relaxed);
    }

    /// How long since the intake last beat (since start when it never did).
    pub fn idle(&self) -> Duration {
        let last = Duration::from_millis(self.beat_ms.load(Ordering::Relaxed));
        self.born.elapsed().saturating_sub(last)
    }

    /// Alive when the intake beat within `stall_after` (a fresh process gets that long to
    /// start beating).
    pub fn alive(&self, stall_after: Duration) -> bool {
        self.idle() <= stall_after
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
