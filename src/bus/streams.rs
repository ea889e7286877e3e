//! The four streams of the contract, created when missing and checked when present.

use super::BusError;
use crate::config::NatsSettings;
use crate::contract::subject::partition_transform;
use async_nats::jetstream::{self, stream};
use std::time::Duration;

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
    /// Largest message the stream stores (bytes; -1: the server's `max_payload`). The candle
    /// stream's comes from `nats.candles_max_msg_bytes`, so an absurd candle is refused at the
    /// publisher and never reaches the worker.
    pub max_msg_size: i32,
}

/// The streams of DESIGN.md, named and bound to subjects by the settings.
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
            max_msg_size: i32::try_from(settings.candles_max_msg_bytes).unwrap_or(i32::MAX),
        },
        StreamSpec {
            name: settings.signals_stream.clone(),
            subjects: all(&settings.signal_subject_prefix),
            no_ack: false,
            transform: None,
            max_msg_size: -1,
        },
        StreamSpec {
            name: settings.dlq_stream.clone(),
            subjects: all(&settings.dlq_subject_prefix),
            no_ack: false,
            transform: None,
            max_msg_size: -1,
        },
        StreamSpec {
            name: settings.backtest_stream.clone(),
            subjects: vec![settings.backtest_subject.clone()],
            no_ack: true,
            transform: None,
            max_msg_size: -1,
        },
    ]
}

/// Creates every missing stream and checks the existing ones; a stream whose
/// subjects or ack mode differ is an error (changing them silently could
/// drop or divert messages another deployment relies on).
pub async fn ensure_streams(
    js: &jetstream::Context,
    settings: &NatsSettings,
) -> Result<(), BusError> {
    for spec in specs(settings) {
        ensure(js, settings, &spec).await?;
    }
    Ok(())
}

async fn ensure(
    js: &jetstream::Context,
    settings: &NatsSettings,
    spec: &StreamSpec,
) -> Result<(), BusError> {
    match js.get_stream(&spec.name).await {
        Ok(mut existing) => {
            let info = existing
                .info()
                .await
                .map_err(|e| BusError::api("stream info", &spec.name, e))?;
            let mut found = info.config.subjects.clone();
            found.sort();
            let mut wanted = spec.subjects.clone();
            wanted.sort();
            if found != wanted {
                return Err(BusError::StreamMismatch {
                    stream: spec.name.clone(),
                    message: format!("captures {found:?}, this worker needs {wanted:?}"),
                });
            }
            if info.config.no_ack != spec.no_ack {
                return Err(BusError::StreamMismatch {
                    stream: spec.name.clone(),
                    message: format!("no_ack is {}, must be {}", info.config.no_ack, spec.no_ack),
                });
            }
            let transform = info
                .config
                .subject_transform
                .as_ref()
                .map(|t| (t.source.clone(), t.destination.clone()));
            if transform != spec.transform {
                return Err(BusError::StreamMismatch {
                    stream: spec.name.clone(),
                    message: format!(
                        "subject transform is {transform:?}, this worker needs {:?} (nats.partitions cannot change for an existing stream)",
                        spec.transform
                    ),
                });
            }
            if info.config.max_message_size != spec.max_msg_size {
                return Err(BusError::StreamMismatch {
                    stream: spec.name.clone(),
                    message: format!(
                        "max_msg_size is {}, this worker needs {} (nats.candles_max_msg_bytes for the candle stream)",
                        info.config.max_message_size, spec.max_msg_size
                    ),
                });
            }
            tracing::debug!(stream = %spec.name, "stream checked");
            Ok(())
        }
        Err(e) if is_not_found(&e) => {
            js.create_stream(stream::Config {
                name: spec.name.clone(),
                subjects: spec.subjects.clone(),
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                no_ack: spec.no_ack,
                duplicate_window: Duration::from_millis(settings.duplicate_window_ms),
                max_age: Duration::from_millis(settings.max_age_ms),
                allow_direct: true,
                max_message_size: spec.max_msg_size,
                subject_transform: spec.transform.as_ref().map(|(source, destination)| {
                    stream::SubjectTransform {
                        source: source.clone(),
                        destination: destination.clone(),
                    }
                }),
                ..Default::default()
            })
            .await
            .map_err(|e| BusError::api("create stream", &spec.name, e))?;
            tracing::info!(stream = %spec.name, subjects = ?spec.subjects, "stream created");
            Ok(())
        }
        Err(e) => Err(BusError::api("get stream", &spec.name, e)),
    }
}

/// Whether a get-stream failure means "no such stream" (as opposed to a dead connection).
fn is_not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(
        e.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(inner)
            if inner.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}
