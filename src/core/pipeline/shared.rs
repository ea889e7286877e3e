//! Features computed once per candle and series, whatever the number of models.
//!
//! With several routes over the same candles (a live model and its shadows), one route — the
//! first, in settings order, whose subjects cover the series — keeps the series' feature state
//! and computes each candle's engine vector; every other route covering the series reads that
//! row and keeps only its own window or recurrent state. Which route computes is fixed by the
//! routes' subjects (a promotion changes roles, never coverage), and the router processes routes
//! in settings order, so the row is always there when a reader needs it.

use super::Outcome;
use crate::core::features::FEATURE_COUNT;
use crate::core::rejection::Rejection;

/// What one bar made of its series' engine features: what every route covering the candle takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum FeatureRow {
    /// Not computed in this batch: the route that computes this series' features did not accept
    /// the candle (its state is out of step with this route's, which cannot happen after an
    /// aligned resume).
    #[default]
    Missing,
    /// Every feature defined and finite: the engine vector, in `FEATURE_NAMES` order.
    Ready([f32; FEATURE_COUNT]),
    /// The series is still warming up: no vector yet.
    Warming,
    /// A feature is not finite (extreme prices overflowed an indicator): every route starts the
    /// series afresh.
    Poisoned,
    /// The feature engine refused the bar (the reason).
    Failed(String),
    /// The route computing this series' features refused the candle before any feature (its
    /// `sequence.max_series` was reached): every route reading them refuses it alike.
    Refused(Rejection),
}

/// The rows of one batch, by input index; reused across batches.
#[derive(Debug, Default)]
pub struct SharedFeatures {
    rows: Vec<FeatureRow>,
}

impl SharedFeatures {
    /// Empties the rows for a batch of `len` inputs (keeps the allocation).
    pub fn reset(&mut self, len: usize) {
        self.rows.clear();
        self.rows.resize(len, FeatureRow::Missing);
    }

    /// The row input `index` made (`Missing` if none did).
    pub fn get(&self, index: usize) -> &FeatureRow {
        self.rows.get(index).unwrap_or(&FeatureRow::Missing)
    }

    /// Records the row input `index` made.
    pub fn set(&mut self, index: usize, row: FeatureRow) {
        if let Some(slot) = self.rows.get_mut(index) {
            *slot = row;
        }
    }
}

/// One route's part in a routed batch: for each input of its share, the input's index in the
/// whole batch and whether this route computes its features (or reads them).
#[derive(Debug)]
pub struct FeatureShare<'a> {
    /// The batch's rows.
    pub rows: &'a mut SharedFeatures,
    /// Per input of the route's share: (index in the batch, computes the features).
    pub slots: &'a [(usize, bool)],
}

/// One input's part: where its row goes or comes from.
pub(super) struct Slot<'a> {
    pub(super) rows: &'a mut SharedFeatures,
    pub(super) index: usize,
    pub(super) computes: bool,
}

impl FeatureShare<'_> {
    /// After input `k` was judged: if this route computes its features and refused it before
    /// computing any, the routes reading them get the same refusal.
    pub(super) fn record_refusal(&mut self, k: usize, outcome: &Outcome) {
        if let (Some(&(index, true)), Outcome::Rejected(rejection)) = (self.slots.get(k), outcome)
            && *self.rows.get(index) == FeatureRow::Missing
        {
            self.rows.set(index, FeatureRow::Refused(rejection.clone()));
        }
    }

    /// Input `k` of the share (`None` past the slots: the input computes its own).
    pub(super) fn slot(&mut self, k: usize) -> Option<Slot<'_>> {
        let &(index, computes) = self.slots.get(k)?;
        Some(Slot {
            rows: self.rows,
            index,
            computes,
        })
    }
}
