//! A streaming model's bookkeeping for one series: its recurrent state, where it stands in the
//! burn-in, whether the next step must start from the zero state, and how many of its steps are
//! queued in the batch being processed.
//!
//! Kept behind verbs so the pipeline cannot get the order wrong: a reset or an unscorable output
//! schedules a restart instead of zeroing the state at once (steps of the same batch queued
//! before it have not run yet), and a queued step takes the restart flag with it.

/// One series' streaming-model state (empty and unused for a windowed model).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recurrent {
    state: Vec<f32>,
    steps_since_reset: u64,
    restart_pending: bool,
    /// Batch id and number of this series' steps queued in it.
    queued: (u64, u32),
}

/// Where one queued step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedStep {
    /// How many steps of the same series precede it in the batch: they run in that order.
    pub round: u32,
    /// It starts from the zero state (the series was reset, or its last output was unusable).
    pub from_zero: bool,
    /// The burn-in is over: its output may be published.
    pub past_burn_in: bool,
}

impl Recurrent {
    /// The zero state of `len` values (0 for a windowed model).
    pub fn new(len: usize) -> Self {
        Self {
            state: vec![0.0; len],
            ..Self::default()
        }
    }

    /// A state restored from a snapshot.
    pub fn resumed(state: Vec<f32>, steps_since_reset: u64, restart_pending: bool) -> Self {
        Self {
            state,
            steps_since_reset,
            restart_pending,
            queued: (0, 0),
        }
    }

    /// The recurrent values after the last step.
    pub fn state(&self) -> &[f32] {
        &self.state
    }

    /// Steps since the series started or was reset.
    pub fn steps_since_reset(&self) -> u64 {
        self.steps_since_reset
    }

    /// Whether the next step starts from the zero state.
    pub fn restart_pending(&self) -> bool {
        self.restart_pending
    }

    /// The series starts afresh: the burn-in counts again and the next step starts from zero.
    pub fn reset(&mut self) {
        self.steps_since_reset = 0;
        self.restart_pending = true;
    }

    /// The last output was unusable: the next step starts from zero (the burn-in goes on).
    pub fn restart(&mut self) {
        self.restart_pending = true;
    }

    /// Queues one step in batch `batch_id` of a model with `burn_in` steps.
    pub fn queue_step(&mut self, batch_id: u64, burn_in: usize) -> QueuedStep {
        self.steps_since_reset += 1;
        let round = if self.queued.0 == batch_id {
            self.queued.1
        } else {
            0
        };
        self.queued = (batch_id, round + 1);
        QueuedStep {
            round,
            from_zero: std::mem::take(&mut self.restart_pending),
            past_burn_in: self.steps_since_reset > burn_in as u64,
        }
    }

    /// Keeps the state a batched step computed; `false` (and nothing kept) when its size is not
    /// this model's.
    pub fn store(&mut self, state: &[f32]) -> bool {
        if state.len() != self.state.len() {
            return false;
        }
        self.state.copy_from_slice(state);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_of_one_series_in_one_batch_run_in_rounds() {
        let mut r = Recurrent::new(2);
        let first = r.queue_step(7, 0);
        let second = r.queue_step(7, 0);
        let next_batch = r.queue_step(8, 0);
        assert_eq!((first.round, second.round, next_batch.round), (0, 1, 0));
    }

    #[test]
    fn a_reset_restarts_the_next_step_from_zero_and_the_burn_in_counts_again() {
        let mut r = Recurrent::new(2);
        assert!(r.store(&[0.5, -0.5]));
        assert!(!r.queue_step(1, 1).past_burn_in);
        assert!(r.queue_step(2, 1).past_burn_in);
        r.reset();
        let after = r.queue_step(3, 1);
        assert!(after.from_zero && !after.past_burn_in);
        // The flag goes with the step that took it.
        assert!(!r.queue_step(4, 1).from_zero);
        // An unusable output restarts from zero without a new burn-in.
        r.restart();
        let step = r.queue_step(5, 1);
        assert!(step.from_zero && step.past_burn_in);
        assert!(!r.store(&[1.0]), "a state of another size is not kept");
        assert_eq!(r.state(), &[0.5, -0.5]);
    }
}
