//! Chronological train / validation / test split without leakage.
//!
//! A sample is the window of `sequence_length` rows ending at row `t` plus the label of row `t`,
//! which reads closes up to `t + horizon`. A slice owns a contiguous row range and yields only the
//! samples whose window *and* label rows lie inside it, so no sample of one slice touches a row of
//! another. On top of that, consecutive slices are separated by a purge gap of
//! `sequence_length + horizon` rows that no sample uses: features with a look-back of their own
//! (indicator warm-up) and the autocorrelation of overlapping labels then also stay on their side.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Fractions of the usable rows (rows minus the two purge gaps) given to each slice, in time
/// order: train first, then validation, then test (the most recent data, untouched until the
/// final report).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitFractions {
    /// Share of the training slice.
    pub train: f64,
    /// Share of the validation slice (early stopping).
    pub validation: f64,
    /// Share of the test slice (final report only).
    pub test: f64,
}

impl Default for SplitFractions {
    /// 70 / 15 / 15: the common choice; on ~20k hourly bars it leaves ~3k test samples, enough
    /// for a log-loss estimate with a standard error around 0.01.
    fn default() -> Self {
        Self {
            train: 0.70,
            validation: 0.15,
            test: 0.15,
        }
    }
}

/// Tolerance for the fractions summing to one (they come from text config).
pub const FRACTION_SUM_TOLERANCE: f64 = 1e-6;

/// Why rows cannot be split.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SplitError {
    /// Fractions not positive and finite, or not summing to 1.
    #[error(
        "split fractions must be positive and sum to 1, got train {train}, validation {validation}, test {test}"
    )]
    Fractions {
        /// Train share.
        train: f64,
        /// Validation share.
        validation: f64,
        /// Test share.
        test: f64,
    },
    /// A slice would hold no sample.
    #[error(
        "{rows} rows are too few: with sequence_length {sequence_length} and horizon {horizon} the {slice} slice gets {samples} samples (needs at least 1; about {needed} rows would do)"
    )]
    TooFewRows {
        /// Rows offered.
        rows: usize,
        /// Window length.
        sequence_length: usize,
        /// Label horizon.
        horizon: usize,
        /// The slice left empty.
        slice: &'static str,
        /// Its sample count.
        samples: usize,
        /// A row count that would give every slice at least one sample.
        needed: usize,
    },
}

/// The three row ranges and the sample rows within them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Rows of the training slice.
    pub train: Range<usize>,
    /// Rows of the validation slice.
    pub validation: Range<usize>,
    /// Rows of the test slice.
    pub test: Range<usize>,
    /// Window length the split was made for.
    pub sequence_length: usize,
    /// Label horizon the split was made for.
    pub horizon: usize,
}

impl SplitFractions {
    /// Check positivity, finiteness and the sum.
    pub fn validate(&self) -> Result<(), SplitError> {
        let parts = [self.train, self.validation, self.test];
        let sum: f64 = parts.iter().sum();
        if parts.iter().any(|p| !p.is_finite() || *p <= 0.0)
            || (sum - 1.0).abs() > FRACTION_SUM_TOLERANCE
        {
            return Err(SplitError::Fractions {
                train: self.train,
                validation: self.validation,
                test: self.test,
            });
        }
        Ok(())
    }
}

impl Split {
    /// Split `rows` rows chronologically.
    pub fn new(
        rows: usize,
        sequence_length: usize,
        horizon: usize,
        fractions: &SplitFractions,
    ) -> Result<Self, SplitError> {
        fractions.validate()?;
        let gap = sequence_length + horizon;
        let usable = rows.saturating_sub(2 * gap);
        let train_len = (usable as f64 * fractions.train).floor() as usize;
        let validation_len = (usable as f64 * fractions.validation).floor() as usize;
        let test_len = usable - train_len - validation_len;
        let train = 0..train_len;
        let validation = train.end + gap..train.end + gap + validation_len;
        let test = validation.end + gap..validation.end + gap + test_len;
        let split = Self {
            train,
            validation,
            test,
            sequence_length,
            horizon,
        };
        // A slice needs `gap` rows for one sample; `floor(usable * share) >= gap` holds once
        // `usable * share >= gap + 1`, and the smallest share decides.
        let smallest = fractions
            .train
            .min(fractions.validation)
            .min(fractions.test);
        let needed = 2 * gap + ((gap + 1) as f64 / smallest).ceil() as usize;
        for (slice, range) in [
            ("train", &split.train),
            ("validation", &split.validation),
            ("test", &split.test),
        ] {
            let samples = split.sample_ends(range).len();
            if samples == 0 {
                return Err(SplitError::TooFewRows {
                    rows,
                    sequence_length,
                    horizon,
                    slice,
                    samples,
                    needed,
                });
            }
        }
        Ok(split)
    }

    /// The purge gap between consecutive slices (`sequence_length + horizon`).
    pub fn gap(&self) -> usize {
        self.sequence_length + self.horizon
    }

    /// The rows `t` of `slice` that are sample ends: the window `t + 1 - sequence_length ..= t`
    /// and the label rows `t ..= t + horizon` all lie inside `slice`.
    pub fn sample_ends(&self, slice: &Range<usize>) -> Range<usize> {
        let first = slice.start + self.sequence_length - 1;
        let end = slice.end.saturating_sub(self.horizon);
        first..end.max(first)
    }

    /// Sample ends of the training slice.
    pub fn train_samples(&self) -> Range<usize> {
        self.sample_ends(&self.train)
    }

    /// Sample ends of the validation slice.
    pub fn validation_samples(&self) -> Range<usize> {
        self.sample_ends(&self.validation)
    }

    /// Sample ends of the test slice.
    pub fn test_samples(&self) -> Range<usize> {
        self.sample_ends(&self.test)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row a sample touches (window and label), for a slice.
    fn touched(split: &Split, slice: &Range<usize>) -> Range<usize> {
        let ends = split.sample_ends(slice);
        (ends.start + 1 - split.sequence_length)..(ends.end - 1 + split.horizon + 1)
    }

    #[test]
    fn no_window_or_label_crosses_a_boundary_for_many_shapes() {
        for rows in [60, 100, 257, 1000, 20_111] {
            for (seq, horizon) in [(1, 1), (5, 3), (32, 6), (10, 20)] {
                let Ok(split) = Split::new(rows, seq, horizon, &SplitFractions::default()) else {
                    continue;
                };
                let t = touched(&split, &split.train);
                let v = touched(&split, &split.validation);
                let s = touched(&split, &split.test);
                // Everything a slice's samples read lies inside the slice...
                assert!(t.start >= split.train.start && t.end <= split.train.end);
                assert!(v.start >= split.validation.start && v.end <= split.validation.end);
                assert!(s.start >= split.test.start && s.end <= split.test.end);
                // ...and slices are separated by the purge gap, in time order, within the rows.
                assert_eq!(split.validation.start - split.train.end, seq + horizon);
                assert_eq!(split.test.start - split.validation.end, seq + horizon);
                assert!(split.test.end <= rows);
                assert!(t.end + split.gap() <= v.start);
                assert!(v.end + split.gap() <= s.start);
            }
        }
    }

    #[test]
    fn too_few_rows_is_a_clear_error_and_the_hint_is_enough() {
        let fractions = SplitFractions::default();
        match Split::new(50, 32, 6, &fractions) {
            Err(SplitError::TooFewRows { needed, .. }) => {
                assert!(Split::new(needed, 32, 6, &fractions).is_ok());
            }
            other => unreachable!("expected TooFewRows, got {other:?}"),
        }
    }

    #[test]
    fn bad_fractions_are_refused() {
        let bad = SplitFractions {
            train: 0.8,
            validation: 0.15,
            test: 0.15,
        };
        assert!(matches!(
            Split::new(1000, 5, 1, &bad),
            Err(SplitError::Fractions { .. })
        ));
    }
}
