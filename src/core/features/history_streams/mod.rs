//! Indicator streams that read their window from the series' own bar history.
//!
//! Why these are written here rather than taken from ta-lib: ta-lib's STOCH, WILLR, BBANDS, SMA,
//! CCI and ROC streams each keep a private copy of the bars they look back over (ring buffers on
//! the heap), and STOCH and BBANDS hold their smoothing averages as ta-lib's `MaStream`, an enum
//! sized by its largest variant (MAMA): 2,200 bytes of STOCH and BBANDS per series before a single
//! bar is stored, measured by `benches/series_memory.rs`. A series already keeps its latest bars
//! ([`BarHistory`], at least 21 once warm), so each stream here keeps only its running sums
//! and reads the bars it needs back from that history.
//!
//! Each is a transcription of ta-lib 0.8.3's own stream (same operations in the same order, the
//! same flat-range guard and variance re-seeding), opened the same way: on the whole retained
//! history, from its first bar. `tests.rs` holds them bit for bit against ta-lib's streams over
//! the bundled markets and synthetic series made to hit every branch.

mod bbands;
mod cci;
mod extremes;
mod roc;
mod stoch;
#[cfg(test)]
mod tests;
mod willr;

pub(crate) use bbands::Bbands;
pub(crate) use cci::Cci;
pub(crate) use roc::Roc;
pub(crate) use stoch::Stoch;
pub(crate) use willr::Willr;

use super::bars::{BarHistory, Columns};
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
        field: impl Fn(&crate::core::bar::Bar) -> f64,
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

    /// Number of bars on the tape when it holds columns (an opening), 0 otherwise.
    fn column_len(&self) -> i64 {
        match *self {
            Tape::Columns(columns) => columns.close.len() as i64,
            Tape::History { .. } => 0,
        }
    }
}

/// Runs a fresh stream over every bar of the columns and returns it with its value at the last
/// bar: ta-lib's `*_open` on the same history. `InsufficientHistory` while the columns are
/// shorter than the stream's lookback + 1, as ta-lib answers.
pub(crate) fn open_on<S, T>(
    columns: &Columns,
    mut stream: S,
    mut step: impl FnMut(&mut S, Tape<'_>, i64) -> Result<Option<T>, RetCode>,
) -> Result<(S, T), RetCode> {
    let tape = Tape::Columns(columns);
    let mut last = None;
    for index in 0..tape.column_len() {
        last = step(&mut stream, tape, index)?;
    }
    match last {
        Some(value) => Ok((stream, value)),
        None => Err(RetCode::InsufficientHistory),
    }
}

/// ta-lib's simple moving average over the last `N` inputs, fed from its first input: the running
/// total takes the new value, the average is read, then the oldest value leaves the total —
/// `sma.rs`'s order, so the same rounding. `N` values live inline (no heap).
#[derive(Debug, Clone)]
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
