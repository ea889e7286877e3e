//! Every knob of a training run, with defaults and validation.

use serde::{Deserialize, Serialize};

use super::TrainError;
use crate::model::architecture::{Architecture, Kind};
use crate::model::backend::BackendKind;
use crate::model::labels::LabelSpec;
use crate::model::side::NUM_CLASSES;
use crate::model::split::SplitFractions;

/// The network to train (the input count comes from the data, the classes are fixed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSettings {
    /// LSTM or GRU.
    pub kind: Kind,
    /// Stacked recurrent layers.
    pub layers: usize,
    /// Hidden units per layer.
    pub hidden: usize,
    /// Bars per input window.
    pub sequence_length: usize,
    /// Dropout probability between recurrent layers, training only (ignored with one layer).
    pub dropout: f32,
}

impl Default for NetworkSettings {
    /// A 2 x 32 LSTM over 32 bars: small enough to train on ~20k rows in minutes on two cores,
    /// and to infer in well under a millisecond per window.
    fn default() -> Self {
        Self {
            kind: Kind::Lstm,
            layers: 2,
            hidden: 32,
            sequence_length: 32,
            dropout: 0.1,
        }
    }
}

/// Every knob of a training run. Serde with defaults, so a config file names only what differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainSettings {
    /// Maximum passes over the training slice.
    pub epochs: usize,
    /// Samples per gradient step.
    pub batch_size: usize,
    /// Adam step size.
    pub learning_rate: f64,
    /// Decoupled weight decay (AdamW) per unit learning rate; 0 disables it. A regulariser for
    /// when validation loss turns up after a few epochs.
    pub weight_decay: f64,
    /// Epochs without a validation-loss improvement before stopping.
    pub patience: usize,
    /// Seed of initialisation, shuffling and dropout.
    pub seed: u64,
    /// Samples per forward pass when scoring validation and test (memory vs. speed only).
    pub evaluation_batch_size: usize,
    /// Backend to train on.
    pub backend: BackendKind,
    /// Chronological split shares.
    pub split: SplitFractions,
    /// Label definition.
    pub labels: LabelSpec,
    /// Network shape and dropout.
    pub network: NetworkSettings,
    /// Present for a streaming model (`train --mode streaming`); absent (and not written, so
    /// older `model.json` files keep their hashes) for the windowed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streaming: Option<StreamingSettings>,
}

/// Training of a streaming model: truncated backpropagation through time over contiguous
/// history, `network.sequence_length` steps per gradient step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamingSettings {
    /// Steps after a (re)start before the model signals; training and evaluation skip the same
    /// steps, so what is measured is what runs live.
    pub burn_in: usize,
    /// Contiguous stretches of the training slice run side by side as one batch.
    pub lanes: usize,
}

impl Default for StreamingSettings {
    /// 64 steps of burn-in (twice the windowed model's window), 16 lanes.
    fn default() -> Self {
        Self {
            burn_in: 64,
            lanes: 16,
        }
    }
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            epochs: 30,
            batch_size: 64,
            learning_rate: 1e-3,
            weight_decay: 0.0,
            patience: 5,
            seed: 42,
            evaluation_batch_size: 512,
            backend: BackendKind::Flex,
            split: SplitFractions::default(),
            labels: LabelSpec::default(),
            network: NetworkSettings::default(),
            streaming: None,
        }
    }
}

impl TrainSettings {
    /// Check every setting (the nested specs included).
    pub fn validate(&self) -> Result<(), TrainError> {
        let positive = [
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
            ("evaluation_batch_size", self.evaluation_batch_size),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(TrainError::Setting {
                    field,
                    reason: "must be at least 1".into(),
                });
            }
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(TrainError::Setting {
                field: "learning_rate",
                reason: format!("{} is not a positive finite number", self.learning_rate),
            });
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(TrainError::Setting {
                field: "weight_decay",
                reason: format!("{} is not a non-negative finite number", self.weight_decay),
            });
        }
        let dropout = self.network.dropout;
        if !(dropout.is_finite() && (0.0..1.0).contains(&dropout)) {
            return Err(TrainError::Setting {
                field: "network.dropout",
                reason: format!("{dropout} is not in [0, 1)"),
            });
        }
        if let Some(streaming) = &self.streaming
            && streaming.lanes == 0
        {
            return Err(TrainError::Setting {
                field: "streaming.lanes",
                reason: "must be at least 1".into(),
            });
        }
        self.split.validate()?;
        self.labels.validate()?;
        self.architecture(1).validate()?;
        Ok(())
    }

    /// Windowed, or streaming with its burn-in.
    pub fn mode(&self) -> crate::model::ModelMode {
        match self.streaming {
            None => crate::model::ModelMode::Windowed,
            Some(s) => crate::model::ModelMode::Streaming { burn_in: s.burn_in },
        }
    }

    /// Rows of history a sample needs before it: the window for a windowed model, the burn-in
    /// plus the step itself for a streaming one (what the split leaves out at each slice start).
    pub fn sample_span(&self) -> usize {
        match self.streaming {
            None => self.network.sequence_length,
            Some(s) => s.burn_in + 1,
        }
    }

    /// The architecture these settings give for `inputs` features.
    pub fn architecture(&self, inputs: usize) -> Architecture {
        Architecture {
            kind: self.network.kind,
            layers: self.network.layers,
            hidden: self.network.hidden,
            inputs,
            sequence_length: self.network.sequence_length,
            classes: NUM_CLASSES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_from_partial_toml_and_validate() {
        let text =
            "epochs = 5\nseed = 1\n[network]\nkind = \"gru\"\nhidden = 16\n[labels]\nhorizon = 4\n";
        let parsed: Result<TrainSettings, _> = toml::from_str(text);
        let Ok(settings) = parsed else {
            unreachable!("valid TOML: {parsed:?}")
        };
        assert_eq!(settings.epochs, 5);
        assert_eq!(settings.network.kind, Kind::Gru);
        assert_eq!(settings.network.hidden, 16);
        assert_eq!(settings.network.layers, NetworkSettings::default().layers);
        assert_eq!(settings.labels.horizon, 4);
        assert!((settings.labels.long_threshold - 0.005).abs() < 1e-12);
        assert!(settings.validate().is_ok());
        assert!(toml::from_str::<TrainSettings>("epochz = 5").is_err());
        let bad = TrainSettings {
            network: NetworkSettings {
                dropout: 1.0,
                ..NetworkSettings::default()
            },
            ..TrainSettings::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(TrainError::Setting {
                field: "network.dropout",
                ..
            })
        ));
    }
}
