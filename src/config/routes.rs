//! `[[models]]`: several models in one worker, each bound to candle subject filters.

use crate::core::routing::{Role, RouteSpec};
use serde::{Deserialize, Serialize};

/// One model route. Without any, `model.dir` alone is one live model on every candle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRouteSettings {
    /// The route's name: the `model` label of its score metrics and, for a shadow, the token
    /// of its subjects (`shadow.<name>.<exchange>.<symbol>.<interval>`).
    pub name: String,
    /// Directory holding the route's verified model (`model.bpk` + `model.json`).
    pub dir: String,
    /// NATS subject filters over candle subjects (e.g. `candles.*.*.1h`).
    pub subjects: Vec<String>,
    /// `live` (signals for the trading engine; at most one per candle) or `shadow` (scored and
    /// published on the shadow stream only).
    #[serde(default)]
    pub role: Role,
}

impl ModelRouteSettings {
    /// The route as the routing table takes it.
    pub fn spec(&self) -> RouteSpec {
        RouteSpec {
            name: self.name.clone(),
            subjects: self.subjects.clone(),
            role: self.role,
        }
    }
}
