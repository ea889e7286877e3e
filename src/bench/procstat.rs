//! The worker's CPU time and peak memory, read from `/proc` (Linux).
//!
//! CPU time is `utime + stime` of `/proc/<pid>/stat` (all threads, in clock
//! ticks); peak RSS is `VmHWM` of `/proc/<pid>/status`, the kernel's own
//! high-water mark, so no sampling can miss a short peak.

use super::BenchError;
use std::process::Command;

/// Clock ticks per second when `getconf CLK_TCK` cannot be asked (the value
/// on every mainstream Linux architecture).
const DEFAULT_CLOCK_TICKS: u64 = 100;

/// Reads one process's counters.
#[derive(Debug, Clone, Copy)]
pub struct ProcStat {
    pid: u32,
    ticks_per_s: u64,
}

impl ProcStat {
    /// Watches process `pid`; fails if it does not exist (or `/proc` is missing).
    pub fn new(pid: u32) -> Result<Self, BenchError> {
        let stat = Self {
            pid,
            ticks_per_s: clock_ticks(),
        };
        stat.cpu_seconds()?;
        Ok(stat)
    }

    /// User plus system CPU time consumed so far by all its threads (s).
    pub fn cpu_seconds(&self) -> Result<f64, BenchError> {
        let text = self.read("stat")?;
        let ticks = parse_cpu_ticks(&text).ok_or_else(|| self.error("unparsable stat"))?;
        Ok(ticks as f64 / self.ticks_per_s as f64)
    }

    /// Peak resident set size so far (MiB).
    pub fn peak_rss_mb(&self) -> Result<f64, BenchError> {
        let text = self.read("status")?;
        let kb = parse_status_kb(&text, "VmHWM:").ok_or_else(|| self.error("no VmHWM"))?;
        Ok(kb as f64 / 1024.0)
    }

    fn read(&self, file: &str) -> Result<String, BenchError> {
        std::fs::read_to_string(format!("/proc/{}/{file}", self.pid))
            .map_err(|e| self.error(&format!("/proc/{}/{file}: {e}", self.pid)))
    }

    fn error(&self, message: &str) -> BenchError {
        BenchError::ProcStat {
            pid: self.pid,
            message: message.to_owned(),
        }
    }
}

/// `utime + stime` (fields 14 and 15) of a `/proc/<pid>/stat` line. The
/// command name (field 2) may contain spaces and parentheses, so fields are
/// counted from after its last `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): field n is at index n - 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A `Key:   123 kB` line of `/proc/<pid>/status`, in kB.
fn parse_status_kb(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`).
fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(DEFAULT_CLOCK_TICKS)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let stat = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
    }

    #[test]
    fn reads_this_process() {
        let me = ProcStat::new(std::process::id()).unwrap();
        assert!(me.cpu_seconds().unwrap() >= 0.0);
        assert!(me.peak_rss_mb().unwrap() > 0.0);
        assert_eq!(parse_status_kb("VmHWM:\t  1234 kB\n", "VmHWM:"), Some(1234));
    }
}
