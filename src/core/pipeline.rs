//! The whole pure pipeline over a batch of raw messages:
//! decode → validate → sequence → features → one batched forward → decide.
//!
//! `serve`, `demo`, `replay --offline` and the benches all call
//! [`Pipeline::process`], so what runs live is what was measured and tested.
//! No I/O, no clock reads (`now_ms` is an input), deterministic.

use super::Bar;
use super::features::{FEATURE_NAMES, FeatureSettings};
use super::intake::{Intake, Verdict};
use super::rejection::Rejection;
use super::scoring::ScoreDrain;
use super::sequence::{SequenceOutcome, SequenceSettings};
use super::series::SeriesState;
use super::series_snapshot::{SeriesSnapshot, SnapshotError, StateShape};
use super::validate::{ValidationSettings, decode_candle};
use crate::contract::codec::Encoding;
use crate::contract::subject::parse_subject;
use crate::contract::{Candle, ClassProbabilities, ModelRef, SeriesKey, Signal, Thresholds};
use crate::error::ErrorCode;
use crate::model::{
    DecisionConfig, InferenceError, LabelSpec, ModelMode, NUM_CLASSES, Predictor, Scaler,
};

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

/// A candle waiting for the batched forward pass.
#[derive(Debug)]
struct Pending {
    outcome_index: usize,
    series: SeriesKey,
    open_time: i64,
    /// Streaming: steps of the same series before this one in the batch.
    round: u32,
    /// Streaming: start from the zero state (the series was reset).
    restart: bool,
    /// Whether the result becomes a signal (false during a streaming burn-in).
    emit: bool,
    /// Its entry in [`Pipeline::accepted`].
    accepted_index: usize,
}

/// An accepted candle, for the scoring pass after the batch's signals are known.
#[derive(Debug)]
struct Accepted {
    series: SeriesKey,
    close: f64,
    /// False after a gap or reset: signals awaiting their label across it are not scored.
    contiguous: bool,
    /// The signal's probabilities, when the candle got one.
    signal: Option<[f32; NUM_CLASSES]>,
}

/// Buffers of the streaming rounds, reused across batches.
#[derive(Debug, Default)]
struct RoundBuffers {
    members: Vec<usize>,
    inputs: Vec<f32>,
    states: Vec<f32>,
    probabilities: Vec<[f32; NUM_CLASSES]>,
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
            name: metadata.name.clone(),
            version: metadata.version.clone(),
            sha256: metadata.weights_sha256.clone(),
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

    /// What the signals scored since the previous call (see [`super::scoring`]); the edge
    /// feeds it to the model's scoreboard.
    pub fn take_scores(&mut self) -> ScoreDrain {
        std::mem::take(&mut self.scores)
    }

    /// The model every signal names.
    pub fn model(&self) -> &ModelRef {
        &self.model
    }

    /// Swaps in another model between batches, keeping every series' state.
    /// Only a model with the same feature order and window length fits the
    /// existing windows; any other is refused ([`PipelineError::Incompatible`])
    /// and the old one stays.
    pub fn replace_predictor(&mut self, predictor: Predictor) -> Result<(), PipelineError> {
        let new = predictor.metadata();
        let old = self.predictor.metadata();
        let reason = if new.feature_names != old.feature_names {
            Some("different features")
        } else if predictor.mode() != self.mode {
            Some("different inference mode")
        } else if self.mode.is_windowed() && predictor.architecture().sequence_length != self.steps
        {
            Some("different window length")
        } else if predictor.state_len() != self.recurrent_len && !self.mode.is_windowed() {
            Some("different recurrent state size")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(PipelineError::Incompatible {
                old: format!("{} v{}", old.name, old.version),
                new: format!("{} v{}", new.name, new.version),
                reason,
            });
        }
        self.model = ModelRef {
            name: new.name.clone(),
            version: new.version.clone(),
            sha256: new.weights_sha256.clone(),
        };
        self.training_counts = new.provenance.report.class_counts[0];
        self.scaler = new.scaler.clone();
        if new.labels != self.labels {
            // Signals awaiting a label of the old definition cannot be scored by the new one.
            self.labels = new.labels;
            for (_, _, state) in self.intake.entries_mut() {
                self.scores.unscored_gap += state.trail.awaiting() as u64;
                state.trail.clear();
            }
        }
        self.predictor = predictor;
        Ok(())
    }

    /// Feeds history through the series state without publishing anything: what
    /// [`Pipeline::process`] does, minus the forward pass for a windowed model (its windows are
    /// rebuilt from the bars alone). A streaming model's state is the network's, so its steps
    /// run. A warm start uses it to rebuild state from candles whose outcomes are already
    /// durable; the state afterwards is exactly the one `process` would leave.
    pub fn warm(&mut self, inputs: &[Input<'_>], now_ms: Option<i64>) -> Result<(), PipelineError> {
        if !self.mode.is_windowed() {
            self.process_inner(inputs, now_ms, &mut |_| {}, false)?;
            return Ok(());
        }
        self.accepted.clear();
        self.scoring = false;
        for input in inputs {
            self.batch.clear();
            self.pending.clear();
            let _ = self.ingest(input, now_ms, 0);
        }
        self.batch.clear();
        self.pending.clear();
        self.score_accepted(false);
        Ok(())
    }

    /// Number of series with state.
    pub fn series_count(&self) -> usize {
        self.intake.series_count()
    }

    /// Drops the series idle for longer than `sequence.idle_evict_ms` (plus two bars) on the
    /// clock `now_ms`, between batches; returns their keys so the edge removes their snapshots.
    pub fn evict_idle(&mut self, now_ms: i64) -> Vec<SeriesKey> {
        self.intake.evict_idle(now_ms)
    }

    /// The key of every series with state.
    pub fn series_keys(&self) -> Vec<SeriesKey> {
        self.intake.keys().cloned().collect()
    }

    /// Snapshots of the series changed since the previous checkpoint (of every series when
    /// `all`), taken between batches. `through_sequence` is the candle-stream sequence the
    /// state reflects; the caller persists the snapshots and the next checkpoint skips what did
    /// not change.
    pub fn checkpoint(&mut self, through_sequence: u64, all: bool) -> Vec<SeriesSnapshot> {
        let model = &self.model.sha256;
        self.intake
            .entries_mut()
            .filter(|(_, _, state)| all || state.changed)
            .filter_map(|(key, last_open_time, state)| {
                state.changed = false;
                // A series is only created by an accepted candle, so it always has a last open
                // time; skip (never invent) one that somehow has not.
                let last = last_open_time?;
                Some(state.snapshot(key, last, through_sequence, model))
            })
            .collect()
    }

    /// Resumes a series from its snapshot, replacing any state it had. A snapshot of another
    /// model, format or shape is refused: the caller rebuilds that series from history.
    pub fn resume(&mut self, snapshot: &SeriesSnapshot) -> Result<(), SnapshotError> {
        let shape = StateShape {
            steps: self.steps,
            width: self.order.len(),
            recurrent_len: self.recurrent_len,
        };
        let mut state =
            SeriesState::restore(snapshot, &self.settings.features, shape, &self.model.sha256)?;
        state.changed = false;
        self.intake
            .resume(snapshot.series.clone(), snapshot.last_open_time, state);
        Ok(())
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
        self.process_inner(inputs, now_ms, observe, true)
    }

    /// The batch, then the scoring pass; `score` is false for a warm start (its candles'
    /// signals were published, and scored, by the run that first processed them).
    fn process_inner(
        &mut self,
        inputs: &[Input<'_>],
        now_ms: Option<i64>,
        observe: &mut dyn FnMut(Stage),
        score: bool,
    ) -> Result<Vec<Outcome>, PipelineError> {
        self.accepted.clear();
        self.scoring = score;
        let outcomes = self.process_batch(inputs, now_ms, observe);
        self.score_accepted(score);
        outcomes
    }

    /// Feeds the batch's accepted candles, in input order, to their series' score trails: a
    /// series with several candles in one batch is scored exactly as if they came one by one.
    fn score_accepted(&mut self, score: bool) {
        let labels = self.labels;
        for accepted in self.accepted.drain(..) {
            let Some(state) = self.intake.state_mut(&accepted.series) else {
                continue;
            };
            state.trail.observe(
                accepted.close,
                accepted.contiguous,
                &labels,
                &mut self.scores,
            );
            if let Some(p) = accepted.signal.filter(|_| score) {
                state.trail.await_label(p, &labels, &mut self.scores);
            }
        }
    }

    fn process_batch(
        &mut self,
        inputs: &[Input<'_>],
        now_ms: Option<i64>,
        observe: &mut dyn FnMut(Stage),
    ) -> Result<Vec<Outcome>, PipelineError> {
        self.batch.clear();
        self.pending.clear();
        self.batch_id = self.batch_id.wrapping_add(1);
        let mut outcomes = Vec::with_capacity(inputs.len());
        for input in inputs {
            let outcome = self.ingest(input, now_ms, outcomes.len());
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
                exchange: pending.series.exchange.to_string(),
                symbol: pending.series.symbol.to_string(),
                interval: pending.series.interval.to_string(),
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

    /// Windowed model: one forward pass over every ready window of the batch.
    fn score_windows(&mut self) -> Result<(), PipelineError> {
        let rows = &mut self.rounds.probabilities;
        self.predictor
            .predict(&self.batch, self.pending.len(), rows)?;
        self.probabilities.clear();
        self.probabilities.extend(rows.iter().copied().map(Some));
        Ok(())
    }

    /// Streaming model: one batched step per round. Round `r` holds the `r`-th queued step of
    /// every series, so a series with several candles in the batch steps them in order, each
    /// from the state the previous one left.
    fn step_rounds(&mut self) -> Result<(), PipelineError> {
        let width = self.order.len();
        let state_len = self.recurrent_len;
        self.probabilities.clear();
        self.probabilities.resize(self.pending.len(), None);
        let rounds = self
            .pending
            .iter()
            .map(|p| p.round)
            .max()
            .map_or(0, |r| r + 1);
        let buffers = &mut self.rounds;
        for round in 0..rounds {
            buffers.members.clear();
            buffers.inputs.clear();
            buffers.states.clear();
            for (i, pending) in self.pending.iter().enumerate() {
                if pending.round != round {
                    continue;
                }
                let state = self.intake.state_mut(&pending.series);
                let Some(state) = state.filter(|s| s.recurrent.state().len() == state_len) else {
                    continue;
                };
                buffers.members.push(i);
                buffers
                    .inputs
                    .extend_from_slice(&self.batch[i * width..(i + 1) * width]);
                if pending.restart {
                    buffers.states.extend(std::iter::repeat_n(0.0, state_len));
                } else {
                    buffers.states.extend_from_slice(state.recurrent.state());
                }
            }
            if buffers.members.is_empty() {
                continue;
            }
            self.predictor.step(
                &buffers.inputs,
                &mut buffers.states,
                buffers.members.len(),
                &mut buffers.probabilities,
            )?;
            for (k, &i) in buffers.members.iter().enumerate() {
                let (Some(pending), Some(p)) = (self.pending.get(i), buffers.probabilities.get(k))
                else {
                    continue;
                };
                if let (Some(state), Some(computed)) = (
                    self.intake.state_mut(&pending.series),
                    buffers.states.get(k * state_len..(k + 1) * state_len),
                ) {
                    state.recurrent.store(computed);
                }
                if let Some(slot) = self.probabilities.get_mut(i) {
                    *slot = Some(*p);
                }
            }
        }
        Ok(())
    }

    /// Stage one for a single input: everything up to (not including) inference.
    fn ingest(&mut self, input: &Input<'_>, now_ms: Option<i64>, index: usize) -> Outcome {
        let msg = match decode_candle(input.bytes, input.encoding, &self.settings.validation) {
            Ok(m) => m,
            Err(r) => return Outcome::Rejected(r),
        };
        let tokens = match input.subject {
            Some(subject) => match parse_subject(&self.settings.candle_subject_prefix, subject) {
                Some(t) => Some(t),
                None => {
                    return Outcome::Rejected(Rejection::new(
                        ErrorCode::SubjectMismatch,
                        format!(
                            "subject {subject:?} is not {}.<exchange>.<symbol>.<interval>",
                            self.settings.candle_subject_prefix
                        ),
                    ));
                }
            },
            None => None,
        };
        let (steps, width, recurrent_len) = (self.steps, self.order.len(), self.recurrent_len);
        let features = &self.settings.features;
        let (verdict, state) = self.intake.judge_with(&msg, tokens.as_ref(), now_ms, || {
            SeriesState::new(features, steps, width, recurrent_len)
        });
        let (candle, sequence, state) = match (verdict, state) {
            (Verdict::Accepted { candle, sequence }, Some(state)) => (candle, sequence, state),
            (Verdict::Duplicate(c), _) => return Outcome::Duplicate(c),
            (Verdict::NotClosed(c), _) => return Outcome::NotClosed(c),
            (Verdict::Rejected(r), _) => return Outcome::Rejected(r),
            (Verdict::Accepted { .. }, None) => {
                return Outcome::Rejected(Rejection::new(
                    ErrorCode::Internal,
                    "accepted candle without series state",
                ));
            }
        };
        if let SequenceOutcome::Gap { reset: true, .. } = sequence {
            state.reset();
        }
        let accepted_index = self.accepted.len();
        self.accepted.push(Accepted {
            series: candle.series.clone(),
            close: candle.close,
            contiguous: !matches!(sequence, SequenceOutcome::Gap { .. }),
            signal: None,
        });
        match state.update(&Bar::from(&candle), &self.order) {
            // Values past f32's range are clamped, so only a NaN gets here: indicators whose
            // running sums overflowed. They would stay poisoned, so the series starts afresh.
            Ok(_) if !state.window.is_finite() => {
                state.reset();
                if let Some(accepted) = self.accepted.last_mut() {
                    accepted.contiguous = false;
                }
                Outcome::Rejected(Rejection::new(
                    ErrorCode::Unscorable,
                    "a model feature is not finite (extreme prices overflowed an indicator); \
                     the window is not scored and the series warms up afresh",
                ))
            }
            Ok(true) => {
                let (round, restart, emit) = match self.mode {
                    ModelMode::Windowed => (0, false, true),
                    ModelMode::Streaming { burn_in } => {
                        let step = state.recurrent.queue_step(self.batch_id, burn_in);
                        (step.round, step.from_zero, step.past_burn_in)
                    }
                };
                state.window.extend_into(&mut self.batch);
                if self.scoring && emit {
                    // The newest vector of the window: what drift is measured on.
                    let width = self.order.len();
                    let newest = &self.batch[self.batch.len().saturating_sub(width)..];
                    let scaler = &self.scaler;
                    self.scores.inputs.extend(
                        newest
                            .iter()
                            .enumerate()
                            .map(|(i, &v)| scaler.scale_bounded(i, v)),
                    );
                }
                self.pending.push(Pending {
                    outcome_index: index,
                    series: candle.series.clone(),
                    open_time: candle.open_time,
                    round,
                    restart,
                    emit,
                    accepted_index,
                });
                Outcome::Warming {
                    series: candle.series,
                    open_time: candle.open_time,
                }
            }
            Ok(false) => Outcome::Warming {
                series: candle.series,
                open_time: candle.open_time,
            },
            Err(e) => Outcome::Rejected(Rejection::new(
                ErrorCode::Internal,
                format!("feature update: {e}"),
            )),
        }
    }
}
