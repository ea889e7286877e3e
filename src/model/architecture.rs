//! The shape of a network: what `model.json` records so the weights file can be read back into
//! exactly the network that wrote it.

use serde::{Deserialize, Serialize};

use super::side::NUM_CLASSES;

/// The recurrent cell of every layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Long short-term memory (gates i, f, o and candidate g).
    Lstm,
    /// Gated recurrent unit (update, reset and new gates; reset applied after the recurrent
    /// product, as PyTorch and burn's default do).
    Gru,
}

impl std::str::FromStr for Kind {
    type Err = ArchitectureError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "lstm" => Ok(Kind::Lstm),
            "gru" => Ok(Kind::Gru),
            _ => Err(ArchitectureError::UnknownKind(s.to_string())),
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Lstm => "lstm",
            Kind::Gru => "gru",
        })
    }
}

/// Everything needed to rebuild the network before loading its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Architecture {
    /// LSTM or GRU cells.
    pub kind: Kind,
    /// Number of stacked recurrent layers (>= 1).
    pub layers: usize,
    /// Hidden size of every recurrent layer (>= 1).
    pub hidden: usize,
    /// Features per time step; equals the number of feature names of the model.
    pub inputs: usize,
    /// Time steps per window the network reads.
    pub sequence_length: usize,
    /// Output classes of the head; always [`NUM_CLASSES`] (long, short, neutral), recorded so a
    /// future change is detected instead of misread.
    pub classes: usize,
}

/// Why an architecture is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchitectureError {
    /// A size that must be positive is zero.
    #[error("architecture field `{field}` must be at least 1")]
    Zero {
        /// The offending field.
        field: &'static str,
    },
    /// The head has a different number of classes than long/short/neutral.
    #[error(
        "architecture has {found} classes; this build only knows {expected} (long, short, neutral)"
    )]
    Classes {
        /// The number of classes this build supports.
        expected: usize,
        /// The number found.
        found: usize,
    },
    /// A size beyond what is reasonable for a CPU model (guards against a typo allocating GBs).
    #[error("architecture field `{field}` = {value} exceeds the limit {limit}")]
    TooLarge {
        /// The offending field.
        field: &'static str,
        /// Its value.
        value: usize,
        /// The limit.
        limit: usize,
    },
    /// A kind name that is neither `lstm` nor `gru`.
    #[error("unknown network kind `{0}` (expected lstm or gru)")]
    UnknownKind(String),
}

/// Upper bound on layers, hidden size, inputs and sequence length: far above any CPU model this
/// worker runs, low enough that a typo cannot allocate gigabytes.
pub const MAX_DIMENSION: usize = 4096;

impl Architecture {
    /// Check every size; the network constructor relies on it.
    pub fn validate(&self) -> Result<(), ArchitectureError> {
        for (field, value) in [
            ("layers", self.layers),
            ("hidden", self.hidden),
            ("inputs", self.inputs),
            ("sequence_length", self.sequence_length),
        ] {
            if value == 0 {
                return Err(ArchitectureError::Zero { field });
            }
            if value > MAX_DIMENSION {
                return Err(ArchitectureError::TooLarge {
                    field,
                    value,
                    limit: MAX_DIMENSION,
                });
            }
        }
        if self.classes != NUM_CLASSES {
            return Err(ArchitectureError::Classes {
                expected: NUM_CLASSES,
                found: self.classes,
            });
        }
        Ok(())
    }

    /// Number of `f32` values in one window (`sequence_length * inputs`).
    pub fn window_len(&self) -> usize {
        self.sequence_length * self.inputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch() -> Architecture {
        Architecture {
            kind: Kind::Lstm,
            layers: 2,
            hidden: 8,
            inputs: 3,
            sequence_length: 5,
            classes: 3,
        }
    }

    #[test]
    fn validate_accepts_sane_and_rejects_zero_or_wrong_classes() {
        assert_eq!(arch().validate(), Ok(()));
        let zero = Architecture {
            hidden: 0,
            ..arch()
        };
        assert_eq!(
            zero.validate(),
            Err(ArchitectureError::Zero { field: "hidden" })
        );
        let classes = Architecture {
            classes: 2,
            ..arch()
        };
        assert!(matches!(
            classes.validate(),
            Err(ArchitectureError::Classes { .. })
        ));
    }

    #[test]
    fn kind_parses_and_serialises_lowercase() {
        assert_eq!("GRU".parse::<Kind>(), Ok(Kind::Gru));
        assert!("rnn".parse::<Kind>().is_err());
        assert_eq!(
            serde_json::to_string(&Kind::Lstm).ok().as_deref(),
            Some("\"lstm\"")
        );
    }
}
