//! Promotion: a shadow route becomes live for its subjects and every live route overlapping
//! them becomes a shadow, as one change of roles. Pure: the edge records the new roles and every
//! intake applies them between two batches, keeping both models' series state.

use super::table::{Role, RouteSpec, RoutingError, RoutingTable};
use std::collections::BTreeMap;

/// The role of every route, by name: what the deployment records and every worker follows.
pub type Roles = BTreeMap<String, Role>;

/// Why a promotion is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromoteError {
    /// No route of that name.
    #[error("no route named {0:?}")]
    UnknownRoute(String),
    /// The route is live already.
    #[error("route {0:?} is live already")]
    AlreadyLive(String),
    /// The new table would not be valid (cannot happen for a valid table; kept as a guard).
    #[error("the routes after promotion are invalid: {0}")]
    Invalid(#[from] RoutingError),
}

/// The specs' roles as the settings give them: the deployment's first record.
pub fn settings_roles(specs: &[RouteSpec]) -> Roles {
    specs.iter().map(|s| (s.name.clone(), s.role)).collect()
}

/// `specs` with the roles of `roles` applied (a route `roles` does not name keeps its own).
pub fn with_roles(specs: &[RouteSpec], roles: &Roles) -> Vec<RouteSpec> {
    specs
        .iter()
        .map(|spec| RouteSpec {
            role: roles.get(&spec.name).copied().unwrap_or(spec.role),
            ..spec.clone()
        })
        .collect()
}

/// The roles after promoting `name` (a shadow), and the live routes it replaces.
pub fn promote(
    specs: &[RouteSpec],
    roles: &Roles,
    name: &str,
    prefix: &str,
) -> Result<(Roles, Vec<String>), PromoteError> {
    let current = with_roles(specs, roles);
    let table = RoutingTable::new(&current, prefix)?;
    let routes = table.routes();
    let promoted = routes
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| PromoteError::UnknownRoute(name.to_owned()))?;
    if promoted.role == Role::Live {
        return Err(PromoteError::AlreadyLive(name.to_owned()));
    }
    let demoted: Vec<String> = routes
        .iter()
        .filter(|r| r.role == Role::Live && r.overlaps(promoted))
        .map(|r| r.name.clone())
        .collect();
    let mut next: Roles = current.iter().map(|s| (s.name.clone(), s.role)).collect();
    next.insert(name.to_owned(), Role::Live);
    for route in &demoted {
        next.insert(route.clone(), Role::Shadow);
    }
    RoutingTable::new(&with_roles(specs, &next), prefix)?;
    Ok((next, demoted))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(name: &str, subject: &str, role: Role) -> RouteSpec {
        RouteSpec {
            name: name.into(),
            subjects: vec![subject.into()],
            role,
        }
    }

    #[test]
    fn a_shadow_takes_over_the_live_routes_it_overlaps() {
        let specs = [
            spec("crypto-1h", "candles.*.*.1h", Role::Live),
            spec("futures-1m", "candles.cffex.*.1m", Role::Live),
            spec("challenger", "candles.*.*.1h", Role::Shadow),
        ];
        let roles = settings_roles(&specs);
        let (next, demoted) = promote(&specs, &roles, "challenger", "candles").unwrap();
        assert_eq!(demoted, vec!["crypto-1h".to_owned()]);
        assert_eq!(next["challenger"], Role::Live);
        assert_eq!(next["crypto-1h"], Role::Shadow);
        assert_eq!(next["futures-1m"], Role::Live);
        // And back again.
        let (back, demoted) = promote(&specs, &next, "crypto-1h", "candles").unwrap();
        assert_eq!(back, roles);
        assert_eq!(demoted, vec!["challenger".to_owned()]);
    }

    #[test]
    fn only_an_existing_shadow_can_be_promoted() {
        let specs = [spec("a", "candles.>", Role::Live)];
        let roles = settings_roles(&specs);
        assert_eq!(
            promote(&specs, &roles, "b", "candles"),
            Err(PromoteError::UnknownRoute("b".into()))
        );
        assert_eq!(
            promote(&specs, &roles, "a", "candles"),
            Err(PromoteError::AlreadyLive("a".into()))
        );
    }
}
