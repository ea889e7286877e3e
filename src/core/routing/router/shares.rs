//! Which routes each input goes to, and which of them computes its features.
//!
//! Every route whose subjects cover a series sees every candle of it, in order, so all of them
//! hold the series at the same point. The first of them in settings order computes its features
//! (the routes' subjects never change at run time, a promotion only changes roles, so it is
//! always the same route); the router runs routes in settings order, so its row is there when the
//! others read it. A resume that leaves the routes of a series at different points drops the
//! series from all of them, and the history rebuilds it for all together.

use super::{Role, Router};
use crate::contract::SeriesKey;
use crate::contract::subject::parse_subject;
use crate::core::pipeline::Input;
use crate::core::validate::decode_candle;
use std::collections::HashSet;

/// One route's share of a batch.
#[derive(Debug, Default)]
pub(super) struct Share<'a> {
    /// Its inputs, in batch order.
    pub(super) inputs: Vec<Input<'a>>,
    /// Per input: its index in the batch, and whether this route computes its features.
    pub(super) slots: Vec<(usize, bool)>,
}

/// Which routes an input goes to: the live one (if any) and the shadows.
pub(super) fn lanes_of(router: &Router, input: &Input<'_>) -> (Option<usize>, Vec<usize>) {
    // A delivered candle is routed by its subject's tokens, borrowed: no allocation per candle.
    // Only a recorded input (no subject) is decoded for its identity.
    let decoded;
    let (exchange, symbol, interval) = match input.subject {
        Some(subject) => match parse_subject(&router.subject_prefix, subject) {
            Some(t) => (t.exchange, t.symbol, t.interval),
            None => return (Some(router.fallback), Vec::new()),
        },
        None => match decode_candle(input.bytes, input.encoding, &router.validation) {
            Ok(m) => {
                decoded = m;
                (
                    decoded.exchange.as_str(),
                    decoded.symbol.as_str(),
                    decoded.interval.as_str(),
                )
            }
            Err(_) => return (Some(router.fallback), Vec::new()),
        },
    };
    let live = router.table.live_for(exchange, symbol, interval);
    let shadows = router
        .lanes
        .iter()
        .enumerate()
        .filter(|(i, lane)| {
            lane.role == Role::Shadow && router.table.covers(*i, exchange, symbol, interval)
        })
        .map(|(i, _)| i)
        .collect();
    (live, shadows)
}

impl Router {
    /// Splits a batch by route, keeping input order within each route; the first route an
    /// input goes to (in settings order) computes its features (every route, without sharing).
    pub(super) fn share<'a>(&self, inputs: &[Input<'a>]) -> Vec<Share<'a>> {
        let mut shares: Vec<Share<'a>> = self.lanes.iter().map(|_| Share::default()).collect();
        for (index, input) in inputs.iter().enumerate() {
            let (live, shadows) = lanes_of(self, input);
            let first = live.into_iter().chain(shadows.iter().copied()).min();
            for lane in live.into_iter().chain(shadows) {
                if let Some(share) = shares.get_mut(lane) {
                    share.inputs.push(*input);
                    share
                        .slots
                        .push((index, !self.sharing || Some(lane) == first));
                }
            }
        }
        shares
    }

    /// The routes covering a series, in settings order (the first computes its features).
    fn covering(&self, key: &SeriesKey) -> Vec<usize> {
        (0..self.lanes.len())
            .filter(|&i| {
                self.table.covers(
                    i,
                    key.exchange.as_str(),
                    key.symbol.as_str(),
                    key.interval.as_str(),
                )
            })
            .collect()
    }

    /// Whether route `lane` computes the features of series `key` (always, without sharing).
    pub(super) fn computes(&self, lane: usize, key: &SeriesKey) -> bool {
        !self.sharing || self.covering(key).first() == Some(&lane)
    }

    /// After resuming snapshots: drops every series whose routes do not all hold it at the same
    /// point (one route's snapshot was refused or missing, or the route computing its features
    /// has none of them), and any series held by a route that no longer covers it. Returns how
    /// many route states were dropped: when any were, the caller rebuilds from the whole
    /// history, so every route of those series warms up together.
    pub fn align_resumed(&mut self) -> usize {
        if self.single || !self.sharing {
            return 0;
        }
        let keys: HashSet<SeriesKey> = self
            .lanes
            .iter()
            .flat_map(|l| l.pipeline.series_keys())
            .collect();
        let mut dropped = 0;
        for key in keys {
            let covering = self.covering(&key);
            let positions: Vec<_> = covering
                .iter()
                .map(|&i| {
                    self.lanes
                        .get(i)
                        .and_then(|l| l.pipeline.series_position(&key))
                })
                .collect();
            let first = positions.first().copied().flatten();
            let aligned = matches!(first, Some((_, true)))
                && positions
                    .iter()
                    .all(|p| p.map(|(at, _)| at) == first.map(|(at, _)| at));
            for (i, lane) in self.lanes.iter_mut().enumerate() {
                if (!aligned || !covering.contains(&i)) && lane.pipeline.forget(&key) {
                    dropped += 1;
                }
            }
        }
        dropped
    }
}
