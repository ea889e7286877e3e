//! The decision rule: from class probabilities to a side. Config, not code.

use serde::{Deserialize, Serialize};

use super::classification::argmax;
use super::side::{CLASS_ORDER, NUM_CLASSES};
use crate::contract::Side;

/// Thresholds of the decision rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionConfig {
    /// The most probable class becomes the side only if its probability is at least this;
    /// otherwise the signal is neutral. `0` always follows the argmax.
    pub min_confidence: f32,
}

/// Default minimum confidence: 0.5, i.e. the model must give one class a majority before a
/// non-neutral signal goes out (a uniform forecast is 1/3 per class).
pub const DEFAULT_MIN_CONFIDENCE: f32 = 0.5;

impl Default for DecisionConfig {
    fn default() -> Self {
        Self {
            min_confidence: DEFAULT_MIN_CONFIDENCE,
        }
    }
}

/// A minimum confidence outside `[0, 1]` or not finite.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("min_confidence must be a finite number in [0, 1], got {0}")]
pub struct DecisionError(pub f32);

/// The outcome of the rule for one window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The side to signal.
    pub side: Side,
    /// Probability of the most probable class (the `confidence` of the signal).
    pub confidence: f32,
    /// The most probable class, even when it was not confident enough to be the side.
    pub most_probable: Side,
}

impl DecisionConfig {
    /// Check the threshold.
    pub fn validate(&self) -> Result<(), DecisionError> {
        if self.min_confidence.is_finite() && (0.0..=1.0).contains(&self.min_confidence) {
            Ok(())
        } else {
            Err(DecisionError(self.min_confidence))
        }
    }

    /// Apply the rule to `[long, short, neutral]` probabilities.
    pub fn decide(&self, probabilities: &[f32; NUM_CLASSES]) -> Decision {
        let index = argmax(probabilities);
        let most_probable = CLASS_ORDER[index];
        let confidence = probabilities[index];
        let side = if confidence >= self.min_confidence {
            most_probable
        } else {
            Side::Neutral
        };
        Decision {
            side,
            confidence,
            most_probable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confident_argmax_wins_else_neutral() {
        let rule = DecisionConfig {
            min_confidence: 0.6,
        };
        assert_eq!(rule.decide(&[0.7, 0.2, 0.1]).side, Side::Long);
        assert_eq!(rule.decide(&[0.1, 0.6, 0.3]).side, Side::Short);
        let unsure = rule.decide(&[0.5, 0.3, 0.2]);
        assert_eq!(unsure.side, Side::Neutral);
        assert_eq!(unsure.most_probable, Side::Long);
        assert!((unsure.confidence - 0.5).abs() < f32::EPSILON);
        assert_eq!(
            DecisionConfig {
                min_confidence: 0.0
            }
            .decide(&[0.34, 0.33, 0.33])
            .side,
            Side::Long
        );
    }

    #[test]
    fn validate_range() {
        assert!(DecisionConfig::default().validate().is_ok());
        assert!(
            DecisionConfig {
                min_confidence: 1.5
            }
            .validate()
            .is_err()
        );
        assert!(
            DecisionConfig {
                min_confidence: f32::NAN
            }
            .validate()
            .is_err()
        );
    }
}
