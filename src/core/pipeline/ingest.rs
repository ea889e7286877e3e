//! Stage one for a single input: decode, validate, check its subject, order it in its series,
//! update the features and the model window, and queue it for the forward pass.

use super::*;

/// A candle waiting for the batched forward pass.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) outcome_index: usize,
    pub(super) series: SeriesKey,
    pub(super) open_time: i64,
    /// Streaming: steps of the same series before this one in the batch.
    pub(super) round: u32,
    /// Streaming: start from the zero state (the series was reset).
    pub(super) restart: bool,
    /// Whether the result becomes a signal (false during a streaming burn-in).
    pub(super) emit: bool,
    /// Its entry in [`Pipeline::accepted`].
    pub(super) accepted_index: usize,
}

impl Pipeline {
    /// Stage one for a single input: everything up to (not including) inference. With a
    /// `slot` (a routed batch), the input's features are computed here and recorded for the
    /// other routes, or read from the route that computed them.
    pub(super) fn ingest(
        &mut self,
        input: &Input<'_>,
        slot: Option<shared::Slot<'_>>,
        now_ms: Option<i64>,
        index: usize,
    ) -> Outcome {
        let decoded =
            match decode_candle_view(input.bytes, input.encoding, &self.settings.validation) {
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
        let computes = slot.as_ref().is_none_or(|s| s.computes);
        let (verdict, state) =
            self.intake
                .judge_with(decoded.view(), tokens.as_ref(), now_ms, || {
                    SeriesState::new(features, steps, width, recurrent_len, computes)
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
        state.changed = true;
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
        let computed;
        let row = match slot {
            None => {
                computed = state.compute(&Bar::from(&candle));
                &computed
            }
            Some(shared::Slot {
                rows,
                index,
                computes: true,
            }) => {
                rows.set(index, state.compute(&Bar::from(&candle)));
                rows.get(index)
            }
            Some(shared::Slot { rows, index, .. }) => rows.get(index),
        };
        match row {
            FeatureRow::Poisoned => {
                state.reset();
                if let Some(accepted) = self.accepted.last_mut() {
                    accepted.contiguous = false;
                }
                Outcome::Rejected(Rejection::new(
                    ErrorCode::Unscorable,
                    "a feature is not finite (extreme prices overflowed an indicator); \
                     the window is not scored and the series warms up afresh",
                ))
            }
            FeatureRow::Failed(e) => Outcome::Rejected(Rejection::new(
                ErrorCode::Internal,
                format!("feature update: {e}"),
            )),
            FeatureRow::Refused(rejection) => Outcome::Rejected(rejection.clone()),
            FeatureRow::Missing => Outcome::Rejected(Rejection::new(
                ErrorCode::Internal,
                "the candle's features were not computed: the route computing them is out of \
                 step with this one",
            )),
            FeatureRow::Ready(_) | FeatureRow::Warming => {
                if !state.take(row, &self.order) {
                    return Outcome::Warming {
                        series: candle.series,
                        open_time: candle.open_time,
                    };
                }
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
                    scaler.extend_scaled_bounded(newest, &mut self.scores.inputs);
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
        }
    }
}
