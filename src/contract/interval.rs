//! Candle intervals: the closed set the worker understands.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use super::text::Text;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
const WEEK_MS: i64 = 7 * DAY_MS;
/// Weekly bars open on Monday 00:00 UTC (the exchange convention); the Unix
/// epoch fell on a Thursday, so Monday-aligned weeks are offset by four days.
const WEEK_ALIGNMENT_OFFSET_MS: i64 = 4 * DAY_MS;

/// A candle interval. The wire form is the usual exchange token (`1m`, `4h`, `1w`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Interval {
    /// One minute.
    M1,
    /// Three minutes.
    M3,
    /// Five minutes.
    M5,
    /// Fifteen minutes.
    M15,
    /// Thirty minutes.
    M30,
    /// One hour.
    H1,
    /// Two hours.
    H2,
    /// Four hours.
    H4,
    /// Six hours.
    H6,
    /// Eight hours.
    H8,
    /// Twelve hours.
    H12,
    /// One day (UTC midnight to midnight).
    D1,
    /// One week (Monday 00:00 UTC).
    W1,
}

/// An interval token that is not in the supported set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown interval {0:?} (supported: 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 1w)")]
pub struct UnknownInterval(pub String);

impl Interval {
    /// Every supported interval, shortest first.
    pub const ALL: [Interval; 13] = [
        Self::M1,
        Self::M3,
        Self::M5,
        Self::M15,
        Self::M30,
        Self::H1,
        Self::H2,
        Self::H4,
        Self::H6,
        Self::H8,
        Self::H12,
        Self::D1,
        Self::W1,
    ];

    /// The wire token as shared text: made once per interval, then shared by every signal.
    pub fn text(self) -> Text {
        static TEXTS: LazyLock<[Text; 13]> =
            LazyLock::new(|| Interval::ALL.map(|i| Text::from(i.as_str())));
        Self::ALL
            .iter()
            .position(|&i| i == self)
            .and_then(|index| TEXTS.get(index))
            .cloned()
            .unwrap_or_else(|| Text::from(self.as_str()))
    }

    /// The wire token.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::M1 => "1m",
            Self::M3 => "3m",
            Self::M5 => "5m",
            Self::M15 => "15m",
            Self::M30 => "30m",
            Self::H1 => "1h",
            Self::H2 => "2h",
            Self::H4 => "4h",
            Self::H6 => "6h",
            Self::H8 => "8h",
            Self::H12 => "12h",
            Self::D1 => "1d",
            Self::W1 => "1w",
        }
    }

    /// Length of one bar in milliseconds.
    pub fn millis(self) -> i64 {
        match self {
            Self::M1 => MINUTE_MS,
            Self::M3 => 3 * MINUTE_MS,
            Self::M5 => 5 * MINUTE_MS,
            Self::M15 => 15 * MINUTE_MS,
            Self::M30 => 30 * MINUTE_MS,
            Self::H1 => HOUR_MS,
            Self::H2 => 2 * HOUR_MS,
            Self::H4 => 4 * HOUR_MS,
            Self::H6 => 6 * HOUR_MS,
            Self::H8 => 8 * HOUR_MS,
            Self::H12 => 12 * HOUR_MS,
            Self::D1 => DAY_MS,
            Self::W1 => WEEK_MS,
        }
    }

    /// Whether `open_time` (Unix ms) starts a bar of this interval.
    pub fn is_aligned(self, open_time: i64) -> bool {
        let offset = if self == Self::W1 {
            WEEK_ALIGNMENT_OFFSET_MS
        } else {
            0
        };
        // Checked: an `open_time` near `i64::MIN` is simply not aligned (validation refuses it
        // by range first anyway).
        open_time
            .checked_sub(offset)
            .is_some_and(|t| t.rem_euclid(self.millis()) == 0)
    }
}

impl FromStr for Interval {
    type Err = UnknownInterval;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| UnknownInterval(s.to_owned()))
    }
}

impl TryFrom<String> for Interval {
    type Error = UnknownInterval;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Interval> for String {
    fn from(i: Interval) -> Self {
        i.as_str().to_owned()
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for i in Interval::ALL {
            assert_eq!(i.as_str().parse::<Interval>().unwrap(), i);
        }
        assert!("2m".parse::<Interval>().is_err());
        assert!("1H".parse::<Interval>().is_err());
    }

    #[test]
    fn durations_increase() {
        for pair in Interval::ALL.windows(2) {
            assert!(pair[0].millis() < pair[1].millis());
        }
    }

    #[test]
    fn weekly_bars_align_to_monday() {
        // 2024-01-01 00:00 UTC was a Monday; 2024-01-04 a Thursday.
        assert!(Interval::W1.is_aligned(1_704_067_200_000));
        assert!(!Interval::W1.is_aligned(1_704_326_400_000));
        assert!(Interval::D1.is_aligned(1_704_326_400_000));
        assert!(!Interval::H1.is_aligned(1_704_067_200_001));
    }
}
