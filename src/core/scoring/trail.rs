//! One series' signals awaiting their label, and the few closes their labels and baselines read.

use std::collections::VecDeque;

use super::{ScoreDrain, ScoreSample};
use crate::contract::Side;
use crate::model::classification::previous_return_sign;
use crate::model::labels::sigma_of;
use crate::model::{LabelKind, LabelSpec, NUM_CLASSES};

/// A signal waiting for the bar `horizon` bars after its own.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Awaiting {
    /// Index of the signal's bar since the series' last reset.
    bar: u64,
    /// The signal's candle's close.
    close: f64,
    /// `σ` at the signal's bar (volatility labels).
    sigma: Option<f64>,
    probabilities: [f32; NUM_CLASSES],
    rule: Side,
}

/// Per series: the last [`LabelSpec::lookback`] closes of contiguous bars and the signals of the
/// last `horizon` bars. At most `lookback` closes and `horizon` signals are held, whatever the
/// series' length; nothing is allocated before the series' first bar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreTrail {
    closes: VecDeque<f64>,
    /// Bars observed since the last reset; the index of the next bar.
    bars: u64,
    awaiting: VecDeque<Awaiting>,
}

impl ScoreTrail {
    /// An accepted bar of the series, in order. `contiguous` is false after a gap or reset
    /// (then every awaiting signal is unscorable and the history starts again). Signals whose
    /// horizon ends at this bar are scored into `out`.
    pub fn observe(
        &mut self,
        close: f64,
        contiguous: bool,
        spec: &LabelSpec,
        out: &mut ScoreDrain,
    ) {
        if !contiguous {
            out.unscored_gap += self.awaiting.len() as u64;
            self.clear();
        }
        if self.closes.len() >= spec.lookback() {
            self.closes.pop_front();
        }
        self.closes.push_back(close);
        let bar = self.bars;
        self.bars += 1;
        let horizon = spec.horizon as u64;
        while let Some(front) = self.awaiting.front().copied() {
            if front.bar + horizon > bar {
                break;
            }
            self.awaiting.pop_front();
            // Only `bar == front.bar + horizon` can get here: every bar is observed.
            match spec.realised(front.close, close, front.sigma) {
                Some(label) => out.samples.push(ScoreSample {
                    label,
                    model: front.probabilities,
                    rule: front.rule,
                }),
                None => out.unscored_history += 1,
            }
        }
    }

    /// The bar just observed got a signal with `probabilities`: it waits `horizon` bars for
    /// its label. The previous-return rule's call and, for volatility labels, `σ` are taken
    /// now, from past bars only.
    pub fn await_label(
        &mut self,
        probabilities: [f32; NUM_CLASSES],
        spec: &LabelSpec,
        out: &mut ScoreDrain,
    ) {
        let (Some(bar), Some(&close)) = (self.bars.checked_sub(1), self.closes.back()) else {
            return;
        };
        let closes = self.closes.make_contiguous();
        let rule = previous_return_sign(closes, closes.len() - 1, spec.horizon);
        let sigma = match spec.kind {
            LabelKind::Fixed => None,
            LabelKind::Volatility => {
                let needed = spec.volatility_window + 1;
                let Some(recent) = closes.len().checked_sub(needed).map(|from| &closes[from..])
                else {
                    out.unscored_history += 1;
                    return;
                };
                sigma_of(recent)
            }
        };
        self.awaiting.push_back(Awaiting {
            bar,
            close,
            sigma,
            probabilities,
            rule,
        });
    }

    /// Signals still waiting for their label.
    pub fn awaiting(&self) -> usize {
        self.awaiting.len()
    }

    /// Forgets everything (a reset, or a model with another label definition).
    pub fn clear(&mut self) {
        self.closes.clear();
        self.awaiting.clear();
        self.bars = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(horizon: usize) -> LabelSpec {
        LabelSpec {
            horizon,
            long_threshold: 0.01,
            short_threshold: -0.01,
            ..LabelSpec::default()
        }
    }

    const P: [f32; 3] = [0.6, 0.3, 0.1];

    /// Feeds `closes` bar by bar, a signal on every bar, and returns what was scored.
    fn run(closes: &[f64], spec: &LabelSpec, gaps: &[usize]) -> ScoreDrain {
        let mut trail = ScoreTrail::default();
        let mut out = ScoreDrain::default();
        for (t, &c) in closes.iter().enumerate() {
            trail.observe(c, !gaps.contains(&t), spec, &mut out);
            trail.await_label(P, spec, &mut out);
        }
        out
    }

    #[test]
    fn each_signal_is_scored_by_the_training_labels_of_its_row() {
        let closes = [100.0, 100.0, 101.5, 99.0, 98.9, 99.0, 102.0];
        let spec = fixed(2);
        let out = run(&closes, &spec, &[]);
        let want: Vec<Side> = spec.label(&closes).unwrap().into_iter().flatten().collect();
        let got: Vec<Side> = out.samples.iter().map(|s| s.label).collect();
        assert_eq!(got, want);
        // The rule at row 3: 99 vs 100 two bars back → short.
        assert_eq!(out.samples[3].rule, Side::Short);
        assert_eq!(out.samples[0].rule, Side::Neutral, "no earlier bar");
    }

    #[test]
    fn a_gap_inside_the_horizon_leaves_its_signals_unscored() {
        let closes = [100.0, 101.0, 102.0, 103.0, 104.0, 105.0];
        let out = run(&closes, &fixed(2), &[3]);
        // Bar 0 is scored at bar 2; bars 1 and 2 would need bars 3 and 4, past the gap; after
        // it, bar 3 is scored at bar 5.
        assert_eq!(out.samples.len(), 2, "bar 0 (at 2) and bar 3 (at 5)");
        assert_eq!(out.unscored_gap, 2, "bars 1 and 2 waited across the gap");
    }

    #[test]
    fn volatility_labels_equal_training_labels_once_the_window_is_full() {
        let mut closes = vec![100.0f64];
        let mut x = 0.3f64;
        for _ in 0..300 {
            x = (x * 3.7 * (1.0 - x)).clamp(0.01, 0.99);
            let last = closes[closes.len() - 1];
            closes.push(last * (1.0 + (x - 0.5) * 0.01));
        }
        let spec = LabelSpec {
            kind: LabelKind::Volatility,
            horizon: 3,
            volatility_window: 20,
            ..LabelSpec::default()
        };
        let out = run(&closes, &spec, &[]);
        let want: Vec<Side> = spec.label(&closes).unwrap().into_iter().flatten().collect();
        let got: Vec<Side> = out.samples.iter().map(|s| s.label).collect();
        assert_eq!(got, want);
        assert_eq!(out.unscored_history, 20, "the first 20 bars have no σ");
    }

    #[test]
    fn holds_no_more_than_its_lookback() {
        let spec = fixed(6);
        let mut trail = ScoreTrail::default();
        let mut out = ScoreDrain::default();
        for t in 0..1000 {
            trail.observe(100.0 + t as f64, true, &spec, &mut out);
            trail.await_label(P, &spec, &mut out);
        }
        assert_eq!(trail.closes.len(), spec.lookback());
        assert_eq!(trail.awaiting(), 6);
        assert_eq!(out.samples.len(), 994);
    }
}
