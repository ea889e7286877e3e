//! The series state's life cycle around the batches: a model swapped in, a warm start, idle
//! eviction, checkpoints and resuming from them.

use super::*;

impl Pipeline {
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
            name: new.name.as_str().into(),
            version: new.version.as_str().into(),
            sha256: new.weights_sha256.as_str().into(),
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
        self.warm_inner(inputs, None, now_ms)
    }

    /// [`Pipeline::warm`] for one route's share of a routed batch ([`FeatureShare`]).
    pub fn warm_shared(
        &mut self,
        inputs: &[Input<'_>],
        share: FeatureShare<'_>,
        now_ms: Option<i64>,
    ) -> Result<(), PipelineError> {
        self.warm_inner(inputs, Some(share), now_ms)
    }

    fn warm_inner(
        &mut self,
        inputs: &[Input<'_>],
        mut share: Option<FeatureShare<'_>>,
        now_ms: Option<i64>,
    ) -> Result<(), PipelineError> {
        if !self.mode.is_windowed() {
            self.process_inner(inputs, share, now_ms, &mut |_| {}, false)?;
            return Ok(());
        }
        self.accepted.clear();
        self.scoring = false;
        for (k, input) in inputs.iter().enumerate() {
            self.batch.clear();
            self.pending.clear();
            let slot = share.as_mut().and_then(|s| s.slot(k));
            let outcome = self.ingest(input, slot, now_ms, 0);
            if let Some(share) = share.as_mut() {
                share.record_refusal(k, &outcome);
            }
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

    /// Number of series whose features this pipeline computes (the others it reads from
    /// another route).
    pub fn feature_series_count(&self) -> usize {
        self.intake
            .keys()
            .filter(|key| self.intake.state(key).is_some_and(|s| s.features.is_some()))
            .count()
    }

    /// Where a series stands: its last accepted open time and whether this pipeline keeps its
    /// features (`None`: no state for it).
    pub fn series_position(&self, key: &SeriesKey) -> Option<(Option<i64>, bool)> {
        let state = self.intake.state(key)?;
        Some((self.intake.last_open_time(key), state.features.is_some()))
    }

    /// Drops a series' state (it starts afresh from its next candle); whether it had any.
    pub fn forget(&mut self, key: &SeriesKey) -> bool {
        self.intake.remove(key)
    }

    /// Whether `other` judges and computes features exactly as this pipeline does, so the two
    /// can share one feature state per series.
    pub fn computes_features_like(&self, other: &Pipeline) -> bool {
        let (a, b) = (&self.settings, &other.settings);
        a.validation == b.validation
            && a.sequence == b.sequence
            && a.features == b.features
            && a.candle_subject_prefix == b.candle_subject_prefix
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
        self.resume_computing(snapshot, true)
    }

    /// [`Pipeline::resume`] of a routed series: `computes` whether this route keeps its
    /// features (the snapshot must then hold them) or reads another route's.
    pub fn resume_computing(
        &mut self,
        snapshot: &SeriesSnapshot,
        computes: bool,
    ) -> Result<(), SnapshotError> {
        let shape = StateShape {
            steps: self.steps,
            width: self.order.len(),
            recurrent_len: self.recurrent_len,
        };
        let mut state = SeriesState::restore(
            snapshot,
            &self.settings.features,
            shape,
            &self.model.sha256,
            computes,
        )?;
        state.changed = false;
        self.intake
            .resume(snapshot.series.clone(), snapshot.last_open_time, state);
        Ok(())
    }
}
