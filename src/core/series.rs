//! The state the pipeline keeps per series: streaming features, the model's input window and,
//! for a streaming model, its recurrent state.

use super::Bar;
use super::features::{FeatureError, FeatureSettings, SeriesFeatures};
use super::window::FeatureWindow;

/// One series' features and window. The window only holds complete feature
/// vectors, so a full window is exactly "ready for inference".
#[derive(Debug, Clone)]
pub struct SeriesState {
    /// Streaming indicators and model features.
    pub features: SeriesFeatures,
    /// The last `sequence_length` model-input vectors (one vector for a streaming model).
    pub window: FeatureWindow,
    /// Streaming model: the recurrent state after the last step (empty for a windowed model).
    pub recurrent: Vec<f32>,
    /// Streaming model: steps taken since the series started or was reset (for the burn-in).
    pub steps_since_reset: u64,
    /// Streaming model: a reset happened, so the next step starts from the zero state. Deferred
    /// rather than zeroing `recurrent` at once, because steps of the same batch queued before the
    /// reset have not run yet.
    pub restart_pending: bool,
    /// Batch id and number of steps of this series queued in it, so several candles of one
    /// series in one batch step in order.
    pub(super) queued: (u64, u32),
    /// Changed since the last checkpoint took its snapshot.
    pub(crate) changed: bool,
}

impl SeriesState {
    /// A fresh series; `recurrent_len` is the streaming model's state size (0 if windowed).
    pub fn new(
        settings: &FeatureSettings,
        steps: usize,
        width: usize,
        recurrent_len: usize,
    ) -> Self {
        Self {
            features: SeriesFeatures::new(settings),
            window: FeatureWindow::new(steps, width),
            recurrent: vec![0.0; recurrent_len],
            steps_since_reset: 0,
            restart_pending: false,
            queued: (0, 0),
            changed: true,
        }
    }

    /// Starts afresh (after a gap longer than the configured limit).
    pub fn reset(&mut self) {
        self.features.reset();
        self.window.clear();
        self.steps_since_reset = 0;
        self.restart_pending = true;
    }

    /// Feeds one bar; returns whether the window is now full (ready to infer).
    /// `order` maps model inputs to engine feature columns.
    pub fn update(&mut self, bar: &Bar, order: &[usize]) -> Result<bool, FeatureError> {
        self.changed = true;
        self.features.update(bar)?;
        if let Some(values) = self.features.features() {
            self.window.push_gathered(values, order);
        }
        Ok(self.window.is_full())
    }

    /// Queues one step of this series in batch `batch_id`; returns its round (how many steps
    /// of the series precede it in the batch).
    pub(super) fn queue_step(&mut self, batch_id: u64) -> u32 {
        let round = if self.queued.0 == batch_id {
            self.queued.1
        } else {
            0
        };
        self.queued = (batch_id, round + 1);
        round
    }
}
