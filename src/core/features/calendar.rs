//! Cyclic time features from the bar's open time (UTC), so the model can
//! learn sessions and weekends. Sine and cosine together place 23:59 next to
//! 00:00, which a plain hour number would put at opposite ends.

use super::vector::Inputs;
use std::f64::consts::TAU;

/// Names of this group's features, in vector order.
pub(crate) const NAMES: [&str; 4] = [
    "time_of_day_sin",
    "time_of_day_cos",
    "day_of_week_sin",
    "day_of_week_cos",
];

/// Milliseconds per day.
const DAY_MS: i64 = 86_400_000;
/// Milliseconds per week.
const WEEK_MS: i64 = 7 * DAY_MS;
/// The Unix epoch fell on a Thursday: shifting by three days puts Monday
/// 00:00 UTC at phase 0 of the week.
const EPOCH_WEEKDAY_SHIFT_MS: i64 = 3 * DAY_MS;

/// Computes the group; always defined. Phases are continuous (a 1-minute bar
/// at 13:37 is at 13.62 h, Tuesday noon at 1.5 days), which carries the
/// integer hour and weekday and also the position within them.
#[inline]
pub(crate) fn compute(inputs: &Inputs<'_>) -> Option<[f64; NAMES.len()]> {
    let (day_phase, week_phase) = phases(inputs.bar.open_time);
    let (day_sin, day_cos) = (TAU * day_phase).sin_cos();
    let (week_sin, week_cos) = (TAU * week_phase).sin_cos();
    Some([day_sin, day_cos, week_sin, week_cos])
}

/// Position of `open_time` within its UTC day and its Monday-based week,
/// each in [0, 1).
fn phases(open_time: i64) -> (f64, f64) {
    let day_phase = open_time.rem_euclid(DAY_MS) as f64 / DAY_MS as f64;
    // Reduce first so the shift cannot overflow near i64::MAX.
    let week_ms = (open_time.rem_euclid(WEEK_MS) + EPOCH_WEEKDAY_SHIFT_MS) % WEEK_MS;
    (day_phase, week_ms as f64 / WEEK_MS as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1970-01-05 00:00 UTC, a Monday.
    const MONDAY: i64 = 4 * DAY_MS;

    #[test]
    fn monday_midnight_starts_both_cycles() {
        assert_eq!(phases(MONDAY), (0.0, 0.0));
        assert_eq!(phases(MONDAY + WEEK_MS * 2_900), (0.0, 0.0));
    }

    #[test]
    fn phases_advance_with_time_of_day_and_weekday() {
        // Wednesday 18:00: 3/4 of the day, (2 + 0.75) / 7 of the week.
        let (day, week) = phases(MONDAY + 2 * DAY_MS + 18 * 3_600_000);
        assert_eq!(day, 0.75);
        assert!((week - 2.75 / 7.0).abs() < 1e-15);
        // The epoch itself is a Thursday.
        assert_eq!(phases(0), (0.0, 3.0 / 7.0));
        // Before the epoch still lands in [0, 1).
        let (day, week) = phases(-1);
        assert!((0.0..1.0).contains(&day) && (0.0..1.0).contains(&week));
        let (day, week) = phases(i64::MAX);
        assert!((0.0..1.0).contains(&day) && (0.0..1.0).contains(&week));
    }
}
