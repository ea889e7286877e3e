//! From what a run measured to its [`Report`]: the headline figures picked from the phases.

use super::report::{PhaseReport, Report, RestartReport};
use super::run::BenchOptions;
use super::worker::Consumer;
use crate::config::Settings;

/// What one consumer's run measured.
pub(super) struct Measured {
    pub(super) phases: Vec<PhaseReport>,
    pub(super) rss_mb: Option<f64>,
    pub(super) stray: u64,
    pub(super) restart: Option<RestartReport>,
}

/// The report of one consumer's measured run (`passthrough`: the ceiling's, measured before).
pub(super) fn report(
    options: &BenchOptions,
    settings: &Settings,
    warmup: usize,
    consumer: Consumer,
    measured: Measured,
    passthrough: Option<Report>,
) -> Report {
    let Measured {
        phases,
        rss_mb,
        stray: stray_signals,
        restart,
    } = measured;
    let find = |name: &str| phases.iter().find(|p| p.name == name);
    let sustained = find("sustained");
    let latency_phase = match find("paced") {
        Some(_) => "paced",
        None => "sustained",
    };
    let latency = find(latency_phase).map(|p| p.latency);
    let measured: Vec<&PhaseReport> = phases.iter().filter(|p| p.name != "warmup").collect();
    let worker_cpu_s = measured.iter().map(|p| p.worker_cpu_s).sum::<Option<f64>>();
    let measured_wall_s = measured.iter().map(|p| p.wall_ms).sum::<f64>() / 1_000.0;
    let sustained_candles_per_s = sustained.map_or(0.0, |p| p.candles_per_s);
    Report {
        consumer: consumer.name(),
        series: options.series,
        candles: phases.iter().map(|p| p.candles).sum(),
        signals: phases.iter().map(|p| p.signals).sum(),
        warmup_candles_per_series: warmup,
        sustained_candles_per_s,
        burst_ms: find("burst").map_or(0.0, |p| p.wall_ms),
        latency_phase,
        latency_p50_ms: latency.map_or(0.0, |l| l.p50_ms),
        latency_p90_ms: latency.map_or(0.0, |l| l.p90_ms),
        latency_p99_ms: latency.map_or(0.0, |l| l.p99_ms),
        latency_max_ms: latency.map_or(0.0, |l| l.max_ms),
        rss_mb,
        worker_cpu_s,
        worker_cores: worker_cpu_s.map(|c| c / measured_wall_s.max(1e-9)),
        target: match (&options.nats_url, options.cluster) {
            (Some(_), _) => "external",
            (None, false) => "own",
            (None, true) => "own-cluster",
        },
        replicas: settings.nats.replicas,
        batch_size: settings.serve.batch_size,
        max_wait_ms: settings.serve.max_wait_ms,
        stray_signals,
        restart,
        phases,
        sustained_share_of_passthrough: passthrough
            .as_ref()
            .map(|p| sustained_candles_per_s / p.sustained_candles_per_s.max(1e-9)),
        passthrough: passthrough.map(Box::new),
    }
}
