//! The model feature vector: which groups, in which order, under which names.
//!
//! Each group lives in its own file with its names beside its formulas;
//! this file only concatenates them, so a name can never drift away from the
//! value computed under it.

use super::bars::BarHistory;
use super::indicators::INDICATOR_COUNT;
use super::rolling::Window;
use super::{calendar, candle, oscillators, relative, returns, volume};
use crate::core::bar::Bar;

/// Number of model features.
pub const FEATURE_COUNT: usize = returns::NAMES.len()
    + relative::NAMES.len()
    + oscillators::NAMES.len()
    + volume::NAMES.len()
    + candle::NAMES.len()
    + calendar::NAMES.len();

/// Names of the model features, in vector order. The order is a contract
/// with trained models (their metadata lists these names): append, never
/// reorder or rename.
pub const FEATURE_NAMES: [&str; FEATURE_COUNT] = concat_names([
    &returns::NAMES,
    &relative::NAMES,
    &oscillators::NAMES,
    &volume::NAMES,
    &candle::NAMES,
    &calendar::NAMES,
]);

/// Everything a feature group may read at bar t — nothing later exists.
pub(crate) struct Inputs<'a> {
    /// The bar just closed.
    pub(crate) bar: &'a Bar,
    /// Retained bars, `bar` being the latest.
    pub(crate) history: &'a BarHistory,
    /// One-bar log returns, the latest ending at `bar`.
    pub(crate) returns: &'a Window,
    /// Indicator values at `bar`.
    pub(crate) indicators: &'a [Option<f64>; INDICATOR_COUNT],
}

/// Writes every feature at bar t into `out`; `false` while any group is still
/// warming up (then `out` is partly stale and must not be published).
#[inline]
pub(crate) fn compute(inputs: &Inputs<'_>, out: &mut [f64; FEATURE_COUNT]) -> bool {
    let mut at = 0;
    // Same order as FEATURE_NAMES; `&` (not `&&`) evaluates every group.
    place(out, &mut at, returns::compute(inputs))
        & place(out, &mut at, relative::compute(inputs))
        & place(out, &mut at, oscillators::compute(inputs))
        & place(out, &mut at, volume::compute(inputs))
        & place(out, &mut at, candle::compute(inputs))
        & place(out, &mut at, calendar::compute(inputs))
}

/// Copies one group's values to `out[at..at + K]` and moves `at` past the
/// group's slots whether or not it is defined, so later groups keep their
/// positions. `false` if the group is not defined yet.
#[inline]
fn place<const K: usize>(out: &mut [f64], at: &mut usize, group: Option<[f64; K]>) -> bool {
    let start = *at;
    *at += K;
    match (group, out.get_mut(start..start + K)) {
        (Some(values), Some(slots)) => {
            slots.copy_from_slice(&values);
            true
        }
        _ => false,
    }
}

/// Concatenates the groups' name lists at compile time; a length mismatch
/// with `N` fails the build.
const fn concat_names<const N: usize, const G: usize>(
    groups: [&[&'static str]; G],
) -> [&'static str; N] {
    let mut out = [""; N];
    let mut at = 0;
    let mut g = 0;
    while g < G {
        let group = groups[g];
        let mut i = 0;
        while i < group.len() {
            out[at] = group[i];
            at += 1;
            i += 1;
        }
        g += 1;
    }
    assert!(
        at == N,
        "feature group names do not add up to FEATURE_COUNT"
    );
    out
}
