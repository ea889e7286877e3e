//! Why training cannot run.

use crate::model::architecture::ArchitectureError;
use crate::model::labels::LabelError;
use crate::model::network::ReadbackError;
use crate::model::scaler::ScalerError;
use crate::model::split::SplitError;

/// Why training cannot run or did not converge.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A walk-forward fold could not be trained (too few rows for its split, most often).
    #[error("walk-forward fold {fold} (the first {rows} rows): {reason}")]
    Fold {
        /// The fold, from 1 (oldest).
        fold: usize,
        /// Rows it had.
        rows: usize,
        /// Why it failed.
        reason: String,
    },
    /// A training run was given no series.
    #[error("training needs at least one series")]
    NoSeries,
    /// Series of one run with different feature columns.
    #[error(
        "series `{series}` has other feature columns than `{first}`; one model needs one input contract"
    )]
    FeatureMismatch {
        /// The series that differs.
        series: String,
        /// The first series.
        first: String,
    },
    /// One series of a multi-series run cannot be used.
    #[error("series `{series}`: {reason}")]
    Series {
        /// The series.
        series: String,
        /// Why.
        reason: String,
    },
    /// A setting out of range.
    #[error("invalid training setting `{field}`: {reason}")]
    Setting {
        /// The setting.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The network shape is invalid.
    #[error(transparent)]
    Architecture(#[from] ArchitectureError),
    /// The label spec or the closes are invalid.
    #[error(transparent)]
    Labels(#[from] LabelError),
    /// The rows cannot be split (too few, bad fractions).
    #[error(transparent)]
    Split(#[from] SplitError),
    /// The scaler cannot be fitted.
    #[error(transparent)]
    Scaler(#[from] ScalerError),
    /// No feature columns.
    #[error("training data has no feature columns")]
    NoFeatures,
    /// The same feature name twice.
    #[error("feature `{0}` appears twice in the feature names")]
    DuplicateFeature(String),
    /// Columns of different lengths.
    #[error("training data is misaligned: {what} has {found} entries, expected {expected}")]
    LengthMismatch {
        /// The column.
        what: &'static str,
        /// Entries expected.
        expected: usize,
        /// Entries found.
        found: usize,
    },
    /// A NaN or infinite feature value (e.g. indicator warm-up rows not trimmed).
    #[error(
        "feature `{feature}` is {value} at row {row} (open_time {open_time}); drop warm-up rows before training"
    )]
    NonFiniteFeature {
        /// Row index.
        row: usize,
        /// Open time of the row.
        open_time: i64,
        /// Feature name.
        feature: String,
        /// The value.
        value: f32,
    },
    /// Open times not strictly increasing (unsorted or duplicated input).
    #[error("open_time at row {row} ({open_time}) is not after the previous row's ({previous})")]
    TimesNotIncreasing {
        /// Row index.
        row: usize,
        /// Its open time.
        open_time: i64,
        /// The previous row's open time.
        previous: i64,
    },
    /// The loss became NaN or infinite.
    #[error("training diverged at epoch {epoch}: {what} loss is {value}")]
    Diverged {
        /// Epoch (1-based).
        epoch: usize,
        /// Which loss.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// Reading a tensor back from the backend failed.
    #[error(transparent)]
    Readback(#[from] ReadbackError),
}
