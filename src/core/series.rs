//! The state the pipeline keeps per series: streaming features, the model's input window and,
//! for a streaming model, its recurrent state.

use super::Bar;
use super::features::{FeatureError, FeatureSettings, SeriesFeatures};
use super::recurrent::Recurrent;
use super::scoring::ScoreTrail;
use super::window::FeatureWindow;

/// One series' features and window. The window only holds complete feature
/// vectors, so a full window is exactly "ready for inference".
#[derive(Debug, Clone)]
pub struct SeriesState {
    /// Streaming indicators and model features.
    pub features: SeriesFeatures,
    /// The last `sequence_length` model-input vectors (one vector for a streaming model).
    pub window: FeatureWindow,
    /// Streaming model: recurrent state, burn-in and queued steps (unused when windowed).
    pub recurrent: Recurrent,
    /// Signals awaiting their realised label. Not snapshotted: after a restart a series' signals
    /// from before it are not scored (the scores are the running process's).
    pub(crate) trail: ScoreTrail,
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
            recurrent: Recurrent::new(recurrent_len),
            trail: ScoreTrail::default(),
            changed: true,
        }
    }

    /// Starts afresh (after a gap longer than the configured limit).
    pub fn reset(&mut self) {
        self.features.reset();
        self.window.clear();
        self.recurrent.reset();
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
}
