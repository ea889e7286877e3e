//! The reliability diagram: per class, predicted probability against realised frequency.
//!
//! Why per class rather than only the predicted class (as the ECE does): a 3-class model can be
//! well calibrated on `neutral` and badly over-confident on `long`; one series per class shows
//! which.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::{
    BitMapBackend, ChartBuilder, Circle, Color, DrawingArea, DrawingAreaErrorKind, DrawingBackend,
    IntoDrawingArea, IntoFont, LineSeries, RGBColor, Text, WHITE,
};

use super::font::FAMILY;
use super::{PlotError, RELIABILITY_SIZE};
use crate::contract::Side;
use crate::model::side::{CLASS_ORDER, NUM_CLASSES};

/// One non-empty bin of one class in the reliability diagram.
///
/// Why the count is kept: a bin of 3 samples far off the diagonal is noise, a bin of 3 000 is a
/// miscalibration; the diagram sizes its marker by it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReliabilityPoint {
    /// Mean probability given to the class by the samples in the bin.
    pub mean_predicted: f64,
    /// Share of the samples in the bin whose label is the class.
    pub realised: f64,
    /// Samples in the bin.
    pub count: u64,
}

/// The reliability points of every class, indexed like [`CLASS_ORDER`], each in increasing bin
/// order with empty bins left out.
///
/// For class `c`, every sample contributes its `p[c]` to the bin of `p[c]` (`bins` equal-width
/// bins over [0, 1], a probability of exactly 1 in the last one); `realised` is the share of the
/// bin's samples whose label is `c`. Labels and probability rows are paired in order (the extra
/// of the longer slice is ignored); non-finite probabilities are skipped. `bins == 0` gives no
/// points.
pub fn reliability_points(
    labels: &[Side],
    probabilities: &[[f32; NUM_CLASSES]],
    bins: usize,
) -> [Vec<ReliabilityPoint>; NUM_CLASSES] {
    if bins == 0 {
        return Default::default();
    }
    // Per class, per bin: (samples, summed probability, samples labelled with the class).
    let mut tallies: [Vec<(u64, f64, u64)>; NUM_CLASSES] =
        std::array::from_fn(|_| vec![(0, 0.0, 0); bins]);
    for (label, row) in labels.iter().zip(probabilities) {
        let actual = label.class_index();
        for ((class, &p), class_tallies) in row.iter().enumerate().zip(tallies.iter_mut()) {
            let p = f64::from(p);
            if !p.is_finite() {
                continue;
            }
            if let Some(slot) = class_tallies.get_mut(bin_of(p, bins)) {
                slot.0 += 1;
                slot.1 += p;
                slot.2 += u64::from(class == actual);
            }
        }
    }
    tallies.map(|class_tallies| {
        class_tallies
            .into_iter()
            .filter(|&(count, _, _)| count > 0)
            .map(|(count, sum, hits)| ReliabilityPoint {
                mean_predicted: sum / count as f64,
                realised: hits as f64 / count as f64,
                count,
            })
            .collect()
    })
}

/// The bin of probability `p` among `bins > 0` equal-width bins over [0, 1] (the same rule as
/// the ECE's bins).
fn bin_of(p: f64, bins: usize) -> usize {
    ((p.clamp(0.0, 1.0) * bins as f64) as usize).min(bins.saturating_sub(1))
}

/// Series colours of the classes, indexed like [`CLASS_ORDER`]: long green, short red, neutral
/// blue.
const CLASS_COLORS: [RGBColor; NUM_CLASSES] = [
    RGBColor(0x1a, 0x98, 0x50),
    RGBColor(0xd7, 0x30, 0x27),
    RGBColor(0x45, 0x75, 0xb4),
];

/// The reference diagonal's colour.
const DIAGONAL: RGBColor = RGBColor(0x99, 0x99, 0x99);

/// The colour of the note on marker sizes.
const NOTE: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// Marker radius in pixels of the emptiest bin (still visible).
const MIN_RADIUS: i32 = 3;
/// Marker radius in pixels of the fullest bin.
const MAX_RADIUS: i32 = 10;

/// The marker radius of a bin of `count` samples when the fullest bin has `max_count`: the
/// marker's area grows linearly with the count.
fn marker_radius(count: u64, max_count: u64) -> i32 {
    if max_count == 0 {
        return MIN_RADIUS;
    }
    let share = (count as f64 / max_count as f64).clamp(0.0, 1.0).sqrt();
    MIN_RADIUS + (share * f64::from(MAX_RADIUS - MIN_RADIUS)).round() as i32
}

/// Draws the reliability diagram of `points` into the PNG at `path`.
pub(super) fn draw(
    path: &Path,
    title: &str,
    points: &[Vec<ReliabilityPoint>; NUM_CLASSES],
) -> Result<(), PlotError> {
    let root = BitMapBackend::new(path, RELIABILITY_SIZE).into_drawing_area();
    render(&root, title, points)
        .and_then(|()| root.present())
        .map_err(|error| PlotError::drawing(path, &error))
}

/// Draws the diagram on any plotters backend.
fn render<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    points: &[Vec<ReliabilityPoint>; NUM_CLASSES],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(format!("{title} — reliability"), (FAMILY, 22).into_font())
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
    chart
        .configure_mesh()
        .x_labels(11)
        .y_labels(11)
        .x_desc("predicted probability")
        .y_desc("realised frequency")
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 16))
        .draw()?;

    chart
        .draw_series(LineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            DIAGONAL.stroke_width(2),
        ))?
        .label("perfect calibration (y = x)")
        .legend(super::legend::mark(DIAGONAL));

    let max_count = points
        .iter()
        .flatten()
        .map(|point| point.count)
        .max()
        .unwrap_or(0);
    for ((side, class_points), color) in CLASS_ORDER.iter().zip(points).zip(CLASS_COLORS) {
        chart
            .draw_series(LineSeries::new(
                class_points
                    .iter()
                    .map(|point| (point.mean_predicted, point.realised)),
                color.stroke_width(2),
            ))?
            .label(side.as_str())
            .legend(super::legend::mark(color));
        chart.draw_series(class_points.iter().map(|point| {
            Circle::new(
                (point.mean_predicted, point.realised),
                marker_radius(point.count, max_count),
                color.filled(),
            )
        }))?;
    }

    chart.draw_series(std::iter::once(Text::new(
        "marker area grows with the samples in the bin",
        (0.42, 0.06),
        (FAMILY, 13).into_font().color(&NOTE),
    )))?;

    super::legend::draw(&mut chart)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn assert_point(point: &ReliabilityPoint, mean_predicted: f64, realised: f64, count: u64) {
        assert!(
            (point.mean_predicted - mean_predicted).abs() < 1e-6,
            "{point:?} mean_predicted, want {mean_predicted}"
        );
        assert!(
            (point.realised - realised).abs() < 1e-12,
            "{point:?} realised, want {realised}"
        );
        assert_eq!(point.count, count, "{point:?} count");
    }

    /// Four samples, ten bins, every value away from a bin edge:
    ///
    /// | sample | label   | long | short | neutral |
    /// |--------|---------|------|-------|---------|
    /// | 0      | long    | 0.72 | 0.16  | 0.12    |
    /// | 1      | long    | 0.64 | 0.24  | 0.12    |
    /// | 2      | short   | 0.66 | 0.22  | 0.12    |
    /// | 3      | neutral | 0.34 | 0.14  | 0.52    |
    ///
    /// long: bin 3 {0.34 miss}, bin 6 {0.64 hit, 0.66 miss}, bin 7 {0.72 hit}
    /// short: bin 1 {0.16 miss, 0.14 miss}, bin 2 {0.24 miss, 0.22 hit}
    /// neutral: bin 1 {0.12 ×3, all misses}, bin 5 {0.52 hit}
    #[test]
    fn reliability_points_match_a_hand_computed_case() {
        let labels = [Side::Long, Side::Long, Side::Short, Side::Neutral];
        let probabilities = [
            [0.72, 0.16, 0.12],
            [0.64, 0.24, 0.12],
            [0.66, 0.22, 0.12],
            [0.34, 0.14, 0.52],
        ];
        let [long, short, neutral] = reliability_points(&labels, &probabilities, 10);

        assert_eq!(long.len(), 3, "{long:?}");
        assert_point(&long[0], 0.34, 0.0, 1);
        assert_point(&long[1], 0.65, 0.5, 2);
        assert_point(&long[2], 0.72, 1.0, 1);

        assert_eq!(short.len(), 2, "{short:?}");
        assert_point(&short[0], 0.15, 0.0, 2);
        assert_point(&short[1], 0.23, 0.5, 2);

        assert_eq!(neutral.len(), 2, "{neutral:?}");
        assert_point(&neutral[0], 0.12, 0.0, 3);
        assert_point(&neutral[1], 0.52, 1.0, 1);

        // Every sample lands in exactly one bin of every class.
        for class in [&long, &short, &neutral] {
            assert_eq!(class.iter().map(|p| p.count).sum::<u64>(), 4);
        }
    }

    #[test]
    fn certainty_goes_to_the_last_bin_and_bad_values_are_skipped() {
        let labels = [Side::Long, Side::Short];
        let probabilities = [[1.0, 0.0, 0.0], [f32::NAN, 1.0, 0.0]];
        let [long, short, neutral] = reliability_points(&labels, &probabilities, 10);
        assert_eq!(long.len(), 1, "the NaN row is skipped for long: {long:?}");
        assert_point(&long[0], 1.0, 1.0, 1);
        assert_eq!(short.len(), 2, "{short:?}");
        assert_point(&short[0], 0.0, 0.0, 1);
        assert_point(&short[1], 1.0, 1.0, 1);
        assert_eq!(neutral.len(), 1, "{neutral:?}");
        assert_point(&neutral[0], 0.0, 0.0, 2);
    }

    #[test]
    fn no_bins_or_no_samples_give_no_points() {
        let none = reliability_points(&[Side::Long], &[[0.5, 0.25, 0.25]], 0);
        assert!(none.iter().all(Vec::is_empty));
        let none = reliability_points(&[], &[], 10);
        assert!(none.iter().all(Vec::is_empty));
    }

    #[test]
    fn marker_area_grows_with_the_count() {
        assert_eq!(marker_radius(0, 0), MIN_RADIUS);
        assert_eq!(marker_radius(10, 10), MAX_RADIUS);
        assert!(marker_radius(1, 100) < marker_radius(50, 100));
        assert!(marker_radius(1, 100) >= MIN_RADIUS);
    }
}
