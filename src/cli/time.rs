//! UTC timestamps for people (the wire keeps Unix milliseconds).

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix milliseconds, without a date crate
/// (civil-from-days, Howard Hinnant's algorithm).
pub fn format_utc_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

/// The current UTC time, formatted like [`format_utc_ms`].
pub fn now_utc() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    format_utc_ms(ms)
}

#[cfg(test)]
mod tests {
    use super::format_utc_ms;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc_ms(1_498_906_800_000), "2017-07-01T11:00:00Z");
        assert_eq!(format_utc_ms(1_709_164_800_000), "2024-02-29T00:00:00Z");
        assert_eq!(format_utc_ms(-1_000), "1969-12-31T23:59:59Z");
    }
}
