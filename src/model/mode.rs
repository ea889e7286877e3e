//! How a model consumes a series: whole windows, or one recurrent step per candle.

use serde::{Deserialize, Serialize};

/// The inference mode recorded in `model.json` (absent = windowed, so older artifacts and their
/// hashes are unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ModelMode {
    /// The classic model: each signal reads the last `sequence_length` feature vectors from a
    /// zero state.
    #[default]
    Windowed,
    /// The recurrent state is carried per series; each closed candle costs one step. After a
    /// series starts or is reset by a gap, `burn_in` steps run before it signals, so the state
    /// has forgotten its zero start (training skips the same steps).
    Streaming {
        /// Steps run after a (re)start before the first signal.
        burn_in: usize,
    },
}

impl ModelMode {
    /// Whether this is [`ModelMode::Windowed`] (serde skips writing the default).
    pub fn is_windowed(&self) -> bool {
        matches!(self, ModelMode::Windowed)
    }

    /// The lowercase name used by `train --mode` and reports.
    pub fn name(&self) -> &'static str {
        match self {
            ModelMode::Windowed => "windowed",
            ModelMode::Streaming { .. } => "streaming",
        }
    }
}
