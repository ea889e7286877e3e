//! Stateless rules plus per-series ordering: the verdict on every candle.
//!
//! The intake owns the per-series map, so ordering and whatever state a caller
//! keeps per series (`S`: feature state for the pipeline, nothing for `check`)
//! live in one entry and are found with one lookup per candle.

use super::rejection::Rejection;
use super::sequence::{SequenceOutcome, SequenceSettings, Sequencer};
use super::validate::{ValidationSettings, check_candle};
use crate::contract::subject::SubjectTokens;
use crate::contract::{Candle, CandleView, SeriesKey};
use crate::error::ErrorCode;
use std::hash::RandomState;

/// hashbrown's map rather than the standard one for its lookups by an equivalent borrowed key
/// ([`crate::contract::SeriesRef`]); the standard, randomly keyed SipHash all the same, since
/// series names come from the bus.
type HashMap<K, V> = hashbrown::HashMap<K, V, RandomState>;

/// What happens to one candle.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Valid and in order: feed it to the series state.
    Accepted {
        /// The typed candle.
        candle: Candle,
        /// Where it sits in its series (first, next, or after a gap).
        sequence: SequenceOutcome,
    },
    /// A repeat of the last candle of its series: skip it, counted, no second signal.
    Duplicate(Candle),
    /// A bar that is not closed yet: signals are only made on closed bars.
    NotClosed(Candle),
    /// Refused: dead-letter it with this reason.
    Rejected(Rejection),
}

/// One series: its ordering and the caller's state.
#[derive(Debug)]
struct Entry<S> {
    sequencer: Sequencer,
    /// The caller's clock when the series last had a candle accepted (None without a clock):
    /// what idle eviction goes by.
    last_seen_ms: Option<i64>,
    state: S,
}

/// Validates candles and tracks the order (and caller state) of every series.
#[derive(Debug)]
pub struct Intake<S = ()> {
    validation: ValidationSettings,
    sequence: SequenceSettings,
    /// Boxed: a series' state is kilobytes, and a hash table holds up to twice as many slots as
    /// entries; inline, every empty slot would cost a whole state.
    series: HashMap<SeriesKey, Box<Entry<S>>>,
}

impl<S> Intake<S> {
    /// An intake with no series yet.
    pub fn new(validation: ValidationSettings, sequence: SequenceSettings) -> Self {
        Self {
            validation,
            sequence,
            series: HashMap::default(),
        }
    }

    /// Number of series seen.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// The caller state of a series, if it has been seen.
    pub fn state(&self, key: &SeriesKey) -> Option<&S> {
        self.series.get(key).map(|e| &e.state)
    }

    /// The caller state of a series, mutable (the streaming model writes its recurrent state
    /// back after a batched step).
    pub fn state_mut(&mut self, key: &SeriesKey) -> Option<&mut S> {
        self.series.get_mut(key).map(|e| &mut e.state)
    }

    /// The key of every series seen (arbitrary order).
    pub fn keys(&self) -> impl Iterator<Item = &SeriesKey> {
        self.series.keys()
    }

    /// Every series: its key, last accepted open time and caller state (arbitrary order).
    pub fn entries_mut(&mut self) -> impl Iterator<Item = (&SeriesKey, Option<i64>, &mut S)> {
        self.series
            .iter_mut()
            .map(|(key, e)| (key, e.sequencer.last_open_time(), &mut e.state))
    }

    /// The last accepted open time of a series (`None`: not seen, or nothing accepted yet).
    pub fn last_open_time(&self, key: &SeriesKey) -> Option<i64> {
        self.series
            .get(key)
            .and_then(|e| e.sequencer.last_open_time())
    }

    /// Forgets a series (its next candle starts it afresh); whether it was there.
    pub fn remove(&mut self, key: &SeriesKey) -> bool {
        self.series.remove(key).is_some()
    }

    /// Installs a series resumed from a snapshot (replacing any state it had): its last
    /// accepted candle opened at `last_open_time`, so older and equal candles that arrive
    /// again are judged out of order and duplicate, as if it had never stopped.
    pub fn resume(&mut self, key: SeriesKey, last_open_time: i64, state: S) {
        self.series.insert(
            key,
            Box::new(Entry {
                sequencer: Sequencer::resumed_at(last_open_time),
                last_seen_ms: None,
                state,
            }),
        );
    }

    /// Drops every series that has had no candle accepted for longer than
    /// `sequence.idle_evict_ms` plus two of its bars, on the clock `now_ms`; returns their keys
    /// (the caller removes what it keeps for them elsewhere, e.g. snapshots). A series resumed
    /// from a snapshot counts as seen at its first eviction check, so a restart never evicts at
    /// once. Nothing is evicted when eviction is off.
    pub fn evict_idle(&mut self, now_ms: i64) -> Vec<SeriesKey> {
        let idle = self.sequence.idle_evict_ms;
        if idle <= 0 {
            return Vec::new();
        }
        let mut evicted = Vec::new();
        self.series.retain(|key, entry| {
            let seen = *entry.last_seen_ms.get_or_insert(now_ms);
            let limit = idle.saturating_add(key.interval.millis().saturating_mul(2));
            let keep = now_ms.saturating_sub(seen) <= limit;
            if !keep {
                evicted.push(key.clone());
            }
            keep
        });
        evicted
    }

    /// Judges one decoded candle; `subject` and `now_ms` as in
    /// [`super::validate::validate_candle`]. A new series gets its state from `make`; an
    /// accepted candle comes back with its series' state, ready to be updated.
    pub fn judge_with<'m>(
        &mut self,
        msg: impl Into<CandleView<'m>>,
        subject: Option<&SubjectTokens<'_>>,
        now_ms: Option<i64>,
        make: impl FnOnce() -> S,
    ) -> (Verdict, Option<&mut S>) {
        let checked = match check_candle(msg.into(), subject, now_ms, &self.validation) {
            Ok(c) => c,
            Err(r) => return (Verdict::Rejected(r), None),
        };
        // A known series' key is the map's own, shared: no allocation per candle.
        let key = match self.series.get_key_value(&checked.series()) {
            Some((key, _)) => key.clone(),
            None => match checked.new_key() {
                Ok(key) => key,
                Err(r) => return (Verdict::Rejected(r), None),
            },
        };
        let candle = checked.into_candle(key);
        if !candle.is_closed {
            return (Verdict::NotClosed(candle), None);
        }
        let interval_ms = candle.series.interval.millis();
        // Two lookups for a known series (the borrow checker cannot yet return
        // a `get_mut` borrow from one arm and insert in the other); cloning the
        // key for `entry()` would allocate on every candle instead.
        if !self.series.contains_key(&candle.series) {
            let max = self.sequence.max_series;
            if max > 0 && self.series.len() >= max {
                let detail = format!(
                    "{} would be series {} of at most {max} (sequence.max_series)",
                    candle.series,
                    max + 1
                );
                return (
                    Verdict::Rejected(Rejection::new(ErrorCode::SeriesLimit, detail)),
                    None,
                );
            }
            self.series.insert(
                candle.series.clone(),
                Box::new(Entry {
                    sequencer: Sequencer::new(),
                    last_seen_ms: None,
                    state: make(),
                }),
            );
        }
        let Some(entry) = self.series.get_mut(&candle.series) else {
            return (
                Verdict::Rejected(Rejection::new(ErrorCode::Internal, "series entry vanished")),
                None,
            );
        };
        let session = self.sequence.sessions.get(candle.series.exchange.as_str());
        match entry
            .sequencer
            .observe(candle.open_time, interval_ms, &self.sequence, session)
        {
            SequenceOutcome::Duplicate => (Verdict::Duplicate(candle), None),
            SequenceOutcome::OutOfOrder { last } => {
                let detail = format!(
                    "open_time {} is older than the last accepted {last} of {}",
                    candle.open_time, candle.series
                );
                (
                    Verdict::Rejected(Rejection::new(ErrorCode::OutOfOrder, detail)),
                    None,
                )
            }
            sequence => {
                if now_ms.is_some() {
                    entry.last_seen_ms = now_ms;
                }
                (
                    Verdict::Accepted { candle, sequence },
                    Some(&mut entry.state),
                )
            }
        }
    }
}

impl<S: Default> Intake<S> {
    /// [`Intake::judge_with`] for states that start from their default.
    pub fn judge<'m>(
        &mut self,
        msg: impl Into<CandleView<'m>>,
        subject: Option<&SubjectTokens<'_>>,
        now_ms: Option<i64>,
    ) -> Verdict {
        self.judge_with(msg, subject, now_ms, S::default).0
    }
}
