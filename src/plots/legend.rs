//! The legend both pictures share: a short line in the series' colour, the box in the upper left.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::{
    BLACK, Cartesian2d, ChartContext, Color, DrawingAreaErrorKind, DrawingBackend, PathElement,
    RGBColor, SeriesLabelPosition, WHITE,
};

use super::font::FAMILY;

/// A chart over two `f64` axes, as both pictures draw.
pub(super) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The legend mark of a series drawn as a 2-pixel line in `color`.
pub(super) fn mark(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
}

/// Draws the labelled series' legend in the upper left, over a translucent white box.
pub(super) fn draw<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FAMILY, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
}
