//! The state the pipeline keeps per series: streaming features and the model's input window.

use super::Bar;
use super::features::{FeatureError, FeatureSettings, SeriesFeatures};
use super::window::FeatureWindow;

/// One series' features and window. The window only holds complete feature
/// vectors, so a full window is exactly "ready for inference".
#[derive(Debug, Clone)]
pub struct SeriesState {
    /// Streaming indicators and model features.
    pub features: SeriesFeatures,
    /// The last `sequence_length` model-input vectors.
    pub window: FeatureWindow,
}

impl SeriesState {
    /// A fresh series.
    pub fn new(settings: &FeatureSettings, steps: usize, width: usize) -> Self {
        Self {
            features: SeriesFeatures::new(settings),
            window: FeatureWindow::new(steps, width),
        }
    }

    /// Starts afresh (after a gap longer than the configured limit).
    pub fn reset(&mut self) {
        self.features.reset();
        self.window.clear();
    }

    /// Feeds one bar; returns whether the window is now full (ready to infer).
    /// `order` maps model inputs to engine feature columns.
    pub fn update(&mut self, bar: &Bar, order: &[usize]) -> Result<bool, FeatureError> {
        self.features.update(bar)?;
        if let Some(values) = self.features.features() {
            self.window.push_gathered(values, order);
        }
        Ok(self.window.is_full())
    }
}
