//! Which code runs inference: the fused kernel or burn's tensor API.

use serde::{Deserialize, Serialize};

/// The inference engine (`model.engine`, `--engine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InferenceEngine {
    /// The model's weights run by [`super::kernel`]: the fast default.
    #[default]
    Fused,
    /// burn's tensor API on the configured backend (flex or ndarray): the reference.
    Burn,
}

/// An engine name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown inference engine `{0}` (expected fused or burn)")]
pub struct UnknownEngine(pub String);

impl std::str::FromStr for InferenceEngine {
    type Err = UnknownEngine;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "fused" => Ok(InferenceEngine::Fused),
            "burn" => Ok(InferenceEngine::Burn),
            _ => Err(UnknownEngine(s.to_string())),
        }
    }
}

impl InferenceEngine {
    /// The lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            InferenceEngine::Fused => "fused",
            InferenceEngine::Burn => "burn",
        }
    }
}
