//! The routing table: which model scores which candles. At most one live route per candle
//! subject (overlapping live filters are refused with both names); any number of shadows.

use super::filter::{FilterError, SubjectFilter};
use serde::{Deserialize, Serialize};

/// What a route's signals are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Its signals go to the signal stream, for the trading engine.
    #[default]
    Live,
    /// Scores the same candles as the live route of its subjects; its signals go to the
    /// shadow stream only, so it can be compared before it is trusted.
    Shadow,
}

impl Role {
    /// `live` or `shadow`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Live => "live",
            Role::Shadow => "shadow",
        }
    }
}

/// One route as the settings give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// The route's name: its metrics label and shadow subject token.
    pub name: String,
    /// Filters over candle subjects.
    pub subjects: Vec<String>,
    /// Live or shadow.
    pub role: Role,
}

/// Why a routing table is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// No route at all, or none live.
    #[error("the routing table has no live route")]
    NoLiveRoute,
    /// A route name that cannot be a subject token, or one used twice.
    #[error("route name {0:?} must be unique and a subject token of letters, digits, '-' or '_'")]
    BadName(String),
    /// A route without subjects.
    #[error("route {0:?} has no subjects")]
    NoSubjects(String),
    /// A filter that is not one over candle subjects.
    #[error("route {route:?}: {source}")]
    Filter {
        /// The route.
        route: String,
        /// What is wrong with its filter.
        source: FilterError,
    },
    /// Two live routes would both score some candle.
    #[error(
        "live routes {first:?} ({first_filter}) and {second:?} ({second_filter}) overlap: \
         at most one live model may score a candle"
    )]
    LiveOverlap {
        /// One route.
        first: String,
        /// Its overlapping filter.
        first_filter: String,
        /// The other route.
        second: String,
        /// Its overlapping filter.
        second_filter: String,
    },
}

/// A validated route: its name, role and parsed filters.
#[derive(Debug, Clone)]
pub struct Route {
    /// The route's name.
    pub name: String,
    /// Live or shadow.
    pub role: Role,
    filters: Vec<SubjectFilter>,
}

impl Route {
    /// Whether the candle subject of this identity is one of the route's.
    pub fn covers(&self, exchange: &str, symbol: &str, interval: &str) -> bool {
        self.filters
            .iter()
            .any(|f| f.matches(exchange, symbol, interval))
    }

    /// Whether some candle subject is covered by both routes.
    pub fn overlaps(&self, other: &Route) -> bool {
        overlap(self, other).is_some()
    }

    /// The filters as written.
    pub fn subjects(&self) -> impl Iterator<Item = &str> {
        self.filters.iter().map(SubjectFilter::as_str)
    }
}

/// The validated table, in settings order.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    routes: Vec<Route>,
}

fn is_subject_token(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl RoutingTable {
    /// Validates `specs` over the candle subjects under `prefix`.
    pub fn new(specs: &[RouteSpec], prefix: &str) -> Result<Self, RoutingError> {
        let mut routes: Vec<Route> = Vec::with_capacity(specs.len());
        for spec in specs {
            if !is_subject_token(&spec.name) || routes.iter().any(|r| r.name == spec.name) {
                return Err(RoutingError::BadName(spec.name.clone()));
            }
            if spec.subjects.is_empty() {
                return Err(RoutingError::NoSubjects(spec.name.clone()));
            }
            let filters = spec
                .subjects
                .iter()
                .map(|s| SubjectFilter::parse(s, prefix))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| RoutingError::Filter {
                    route: spec.name.clone(),
                    source,
                })?;
            let route = Route {
                name: spec.name.clone(),
                role: spec.role,
                filters,
            };
            if route.role == Role::Live {
                for other in routes.iter().filter(|r| r.role == Role::Live) {
                    if let Some((mine, theirs)) = overlap(&route, other) {
                        return Err(RoutingError::LiveOverlap {
                            first: other.name.clone(),
                            first_filter: theirs.to_owned(),
                            second: route.name.clone(),
                            second_filter: mine.to_owned(),
                        });
                    }
                }
            }
            routes.push(route);
        }
        if !routes.iter().any(|r| r.role == Role::Live) {
            return Err(RoutingError::NoLiveRoute);
        }
        Ok(Self { routes })
    }

    /// One live route named `name` over every candle subject under `prefix` (the settings'
    /// `model.dir` alone).
    pub fn everything(name: &str, prefix: &str) -> Self {
        Self {
            routes: vec![Route {
                name: name.to_owned(),
                role: Role::Live,
                filters: vec![SubjectFilter::everything(prefix)],
            }],
        }
    }

    /// The routes, in settings order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The live route scoring this candle subject, if any.
    pub fn live_for(&self, exchange: &str, symbol: &str, interval: &str) -> Option<usize> {
        self.routes
            .iter()
            .position(|r| r.role == Role::Live && r.covers(exchange, symbol, interval))
    }

    /// Whether route `index` scores this candle subject (live or shadow).
    pub fn covers(&self, index: usize, exchange: &str, symbol: &str, interval: &str) -> bool {
        self.routes
            .get(index)
            .is_some_and(|r| r.covers(exchange, symbol, interval))
    }
}

/// The first pair of overlapping filters of two routes.
fn overlap<'a>(a: &'a Route, b: &'a Route) -> Option<(&'a str, &'a str)> {
    a.filters.iter().find_map(|fa| {
        b.filters
            .iter()
            .find(|fb| fa.overlaps(fb))
            .map(|fb| (fa.as_str(), fb.as_str()))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(name: &str, subjects: &[&str], role: Role) -> RouteSpec {
        RouteSpec {
            name: name.into(),
            subjects: subjects.iter().map(|s| (*s).to_owned()).collect(),
            role,
        }
    }

    #[test]
    fn overlapping_live_routes_are_refused_naming_both() {
        let error = RoutingTable::new(
            &[
                spec("crypto-1h", &["candles.*.*.1h"], Role::Live),
                spec("binance", &["candles.binance.>"], Role::Live),
            ],
            "candles",
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("crypto-1h") && text.contains("binance"),
            "{text}"
        );
        assert!(text.contains("candles.*.*.1h") && text.contains("candles.binance.>"));
    }

    #[test]
    fn a_shadow_may_overlap_a_live_route() {
        let table = RoutingTable::new(
            &[
                spec("crypto-1h", &["candles.*.*.1h"], Role::Live),
                spec("futures-1m", &["candles.*.*.1m"], Role::Live),
                spec("challenger", &["candles.*.*.1h"], Role::Shadow),
            ],
            "candles",
        )
        .unwrap();
        assert_eq!(table.live_for("bitstamp", "BTCUSD", "1h"), Some(0));
        assert_eq!(table.live_for("cffex", "IC", "1m"), Some(1));
        assert_eq!(table.live_for("cffex", "IC", "5m"), None);
        assert!(table.covers(2, "bitstamp", "BTCUSD", "1h"));
        assert!(!table.covers(2, "cffex", "IC", "1m"));
    }

    #[test]
    fn names_subjects_and_a_live_route_are_required() {
        let refuse = |specs: &[RouteSpec]| RoutingTable::new(specs, "candles").unwrap_err();
        assert_eq!(
            refuse(&[spec("a.b", &["candles.>"], Role::Live)]),
            RoutingError::BadName("a.b".into())
        );
        assert_eq!(
            refuse(&[
                spec("a", &["candles.x.>"], Role::Live),
                spec("a", &["candles.y.>"], Role::Live)
            ]),
            RoutingError::BadName("a".into())
        );
        assert_eq!(
            refuse(&[spec("a", &[], Role::Live)]),
            RoutingError::NoSubjects("a".into())
        );
        assert_eq!(
            refuse(&[spec("a", &["candles.>"], Role::Shadow)]),
            RoutingError::NoLiveRoute
        );
        assert!(matches!(
            refuse(&[spec("a", &["signals.>"], Role::Live)]),
            RoutingError::Filter { .. }
        ));
    }
}
