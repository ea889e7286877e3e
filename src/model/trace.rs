//! Every scored sample's label and the three forecasts of it, kept in order: what the report's
//! pictures (reliability diagram, cumulative log-loss) are drawn from. Training keeps one for its
//! test slice; `model evaluate --plot` keeps one for a recorded file.

use crate::model::side::NUM_CLASSES;

use crate::contract::Side;

/// Labels and forecasts, sample by sample, in time order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForecastTrace {
    /// Open time (Unix ms) of each sample's bar (empty when not known).
    pub open_times: Vec<i64>,
    /// What happened.
    pub labels: Vec<Side>,
    /// The model's probabilities.
    pub model: Vec<[f32; NUM_CLASSES]>,
    /// The training prior's.
    pub prior: Vec<[f32; NUM_CLASSES]>,
    /// The previous-return-sign rule's.
    pub rule: Vec<[f32; NUM_CLASSES]>,
}

impl ForecastTrace {
    /// The samples sorted by open time (stable: one series' samples keep their order).
    pub fn in_time_order(
        open_times: Vec<i64>,
        labels: Vec<Side>,
        model: Vec<[f32; NUM_CLASSES]>,
        prior: Vec<[f32; NUM_CLASSES]>,
        rule: Vec<[f32; NUM_CLASSES]>,
    ) -> Self {
        let mut order: Vec<usize> = (0..open_times.len()).collect();
        order.sort_by_key(|&i| open_times.get(i).copied().unwrap_or_default());
        let pick = |v: &[[f32; NUM_CLASSES]]| -> Vec<_> {
            order.iter().filter_map(|&i| v.get(i).copied()).collect()
        };
        Self {
            open_times: order
                .iter()
                .filter_map(|&i| open_times.get(i).copied())
                .collect(),
            labels: order
                .iter()
                .filter_map(|&i| labels.get(i).copied())
                .collect(),
            model: pick(&model),
            prior: pick(&prior),
            rule: pick(&rule),
        }
    }

    /// Appends one sample (in order).
    pub fn push(
        &mut self,
        label: Side,
        model: [f32; NUM_CLASSES],
        prior: [f32; NUM_CLASSES],
        rule: [f32; NUM_CLASSES],
    ) {
        self.labels.push(label);
        self.model.push(model);
        self.prior.push(prior);
        self.rule.push(rule);
    }

    /// Samples held.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether it holds no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}
