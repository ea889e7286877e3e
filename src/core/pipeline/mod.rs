//! The whole pure pipeline over a batch of raw messages:
//! decode → validate → sequence → features → one batched forward → decide.
//!
//! `serve`, `demo`, `model evaluate` and the benches all call
//! [`Pipeline::process`], so what runs live is what was measured and tested.
//! No I/O, no clock reads (`now_ms` is an input), deterministic.
//!
//! One idea per file: this one holds the types and the batch's orchestration; `ingest` is stage
//! one per input, `forward` the batched forward pass, `scoring` the live scoring pass, `state`
//! the series state's life cycle between batches (model swap, warm start, eviction, snapshots).

use super::Bar;
use super::features::{FEATURE_NAMES, FeatureSettings};
use super::intake::{Intake, Verdict};
use super::rejection::Rejection;
use super::scoring::ScoreDrain;
use super::sequence::{SequenceOutcome, SequenceSettings};
use super::series::SeriesState;
use super::series_snapshot::{SeriesSnapshot, SnapshotError, StateShape};
use super::validate::{ValidationSettings, decode_candle_view};
use crate::contract::codec::Encoding;
use crate::contract::subject::parse_subject;
use crate::contract::{Candle, ClassProbabilities, ModelRef, SeriesKey, Signal, Thresholds};
use crate::error::ErrorCode;
use crate::model::{
    DecisionConfig, InferenceError, LabelSpec, ModelMode, NUM_CLASSES, Predictor, Scaler,
};

mod forward;
mod ingest;
mod scoring;
mod shared;
mod state;

pub use shared::{FeatureRow, FeatureShare, SharedFeatures};

use forward::RoundBuffers;
use ingest::Pending;
use scoring::Accepted;

/// A stage of [`Pipeline::process_observed`] that has just ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Decoding, validation, sequencing and feature updates of the whole batch.
    Features,
    /// The batched forward pass (only when some window was ready).
    Inference,
}

/// One raw message as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The body.
    pub bytes: &'a [u8],
    /// Its encoding (from the `Content-Type` header).
    pub encoding: Encoding,
    /// The subject it arrived on; `None` for recorded files.
    pub subject: Option<&'a str>,
}

impl<'a> Input<'a> {
    /// A recorded candle re-encoded as MessagePack (what `demo` and `model evaluate` feed): no
    /// subject, so only the body's identity counts.
    pub fn recorded(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            encoding: Encoding::MessagePack,
            subject: None,
        }
    }

    /// A MessagePack body as it arrived on `subject` (what the bench, its expectations and the
    /// tests build from published candles): the subject's identity is checked against the body's.
    pub fn on_subject(subject: &'a str, bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            encoding: Encoding::MessagePack,
            subject: Some(subject),
        }
    }
}

/// What became of one input.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A signal for a closed, valid candle of a warmed-up series.
    Signal(Signal),
    /// Valid and accepted, but the series is still warming up: no signal yet.
    Warming {
        /// The series.
        series: SeriesKey,
        /// The candle's open time.
        open_time: i64,
    },
    /// A repeat of the last candle of its series: skipped, never a second signal.
    Duplicate(Candle),
    /// A bar that is not closed yet.
    NotClosed(Candle),
    /// Refused: dead-letter it with this reason.
    Rejected(Rejection),
    /// No live route's subjects cover the candle: skipped and counted, never dead-lettered
    /// (the routing settings, not the candle, decide it).
    Unrouted,
}

/// Settings of the pure pipeline.
#[derive(Debug, Clone, Default)]
pub struct PipelineSettings {
    /// Stateless candle rules.
    pub validation: ValidationSettings,
    /// Ordering and gaps.
    pub sequence: SequenceSettings,
    /// Feature engine.
    pub features: FeatureSettings,
    /// Decision rule.
    pub decision: DecisionConfig,
    /// First token of candle subjects.
    pub candle_subject_prefix: String,
}

/// Why the pipeline cannot be built or a batch cannot be scored.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The model uses a feature the engine does not compute.
    #[error("model feature {0:?} is not computed by the feature engine")]
    UnknownFeature(String),
    /// The forward pass failed (a bug: features are validated finite).
    #[error("inference failed: {0}")]
    Inference(#[from] InferenceError),
    /// A replacement model eats other features or windows than the current
    /// one, so the series state cannot be kept: restart with it instead.
    #[error("model {new} is incompatible with the running model {old}: {reason}")]
    Incompatible {
        /// The running model.
        old: String,
        /// The refused replacement.
        new: String,
        /// What differs.
        reason: &'static str,
    },
}

/// The pure pipeline: per-series state plus the model.
#[derive(Debug)]
pub struct Pipeline {
    intake: Intake<SeriesState>,
    settings: PipelineSettings,
    predictor: Predictor,
    model: ModelRef,
    /// `order[i]`: the engine column of model input `i`.
    order: Vec<usize>,
    steps: usize,
    /// Windowed or streaming (from the model).
    mode: ModelMode,
    /// Streaming: recurrent state values per series (0 when windowed).
    recurrent_len: usize,
    /// Increments per batch; tells a series' queued steps of this batch from older ones.
    batch_id: u64,
    /// Reused across batches: windows, pending candles, probabilities.
    batch: Vec<f32>,
    pending: Vec<Pending>,
    probabilities: Vec<Option<[f32; NUM_CLASSES]>>,
    rounds: RoundBuffers,
    /// The model's label definition: what its signals are scored by.
    labels: LabelSpec,
    /// The batch's accepted candles, in input order (reused).
    accepted: Vec<Accepted>,
    /// Scores since the edge last drained them.
    scores: ScoreDrain,
    /// Label counts of the model's training slice: the prior its signals are compared with.
    training_counts: [u64; NUM_CLASSES],
    /// The model's scaler, for the drift of its scaled inputs.
    scaler: Scaler,
    /// Whether this batch's signals are scored (false during a warm start).
    scoring: bool,
}

impl Pipeline {
    /// Builds a pipeline around a verified model. `model_name` is the model's
    /// directory name, reported in every signal with its version and hash.
    pub fn new(predictor: Predictor, settings: PipelineSettings) -> Result<Self, PipelineError> {
        let metadata = predictor.metadata();
        let order = metadata
            .feature_names
            .iter()
            .map(|name| {
                FEATURE_NAMES
                    .iter()
                    .position(|known| known == name)
                    .ok_or_else(|| PipelineError::UnknownFeature(name.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let model = ModelRef {
            name: metadata.name.as_str().into(),
            version: metadata.version.as_str().into(),
            sha256: metadata.weights_sha256.as_str().into(),
        };
        let (labels, training_counts, scaler) = (
            metadata.labels,
            metadata.provenance.report.class_counts[0],
            metadata.scaler.clone(),
        );
        let mode = predictor.mode();
        // A streaming model reads one vector per step; the window then holds just that one.
        let (steps, recurrent_len) = match mode {
            ModelMode::Windowed => (predictor.architecture().sequence_length, 0),
            ModelMode::Streaming { .. } => (1, predictor.state_len()),
        };
        Ok(Self {
            intake: Intake::new(settings.validation.clone(), settings.sequence.clone()),
            settings,
            predictor,
            model,
            order,
            steps,
            mode,
            recurrent_len,
            batch_id: 0,
            batch: Vec::new(),
            pending: Vec::new(),
            probabilities: Vec::new(),
            rounds: RoundBuffers::default(),
            labels,
            accepted: Vec::new(),
            scores: ScoreDrain::default(),
            training_counts,
            scaler,
            scoring: true,
        })
    }

    /// The running model's label definition: what its signals are scored by.
    pub fn labels(&self) -> &LabelSpec {
        &self.labels
    }

    /// The running model's input feature names, in its order.
    pub fn feature_names(&self) -> &[String] {
        &self.predictor.metadata().feature_names
    }

    /// Label counts of the running model's training slice (`[long, short, neutral]`).
    pub fn training_counts(&self) -> [u64; NUM_CLASSES] {
        self.training_counts
    }

    /// The stateless candle rules (a router decodes an unsubjected input with them to route it).
    pub fn validation_settings(&self) -> &ValidationSettings {
        &self.settings.validation
    }

    /// The model every signal names.
    pub fn model(&self) -> &ModelRef {
        &self.model
    }

    /// Processes a batch in order (per series order is input order) and runs
    /// one forward pass for every candle that completed a window. Returns one
    /// outcome per input, in input order.
    pub fn process(
        &mut self,
        inputs: &[Input<'_>],
        now_ms: Option<i64>,
    ) -> Result<Vec<Outcome>, PipelineError> {
        self.process_observed(inputs, now_ms, &mut |_| {})
    }

    /// [`Pipeline::process`], telling `observe` when each stage ends, so an
    /// edge can time the stages (the core itself reads no clock).
    pub fn process_observed(
        &mut self,
        inputs: &[Input<'_>],
        now_ms: Option<i64>,
        observe: &mut dyn FnMut(Stage),
    ) -> Result<Vec<Outcome>, PipelineError> {
        self.process_inner(inputs, None, now_ms, observe, true)
    }

    /// [`Pipeline::process_observed`] for one route's share of a routed batch: its features are
    /// computed once per candle and series, by this route or another ([`FeatureShare`]).
    pub fn process_shared(
        &mut self,
        inputs: &[Input<'_>],
        share: FeatureShare<'_>,
        now_ms: Option<i64>,
        observe: &mut dyn FnMut(Stage),
    ) -> Result<Vec<Outcome>, PipelineError> {
        self.process_inner(inputs, Some(share), now_ms, observe, true)
    }

    /// The batch, then the scoring pass; `score` is false for a warm start (its candles'
    /// signals were published, and scored, by the run that first processed them).
    fn process_inner(
        &mut self,
        inputs: &[Input<'_>],
        share: Option<FeatureShare<'_>>,
        now_ms: Option<i64>,
        observe: &mut dyn FnMut(Stage),
        score: bool,
    ) -> Result<Vec<Outcome>, PipelineError> {
        self.accepted.clear();
        self.scoring = score;
        let outcomes = self.process_batch(inputs, share, now_ms, observe);
        self.score_accepted(score);
        outcomes
    }

    fn process_batch(
        &mut self,
        inputs: &[Input<'_>],
        mut share: Option<FeatureShare<'_>>,
        now_ms: Option<i64>,
        observe: &mut dyn FnMut(Stage),
    ) -> Result<Vec<Outcome>, PipelineError> {
        self.batch.clear();
        self.pending.clear();
        self.batch_id = self.batch_id.wrapping_add(1);
        let mut outcomes = Vec::with_capacity(inputs.len());
        for (k, input) in inputs.iter().enumerate() {
            let slot = share.as_mut().and_then(|s| s.slot(k));
            let outcome = self.ingest(input, slot, now_ms, outcomes.len());
            if let Some(share) = share.as_mut() {
                share.record_refusal(k, &outcome);
            }
            outcomes.push(outcome);
        }
        observe(Stage::Features);
        if self.pending.is_empty() {
            return Ok(outcomes);
        }
        match self.mode {
            ModelMode::Windowed => self.score_windows()?,
            ModelMode::Streaming { .. } => self.step_rounds()?,
        }
        observe(Stage::Inference);
        let min_confidence = self.settings.decision.min_confidence;
        for (pending, p) in self.pending.drain(..).zip(&self.probabilities) {
            let Some(p) = p.filter(|_| pending.emit) else {
                continue;
            };
            // Never publish what the model did not really compute: a non-finite output (inputs
            // are clamped finite, so this means the network itself overflowed) is an outcome
            // of its own, and a streaming series restarts from the zero state.
            if !p.iter().all(|v| v.is_finite()) {
                if let Some(state) = self.intake.state_mut(&pending.series) {
                    state.recurrent.restart();
                }
                if let Some(slot) = outcomes.get_mut(pending.outcome_index) {
                    *slot = Outcome::Rejected(Rejection::new(
                        ErrorCode::Unscorable,
                        format!("the model's probabilities are not finite: {p:?}"),
                    ));
                }
                continue;
            }
            if let Some(accepted) = self.accepted.get_mut(pending.accepted_index) {
                accepted.signal = Some(p);
            }
            let decision = self.settings.decision.decide(&p);
            let signal = Signal {
                exchange: pending.series.exchange.text().clone(),
                symbol: pending.series.symbol.text().clone(),
                interval: pending.series.interval.text(),
                open_time: pending.open_time,
                side: decision.side,
                confidence: f64::from(decision.confidence),
                probabilities: ClassProbabilities {
                    long: f64::from(p[0]),
                    short: f64::from(p[1]),
                    neutral: f64::from(p[2]),
                },
                model: self.model.clone(),
                thresholds: Thresholds {
                    min_confidence: f64::from(min_confidence),
                },
            };
            if let Some(slot) = outcomes.get_mut(pending.outcome_index) {
                *slot = Outcome::Signal(signal);
            }
        }
        Ok(outcomes)
    }
}
