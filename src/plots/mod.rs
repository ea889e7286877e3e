//! Two pictures of a 3-class forecaster (long / short / neutral) over the scored samples, written
//! as PNG files by training reports and `model evaluate --plot DIR`.
//!
//! Why pictures: the report's numbers (log-loss, accuracy, ECE) say *how much* a model is off,
//! the pictures say *where* and *when*.
//!
//! - [`RELIABILITY_PNG`], the reliability diagram of the model. Per class, the samples are put in
//!   [`RELIABILITY_BINS`] equal-width bins of the probability the model gave that class; each
//!   non-empty bin is one marker at (mean predicted probability, share of its samples whose label
//!   is that class), its area growing with the number of samples in the bin. A calibrated model
//!   sits on the grey diagonal y = x: of all the "70 %" calls, 70 % come true. Markers below the
//!   diagonal are over-confidence (the class happens less often than predicted), markers above it
//!   under-confidence. Small markers far from the diagonal are few samples and mostly noise.
//! - [`CUMULATIVE_LOG_LOSS_PNG`], the cumulative log-loss of every forecaster (the model and its
//!   naive baselines) against the scored signals in time order. Each sample adds
//!   −ln max(p\[label\], [`PROBABILITY_FLOOR`]) nats, so the end of a line is the forecaster's
//!   total log-loss (its mean times the sample count) and lower is better. The slope is the
//!   local log-loss: where the model's line runs flatter than a baseline's it is beating that
//!   baseline there, where it runs steeper it is losing. A model that wins on average through one
//!   lucky stretch shows it as a single step; a steady edge is a steadily widening gap.
//!
//! Rendering is pure Rust (plotters' bitmap backend, text through `ab_glyph` from a bundled
//! DejaVu Sans), so the pictures look the same on every machine and need no system fonts.
//!
//! [`PROBABILITY_FLOOR`]: crate::model::classification::PROBABILITY_FLOOR

pub(crate) mod cumulative;
mod font;
mod legend;
pub(crate) mod reliability;

use std::path::{Path, PathBuf};

use plotters::drawing::DrawingAreaErrorKind;

use crate::contract::Side;
use crate::model::classification::CALIBRATION_BINS;
use crate::model::side::NUM_CLASSES;
use crate::model::trace::ForecastTrace;

pub use cumulative::cumulative_log_loss;
pub use reliability::reliability_points;

/// One forecaster's probabilities over the scored samples, in time order.
///
/// Why borrowed: the model's and the baselines' probabilities already live in the caller's
/// evaluation; the plots only read them.
#[derive(Debug, Clone, Copy)]
pub struct Forecast<'a> {
    /// The legend name, e.g. `model`, `training_prior`, `previous_return_sign`.
    pub name: &'a str,
    /// One `[long, short, neutral]` row per scored sample, aligned with the labels.
    pub probabilities: &'a [[f32; NUM_CLASSES]],
}

/// File name of the reliability diagram written into the plot directory.
pub const RELIABILITY_PNG: &str = "reliability.png";

/// File name of the cumulative log-loss chart written into the plot directory.
pub const CUMULATIVE_LOG_LOSS_PNG: &str = "cumulative_log_loss.png";

/// Bins of the reliability diagram: the expected calibration error's own equal-width bins over
/// [0, 1], so the picture shows exactly what the reported ECE summarises.
pub const RELIABILITY_BINS: usize = CALIBRATION_BINS;

/// Pixel size (width, height) of the reliability diagram: the axes are both probabilities, so
/// the picture is nearly square and the diagonal stays close to 45°.
pub const RELIABILITY_SIZE: (u32, u32) = (700, 600);

/// Pixel size (width, height) of the cumulative log-loss chart: wide, because x is time.
pub const CUMULATIVE_SIZE: (u32, u32) = (900, 800);

/// Why plots could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The bundled font is not a font plotters can read (a broken build, not bad input).
    #[error("the bundled plot font (DejaVu Sans) could not be registered")]
    Font,
    /// plotters failed while drawing or encoding a picture (carried as text: plotters' error
    /// type is generic over the backend).
    #[error("cannot draw {}: {message}", path.display())]
    Drawing {
        /// The picture being drawn.
        path: PathBuf,
        /// plotters' description of the failure.
        message: String,
    },
    /// The plot directory could not be created.
    #[error("cannot create plot directory {}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// No scored samples: there is nothing to draw.
    #[error("no scored samples to plot")]
    NoSamples,
    /// No forecasts given: the reliability diagram needs the model's (the first forecast).
    #[error("no forecasts to plot")]
    NoForecasts,
    /// A forecast does not have one probability row per label.
    #[error("forecast {forecast} has {probabilities} probability rows for {labels} labels")]
    LengthMismatch {
        /// The forecast's name.
        forecast: String,
        /// Labels given.
        labels: usize,
        /// Probability rows the forecast has.
        probabilities: usize,
    },
}

impl PlotError {
    /// Maps a plotters drawing error on the picture at `path`.
    fn drawing<E: std::error::Error + Send + Sync>(
        path: &Path,
        error: &DrawingAreaErrorKind<E>,
    ) -> Self {
        PlotError::Drawing {
            path: path.to_path_buf(),
            message: error.to_string(),
        }
    }
}

/// Writes both pictures into `dir` (created if missing): the reliability diagram of
/// `forecasts[0]` (the model) and the cumulative log-loss of every forecast. Returns the written
/// paths ([`RELIABILITY_PNG`] then [`CUMULATIVE_LOG_LOSS_PNG`], joined to `dir`).
///
/// `title` heads both pictures (e.g. `models/cffex-1m — test slice`). Every forecast must have
/// exactly one probability row per label; nothing is written unless they all do.
pub fn write_plots(
    dir: &Path,
    title: &str,
    labels: &[Side],
    forecasts: &[Forecast<'_>],
) -> Result<Vec<PathBuf>, PlotError> {
    if labels.is_empty() {
        return Err(PlotError::NoSamples);
    }
    let Some(model) = forecasts.first() else {
        return Err(PlotError::NoForecasts);
    };
    if let Some(bad) = forecasts
        .iter()
        .find(|forecast| forecast.probabilities.len() != labels.len())
    {
        return Err(PlotError::LengthMismatch {
            forecast: bad.name.to_owned(),
            labels: labels.len(),
            probabilities: bad.probabilities.len(),
        });
    }
    font::ensure_registered()?;
    std::fs::create_dir_all(dir).map_err(|source| PlotError::Io {
        path: dir.to_path_buf(),
        source,
    })?;

    let reliability_path = dir.join(RELIABILITY_PNG);
    let points = reliability_points(labels, model.probabilities, RELIABILITY_BINS);
    reliability::draw(&reliability_path, title, &points)?;

    let cumulative_path = dir.join(CUMULATIVE_LOG_LOSS_PNG);
    let curves: Vec<cumulative::Curve<'_>> = forecasts
        .iter()
        .map(|forecast| cumulative::Curve {
            name: forecast.name,
            cumulative: cumulative_log_loss(labels, forecast.probabilities),
        })
        .collect();
    cumulative::draw(&cumulative_path, title, &curves)?;

    Ok(vec![reliability_path, cumulative_path])
}

/// The Markdown a report appends to link the two pictures written next to it.
pub const REPORT_PICTURES: &str = "\n## Pictures of the test slice\n\n\
Reliability (predicted probability against realised frequency per class; the diagonal is perfect \
calibration) and cumulative log-loss of the model against both baselines over the test signals in \
time order (a line below another is ahead of it):\n\n\
![reliability diagram](reliability.png)\n\n\
![cumulative log-loss](cumulative_log_loss.png)\n";

/// [`write_plots`] of a [`ForecastTrace`]: the model against the training prior and the
/// previous-return rule.
pub fn write_trace(
    dir: &Path,
    title: &str,
    trace: &ForecastTrace,
) -> Result<Vec<PathBuf>, PlotError> {
    let forecasts = [
        Forecast {
            name: "model",
            probabilities: &trace.model,
        },
        Forecast {
            name: "training_prior",
            probabilities: &trace.prior,
        },
        Forecast {
            name: "previous_return_sign",
            probabilities: &trace.rule,
        },
    ];
    write_plots(dir, title, &trace.labels, &forecasts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::side::CLASS_ORDER;

    /// A fresh directory under the system temp dir, unique to this process and test.
    fn scratch_dir(test: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("signal-worker-plots-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// The PNG signature check and the IHDR (width, height).
    fn png_size(path: &Path) -> (u32, u32) {
        let bytes = std::fs::read(path).expect("picture written");
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{} is not a PNG",
            path.display()
        );
        assert_eq!(&bytes[12..16], b"IHDR");
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        (width, height)
    }

    /// A deterministic, loosely informative synthetic evaluation of `n` samples.
    fn synthetic(n: usize) -> (Vec<Side>, Vec<[f32; NUM_CLASSES]>) {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as f64 / (1u64 << 31) as f64) as f32
        };
        let mut labels = Vec::with_capacity(n);
        let mut probabilities = Vec::with_capacity(n);
        for _ in 0..n {
            let raw = [next() + 0.05, next() + 0.05, next() + 0.05];
            let sum: f32 = raw.iter().sum();
            let p = raw.map(|v| v / sum);
            // The label follows the forecast most of the time.
            let roll = next();
            let mut acc = 0.0f32;
            let mut label = Side::Neutral;
            for (side, pc) in CLASS_ORDER.iter().zip(p) {
                acc += pc;
                if roll < acc {
                    label = *side;
                    break;
                }
            }
            labels.push(label);
            probabilities.push(p);
        }
        (labels, probabilities)
    }

    #[test]
    fn write_plots_writes_two_pngs_of_the_intended_sizes() {
        let dir = scratch_dir("write");
        // More samples than the line's point budget, so the downsampling is exercised.
        let (labels, model) = synthetic(3_000);
        let prior = vec![[0.3f32, 0.3, 0.4]; labels.len()];
        let sign: Vec<[f32; NUM_CLASSES]> = (0..labels.len())
            .map(|i| {
                if i % 2 == 0 {
                    [0.6, 0.2, 0.2]
                } else {
                    [0.2, 0.6, 0.2]
                }
            })
            .collect();
        let forecasts = [
            Forecast {
                name: "model",
                probabilities: &model,
            },
            Forecast {
                name: "training_prior",
                probabilities: &prior,
            },
            Forecast {
                name: "previous_return_sign",
                probabilities: &sign,
            },
        ];
        let written = write_plots(&dir, "models/test — test slice", &labels, &forecasts)
            .expect("plots written");
        assert_eq!(
            written,
            vec![dir.join(RELIABILITY_PNG), dir.join(CUMULATIVE_LOG_LOSS_PNG)]
        );
        assert_eq!(png_size(&written[0]), RELIABILITY_SIZE);
        assert_eq!(png_size(&written[1]), CUMULATIVE_SIZE);

        // Writing again over existing files works too.
        write_plots(&dir, "again", &labels, &forecasts[..1]).expect("rewritten");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn empty_input_is_no_samples() {
        let dir = scratch_dir("empty");
        let forecasts = [Forecast {
            name: "model",
            probabilities: &[],
        }];
        let err = write_plots(&dir, "t", &[], &forecasts).unwrap_err();
        assert!(matches!(err, PlotError::NoSamples), "{err:?}");
        assert!(!dir.exists(), "nothing is created on bad input");
    }

    #[test]
    fn no_forecast_is_a_typed_error() {
        let dir = scratch_dir("no-forecast");
        let err = write_plots(&dir, "t", &[Side::Long], &[]).unwrap_err();
        assert!(matches!(err, PlotError::NoForecasts), "{err:?}");
        assert!(!dir.exists());
    }

    #[test]
    fn length_mismatch_names_the_forecast() {
        let dir = scratch_dir("mismatch");
        let good = [[0.5f32, 0.25, 0.25]; 2];
        let short = [[0.5f32, 0.25, 0.25]; 1];
        let forecasts = [
            Forecast {
                name: "model",
                probabilities: &good,
            },
            Forecast {
                name: "training_prior",
                probabilities: &short,
            },
        ];
        let err = write_plots(&dir, "t", &[Side::Long, Side::Short], &forecasts).unwrap_err();
        assert!(
            matches!(
                err,
                PlotError::LengthMismatch {
                    ref forecast,
                    labels: 2,
                    probabilities: 1,
                } if forecast == "training_prior"
            ),
            "{err:?}"
        );
        assert!(!dir.exists());
    }
}
