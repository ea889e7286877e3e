//! Cumulative log-loss over time: one line per forecaster, the running sum of its per-sample
//! log-loss over the scored signals in time order; below it the same sums minus the training
//! prior's, since an edge of 0.01 nats per signal is invisible next to a total of thousands.
//!
//! Why cumulative rather than a rolling mean: the sum needs no window choice, its end is exactly
//! the reported total, and a gap between two lines that keeps widening is an edge that holds
//! over time rather than one lucky stretch.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::{
    BitMapBackend, ChartBuilder, Color, DrawingArea, DrawingAreaErrorKind, DrawingBackend,
    IntoDrawingArea, IntoFont, LineSeries, RGBColor, WHITE,
};

use super::font::FAMILY;
use super::{CUMULATIVE_SIZE, PlotError};
use crate::contract::Side;
use crate::model::classification::PROBABILITY_FLOOR;
use crate::model::side::NUM_CLASSES;

/// The running sum of the per-sample log-loss `−ln max(p[label], PROBABILITY_FLOOR)` (nats):
/// element `i` is the total over samples `0..=i`.
///
/// Probabilities above 1 count as 1 and NaN as the floor, so every step is finite and
/// non-negative and the last element divided by the sample count is the log-loss the metrics
/// report. Labels and probability rows are paired in order (the extra of the longer slice is
/// ignored).
pub fn cumulative_log_loss(labels: &[Side], probabilities: &[[f32; NUM_CLASSES]]) -> Vec<f64> {
    labels
        .iter()
        .zip(probabilities)
        .scan(0.0f64, |total, (label, row)| {
            let p = row.get(label.class_index()).copied().map_or(0.0, f64::from);
            let p = if p.is_nan() {
                PROBABILITY_FLOOR
            } else {
                p.clamp(PROBABILITY_FLOOR, 1.0)
            };
            *total -= p.ln();
            Some(*total)
        })
        .collect()
}

/// One forecaster's line: its legend name and [`cumulative_log_loss`].
pub(super) struct Curve<'a> {
    /// Legend name.
    pub(super) name: &'a str,
    /// Running total log-loss per scored sample.
    pub(super) cumulative: Vec<f64>,
}

/// Points drawn per line at most: a 900-pixel-wide picture cannot show more, and drawing
/// 100 000-point paths only costs time.
const MAX_LINE_POINTS: usize = 2_000;

/// Line colours, in forecast order (the model first), cycled past the end.
const FORECAST_COLORS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// `(sample number, running total)` points of `cumulative` (sample numbers from 1), thinned to
/// at most `max_points` (at least 2) by keeping every k-th sample; the first and the last are
/// always kept, so the line starts and ends where the data does.
fn downsample(cumulative: &[f64], max_points: usize) -> Vec<(f64, f64)> {
    let max_points = max_points.max(2);
    let len = cumulative.len();
    let point = |(index, &total): (usize, &f64)| ((index + 1) as f64, total);
    if len <= max_points {
        return cumulative.iter().enumerate().map(point).collect();
    }
    // ceil(len / step) ≤ max_points − 1, so the kept samples plus the last fit the budget.
    let step = len.div_ceil(max_points - 1);
    let mut points: Vec<(f64, f64)> = cumulative
        .iter()
        .enumerate()
        .step_by(step)
        .map(point)
        .collect();
    if !(len - 1).is_multiple_of(step)
        && let Some(&last) = cumulative.last()
    {
        points.push((len as f64, last));
    }
    points
}

/// Draws the cumulative log-loss of every curve into the PNG at `path`.
pub(super) fn draw(path: &Path, title: &str, curves: &[Curve<'_>]) -> Result<(), PlotError> {
    let root = BitMapBackend::new(path, CUMULATIVE_SIZE).into_drawing_area();
    render(&root, title, curves)
        .and_then(|()| root.present())
        .map_err(|error| PlotError::drawing(path, &error))
}

/// Pixels of the upper (absolute) panel; the lower, relative one gets the rest.
const UPPER_PANEL_HEIGHT: u32 = 330;

/// One line of a panel: its points and its legend text.
struct Line {
    points: Vec<(f64, f64)>,
    label: String,
}

/// Draws the chart on any plotters backend: above, each forecaster's running total; below, each
/// one's running total minus the reference's (the second curve, the training prior), where the
/// differences a total hides are visible: below zero is ahead of the prior.
fn render<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    curves: &[Curve<'_>],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let samples = curves
        .iter()
        .map(|curve| curve.cumulative.len())
        .max()
        .unwrap_or(0);
    let absolute: Vec<Line> = curves
        .iter()
        .map(|curve| {
            let total = curve.cumulative.last().copied().unwrap_or(0.0);
            let mean = total / curve.cumulative.len().max(1) as f64;
            Line {
                points: downsample(&curve.cumulative, MAX_LINE_POINTS),
                label: format!(
                    "{}: total {total:.1}, mean {mean:.4} nats/signal",
                    curve.name
                ),
            }
        })
        .collect();
    let Some(reference) = curves.get(1) else {
        return panel(
            root,
            &format!("{title} — cumulative log-loss"),
            "cumulative log-loss (nats)",
            samples,
            &absolute,
        );
    };
    let (upper, lower) = root.split_vertically(UPPER_PANEL_HEIGHT);
    panel(
        &upper,
        &format!("{title} — cumulative log-loss"),
        "cumulative log-loss (nats)",
        samples,
        &absolute,
    )?;
    let relative: Vec<Line> = curves
        .iter()
        .map(|curve| {
            let gap: Vec<f64> = curve
                .cumulative
                .iter()
                .zip(&reference.cumulative)
                .map(|(own, base)| own - base)
                .collect();
            let last = gap.last().copied().unwrap_or(0.0);
            Line {
                points: downsample(&gap, MAX_LINE_POINTS),
                label: format!("{}: {last:+.1} nats", curve.name),
            }
        })
        .collect();
    panel(
        &lower,
        &format!("minus the {}'s (below 0: ahead of it)", reference.name),
        "difference (nats)",
        samples,
        &relative,
    )
}

/// One chart of `lines` over `samples` signals, the y range fitted to the lines.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    y_desc: &str,
    samples: usize,
    lines: &[Line],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (low, high) = lines
        .iter()
        .flat_map(|line| line.points.iter().map(|&(_, y)| y))
        .filter(|y| y.is_finite())
        .fold((0.0f64, 0.0f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let pad = ((high - low) * 0.05).max(1e-6);
    let (y_min, y_max) = if high > low {
        (if low < 0.0 { low - pad } else { 0.0 }, high + pad)
    } else {
        (-1.0, 1.0)
    };
    let y_decimals = if y_max - y_min >= 10.0 { 0 } else { 2 };
    let x_max = (samples as f64).max(1.0);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FAMILY, 20).into_font())
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(0f64..x_max, y_min..y_max)?;
    chart
        .configure_mesh()
        .x_desc("scored signals (time order)")
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.y_decimals$}"))
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 16))
        .draw()?;
    for (line, &color) in lines.iter().zip(FORECAST_COLORS.iter().cycle()) {
        chart
            .draw_series(LineSeries::new(
                line.points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(line.label.as_str())
            .legend(super::legend::mark(color));
    }
    super::legend::draw(&mut chart)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::classification::Metrics;

    fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-9, "{got:?} vs {want:?}");
        }
    }

    /// ln 2, then + 2 ln 2 (p = 1/4), then + 0 (p = 1), then + 7 ln 10 (p = 0, floored at 1e-7).
    #[test]
    fn cumulative_log_loss_matches_a_hand_computed_case() {
        let labels = [Side::Long, Side::Short, Side::Neutral, Side::Short];
        let probabilities = [
            [0.5, 0.25, 0.25],
            [0.5, 0.25, 0.25],
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 0.0],
        ];
        let ln2 = std::f64::consts::LN_2;
        let ln10 = std::f64::consts::LN_10;
        let got = cumulative_log_loss(&labels, &probabilities);
        assert_close(&got, &[ln2, 3.0 * ln2, 3.0 * ln2, 3.0 * ln2 + 7.0 * ln10]);

        // The end of the line is the reported total.
        let metrics = Metrics::score(&labels, &probabilities);
        let last = got.last().copied().unwrap();
        assert!((last - metrics.log_loss * labels.len() as f64).abs() < 1e-9);
    }

    #[test]
    fn nan_counts_as_the_floor_and_lengths_pair_up() {
        let got = cumulative_log_loss(&[Side::Long, Side::Long], &[[f32::NAN, 0.5, 0.5]]);
        assert_close(&got, &[-PROBABILITY_FLOOR.ln()]);
        assert!(cumulative_log_loss(&[], &[]).is_empty());
    }

    #[test]
    fn short_lines_are_drawn_whole() {
        let points = downsample(&[1.0, 2.0, 3.0], MAX_LINE_POINTS);
        assert_eq!(points, vec![(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]);
        assert!(downsample(&[], MAX_LINE_POINTS).is_empty());
    }

    #[test]
    fn long_lines_are_thinned_keeping_both_ends() {
        for len in [2_001usize, 3_000, 4_000, 99_999, 100_000] {
            let cumulative: Vec<f64> = (0..len).map(|i| i as f64 * 0.5).collect();
            let points = downsample(&cumulative, MAX_LINE_POINTS);
            assert!(points.len() <= MAX_LINE_POINTS, "{len}: {}", points.len());
            assert!(
                points.len() > MAX_LINE_POINTS / 2,
                "{len}: {}",
                points.len()
            );
            assert_eq!(points.first().copied(), Some((1.0, 0.0)));
            assert_eq!(
                points.last().copied(),
                Some((len as f64, (len - 1) as f64 * 0.5))
            );
            assert!(points.windows(2).all(|w| w[0].0 < w[1].0), "{len}");
        }
    }
}
