//! The feature engine's one error type.

use ta_lib::RetCode;

/// Why the feature engine refused a bar, a setting or a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// A bar field is unusable (non-finite, a non-positive price or a negative
    /// volume). Checked before anything is touched, so the state is unchanged.
    #[error("bar field {field} is {value}: {reason}")]
    InvalidBar {
        /// The offending field of [`crate::core::bar::Bar`].
        field: &'static str,
        /// The value it held.
        value: f64,
        /// What rule it broke.
        reason: &'static str,
    },
    /// A bar did not come strictly after the previous one. Sequencing is the
    /// caller's job; this is a last line of defence, with the state unchanged.
    #[error("bar open_time {open_time} is not after the previous bar's {previous}")]
    OutOfOrder {
        /// `open_time` of the last accepted bar.
        previous: i64,
        /// `open_time` of the refused bar.
        open_time: i64,
    },
    /// The series has fed its ta-lib streams more bars than ta-lib can index
    /// (`Core::INDEX_MAX`, 10^8 — 190 years of minute bars). Restoring from a
    /// snapshot re-opens the streams and clears the condition.
    #[error("series has reached ta-lib's {limit}-bar stream limit; restore from a snapshot")]
    SeriesTooLong {
        /// The limit that was reached.
        limit: u64,
    },
    /// A ta-lib stream refused a bar although the bar had been checked. This
    /// would mean a ta-lib contract changed; the series state has been reset
    /// (it warms up again) rather than left half-updated.
    #[error("ta-lib {indicator} stream failed: {code}")]
    Indicator {
        /// Which indicator failed.
        indicator: &'static str,
        /// ta-lib's return code.
        code: RetCode,
    },
    /// A model feature came out NaN or infinite. Every formula is guarded so
    /// this should never happen; if it does the bar has been consumed (the
    /// indicators moved on) but its vector is withheld.
    #[error("feature {name} is not finite ({value})")]
    NonFiniteFeature {
        /// Name of the feature, from [`super::FEATURE_NAMES`].
        name: &'static str,
        /// The value computed.
        value: f64,
    },
    /// A setting is out of range.
    #[error("features.{field}: {reason}")]
    InvalidSettings {
        /// The setting's key inside the `features` config section.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A snapshot is malformed or of another format version.
    #[error("invalid feature snapshot: {reason}")]
    InvalidSnapshot {
        /// What is wrong with it.
        reason: String,
    },
}
