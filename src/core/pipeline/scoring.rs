//! The live scoring pass after each batch: every accepted candle, in input order, feeds its
//! series' score trail (see [`crate::core::scoring`]).

use super::*;

/// An accepted candle, for the scoring pass after the batch's signals are known.
#[derive(Debug)]
pub(super) struct Accepted {
    pub(super) series: SeriesKey,
    pub(super) close: f64,
    /// False after a gap or reset: signals awaiting their label across it are not scored.
    pub(super) contiguous: bool,
    /// The signal's probabilities, when the candle got one.
    pub(super) signal: Option<[f32; NUM_CLASSES]>,
}

impl Pipeline {
    /// What the signals scored since the previous call (see [`crate::core::scoring`]); the edge
    /// feeds it to the model's scoreboard.
    ///
    /// The next drain starts with the capacity this one needed, so its buffers are allocated
    /// once per batch, not regrown value by value.
    pub fn take_scores(&mut self) -> ScoreDrain {
        let (samples, inputs) = (self.scores.samples.len(), self.scores.inputs.len());
        let taken = std::mem::take(&mut self.scores);
        self.scores.samples.reserve(samples);
        self.scores.inputs.reserve(inputs);
        taken
    }

    /// Feeds the batch's accepted candles, in input order, to their series' score trails: a
    /// series with several candles in one batch is scored exactly as if they came one by one.
    pub(super) fn score_accepted(&mut self, score: bool) {
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
}
