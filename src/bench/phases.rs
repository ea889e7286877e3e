//! The phases of a bench run and the candle range each one publishes per series: warm-up,
//! sustained, burst and (with `--rate`) paced.

use super::BenchError;
use super::run::BenchOptions;
use std::ops::Range;

/// The bench's phases: name, candle index range per series, pace.
pub(super) struct Phase {
    pub(super) name: &'static str,
    pub(super) range: Range<usize>,
    pub(super) rate: Option<f64>,
    /// The worker is restarted (stopped in order, started again) before the phase publishes.
    pub(super) restart_before: bool,
}

/// Refuses options no run can satisfy, before anything starts.
pub(super) fn check(options: &BenchOptions) -> Result<(), BenchError> {
    if options.series == 0 || options.candles == 0 {
        return Err(BenchError::Usage(
            "--series and --candles must be at least 1".into(),
        ));
    }
    if let Some(rate) = options.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        return Err(BenchError::Usage("--rate must be a positive number".into()));
    }
    if options.restart && options.nats_url.is_some() {
        return Err(BenchError::Usage(
            "--restart restarts the bench's own worker: not with --nats-url".into(),
        ));
    }
    if !(options.paced_seconds.is_finite() && options.paced_seconds > 0.0) {
        return Err(BenchError::Usage(
            "--paced-seconds must be a positive number".into(),
        ));
    }
    Ok(())
}

/// Candles per series in the paced phase: `rate x seconds` spread over the
/// series, at least one each (so every series takes part).
pub(super) fn paced_per_series(options: &BenchOptions) -> usize {
    match options.rate {
        Some(rate) => {
            let total = rate * options.paced_seconds;
            ((total / f64::from(options.series)).round() as usize).max(1)
        }
        None => 0,
    }
}

/// The phases of a run whose warm-up is `warmup` candles per series.
pub(super) fn phases(options: &BenchOptions, warmup: usize) -> Vec<Phase> {
    let sustained_end = warmup + options.candles;
    let mut phases = vec![
        Phase {
            name: "warmup",
            range: 0..warmup,
            rate: None,
            restart_before: false,
        },
        Phase {
            name: "sustained",
            range: warmup..sustained_end,
            rate: None,
            restart_before: false,
        },
        Phase {
            name: "burst",
            range: sustained_end..sustained_end + 1,
            rate: None,
            restart_before: options.restart,
        },
    ];
    if options.rate.is_some() {
        let start = sustained_end + 1;
        phases.push(Phase {
            name: "paced",
            range: start..start + paced_per_series(options),
            rate: options.rate,
            restart_before: false,
        });
    }
    phases
}
