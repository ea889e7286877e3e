//! The state the pipeline keeps per series: streaming features (unless another route computes
//! them), the model's input window and, for a streaming model, its recurrent state.

use super::Bar;
use super::feature_window::FeatureWindow;
use super::features::{FeatureSettings, SeriesFeatures};
use super::pipeline::FeatureRow;
use super::recurrent::Recurrent;
use super::scoring::ScoreTrail;

/// One series' features and window. The window only holds complete feature
/// vectors, so a full window is exactly "ready for inference".
#[derive(Debug, Clone)]
pub struct SeriesState {
    /// Streaming indicators and model features; `None` when another route covering the series
    /// computes them (boxed: a route that reads them holds none of their kilobytes).
    pub features: Option<Box<SeriesFeatures>>,
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
    /// A fresh series; `recurrent_len` is the streaming model's state size (0 if windowed);
    /// `computes` whether it keeps its own features (else it reads another route's rows).
    pub fn new(
        settings: &FeatureSettings,
        steps: usize,
        width: usize,
        recurrent_len: usize,
        computes: bool,
    ) -> Self {
        Self {
            features: computes.then(|| Box::new(SeriesFeatures::new(settings))),
            window: FeatureWindow::new(steps, width),
            recurrent: Recurrent::new(recurrent_len),
            trail: ScoreTrail::default(),
            changed: true,
        }
    }

    /// Starts afresh (after a gap longer than the configured limit, or a poisoned feature).
    pub fn reset(&mut self) {
        if let Some(features) = self.features.as_deref_mut() {
            features.reset();
        }
        self.window.clear();
        self.recurrent.reset();
    }

    /// Feeds one bar to the series' own features: the row it made, for this route and every
    /// route reading it. A state without features gives [`FeatureRow::Missing`].
    pub fn compute(&mut self, bar: &Bar) -> FeatureRow {
        self.changed = true;
        let Some(features) = self.features.as_deref_mut() else {
            return FeatureRow::Missing;
        };
        if let Err(e) = features.update(bar) {
            return FeatureRow::Failed(e.to_string());
        }
        match features.vector() {
            None => FeatureRow::Warming,
            // Values past f32's range are clamped, so only a NaN is not finite: indicators whose
            // running sums overflowed. They would stay poisoned, so the series starts afresh.
            Some(values) if values.iter().any(|v| !v.is_finite()) => FeatureRow::Poisoned,
            Some(values) => FeatureRow::Ready(*values),
        }
    }

    /// Takes a row into the model window (`order[i]`: the engine column of model input `i`);
    /// returns whether the window is now full (ready to infer).
    pub fn take(&mut self, row: &FeatureRow, order: &[usize]) -> bool {
        self.changed = true;
        if let FeatureRow::Ready(values) = row {
            self.window.push_gathered(values, order);
        }
        self.window.is_full()
    }
}
