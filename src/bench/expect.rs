//! The signals each phase must yield, computed with the worker's own pure
//! pipeline before anything is published.
//!
//! Warm-up candles produce no signal (the features and the model's window
//! need history), and in principle any candle could be rejected; rather than
//! hard-coding "the first 80 bars are warm-up", the bench runs the very
//! pipeline the worker runs, with the same model and settings, over each
//! distinct slice of the workload. That tells exactly how many signals must
//! arrive, so a phase ends when the last one does, never after a guessed sleep.

use super::BenchError;
use super::load::Workload;
use crate::config::Settings;
use crate::contract::CandleMessage;
use crate::contract::codec::{self, Encoding};
use crate::contract::subject::series_subject;
use crate::core::pipeline::{Input, Outcome, Pipeline};
use crate::runtime::model::{build_pipeline, load_predictor};
use std::ops::Range;
use std::path::Path;

/// Which candle of each slice yields a signal.
#[derive(Debug, Clone)]
pub struct Expected {
    /// `flags[variant][index]`: candle `index` of that slice yields a signal.
    flags: Vec<Vec<bool>>,
}

/// Loads and verifies the model the worker uses (`model.dir`) and builds a
/// fresh pure pipeline around it. Blocking.
pub fn pipeline(settings: &Settings) -> Result<Pipeline, BenchError> {
    let predictor = load_predictor(settings, Path::new(&settings.model.dir))
        .map_err(|e| BenchError::Expectation(format!("model {}: {e}", settings.model.dir)))?;
    build_pipeline(settings, predictor).map_err(|e| BenchError::Expectation(e.to_string()))
}

/// Encodes candles as the wire carries them (MessagePack, with their subject),
/// so the pipeline judges exactly the bytes the worker will receive.
fn encode(prefix: &str, candles: &[CandleMessage]) -> Result<Vec<(String, Vec<u8>)>, BenchError> {
    candles
        .iter()
        .map(|c| {
            let subject = series_subject(prefix, &c.exchange, &c.symbol, &c.interval);
            codec::encode(c, Encoding::MessagePack)
                .map(|bytes| (subject, bytes))
                .map_err(|e| BenchError::Expectation(e.to_string()))
        })
        .collect()
}

/// Runs `candles` (one series) through `pipeline` in one batch, as the worker
/// would over any batching (per-series outcomes do not depend on batching).
fn outcomes(
    pipeline: &mut Pipeline,
    prefix: &str,
    candles: &[CandleMessage],
    now_ms: i64,
) -> Result<Vec<Outcome>, BenchError> {
    let encoded = encode(prefix, candles)?;
    let inputs: Vec<Input<'_>> = encoded
        .iter()
        .map(|(subject, bytes)| Input::on_subject(subject, bytes))
        .collect();
    pipeline
        .process(&inputs, Some(now_ms))
        .map_err(|e| BenchError::Expectation(e.to_string()))
}

/// How many candles a series needs before (and including) its first signal:
/// the length of the warm-up phase, and that first signal (whose size the pass-through's
/// messages take). `probe` is a series identity no workload series uses, so this leaves no
/// state the later computation sees.
pub fn warmup_len(
    pipeline: &mut Pipeline,
    prefix: &str,
    bars: &[CandleMessage],
    now_ms: i64,
) -> Result<(usize, crate::contract::Signal), BenchError> {
    // Warming candles cost no inference, so one candle per call is cheap,
    // and it stops right at the first signal instead of scoring the file.
    for (index, bar) in bars.iter().enumerate() {
        let mut probe = bar.clone();
        probe.exchange = "bench-probe".into();
        let outcome = outcomes(pipeline, prefix, std::slice::from_ref(&probe), now_ms)?;
        if let Some(Outcome::Signal(signal)) = outcome.into_iter().next() {
            return Ok((index + 1, signal));
        }
    }
    Err(BenchError::Expectation(format!(
        "no signal in all {} bars of the bundled file: the model's warm-up is longer than the data",
        bars.len()
    )))
}

impl Expected {
    /// Computes the outcome of every candle of every slice of `workload`.
    pub fn compute(
        pipeline: &mut Pipeline,
        prefix: &str,
        workload: &Workload,
        now_ms: i64,
    ) -> Result<Self, BenchError> {
        let flags = (0..workload.variants())
            .map(|variant| {
                let candles = workload.variant_candles(variant);
                let outs = outcomes(pipeline, prefix, &candles, now_ms)?;
                Ok(outs
                    .iter()
                    .map(|o| matches!(o, Outcome::Signal(_)))
                    .collect())
            })
            .collect::<Result<Vec<Vec<bool>>, BenchError>>()?;
        Ok(Self { flags })
    }

    /// Every candle of every slice yields one message: what the pass-through answers.
    pub fn every_candle(workload: &Workload) -> Self {
        let flags = (0..workload.variants())
            .map(|_| vec![true; workload.per_series()])
            .collect();
        Self { flags }
    }

    /// Whether candle `index` of series `series` yields a signal.
    pub fn signals_at(&self, workload: &Workload, series: u32, index: usize) -> bool {
        self.flags
            .get(workload.variant_of(series))
            .and_then(|f| f.get(index))
            .copied()
            .unwrap_or(false)
    }

    /// Signals that candles `range` of every series must yield.
    pub fn signals_in(&self, workload: &Workload, range: Range<usize>) -> u64 {
        (0..workload.series())
            .map(|series| {
                range
                    .clone()
                    .filter(|&index| self.signals_at(workload, series, index))
                    .count() as u64
            })
            .sum()
    }
}
