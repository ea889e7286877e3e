//! Feature rows for training: the same intake and feature engine as the live
//! pipeline, so training features cannot drift from serving features.

use super::Bar;
use super::features::{FeatureSettings, SeriesFeatures};
use super::intake::{Intake, Verdict};
use super::sequence::SequenceSettings;
use super::validate::ValidationSettings;
use crate::contract::CandleMessage;

/// Complete feature vectors of one series, one per bar after warm-up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureRows {
    /// Row-major, `closes.len() x FEATURE_NAMES.len()`.
    pub rows: Vec<f32>,
    /// Close of each row's bar.
    pub closes: Vec<f64>,
    /// Open time of each row's bar.
    pub open_times: Vec<i64>,
    /// Input records refused (invalid, duplicate, out of order).
    pub rejected: u64,
    /// Valid bars consumed by warm-up (no complete vector yet).
    pub warmup: u64,
}

/// Runs one continuous series (no gap resets: a recorded file is one history)
/// through validation and the feature engine.
pub fn feature_rows(
    candles: impl IntoIterator<Item = CandleMessage>,
    validation: &ValidationSettings,
    features: &FeatureSettings,
) -> FeatureRows {
    let continuous = SequenceSettings {
        gap_reset_bars: 0,
        ..Default::default()
    };
    let mut intake: Intake<SeriesFeatures> = Intake::new(validation.clone(), continuous);
    let mut out = FeatureRows::default();
    for msg in candles {
        let (verdict, state) =
            intake.judge_with(msg.view(), None, None, || SeriesFeatures::new(features));
        let (Verdict::Accepted { candle, .. }, Some(state)) = (verdict, state) else {
            out.rejected += 1;
            continue;
        };
        if state.update(&Bar::from(&candle)).is_err() {
            out.rejected += 1;
            continue;
        }
        match state.features() {
            Some(values) => {
                out.rows.extend_from_slice(values);
                out.closes.push(candle.close);
                out.open_times.push(candle.open_time);
            }
            None => out.warmup += 1,
        }
    }
    out
}
