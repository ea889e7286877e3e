//! Several models in one pipeline: each candle goes to the live route of its subject (at most
//! one) and to every shadow route covering it. Each route is a [`Pipeline`] of its own, so each
//! model takes its own features by name, in its own order, and keeps its own window or recurrent
//! state per series; a candle no live route covers is [`Outcome::Unrouted`]. The features
//! themselves are computed once per candle and series, by the first route covering the series
//! (`shares`); the others read them.
//!
//! With one route over every candle (the settings' `model.dir` alone) nothing is looked up: the
//! batch goes straight to that route's pipeline, so the single-model worker pays nothing.

use super::promote::{Roles, with_roles};
use super::table::{Role, RouteSpec, RoutingError, RoutingTable};
use crate::contract::{ModelRef, SeriesKey, Signal};
use crate::core::pipeline::{
    FeatureShare, Input, Outcome, Pipeline, PipelineError, SharedFeatures, Stage,
};
use crate::core::validate::ValidationSettings;
use crate::model::Predictor;

mod shares;
mod snapshots;

use shares::lanes_of;

/// A signal of a shadow route: published on the shadow stream only.
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowSignal {
    /// The shadow route's name (a subject token).
    pub route: String,
    /// The signal, exactly as a live route would have sent it.
    pub signal: Signal,
}

/// One route's pipeline, by name and role.
#[derive(Debug)]
pub struct Lane {
    /// The route's name.
    pub name: String,
    /// Live or shadow.
    pub role: Role,
    /// Its model and per-series state.
    pub pipeline: Pipeline,
}

/// The routed pipeline: one [`Pipeline`] per route.
#[derive(Debug)]
pub struct Router {
    table: RoutingTable,
    /// The routes as the settings give them (roles may have changed since: a promotion).
    specs: Vec<RouteSpec>,
    /// What the filters are over: the worker's canonical candle prefix.
    canonical_prefix: String,
    lanes: Vec<Lane>,
    /// One route over every candle: no lookup at all.
    single: bool,
    /// The prefix candle subjects arrive under (a partition's, when partitioned).
    subject_prefix: String,
    validation: ValidationSettings,
    /// The first live route: where an input that cannot be routed (malformed subject or body)
    /// goes, so it gets the same rejection it would get from any pipeline.
    fallback: usize,
    shadow_signals: Vec<ShadowSignal>,
    /// Every route judges and computes features alike, so each series' features are computed
    /// once, by the first route covering it (false only for routes built with other settings).
    sharing: bool,
    /// The batch's feature rows, by input (reused).
    rows: SharedFeatures,
}

impl Router {
    /// One live route over every candle, named `name`: the settings' `model.dir` alone.
    pub fn single(name: &str, pipeline: Pipeline, subject_prefix: &str) -> Self {
        let name: String = name
            .chars()
            .map(
                |c| match c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    true => c,
                    false => '_',
                },
            )
            .take(64)
            .collect();
        let name = if name.is_empty() {
            "model".into()
        } else {
            name
        };
        let validation = pipeline.validation_settings().clone();
        Self {
            table: RoutingTable::everything(&name, subject_prefix),
            specs: Vec::new(),
            canonical_prefix: subject_prefix.to_owned(),
            lanes: vec![Lane {
                name,
                role: Role::Live,
                pipeline,
            }],
            single: true,
            subject_prefix: subject_prefix.to_owned(),
            validation,
            fallback: 0,
            shadow_signals: Vec::new(),
            sharing: false,
            rows: SharedFeatures::default(),
        }
    }

    /// Routes over `specs` (validated over candle subjects under `canonical_prefix`), each with
    /// its pipeline, in the same order; candles arrive under `subject_prefix` (a partition's
    /// prefix when partitioned, else the canonical one).
    pub fn new(
        specs: &[RouteSpec],
        pipelines: Vec<Pipeline>,
        canonical_prefix: &str,
        subject_prefix: &str,
    ) -> Result<Self, RoutingError> {
        let table = RoutingTable::new(specs, canonical_prefix)?;
        let fallback = table
            .routes()
            .iter()
            .position(|r| r.role == Role::Live)
            .ok_or(RoutingError::NoLiveRoute)?;
        let validation = pipelines
            .first()
            .map(|p| p.validation_settings().clone())
            .unwrap_or_default();
        let lanes: Vec<Lane> = table
            .routes()
            .iter()
            .zip(pipelines)
            .map(|(route, pipeline)| Lane {
                name: route.name.clone(),
                role: route.role,
                pipeline,
            })
            .collect();
        if lanes.len() != specs.len() {
            return Err(RoutingError::NoSubjects(
                "a route without a model (one pipeline per route is needed)".into(),
            ));
        }
        let sharing = lanes.split_first().is_some_and(|(first, rest)| {
            rest.iter()
                .all(|l| l.pipeline.computes_features_like(&first.pipeline))
        });
        Ok(Self {
            sharing,
            rows: SharedFeatures::default(),
            table,
            specs: specs.to_vec(),
            canonical_prefix: canonical_prefix.to_owned(),
            lanes,
            single: false,
            subject_prefix: subject_prefix.to_owned(),
            validation,
            fallback,
            shadow_signals: Vec::new(),
        })
    }

    /// The routes as the settings give them (empty for the settings' `model.dir` alone).
    pub fn specs(&self) -> &[RouteSpec] {
        &self.specs
    }

    /// Every route's role now.
    pub fn roles(&self) -> Roles {
        self.lanes
            .iter()
            .map(|l| (l.name.clone(), l.role))
            .collect()
    }

    /// Applies `roles` (a promotion recorded for the deployment) between two batches: every
    /// route keeps its model and series state, only where its signals go changes. Returns
    /// whether anything changed; an invalid set of roles is refused and nothing changes.
    pub fn set_roles(&mut self, roles: &Roles) -> Result<bool, RoutingError> {
        let specs = with_roles(&self.specs, roles);
        let wanted: Roles = specs.iter().map(|s| (s.name.clone(), s.role)).collect();
        if self.single || self.roles() == wanted {
            return Ok(false);
        }
        let table = RoutingTable::new(&specs, &self.canonical_prefix)?;
        for (lane, route) in self.lanes.iter_mut().zip(table.routes()) {
            lane.role = route.role;
        }
        self.fallback = table
            .routes()
            .iter()
            .position(|r| r.role == Role::Live)
            .ok_or(RoutingError::NoLiveRoute)?;
        self.table = table;
        Ok(true)
    }

    /// The routes' pipelines, in settings order.
    pub fn lanes(&self) -> &[Lane] {
        &self.lanes
    }

    /// The routes' pipelines, mutable (the edge drains each one's scores).
    pub fn lanes_mut(&mut self) -> &mut [Lane] {
        &mut self.lanes
    }

    /// The first live route's model (the only one without routing settings): what logs name.
    pub fn model(&self) -> &ModelRef {
        // Both constructors make `fallback` the index of a lane that exists.
        self.lanes[self.fallback].pipeline.model()
    }

    /// Every route's model, live or shadow (a shadow may have been live before a promotion:
    /// its signals in the signal stream are its own).
    pub fn all_models(&self) -> impl Iterator<Item = &ModelRef> {
        self.lanes.iter().map(|l| l.pipeline.model())
    }

    /// Every route's weights hash, in order: changes whenever any route's model does.
    pub fn fingerprint(&self) -> String {
        self.lanes
            .iter()
            .map(|l| l.pipeline.model().sha256.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Processes a batch: every input has one outcome, from its live route (or
    /// [`Outcome::Unrouted`]); shadow routes' signals are kept for [`Router::take_shadow_signals`].
    pub fn process(
        &mut self,
        inputs: &[Input<'_>],
        now_ms: Option<i64>,
    ) -> Result<Vec<Outcome>, PipelineError> {
        self.process_observed(inputs, now_ms, &mut |_| {})
    }

    /// [`Router::process`], telling `observe` when each route's stages end.
    pub fn process_observed(
        &mut self,
        inputs: &[Input<'_>],
        now_ms: Option<i64>,
        observe: &mut dyn FnMut(Stage),
    ) -> Result<Vec<Outcome>, PipelineError> {
        self.shadow_signals.clear();
        if self.single {
            return match self.lanes.first_mut() {
                Some(lane) => lane.pipeline.process_observed(inputs, now_ms, observe),
                None => Ok(vec![Outcome::Unrouted; inputs.len()]),
            };
        }
        let shares = self.share(inputs);
        self.rows.reset(inputs.len());
        let mut outcomes = vec![Outcome::Unrouted; inputs.len()];
        for (lane, share) in self.lanes.iter_mut().zip(shares) {
            if share.inputs.is_empty() {
                continue;
            }
            let rows = FeatureShare {
                rows: &mut self.rows,
                slots: &share.slots,
            };
            let produced = lane
                .pipeline
                .process_shared(&share.inputs, rows, now_ms, observe)?;
            for (&(index, _), outcome) in share.slots.iter().zip(produced) {
                match lane.role {
                    Role::Live => {
                        if let Some(slot) = outcomes.get_mut(index) {
                            *slot = outcome;
                        }
                    }
                    Role::Shadow => {
                        if let Outcome::Signal(signal) = outcome {
                            self.shadow_signals.push(ShadowSignal {
                                route: lane.name.clone(),
                                signal,
                            });
                        }
                    }
                }
            }
        }
        Ok(outcomes)
    }

    /// The live route an input goes to (`None`: unrouted) and the shadow routes it goes to; an
    /// input that cannot be routed (malformed subject or body) goes to the first live route,
    /// which rejects it.
    pub fn routes_of(&self, input: &Input<'_>) -> (Option<usize>, Vec<usize>) {
        match self.single {
            true => (Some(0), Vec::new()),
            false => lanes_of(self, input),
        }
    }

    /// The shadow routes' signals since the last call, in batch order.
    pub fn take_shadow_signals(&mut self) -> Vec<ShadowSignal> {
        std::mem::take(&mut self.shadow_signals)
    }

    /// [`Pipeline::warm`] for every route, each with its own candles.
    pub fn warm(&mut self, inputs: &[Input<'_>], now_ms: Option<i64>) -> Result<(), PipelineError> {
        if self.single {
            return match self.lanes.first_mut() {
                Some(lane) => lane.pipeline.warm(inputs, now_ms),
                None => Ok(()),
            };
        }
        let shares = self.share(inputs);
        self.rows.reset(inputs.len());
        for (lane, share) in self.lanes.iter_mut().zip(shares) {
            if share.inputs.is_empty() {
                continue;
            }
            let rows = FeatureShare {
                rows: &mut self.rows,
                slots: &share.slots,
            };
            lane.pipeline.warm_shared(&share.inputs, rows, now_ms)?;
        }
        Ok(())
    }

    /// Swaps the model of the only route (a reload); with routing settings a model changes with
    /// the settings, and this is refused.
    pub fn replace_predictor(&mut self, predictor: Predictor) -> Result<(), PipelineError> {
        match (self.single, self.lanes.first_mut()) {
            (true, Some(lane)) => lane.pipeline.replace_predictor(predictor),
            _ => Err(PipelineError::Incompatible {
                old: "the routing table".into(),
                new: predictor.metadata().name.clone(),
                reason: "several routes run: change [[models]] and restart",
            }),
        }
    }

    /// Series with state in the live routes (a shadow holds the same series again).
    pub fn series_count(&self) -> usize {
        self.lanes
            .iter()
            .filter(|l| l.role == Role::Live)
            .map(|l| l.pipeline.series_count())
            .sum()
    }

    /// Feature states held over every route: one per series, however many routes cover it
    /// (what shows the features are computed once).
    pub fn feature_series_count(&self) -> usize {
        self.lanes
            .iter()
            .map(|l| l.pipeline.feature_series_count())
            .sum()
    }

    /// [`Pipeline::evict_idle`] in every route; the evicted series, each once.
    pub fn evict_idle(&mut self, now_ms: i64) -> Vec<SeriesKey> {
        let mut evicted: Vec<SeriesKey> = Vec::new();
        for lane in &mut self.lanes {
            for key in lane.pipeline.evict_idle(now_ms) {
                if !evicted.contains(&key) {
                    evicted.push(key);
                }
            }
        }
        evicted
    }
}
