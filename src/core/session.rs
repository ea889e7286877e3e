//! Market sessions: when an exchange trades, so that a market's closures (nights, lunch breaks,
//! weekends, holidays) are told apart from missing data.
//!
//! A session market's bars stop at the close and start again at the next open. Counting those
//! hours as missing bars resets every series each night (a CFFEX night is 1,110 one-minute
//! bars, past the default `sequence.gap_reset_bars`) and makes the model warm up again every
//! morning. With the exchange's session described, only the missing bars that would have fallen
//! inside a session count; a gap of closures alone is no gap at all, and the features go on over
//! it as TA-Lib and charting platforms do (the last bar before the close and the first after the
//! open are consecutive).
//!
//! Local times are converted with the IANA time zone database bundled into the binary (jiff with
//! `tzdb-bundle-always`), so a session means the same instants on every machine and daylight
//! saving time moves the windows with the local clock.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Longest gap (days) whose session bars are counted one day at a time; a longer one is an
/// outage by any measure and counts every missing bar.
const MAX_COUNTED_DAYS: i64 = 400;
/// Minutes in a day: a window may end at `24:00`.
const DAY_MINUTES: u32 = 24 * 60;
/// Weekday names in the settings, Monday first (jiff's Monday-zero offset).
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A market session as written in the settings (`[sequence.sessions.<exchange>]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSpec {
    /// IANA time zone of the exchange's clock, e.g. `Asia/Shanghai`, `America/New_York`.
    pub time_zone: String,
    /// Daily trading windows in local time, `HH:MM-HH:MM`, start inclusive and end exclusive;
    /// a window whose end is not after its start runs past midnight (a night session belongs to
    /// the trading day it opens on).
    pub windows: Vec<String>,
    /// The days the windows open on (`mon` … `sun`); Monday to Friday when left out.
    #[serde(default = "monday_to_friday")]
    pub weekdays: Vec<String>,
    /// Local dates (`YYYY-MM-DD`) the market is closed although they are trading weekdays.
    #[serde(default)]
    pub holidays: Vec<String>,
}

fn monday_to_friday() -> Vec<String> {
    WEEKDAYS[..5].iter().map(|d| (*d).to_owned()).collect()
}

/// One daily window in minutes after local midnight; `end <= start` runs past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    start: u32,
    end: u32,
}

/// A market session ready to use: the time zone resolved, windows and dates parsed. Read from
/// and written as its [`SessionSpec`], so a wrong zone or window fails when the settings load.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "SessionSpec", into = "SessionSpec")]
pub struct MarketSession {
    spec: SessionSpec,
    zone: TimeZone,
    windows: Vec<Window>,
    /// Open on this weekday (Monday first)?
    weekdays: [bool; 7],
    holidays: BTreeSet<Date>,
}

impl PartialEq for MarketSession {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec
    }
}

impl From<MarketSession> for SessionSpec {
    fn from(session: MarketSession) -> Self {
        session.spec
    }
}

impl TryFrom<SessionSpec> for MarketSession {
    type Error = String;

    fn try_from(spec: SessionSpec) -> Result<Self, String> {
        let zone = TimeZone::get(&spec.time_zone)
            .map_err(|_| format!("time_zone {:?} is not an IANA time zone", spec.time_zone))?;
        if spec.windows.is_empty() {
            return Err("windows must name at least one HH:MM-HH:MM window".into());
        }
        let windows = spec
            .windows
            .iter()
            .map(|w| parse_window(w))
            .collect::<Result<Vec<_>, _>>()?;
        let mut weekdays = [false; 7];
        for day in &spec.weekdays {
            let i = WEEKDAYS
                .iter()
                .position(|d| d.eq_ignore_ascii_case(day))
                .ok_or_else(|| format!("weekday {day:?} is not one of {}", WEEKDAYS.join(", ")))?;
            weekdays[i] = true;
        }
        if !weekdays.contains(&true) {
            return Err("weekdays must name at least one day".into());
        }
        let holidays = spec
            .holidays
            .iter()
            .map(|d| {
                d.parse::<Date>()
                    .map_err(|_| format!("holiday {d:?} is not a YYYY-MM-DD date"))
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(Self {
            spec,
            zone,
            windows,
            weekdays,
            holidays,
        })
    }
}

/// `HH:MM-HH:MM` as minutes after midnight (`24:00` allowed as an end).
fn parse_window(text: &str) -> Result<Window, String> {
    let bad = || format!("window {text:?} is not HH:MM-HH:MM");
    let (start, end) = text.split_once('-').ok_or_else(bad)?;
    let minutes = |hhmm: &str, last: u32| -> Result<u32, String> {
        let (h, m) = hhmm.trim().split_once(':').ok_or_else(bad)?;
        let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        let total = h * 60 + m;
        if m >= 60 || total > last {
            return Err(bad());
        }
        Ok(total)
    };
    let window = Window {
        start: minutes(start, DAY_MINUTES - 1)?,
        end: minutes(end, DAY_MINUTES)?,
    };
    if window.start == window.end {
        return Err(format!("window {text:?} is empty"));
    }
    Ok(window)
}

impl MarketSession {
    /// The settings this session was read from.
    pub fn spec(&self) -> &SessionSpec {
        &self.spec
    }

    /// Whether windows open on local `date`: a trading weekday that is not a holiday.
    fn trades_on(&self, date: Date) -> bool {
        let weekday = date.weekday().to_monday_zero_offset() as usize;
        self.weekdays.get(weekday).copied().unwrap_or(false) && !self.holidays.contains(&date)
    }

    /// How many bars of `interval_ms` that open strictly between `last` and `next` (on `last`'s
    /// grid, Unix ms) overlap a trading window: the bars a gap from `last` to `next` really
    /// misses. 0 means the gap is a closure.
    pub fn missing_bars(&self, last: i64, next: i64, interval_ms: i64) -> u64 {
        let interval = interval_ms.max(1);
        let naive =
            u64::try_from((next.saturating_sub(last) / interval).saturating_sub(1)).unwrap_or(0);
        if naive == 0 {
            return 0;
        }
        // Candidate bar open times: last + k·interval for k ≥ 1, below next.
        let (lo, hi) = (last.saturating_add(1), next.saturating_sub(1));
        let (Some(first_day), Some(last_day)) = (self.local_date(lo), self.local_date(hi)) else {
            return naive;
        };
        // A night window that opened the day before can cover the first bars.
        let Ok(first_day) = first_day.yesterday() else {
            return naive;
        };
        if (last_day - first_day).get_days() as i64 > MAX_COUNTED_DAYS {
            return naive;
        }
        let mut open: Vec<(i64, i64)> = Vec::new();
        let mut day = first_day;
        while day <= last_day {
            if self.trades_on(day) {
                for window in &self.windows {
                    if let Some((start, end)) = self.instants(day, *window) {
                        // Bar [t, t + interval) overlaps [start, end): t in (start - interval, end).
                        open.push((start.saturating_sub(interval) + 1, end - 1));
                    }
                }
            }
            let Ok(next_day) = day.tomorrow() else { break };
            day = next_day;
        }
        open.sort_unstable();
        let mut missing = 0u64;
        let mut covered_to = i64::MIN;
        for (start, end) in open {
            let start = start.max(lo).max(covered_to.saturating_add(1));
            let end = end.min(hi);
            if start > end {
                continue;
            }
            missing += grid_points(last, interval, start, end);
            covered_to = covered_to.max(end);
        }
        missing.min(naive)
    }

    /// The local date of instant `ms`.
    fn local_date(&self, ms: i64) -> Option<Date> {
        let at = Timestamp::from_millisecond(ms).ok()?;
        Some(self.zone.to_datetime(at).date())
    }

    /// The instants (Unix ms) a window opens and closes on local `day`.
    fn instants(&self, day: Date, window: Window) -> Option<(i64, i64)> {
        let at = |date: Date, minutes: u32| -> Option<i64> {
            let (date, minutes) = match minutes >= DAY_MINUTES {
                true => (date.tomorrow().ok()?, minutes - DAY_MINUTES),
                false => (date, minutes),
            };
            let local: DateTime = date.at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0);
            // A local time skipped by a daylight-saving change resolves forward, as clocks do.
            let instant = self.zone.to_ambiguous_timestamp(local).compatible().ok()?;
            Some(instant.as_millisecond())
        };
        let start = at(day, window.start)?;
        let end = match window.end > window.start {
            true => at(day, window.end)?,
            false => at(day.tomorrow().ok()?, window.end)?,
        };
        Some((start, end))
    }
}

/// How many of `origin + k·step` (k ≥ 1) lie in `[from, to]`.
fn grid_points(origin: i64, step: i64, from: i64, to: i64) -> u64 {
    let first_k = (from - origin + step - 1).div_euclid(step).max(1);
    let last_k = (to - origin).div_euclid(step);
    u64::try_from(last_k - first_k + 1).unwrap_or(0)
}

/// The exchange token of the China Financial Futures Exchange in the shipped settings.
pub const CFFEX: &str = "cffex";

/// The sessions in the shipped settings: CFFEX index futures (IC, IM, IF, IH), the market of
/// the bundled 1-minute files. Holidays are the exchange's weekday closures for 2024 and 2025;
/// add later years as the exchange announces them (a missing holiday counts as a lost trading
/// day, 240 one-minute bars, which stays under `gap_reset_bars` until four run together).
pub fn shipped() -> std::collections::BTreeMap<String, MarketSession> {
    let spec = SessionSpec {
        time_zone: "Asia/Shanghai".into(),
        windows: vec!["09:30-11:30".into(), "13:00-15:00".into()],
        weekdays: monday_to_friday(),
        holidays: CFFEX_HOLIDAYS.iter().map(|d| (*d).to_owned()).collect(),
    };
    // The spec is a constant of this file, checked by a test: it always parses.
    MarketSession::try_from(spec)
        .map(|s| std::collections::BTreeMap::from([(CFFEX.to_owned(), s)]))
        .unwrap_or_default()
}

/// CFFEX weekday closures (New Year, Spring Festival, Qingming, Labour Day, Dragon Boat,
/// Mid-Autumn, National Day).
const CFFEX_HOLIDAYS: [&str; 38] = [
    "2024-01-01",
    "2024-02-09",
    "2024-02-12",
    "2024-02-13",
    "2024-02-14",
    "2024-02-15",
    "2024-02-16",
    "2024-04-04",
    "2024-04-05",
    "2024-05-01",
    "2024-05-02",
    "2024-05-03",
    "2024-06-10",
    "2024-09-16",
    "2024-09-17",
    "2024-10-01",
    "2024-10-02",
    "2024-10-03",
    "2024-10-04",
    "2024-10-07",
    "2025-01-01",
    "2025-01-28",
    "2025-01-29",
    "2025-01-30",
    "2025-01-31",
    "2025-02-03",
    "2025-02-04",
    "2025-04-04",
    "2025-05-01",
    "2025-05-02",
    "2025-05-05",
    "2025-06-02",
    "2025-10-01",
    "2025-10-02",
    "2025-10-03",
    "2025-10-06",
    "2025-10-07",
    "2025-10-08",
];

#[cfg(test)]
mod tests;
