//! The model layer: burn LSTM/GRU networks, the scaler, labels, the leak-free split, training,
//! the verified artifact (`model.bpk` + `model.json`), batched inference and the decision rule.
//!
//! Why a module of its own: the model must be usable by `serve`, `replay`, `demo`, `train` and
//! `bench` alike without dragging I/O along, so it depends on no other crate module. Inputs are
//! plain slices (`f32` feature rows, `f64` closes); the feature engine and the CLI build them.
//! Nothing here prints, reads a clock or keeps global state.

#![warn(missing_docs)]

pub(crate) mod adam;
pub(crate) mod architecture;
pub mod artifact;
pub(crate) mod backend;
pub(crate) mod classification;
pub(crate) mod decide;
pub mod digest;
pub(crate) mod engine;
pub(crate) mod gru;
pub mod import;
pub(crate) mod inference;
pub mod kernel;
pub(crate) mod labels;
pub(crate) mod loaded;
pub(crate) mod lstm;
pub(crate) mod metadata;
pub(crate) mod mode;
pub(crate) mod network;
pub mod rng;
pub(crate) mod scaler;
pub(crate) mod side;
pub(crate) mod split;
pub(crate) mod stateful;
pub mod time_major;
pub(crate) mod trace;
pub mod train;

pub use architecture::{Architecture, ArchitectureError, Kind};
pub use artifact::{Artifact, ArtifactError};
pub use backend::{BackendKind, UnknownBackend};
pub use classification::{Baselines, Metrics};
pub use decide::{Decision, DecisionConfig, DecisionError};
pub use engine::{InferenceEngine, UnknownEngine};
pub use inference::{InferenceError, Predictor};
pub use kernel::{FusedNetwork, KernelError};
pub use labels::{LabelError, LabelKind, LabelSpec};
pub use loaded::LoadedModel;
pub use metadata::{FORMAT_VERSION, ModelIdentity, ModelMetadata, Provenance};
pub use mode::ModelMode;
pub use network::Network;
pub use scaler::{STD_FLOOR, Scaler, ScalerError};
pub use side::{CLASS_ORDER, NUM_CLASSES};
pub use split::{Split, SplitError, SplitFractions};
pub use train::{
    NetworkSettings, Progress, TrainError, TrainReport, TrainSettings, TrainedModel, TrainingData,
    train,
};
