#![allow(clippy::unwrap_used)]
use super::*;

const MIN: i64 = 60_000;

fn session(zone: &str, windows: &[&str], holidays: &[&str]) -> MarketSession {
    MarketSession::try_from(SessionSpec {
        time_zone: zone.into(),
        windows: windows.iter().map(|w| (*w).to_owned()).collect(),
        weekdays: monday_to_friday(),
        holidays: holidays.iter().map(|d| (*d).to_owned()).collect(),
    })
    .unwrap()
}

/// Unix ms of a local wall-clock time in `zone`.
fn local(zone: &str, text: &str) -> i64 {
    let dt: DateTime = text.parse().unwrap();
    dt.to_zoned(TimeZone::get(zone).unwrap())
        .unwrap()
        .timestamp()
        .as_millisecond()
}

fn cffex() -> MarketSession {
    session(
        "Asia/Shanghai",
        &["09:30-11:30", "13:00-15:00"],
        &["2024-02-12"],
    )
}

#[test]
fn closures_of_a_fixed_offset_zone_miss_no_bar() {
    let s = cffex();
    let z = "Asia/Shanghai";
    // Lunch: last bar 11:29, next 13:00.
    assert_eq!(
        s.missing_bars(
            local(z, "2024-03-04T11:29"),
            local(z, "2024-03-04T13:00"),
            MIN
        ),
        0
    );
    // Night: 14:59 → 09:30 next day.
    assert_eq!(
        s.missing_bars(
            local(z, "2024-03-04T14:59"),
            local(z, "2024-03-05T09:30"),
            MIN
        ),
        0
    );
    // Weekend: Friday 14:59 → Monday 09:30.
    assert_eq!(
        s.missing_bars(
            local(z, "2024-03-08T14:59"),
            local(z, "2024-03-11T09:30"),
            MIN
        ),
        0
    );
    // A holiday Monday: Friday → Tuesday.
    assert_eq!(
        s.missing_bars(
            local(z, "2024-02-09T14:59"),
            local(z, "2024-02-13T09:30"),
            MIN
        ),
        0
    );
}

#[test]
fn bars_missing_inside_a_session_are_counted() {
    let s = cffex();
    let z = "Asia/Shanghai";
    // 10:00 → 10:10: 9 bars missing.
    assert_eq!(
        s.missing_bars(
            local(z, "2024-03-04T10:00"),
            local(z, "2024-03-04T10:10"),
            MIN
        ),
        9
    );
    // 11:00 → 13:10: 29 before lunch, 10 after.
    assert_eq!(
        s.missing_bars(
            local(z, "2024-03-04T11:00"),
            local(z, "2024-03-04T13:10"),
            MIN
        ),
        39
    );
    // A whole trading day lost (Tuesday) between Monday's close and Wednesday's open.
    assert_eq!(
        s.missing_bars(
            local(z, "2024-03-04T14:59"),
            local(z, "2024-03-06T09:30"),
            MIN
        ),
        240
    );
    // An hourly bar overlapping a window counts once however many windows it touches.
    assert_eq!(
        s.missing_bars(
            local(z, "2024-03-04T08:00"),
            local(z, "2024-03-04T16:00"),
            60 * MIN
        ),
        // 09:00, 10:00, 11:00 (morning), 13:00, 14:00 (afternoon).
        5
    );
}

#[test]
fn a_zone_with_daylight_saving_moves_the_windows_with_the_clock() {
    // NYSE hours; 2024-03-10 (Sunday) clocks go forward, 2024-11-03 back.
    let s = session("America/New_York", &["09:30-16:00"], &[]);
    let z = "America/New_York";
    for (friday, monday) in [
        ("2024-03-08T15:59", "2024-03-11T09:30"),
        ("2024-11-01T15:59", "2024-11-04T09:30"),
        ("2024-06-14T15:59", "2024-06-17T09:30"),
    ] {
        let (a, b) = (local(z, friday), local(z, monday));
        assert_eq!(s.missing_bars(a, b, MIN), 0, "{friday} → {monday}");
        // The same instants an hour off (a UTC-only reading) would miss bars.
        assert!(s.missing_bars(a, b + 60 * MIN, MIN) >= 60);
    }
    // The UTC offset differs across the change: 09:30 local is 14:30 UTC in winter and
    // 13:30 UTC in summer, and both are the session's first bar.
    assert_eq!(
        local(z, "2024-03-11T09:30") - local(z, "2024-03-08T09:30"),
        3 * 24 * 60 * MIN - 60 * MIN
    );
    assert_eq!(
        s.missing_bars(
            local(z, "2024-03-11T09:30"),
            local(z, "2024-03-11T09:32"),
            MIN
        ),
        1
    );
}

#[test]
fn a_night_window_runs_past_midnight() {
    let s = session("Asia/Shanghai", &["21:00-02:30", "09:00-15:00"], &[]);
    let z = "Asia/Shanghai";
    // Monday night 23:59 → 00:00 Tuesday: consecutive.
    assert_eq!(
        s.missing_bars(
            local(z, "2024-03-04T23:59"),
            local(z, "2024-03-05T00:01"),
            MIN
        ),
        1
    );
    // 02:29 → 09:00: a closure.
    assert_eq!(
        s.missing_bars(
            local(z, "2024-03-05T02:29"),
            local(z, "2024-03-05T09:00"),
            MIN
        ),
        0
    );
    // Friday's night session runs into Saturday morning, then nothing until Monday 09:00.
    assert_eq!(
        s.missing_bars(
            local(z, "2024-03-09T02:29"),
            local(z, "2024-03-11T09:00"),
            MIN
        ),
        0
    );
}

#[test]
fn a_long_outage_counts_every_bar() {
    let s = cffex();
    let a = local("Asia/Shanghai", "2020-01-02T10:00");
    let b = local("Asia/Shanghai", "2024-01-02T10:00");
    assert_eq!(s.missing_bars(a, b, MIN), ((b - a) / MIN - 1) as u64);
}

#[test]
fn the_shipped_settings_describe_cffex() {
    let sessions = shipped();
    let s = sessions.get(CFFEX).unwrap();
    assert_eq!(s.spec().holidays.len(), CFFEX_HOLIDAYS.len());
    let z = "Asia/Shanghai";
    // Spring Festival 2024: Thursday 8 Feb → Monday 19 Feb is one closure.
    assert_eq!(
        s.missing_bars(
            local(z, "2024-02-08T14:59"),
            local(z, "2024-02-19T09:30"),
            MIN
        ),
        0
    );
}

#[test]
fn bad_settings_are_refused_with_the_reason() {
    let spec = |zone: &str, window: &str, day: &str, holiday: &str| SessionSpec {
        time_zone: zone.into(),
        windows: vec![window.into()],
        weekdays: vec![day.into()],
        holidays: match holiday {
            "" => vec![],
            h => vec![h.into()],
        },
    };
    for (bad, says) in [
        (spec("Mars/Olympus", "09:00-10:00", "mon", ""), "time_zone"),
        (spec("UTC", "9-10", "mon", ""), "window"),
        (spec("UTC", "09:00-25:00", "mon", ""), "window"),
        (spec("UTC", "09:00-09:00", "mon", ""), "empty"),
        (spec("UTC", "09:00-10:00", "monday", ""), "weekday"),
        (spec("UTC", "09:00-10:00", "mon", "2024-13-01"), "holiday"),
    ] {
        let error = MarketSession::try_from(bad).unwrap_err();
        assert!(error.contains(says), "{error}");
    }
    assert!(MarketSession::try_from(spec("UTC", "00:00-24:00", "sun", "")).is_ok());
}
