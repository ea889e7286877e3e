//! The indicator streams, written here as transcriptions of ta-lib 0.8.3's own.
//!
//! Why not ta-lib's handles, measured: its STOCH, WILLR, BBANDS, SMA, CCI and ROC streams each keep
//! a private copy of the bars they look back over (heap rings), and STOCH and BBANDS hold their
//! smoothing averages as ta-lib's `MaStream`, an enum sized by its largest variant (MAMA): 2,200
//! bytes of STOCH and BBANDS alone per series before a bar is stored (`benches/series_memory.rs`).
//! And every handle's state is private, so a snapshot could only hold the bars to re-open them on
//! (1,000 by default, 48 KB a series, in memory while snapshots were written) and a restore was
//! only equal to rounding. Here the windowed streams (`stoch`, `willr`, `bbands`, `roc`, `cci`) keep
//! only their running sums and read the bars back from the series' own history ([`BarHistory`], at
//! least 21 bars), the exponential ones (`exponential`: RSI, MACD, EMA, ATR, OBV) keep a few values,
//! and all of it is plain serialisable data.
//!
//! Each has the same operations in the same order as ta-lib's stream and opener (the same seeds,
//! flat-range guards, VAR re-seeding and fused multiply-adds), fed from the series' first bar.
//! `tests.rs` holds every output bit for bit against ta-lib's streams over the bundled markets and
//! synthetic series made to hit every branch, opened at the first bar and part-way; ta-lib stays
//! the reference for the semantics and the lookbacks.

mod bbands;
mod cci;
mod exponential;
mod extremes;
mod roc;
mod stoch;
#[cfg(test)]
mod tests;
mod willr;

pub(crate) use bbands::Bbands;
pub(crate) use cci::Cci;
pub(crate) use exponential::{Atr, Ema, Macd, Obv, Rsi};
pub(crate) use roc::Roc;
pub(crate) use stoch::Stoch;
pub(crate) use willr::Willr;

use super::bars::{BarHistory, Columns};
use crate::core::bar::Bar;
use ta_lib::RetCode;

/// The bars a stream reads back, by their index since the stream's first bar.
///
/// Opening reads the column copies of the whole history; updating reads the history itself,
/// whose newest bar is the stream's `latest` index. A bar the history no longer holds is a
/// broken invariant (every window here is shorter than the fewest bars retained): it is
/// answered with ta-lib's `InternalError`, which resets the series, never with a panic.
#[derive(Clone, Copy)]
pub(crate) enum Tape<'a> {
    /// The column copies a stream is opened on; index `i` is row `i`.
    Columns(&'a Columns),
    /// The live history; its newest bar has index `latest`.
    History {
        /// The series' retained bars.
        history: &'a BarHistory,
        /// The index of the history's newest bar in the stream's count.
        latest: i64,
    },
}

impl Tape<'_> {
    /// The high of bar `index`.
    #[inline]
    pub(crate) fn high(&self, index: i64) -> Result<f64, RetCode> {
        self.read(index, |c| &c.high, |b| b.high)
    }

    /// The low of bar `index`.
    #[inline]
    pub(crate) fn low(&self, index: i64) -> Result<f64, RetCode> {
        self.read(index, |c| &c.low, |b| b.low)
    }

    /// The close of bar `index`.
    #[inline]
    pub(crate) fn close(&self, index: i64) -> Result<f64, RetCode> {
        self.read(index, |c| &c.close, |b| b.close)
    }

    #[inline]
    fn read(
        &self,
        index: i64,
        column: impl Fn(&Columns) -> &Vec<f64>,
        field: impl Fn(&Bar) -> f64,
    ) -> Result<f64, RetCode> {
        let found = match *self {
            Tape::Columns(columns) => usize::try_from(index)
                .ok()
                .and_then(|i| column(columns).get(i).copied()),
            Tape::History { history, latest } => latest
                .checked_sub(index)
                .and_then(|age| usize::try_from(age).ok())
                .and_then(|age| history.back(age))
                .map(field),
        };
        found.ok_or(RetCode::InternalError)
    }
}

/// A stream that reads the bars of its window back from a [`Tape`] instead of keeping them.
pub(crate) trait ReadsBack: Sized {
    /// What it yields per bar.
    type Output;

    /// Index of the next bar it takes (bars since the one it was first fed).
    fn next_index(&self) -> i64;

    /// Takes bar `next_index()`, reading it and its window from `tape`; `None` while it warms up.
    fn step(&mut self, tape: Tape<'_>) -> Result<Option<Self::Output>, RetCode>;

    /// Takes the history's newest bar (the history already holds it).
    #[inline]
    fn update(&mut self, history: &BarHistory) -> Result<Self::Output, RetCode> {
        let latest = self.next_index();
        self.step(Tape::History { history, latest })?
            .ok_or(RetCode::InternalError)
    }

    /// Opens this fresh stream on the whole history, as ta-lib's `*_open` (see [`open_over`]).
    fn open_fresh(self, columns: &Columns) -> Result<(Self, Self::Output), RetCode> {
        open_over(columns, self, |stream, _| {
            stream.step(Tape::Columns(columns))
        })
    }
}

/// A stream that needs no look-back: it takes each bar's values as they come.
pub(crate) trait TakesBars: Default {
    /// What it yields per bar.
    type Output;

    /// Takes one bar as `[high, low, close, volume]`; `None` while it warms up.
    fn take(&mut self, bar: [f64; 4]) -> Option<Self::Output>;

    /// Takes the next bar.
    #[inline]
    fn update(&mut self, bar: &Bar) -> Result<Self::Output, RetCode> {
        self.take([bar.high, bar.low, bar.close, bar.volume])
            .ok_or(RetCode::InternalError)
    }

    /// Opens on the whole history, as ta-lib's `*_open`: a fresh stream takes every row.
    fn open(columns: &Columns) -> Result<(Self, Self::Output), RetCode> {
        open_over(columns, Self::default(), |stream, index| {
            Ok(stream.take(row(columns, index)?))
        })
    }
}

/// Row `index` of the columns as `[high, low, close, volume]`.
fn row(columns: &Columns, index: usize) -> Result<[f64; 4], RetCode> {
    match (
        columns.high.get(index),
        columns.low.get(index),
        columns.close.get(index),
        columns.volume.get(index),
    ) {
        (Some(&h), Some(&l), Some(&c), Some(&v)) => Ok([h, l, c, v]),
        _ => Err(RetCode::BadParam),
    }
}

/// Runs a fresh stream over every row of the columns (`step` takes row `index`) and returns it
/// with its value at the last row: what every opener here is. `InsufficientHistory` while the
/// columns are shorter than the stream's lookback + 1, as ta-lib answers.
fn open_over<S, T>(
    columns: &Columns,
    mut stream: S,
    mut step: impl FnMut(&mut S, usize) -> Result<Option<T>, RetCode>,
) -> Result<(S, T), RetCode> {
    let mut last = None;
    for index in 0..columns.close.len() {
        last = step(&mut stream, index)?;
    }
    match last {
        Some(value) => Ok((stream, value)),
        None => Err(RetCode::InsufficientHistory),
    }
}

/// ta-lib's simple moving average over the last `N` inputs, fed from its first input: the running
/// total takes the new value, the average is read, then the oldest value leaves the total —
/// `sma.rs`'s order, so the same rounding. `N` values live inline (no heap). Serialised through
/// [`SmaParts`] (serde derives arrays of no generic length).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "SmaParts", into = "SmaParts")]
pub(crate) struct Sma<const N: usize> {
    total: f64,
    ring: [f64; N],
    seen: usize,
}

impl<const N: usize> Default for Sma<N> {
    fn default() -> Self {
        Self {
            total: 0.0,
            ring: [0.0; N],
            seen: 0,
        }
    }
}

impl<const N: usize> Sma<N> {
    /// Takes the next input; the average once `N` inputs have been seen.
    #[inline]
    pub(crate) fn push(&mut self, value: f64) -> Option<f64> {
        let slot = self.seen % N;
        self.ring[slot] = value;
        self.seen += 1;
        self.total += value;
        if self.seen < N {
            return None;
        }
        let sum = self.total;
        // The oldest of the N values now in the window; ta-lib subtracts it right after reading.
        self.total -= self.ring[self.seen % N];
        Some(sum / N as f64)
    }
}

/// The serialised form of an [`Sma`]: its ring as a list, checked for length on the way back.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct SmaParts {
    total: f64,
    ring: Vec<f64>,
    seen: usize,
}

impl<const N: usize> From<Sma<N>> for SmaParts {
    fn from(sma: Sma<N>) -> Self {
        Self {
            total: sma.total,
            ring: sma.ring.to_vec(),
            seen: sma.seen,
        }
    }
}

impl<const N: usize> TryFrom<SmaParts> for Sma<N> {
    type Error = String;

    fn try_from(parts: SmaParts) -> Result<Self, String> {
        let found = parts.ring.len();
        let ring = <[f64; N]>::try_from(parts.ring)
            .map_err(|_| format!("a moving average of {N} values holds {found}"))?;
        Ok(Self {
            total: parts.total,
            ring,
            seen: parts.seen,
        })
    }
}

impl<const N: usize> Sma<N> {
    /// Whether every value is finite (a state restored from a snapshot is checked before use).
    pub(crate) fn is_sane(&self) -> bool {
        self.total.is_finite()
            && self.ring.iter().all(|v| v.is_finite())
            && self.seen < MAX_SANE_COUNT as usize
    }
}

/// Largest bar count a sane restored state may claim (far past any real series, far below where
/// the counters could overflow).
pub(crate) const MAX_SANE_COUNT: i64 = 1 << 53;

/// Whether a restored bar counter is one a real series could have reached.
pub(crate) fn sane_count(count: i64) -> bool {
    (0..MAX_SANE_COUNT).contains(&count)
}
