//! The four streams of the contract (and the shadow stream), created when missing and checked
//! when present: what each must look like here, the check in [`check`], the creation in
//! [`ensure`].

mod check;
mod ensure;

pub use check::{config, mismatches};
pub use ensure::{ensure_shadow_stream, ensure_streams, ensure_worker_streams};

use crate::config::NatsSettings;
use crate::contract::subject::partition_transform;
use async_nats::jetstream::stream;
use std::time::Duration;

/// Retention of every stream: a message stays until an age or size limit removes it. A
/// `WorkQueue` or `Interest` stream deletes a message once it is acknowledged, and with it the
/// candle history every warm start rebuilds series from (and the signals a consumer that is
/// down has not read yet).
pub const RETENTION: stream::RetentionPolicy = stream::RetentionPolicy::Limits;

/// Storage of every stream: a memory stream loses everything when the server restarts.
pub const STORAGE: stream::StorageType = stream::StorageType::File;

/// What a full stream does: drop its oldest messages. `New` would refuse the newest instead,
/// and a refused dead letter leaves its candle without a trace.
pub const DISCARD: stream::DiscardPolicy = stream::DiscardPolicy::Old;

/// What one stream must look like.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSpec {
    /// Stream name.
    pub name: String,
    /// Subjects it captures.
    pub subjects: Vec<String>,
    /// Whether publishes are left unacknowledged (see [`specs`] for why BACKTEST is).
    pub no_ack: bool,
    /// Subject transform applied as messages are stored (source, destination): the candle
    /// stream's `partition()` transform when `nats.partitions` > 0.
    pub transform: Option<(String, String)>,
    /// Copies the cluster keeps of every message (`nats.replicas`: 1, or 3 on a cluster so that
    /// losing a node loses nothing).
    pub replicas: usize,
    /// Longest time the stream keeps a message (zero: no limit), from
    /// `<settings>_max_age_ms`.
    pub max_age: Duration,
    /// Most bytes the stream holds (-1: no limit), from `<settings>_max_bytes`.
    pub max_bytes: i64,
    /// Largest message the stream stores, body plus headers (bytes; -1: the server's
    /// `max_payload`), from `<settings>_max_msg_bytes`: the server refuses anything larger at
    /// the publisher, so an absurd message never reaches the worker.
    pub max_msg_size: i32,
    /// Prefix of the settings the limits come from (`nats.signals` for
    /// `nats.signals_max_age_ms`, ...), named in every mismatch.
    pub settings: &'static str,
}

/// The streams of DESIGN.md, named, bound to subjects and limited by the settings.
///
/// BACKTEST is a `no_ack` stream: a plain NATS request to `backtest.requests`
/// is a publish with a reply inbox, and a stream that acknowledged it would
/// send its `PubAck` to that inbox as the first (and, for the requester, the
/// only) answer. Without acks the requester receives exactly one message:
/// the worker's `ErrorReply`. The request is stored all the same.
///
/// A partitioned candle stream captures only well-formed `<prefix>.<e>.<s>.<i>` subjects (the
/// transform needs all three identity tokens): a publish to any other candle subject fails at
/// the publisher instead of being stored where no partition consumer would ever read it.
///
/// CANDLES has no age or size limit by default (the warm start replays its history); SIGNALS,
/// DLQ and BACKTEST do (see [`NatsSettings`] for why each value).
pub fn specs(settings: &NatsSettings) -> [StreamSpec; 4] {
    let all = |prefix: &str| vec![format!("{prefix}.>")];
    let candles = &settings.candle_subject_prefix;
    let (candle_subjects, transform) = match settings.partitions {
        0 => (all(candles), None),
        p => {
            let (source, destination) = partition_transform(candles, p);
            (vec![source.clone()], Some((source, destination)))
        }
    };
    [
        StreamSpec {
            name: settings.candles_stream.clone(),
            subjects: candle_subjects,
            no_ack: false,
            transform,
            replicas: settings.replicas,
            max_age: Duration::from_millis(settings.candles_max_age_ms),
            max_bytes: bytes_limit(settings.candles_max_bytes),
            max_msg_size: size_limit(settings.candles_max_msg_bytes),
            settings: "nats.candles",
        },
        StreamSpec {
            name: settings.signals_stream.clone(),
            subjects: all(&settings.signal_subject_prefix),
            no_ack: false,
            transform: None,
            replicas: settings.replicas,
            max_age: Duration::from_millis(settings.signals_max_age_ms),
            max_bytes: bytes_limit(settings.signals_max_bytes),
            max_msg_size: size_limit(settings.signals_max_msg_bytes),
            settings: "nats.signals",
        },
        StreamSpec {
            name: settings.dlq_stream.clone(),
            subjects: all(&settings.dlq_subject_prefix),
            no_ack: false,
            transform: None,
            replicas: settings.replicas,
            max_age: Duration::from_millis(settings.dlq_max_age_ms),
            max_bytes: bytes_limit(settings.dlq_max_bytes),
            max_msg_size: size_limit(settings.dlq_max_msg_bytes),
            settings: "nats.dlq",
        },
        StreamSpec {
            name: settings.backtest_stream.clone(),
            subjects: vec![settings.backtest_subject.clone()],
            no_ack: true,
            transform: None,
            replicas: settings.replicas,
            max_age: Duration::from_millis(settings.backtest_max_age_ms),
            max_bytes: bytes_limit(settings.backtest_max_bytes),
            max_msg_size: size_limit(settings.backtest_max_msg_bytes),
            settings: "nats.backtest",
        },
    ]
}

/// The stream of shadow routes' signals (`<shadow_subject_prefix>.>`), with the signal stream's
/// limits; created only by a worker that runs a shadow route (the server reserves a stream's
/// `max_bytes` of its storage).
pub fn shadow_spec(settings: &NatsSettings) -> StreamSpec {
    let [_, signals, _, _] = specs(settings);
    StreamSpec {
        name: settings.shadow_stream.clone(),
        subjects: vec![format!("{}.>", settings.shadow_subject_prefix)],
        ..signals
    }
}

/// A byte limit as the server keeps it: 0 (no limit) is -1.
fn bytes_limit(bytes: u64) -> i64 {
    match bytes {
        0 => -1,
        b => i64::try_from(b).unwrap_or(i64::MAX),
    }
}

/// A message-size limit as the server keeps it: 0 (no limit) is -1.
fn size_limit(bytes: u32) -> i32 {
    match bytes {
        0 => -1,
        b => i32::try_from(b).unwrap_or(i32::MAX),
    }
}
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::check::{normal, show_age, show_bytes};
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn by_name(settings: &NatsSettings, name: &str) -> StreamSpec {
        specs(settings)
            .into_iter()
            .find(|s| s.name == name)
            .unwrap()
    }

    /// What the server reports for a stream created with `config`: its "no limit" spellings.
    fn as_stored(mut config: stream::Config) -> stream::Config {
        config.max_messages = -1;
        config.max_messages_per_subject = -1;
        config.max_bytes = normal(config.max_bytes);
        config.max_message_size = normal(i64::from(config.max_message_size)) as i32;
        config
    }

    #[test]
    fn default_limits_bound_every_stream_but_the_candle_history() {
        let s = NatsSettings::default();
        let candles = by_name(&s, "CANDLES");
        assert_eq!(
            (candles.max_age, candles.max_bytes, candles.max_msg_size),
            (Duration::ZERO, -1, 64 * 1024)
        );
        let signals = by_name(&s, "SIGNALS");
        assert_eq!(
            (signals.max_age, signals.max_bytes, signals.max_msg_size),
            (30 * DAY, 1 << 30, 64 * 1024)
        );
        let dlq = by_name(&s, "DLQ");
        assert_eq!(
            (dlq.max_age, dlq.max_bytes, dlq.max_msg_size),
            (14 * DAY, 256 << 20, 64 * 1024)
        );
        let backtest = by_name(&s, "BACKTEST");
        assert_eq!(
            (backtest.max_age, backtest.max_bytes, backtest.max_msg_size),
            (7 * DAY, 64 << 20, 64 * 1024)
        );
        for spec in specs(&s) {
            assert_eq!(spec.replicas, 1, "{}", spec.name);
        }
    }

    #[test]
    fn every_limit_comes_from_its_own_setting_and_zero_means_none() {
        let s = NatsSettings {
            candles_max_age_ms: 1_000,
            candles_max_bytes: 2_000,
            candles_max_msg_bytes: 3_000,
            signals_max_age_ms: 4_000,
            signals_max_bytes: 5_000,
            signals_max_msg_bytes: 6_000,
            dlq_max_age_ms: 7_000,
            dlq_max_bytes: 8_000,
            dlq_max_msg_bytes: 9_000,
            backtest_max_age_ms: 0,
            backtest_max_bytes: 0,
            backtest_max_msg_bytes: 0,
            ..NatsSettings::default()
        };
        let got: Vec<_> = specs(&s)
            .iter()
            .map(|s| {
                (
                    s.max_age.as_millis(),
                    s.max_bytes,
                    s.max_msg_size,
                    s.settings,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (1_000, 2_000, 3_000, "nats.candles"),
                (4_000, 5_000, 6_000, "nats.signals"),
                (7_000, 8_000, 9_000, "nats.dlq"),
                (0, -1, -1, "nats.backtest"),
            ]
        );
    }

    #[test]
    fn a_stream_created_from_a_spec_fits_it_when_found_again() {
        for partitions in [0, 4] {
            let s = NatsSettings {
                partitions,
                ..NatsSettings::default()
            };
            for spec in specs(&s) {
                let created = config(&spec, Duration::from_secs(120));
                assert_eq!(created.retention, stream::RetentionPolicy::Limits);
                assert_eq!(created.storage, stream::StorageType::File);
                assert_eq!(created.discard, stream::DiscardPolicy::Old);
                assert_eq!(created.num_replicas, 1);
                assert_eq!(created.max_age, spec.max_age);
                assert_eq!(created.max_bytes, spec.max_bytes);
                assert_eq!(created.max_message_size, spec.max_msg_size);
                assert_eq!(mismatches(&spec, &created), Vec::<String>::new());
                assert_eq!(mismatches(&spec, &as_stored(created)), Vec::<String>::new());
            }
        }
    }

    /// The mismatches of SIGNALS' default spec against its created config changed by `change`.
    fn signals_with(change: impl FnOnce(&mut stream::Config)) -> Vec<String> {
        let spec = by_name(&NatsSettings::default(), "SIGNALS");
        let mut found = config(&spec, Duration::from_secs(120));
        change(&mut found);
        mismatches(&spec, &found)
    }

    #[test]
    fn each_difference_is_refused_naming_the_setting_or_the_reason() {
        use stream::{DiscardPolicy, RetentionPolicy, StorageType};
        type Case = (fn(&mut stream::Config), &'static [&'static str]);
        let cases: [Case; 12] = [
            (
                |c| c.retention = RetentionPolicy::WorkQueue,
                &["retention is WorkQueue", "needs Limits"],
            ),
            (
                |c| c.retention = RetentionPolicy::Interest,
                &["retention is Interest"],
            ),
            (
                |c| c.storage = StorageType::Memory,
                &["storage is Memory", "needs File"],
            ),
            (|c| c.num_replicas = 3, &["num_replicas is 3", "needs 1"]),
            (
                |c| c.max_age = Duration::ZERO,
                &[
                    "max_age is none, this worker needs 30d",
                    "nats.signals_max_age_ms",
                ],
            ),
            (
                |c| c.max_age = Duration::from_secs(90),
                &["max_age is 90s", "nats.signals_max_age_ms"],
            ),
            (
                |c| c.max_bytes = -1,
                &[
                    "max_bytes is none, this worker needs 1 GiB",
                    "nats.signals_max_bytes",
                ],
            ),
            (
                |c| c.max_message_size = 1_000,
                &[
                    "max_msg_size is 1000 bytes, this worker needs 64 KiB",
                    "nats.signals_max_msg_bytes",
                ],
            ),
            (|c| c.max_messages = 10, &["max_msgs is 10"]),
            (
                |c| c.max_messages_per_subject = 1,
                &["max_msgs_per_subject is 1"],
            ),
            (|c| c.discard = DiscardPolicy::New, &["discard is New"]),
            (
                |c| c.subjects = vec!["other.>".into()],
                &["captures [\"other.>\"]"],
            ),
        ];
        for (change, needles) in cases {
            let found = signals_with(change);
            assert_eq!(found.len(), 1, "{found:?}");
            for needle in needles {
                assert!(found[0].contains(needle), "{found:?} lacks {needle:?}");
            }
        }
    }

    #[test]
    fn every_difference_is_reported_at_once() {
        let found = signals_with(|c| {
            c.retention = stream::RetentionPolicy::WorkQueue;
            c.max_age = DAY;
            c.no_ack = true;
        });
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("retention"), "{found:?}");
        assert!(
            found.iter().any(|m| m.contains("no_ack is true")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|m| m.contains("max_age is 1d, this worker needs 30d")),
            "{found:?}"
        );
    }

    #[test]
    fn limits_are_shown_in_the_units_an_operator_set() {
        assert_eq!(show_age(Duration::ZERO), "none");
        assert_eq!(show_age(30 * DAY), "30d");
        assert_eq!(show_age(Duration::from_secs(5_400)), "90m");
        assert_eq!(show_age(Duration::from_millis(1_500)), "1500ms");
        assert_eq!(show_age(Duration::from_nanos(7)), "7ns");
        assert_eq!(show_bytes(-1), "none");
        assert_eq!(show_bytes(10 << 30), "10 GiB");
        assert_eq!(show_bytes(1_536 << 10), "1536 KiB");
        assert_eq!(show_bytes(1_000), "1000 bytes");
    }
}
