//! The wall clock, read only at the edges (the core takes time as an input).

/// Now as Unix milliseconds (UTC); 0 if the clock is before 1970.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
