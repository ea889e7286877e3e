//! How one table of indicators becomes the per-series streams: the `indicator_table!` macro
//! and the small verbs it is written with.
//!
//! Each entry of the table (see `indicators.rs`) names a stream, its column names, how
//! it opens on the retained bars and how it takes one bar. From that one entry the macro
//! writes the stream's field, its share of [`INDICATOR_NAMES`](super::INDICATOR_NAMES), the
//! index constant of each of its columns, and its lines in `update` and `open_missing` — so
//! adding an indicator touches one place, and no name is written twice.

use super::error::FeatureError;
use ta_lib::RetCode;

/// The position of `name` in `names` (`names.len()` when absent), evaluated at compile time.
pub(super) const fn column_index(names: &[&str], name: &str) -> usize {
    let mut i = 0;
    while i < names.len() {
        if bytes_equal(names[i].as_bytes(), name.as_bytes()) {
            break;
        }
        i += 1;
    }
    i
}

/// Whether no name appears twice (checked at compile time: two columns of one name would
/// share an index).
pub(super) const fn all_distinct(names: &[&str]) -> bool {
    let mut i = 0;
    while i < names.len() {
        if column_index(names, names[i]) != i {
            return false;
        }
        i += 1;
    }
    true
}

const fn bytes_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// What one stream yields per bar, written into its columns.
pub(super) trait Outputs {
    /// Writes the values into `values` at `columns` (one per output, in order).
    fn write(self, values: &mut [Option<f64>], columns: &[usize]);
}

impl Outputs for f64 {
    #[inline]
    fn write(self, values: &mut [Option<f64>], columns: &[usize]) {
        if let Some(&c) = columns.first() {
            values[c] = Some(self);
        }
    }
}

impl Outputs for (f64, f64) {
    #[inline]
    fn write(self, values: &mut [Option<f64>], columns: &[usize]) {
        for (&c, v) in columns.iter().zip([self.0, self.1]) {
            values[c] = Some(v);
        }
    }
}

impl Outputs for (f64, f64, f64) {
    #[inline]
    fn write(self, values: &mut [Option<f64>], columns: &[usize]) {
        for (&c, v) in columns.iter().zip([self.0, self.1, self.2]) {
            values[c] = Some(v);
        }
    }
}

impl Outputs for (f64, f64, f64, f64) {
    #[inline]
    fn write(self, values: &mut [Option<f64>], columns: &[usize]) {
        for (&c, v) in columns.iter().zip([self.0, self.1, self.2, self.3]) {
            values[c] = Some(v);
        }
    }
}

/// Maps ta-lib's "not enough history yet" to `None`, any other refusal to
/// an error naming the indicator.
pub(super) fn opened<T>(
    result: Result<T, RetCode>,
    indicator: &'static str,
) -> Result<Option<T>, FeatureError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(RetCode::InsufficientHistory) => Ok(None),
        Err(code) => Err(FeatureError::Indicator { indicator, code }),
    }
}

/// Builds the error for a stream that refused an update.
pub(super) fn refused(indicator: &'static str) -> impl Fn(RetCode) -> FeatureError {
    move |code| FeatureError::Indicator { indicator, code }
}

/// Writes the indicator set from its table: one entry per stream,
///
/// ```text
/// field: StreamType = "error name" {
///     columns: [CONSTANT = "column", …],
///     open: |bars| <the stream opened on the retained bars' columns>,
///     update: |stream, bar[, history]| <one bar into the stream; `history` (already holding
///              the bar) for the streams that read their window back from it>,
/// }
/// ```
///
/// in the golden column order.
macro_rules! indicator_table {
    ($(
        $field:ident : $stream:ty = $label:literal {
            columns: [$($column:ident = $name:literal),+ $(,)?],
            open: |$bars:ident| $open:expr,
            update: |$s:ident, $bar:ident $(, $history:ident)?| $update:expr $(,)?
        }
    ),+ $(,)?) => {
        /// Number of indicator columns.
        pub const INDICATOR_COUNT: usize = INDICATOR_NAMES.len();

        /// Indicator names, exactly the golden CSV columns, in golden order; index `i` of
        /// [`super::SeriesFeatures::indicators`] is the value of column `i`.
        pub const INDICATOR_NAMES: [&str; [$($($name),+),+].len()] = [$($($name),+),+];

        const _: () = assert!(
            super::indicator_table::all_distinct(&INDICATOR_NAMES),
            "two indicator columns share a name"
        );

        $($(
            #[doc = concat!("Position of `", $name, "` in [`INDICATOR_NAMES`].")]
            pub(crate) const $column: usize =
                super::indicator_table::column_index(&INDICATOR_NAMES, $name);
        )+)+

        /// Every indicator stream of one series and their latest values.
        ///
        /// `None` streams have not been opened yet (their warm-up is not over). Serialisable
        /// whole: a snapshot carries it, so a restore continues exactly where the series was.
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        pub(crate) struct Indicators {
            $($field: Option<$stream>,)+
            /// Latest value of each column of [`INDICATOR_NAMES`].
            values: [Option<f64>; INDICATOR_COUNT],
            /// Every stream is open: skips the open attempts once warm.
            all_open: bool,
            /// Bars in the streams' index space (history at opening + updates since),
            /// checked against ta-lib's `INDEX_MAX`.
            indexed: u64,
        }

        impl Indicators {
            /// Whether a state read from a snapshot could have come from finite bars: every
            /// open stream's own check, and every value finite where it is defined.
            pub(crate) fn is_sane(&self) -> bool {
                true $(&& self.$field.as_ref().is_none_or(|s| s.is_sane()))+
                    && self.values.iter().flatten().all(|v| v.is_finite())
            }

            /// Feeds one bar, which `history` already holds as its latest. On error
            /// some streams may have taken the bar and others not; the caller resets.
            #[inline]
            pub(crate) fn update(
                &mut self,
                bar: &Bar,
                history: &BarHistory,
            ) -> Result<(), FeatureError> {
                use super::indicator_table::{Outputs, refused};
                $(
                    if let Some($s) = &mut self.$field {
                        let $bar = bar;
                        $(let $history = history;)?
                        let out = $update.map_err(refused($label))?;
                        out.write(&mut self.values, &[$($column),+]);
                    }
                )+
                self.indexed += 1;
                if !self.all_open {
                    self.open_missing(history)?;
                }
                Ok(())
            }

            /// Tries to open each stream that is not open yet on `history`; the ones
            /// still inside their warm-up stay closed.
            fn open_missing(&mut self, history: &BarHistory) -> Result<(), FeatureError> {
                use super::indicator_table::{Outputs, opened};
                let columns = history.columns();
                $(
                    if self.$field.is_none() {
                        let $bars = &columns;
                        if let Some((stream, out)) = opened($open, $label)? {
                            self.$field = Some(stream);
                            out.write(&mut self.values, &[$($column),+]);
                        }
                    }
                )+
                self.all_open = self.values.iter().all(Option::is_some);
                Ok(())
            }
        }
    };
}

pub(super) use indicator_table;
