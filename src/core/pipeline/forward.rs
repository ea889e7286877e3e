//! The batched forward pass: every ready window at once (windowed), or one round per queued
//! step (streaming).

use super::*;

/// Buffers of the streaming rounds, reused across batches.
#[derive(Debug, Default)]
pub(super) struct RoundBuffers {
    pub(super) members: Vec<usize>,
    pub(super) inputs: Vec<f32>,
    pub(super) states: Vec<f32>,
    pub(super) probabilities: Vec<[f32; NUM_CLASSES]>,
}

impl Pipeline {
    /// Windowed model: one forward pass over every ready window of the batch.
    pub(super) fn score_windows(&mut self) -> Result<(), PipelineError> {
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
    pub(super) fn step_rounds(&mut self) -> Result<(), PipelineError> {
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
}
