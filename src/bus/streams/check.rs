//! Whether a stream found on the server is the one its spec describes, and the configuration a
//! missing one is created with: the two are written side by side so they cannot disagree.

use super::{DISCARD, RETENTION, STORAGE, StreamSpec};
use async_nats::jetstream::stream;
use std::time::Duration;

/// The configuration a missing stream is created with: exactly what [`mismatches`] accepts
/// when the stream is found again.
pub fn config(spec: &StreamSpec, duplicate_window: Duration) -> stream::Config {
    stream::Config {
        name: spec.name.clone(),
        subjects: spec.subjects.clone(),
        retention: RETENTION,
        storage: STORAGE,
        discard: DISCARD,
        num_replicas: spec.replicas,
        no_ack: spec.no_ack,
        duplicate_window,
        max_age: spec.max_age,
        max_bytes: spec.max_bytes,
        max_messages: -1,
        max_messages_per_subject: -1,
        max_message_size: spec.max_msg_size,
        allow_direct: true,
        subject_transform: spec.transform.as_ref().map(|(source, destination)| {
            stream::SubjectTransform {
                source: source.clone(),
                destination: destination.clone(),
            }
        }),
        ..Default::default()
    }
}

/// Every way an existing stream's configuration differs from `spec`, each naming the setting
/// (or why there is none); empty when the stream fits. Retention, storage and subjects cannot
/// be changed on a stream; limits can (`nats stream edit`), or the settings can follow the
/// stream.
pub fn mismatches(spec: &StreamSpec, found: &stream::Config) -> Vec<String> {
    let mut out = Vec::new();
    if found.retention != RETENTION {
        out.push(format!(
            "retention is {:?}, this worker needs {RETENTION:?}: a WorkQueue or Interest stream deletes acknowledged messages, and with them the history a restart replays (recreate the stream)",
            found.retention
        ));
    }
    if found.storage != STORAGE {
        out.push(format!(
            "storage is {:?}, this worker needs {STORAGE:?}: a memory stream loses everything when the server restarts (recreate the stream)",
            found.storage
        ));
    }
    let replicas = found.num_replicas.max(1);
    if replicas != spec.replicas {
        out.push(format!(
            "num_replicas is {replicas}, this worker needs {} (nats.replicas)",
            spec.replicas
        ));
    }
    let mut subjects = found.subjects.clone();
    subjects.sort();
    let mut wanted = spec.subjects.clone();
    wanted.sort();
    if subjects != wanted {
        out.push(format!(
            "captures {subjects:?}, this worker needs {wanted:?}"
        ));
    }
    if found.no_ack != spec.no_ack {
        out.push(format!(
            "no_ack is {}, must be {}",
            found.no_ack, spec.no_ack
        ));
    }
    let transform = found
        .subject_transform
        .as_ref()
        .map(|t| (t.source.clone(), t.destination.clone()));
    if transform != spec.transform {
        out.push(format!(
            "subject transform is {transform:?}, this worker needs {:?} (nats.partitions cannot change for an existing stream)",
            spec.transform
        ));
    }
    let fix = "change the setting, or edit the stream with nats stream edit";
    if found.max_age != spec.max_age {
        out.push(format!(
            "max_age is {}, this worker needs {} ({}_max_age_ms: {fix})",
            show_age(found.max_age),
            show_age(spec.max_age),
            spec.settings
        ));
    }
    if normal(found.max_bytes) != spec.max_bytes {
        out.push(format!(
            "max_bytes is {}, this worker needs {} ({}_max_bytes: {fix})",
            show_bytes(found.max_bytes),
            show_bytes(spec.max_bytes),
            spec.settings
        ));
    }
    if normal(i64::from(found.max_message_size)) != i64::from(spec.max_msg_size) {
        out.push(format!(
            "max_msg_size is {}, this worker needs {} ({}_max_msg_bytes: {fix})",
            show_bytes(i64::from(found.max_message_size)),
            show_bytes(i64::from(spec.max_msg_size)),
            spec.settings
        ));
    }
    for (limit, value) in [
        ("max_msgs", found.max_messages),
        ("max_msgs_per_subject", found.max_messages_per_subject),
    ] {
        if normal(value) != -1 {
            out.push(format!(
                "{limit} is {value}, this worker needs none (there is no such setting: a count limit drops messages, a series' history among them, that the age and byte limits keep; edit the stream)"
            ));
        }
    }
    if found.discard != DISCARD {
        out.push(format!(
            "discard is {:?}, this worker needs {DISCARD:?}: a full stream must drop its oldest messages, not refuse signals and dead letters (edit the stream)",
            found.discard
        ));
    }
    out
}

/// A count or byte limit with every "no limit" spelling (0, any negative) as -1.
pub(super) fn normal(limit: i64) -> i64 {
    if limit <= 0 { -1 } else { limit }
}

/// An age limit for a message: the largest unit that divides it (`30d`, `90s`), or `none`.
pub(super) fn show_age(age: Duration) -> String {
    const UNITS: [(u128, &str); 6] = [
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1, "ns"),
    ];
    let nanos = age.as_nanos();
    if nanos == 0 {
        return "none".into();
    }
    let (size, unit) = UNITS
        .iter()
        .find(|(size, _)| nanos.is_multiple_of(*size))
        .copied()
        .unwrap_or((1, "ns"));
    format!("{}{unit}", nanos / size)
}

/// A byte limit for a message: binary units when exact (`10 GiB`), or `none`.
pub(super) fn show_bytes(bytes: i64) -> String {
    const UNITS: [(i64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    if bytes <= 0 {
        return "none".into();
    }
    match UNITS.iter().find(|(size, _)| bytes % size == 0) {
        Some((size, unit)) => format!("{} {unit}", bytes / size),
        None => format!("{bytes} bytes"),
    }
}
