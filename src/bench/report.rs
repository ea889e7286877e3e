//! The bench's figures: one serialisable [`Report`], rendered as a table for
//! people or printed as one JSON object for scripts.

use super::meter::LatencySummary;
use serde::Serialize;
use std::fmt::Write as _;

/// Figures of one phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    /// `warmup`, `sustained`, `burst` or `paced`.
    pub name: &'static str,
    /// Candles published in the phase.
    pub candles: u64,
    /// Signals received (always equal to the expected count, or the run fails).
    pub signals: u64,
    /// From the first candle sent to the last signal received (ms).
    pub wall_ms: f64,
    /// Publishing alone: from the first candle sent to the last ack (ms).
    pub publish_ms: f64,
    /// Candles per second over `wall_ms`.
    pub candles_per_s: f64,
    /// The paced rate asked for (candles/s), for the paced phase.
    pub target_rate: Option<f64>,
    /// Candle-to-signal latency.
    pub latency: LatencySummary,
    /// The worker's CPU time during the phase (s), when it is watched.
    pub worker_cpu_s: Option<f64>,
}

/// A restart before the burst (`--restart`): the start-up from series snapshots.
#[derive(Debug, Clone, Serialize)]
pub struct RestartReport {
    /// From SIGTERM to the old process's exit, its last checkpoint written (ms).
    pub stop_ms: f64,
    /// From the new process's start to the first signal it published (ms): loading the model,
    /// connecting, resuming every series from Redis, then its first batch.
    pub first_signal_ms: f64,
    /// From the new process's start to the burst's last signal (ms).
    pub last_signal_ms: f64,
    /// Series the new process resumed from their snapshots (its
    /// `signal_worker_snapshots_restored_total`), when its metrics could be read.
    pub resumed_series: Option<f64>,
}

/// Everything a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What consumed the candles: `worker`, or `passthrough` (the ceiling).
    pub consumer: &'static str,
    /// Series in the workload.
    pub series: u32,
    /// Candles published over all phases.
    pub candles: u64,
    /// Signals received over all phases (as the pure pipeline predicted).
    pub signals: u64,
    /// Candles per series in the warm-up phase (history until the first signal).
    pub warmup_candles_per_series: usize,
    /// Sustained phase throughput (candles/s).
    pub sustained_candles_per_s: f64,
    /// Burst: every series' next candle at once, until the last signal (ms).
    pub burst_ms: f64,
    /// Which phase the top-level latency figures come from (`paced` when a
    /// `--rate` was given: queueing in the unpaced phases measures backlog,
    /// not the worker's latency).
    pub latency_phase: &'static str,
    /// Candle-to-signal latency p50 (ms).
    pub latency_p50_ms: f64,
    /// p90 (ms).
    pub latency_p90_ms: f64,
    /// p99 (ms).
    pub latency_p99_ms: f64,
    /// Slowest (ms).
    pub latency_max_ms: f64,
    /// The worker's peak resident set size (MiB), when it is watched.
    pub rss_mb: Option<f64>,
    /// The worker's CPU time over the measured phases (s), when watched.
    pub worker_cpu_s: Option<f64>,
    /// That CPU time over the measured phases' wall time (1.0 = one core busy).
    pub worker_cores: Option<f64>,
    /// `own` (server and worker started by the bench), `own-cluster` (a 3-node cluster and
    /// the worker started by the bench) or `external`.
    pub target: &'static str,
    /// Copies of each stream (`nats.replicas`): 1, or 3 on a cluster.
    pub replicas: usize,
    /// The worker's batch settings (as this process reads them; an external
    /// worker may run others).
    pub batch_size: usize,
    /// Longest wait for a batch (ms).
    pub max_wait_ms: u64,
    /// Signals received that no phase expected (a redelivery; 0 in a clean run).
    pub stray_signals: u64,
    /// With `--restart`: the worker's start-up from snapshots before the burst. Snapshots are
    /// then on for the whole run (every signal is also written to Redis, each changed series'
    /// snapshot at every checkpoint), so its other figures are not those of a run without.
    pub restart: Option<RestartReport>,
    /// Every phase in order.
    pub phases: Vec<PhaseReport>,
    /// With `--passthrough`: this sustained rate over the pass-through's (1.0 = as fast as a
    /// consumer that does no work at all).
    pub sustained_share_of_passthrough: Option<f64>,
    /// With `--passthrough`: the pass-through's own figures, measured in the same run.
    pub passthrough: Option<Box<Report>>,
}

impl Report {
    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// A table for people: the pass-through's first when it ran, then this one's, then
    /// their ratio.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        if let Some(ceiling) = &self.passthrough {
            out.push_str(&ceiling.to_table());
        }
        out.push_str(&self.own_table());
        if let (Some(share), Some(ceiling)) =
            (self.sustained_share_of_passthrough, &self.passthrough)
        {
            let _ = writeln!(
                out,
                "worker vs passthrough: sustained {:.0} / {:.0} candles/s = {:.1} %; burst {:.1} / {:.1} ms",
                self.sustained_candles_per_s,
                ceiling.sustained_candles_per_s,
                share * 100.0,
                self.burst_ms,
                ceiling.burst_ms
            );
        }
        out
    }

    fn own_table(&self) -> String {
        let mut out = String::new();
        let opt = |v: Option<f64>, unit: &str| match v {
            Some(v) => format!("{v:.1} {unit}"),
            None => "n/a (external worker; pass --worker-pid)".into(),
        };
        let _ = writeln!(
            out,
            "bench ({}): {} series, {} candles, {} signals ({} warm-up candles per series); server {}, streams R{} (serve.batch_size {}, serve.max_wait_ms {})",
            self.consumer,
            self.series,
            self.candles,
            self.signals,
            self.warmup_candles_per_series,
            self.target,
            self.replicas,
            self.batch_size,
            self.max_wait_ms
        );
        let _ = writeln!(
            out,
            "{:<10} {:>9} {:>9} {:>10} {:>12} {:>9} {:>9} {:>9} {:>9} {:>8}",
            "phase",
            "candles",
            "signals",
            "wall ms",
            "candles/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "cpu s"
        );
        for p in &self.phases {
            let _ = writeln!(
                out,
                "{:<10} {:>9} {:>9} {:>10.1} {:>12.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>8}",
                p.name,
                p.candles,
                p.signals,
                p.wall_ms,
                p.candles_per_s,
                p.latency.p50_ms,
                p.latency.p90_ms,
                p.latency.p99_ms,
                p.latency.max_ms,
                p.worker_cpu_s.map_or("-".into(), |c| format!("{c:.2}"))
            );
        }
        let _ = writeln!(
            out,
            "sustained {:.0} candles/s; burst of {} candles signalled in {:.1} ms; latency ({}) p50 {:.2} / p90 {:.2} / p99 {:.2} / max {:.2} ms",
            self.sustained_candles_per_s,
            self.series,
            self.burst_ms,
            self.latency_phase,
            self.latency_p50_ms,
            self.latency_p90_ms,
            self.latency_p99_ms,
            self.latency_max_ms
        );
        let _ = writeln!(
            out,
            "{}: peak RSS {}, CPU {} over the measured phases ({})",
            self.consumer,
            opt(self.rss_mb, "MiB"),
            opt(self.worker_cpu_s, "s"),
            self.worker_cores
                .map_or("-".into(), |c| format!("{c:.2} cores busy"))
        );
        if let Some(r) = &self.restart {
            let resumed = r
                .resumed_series
                .map_or("an unknown number of".into(), |n| format!("{n:.0}"));
            let _ = writeln!(
                out,
                "restart before the burst: stopped in {:.0} ms; the new process's first signal after {:.0} ms, the burst's last after {:.0} ms; {resumed} series resumed from snapshots (snapshots on for the whole run)",
                r.stop_ms, r.first_signal_ms, r.last_signal_ms
            );
        }
        if self.stray_signals > 0 {
            let _ = writeln!(out, "warning: {} unexpected signals", self.stray_signals);
        }
        out
    }
}
