//! The one error type of the NATS edge.

/// Something the NATS edge could not do. Each variant names the operation
/// and the object (stream, consumer, subject) so a log line is enough to act.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The first connection failed (later disconnects are retried by the client).
    #[error("connect to {url}: {message}")]
    Connect {
        /// The server URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// A stream exists with a configuration that does not fit this worker.
    #[error("stream {stream}: {message}")]
    StreamMismatch {
        /// The stream.
        stream: String,
        /// What differs.
        message: String,
    },
    /// The server refused to create a stream for good: it cannot reserve the stream's byte
    /// limit (storage or account resources). Trying again cannot pass; the setting must change.
    #[error("create stream {stream}: {message}")]
    StreamRefused {
        /// The stream.
        stream: String,
        /// The server's answer and the setting to change.
        message: String,
    },
    /// A JetStream API call (stream or consumer management) failed.
    #[error("{operation} {object}: {message}")]
    Api {
        /// The call.
        operation: &'static str,
        /// The stream or consumer.
        object: String,
        /// The client's error.
        message: String,
    },
    /// Fetching or reading messages failed.
    #[error("read {object}: {message}")]
    Read {
        /// The stream or consumer.
        object: String,
        /// The client's error.
        message: String,
    },
    /// A publish was not accepted (no ack, or a negative one).
    #[error("publish to {subject}: {message}")]
    Publish {
        /// The subject.
        subject: String,
        /// The client's error.
        message: String,
    },
    /// The server (or the client's `max_payload` check) refused this message for good: it is
    /// too large or breaks a stream limit, so sending it again cannot succeed. Unlike
    /// [`BusError::Publish`], retrying is pointless; the caller gives the message a final
    /// outcome instead.
    #[error("publish to {subject} refused for good: {message}")]
    Refused {
        /// The subject.
        subject: String,
        /// Why.
        message: String,
    },
    /// A body could not be encoded.
    #[error("encode for {subject}: {message}")]
    Encode {
        /// The subject it was meant for.
        subject: String,
        /// The codec's error.
        message: String,
    },
}

impl BusError {
    /// Builds an [`BusError::Api`] from any displayable client error.
    pub fn api(operation: &'static str, object: &str, e: impl std::fmt::Display) -> Self {
        Self::Api {
            operation,
            object: object.to_owned(),
            message: e.to_string(),
        }
    }

    /// Builds a [`BusError::Read`].
    pub fn read(object: &str, e: impl std::fmt::Display) -> Self {
        Self::Read {
            object: object.to_owned(),
            message: e.to_string(),
        }
    }

    /// Builds a [`BusError::Publish`].
    pub fn publish(subject: &str, e: impl std::fmt::Display) -> Self {
        Self::Publish {
            subject: subject.to_owned(),
            message: e.to_string(),
        }
    }

    /// A [`BusError::Refused`] when `e` says the message itself can never be stored (too large
    /// for the server, or a 4xx answer of the stream such as "message size exceeds maximum
    /// allowed"); a [`BusError::Publish`] for anything that may pass later (timeouts, a broken
    /// connection, an election's 503).
    pub fn from_publish(subject: &str, e: &async_nats::jetstream::context::PublishError) -> Self {
        use async_nats::jetstream::context::PublishErrorKind;
        use std::error::Error as _;
        let answered_4xx = e
            .source()
            .and_then(|s| s.downcast_ref::<async_nats::jetstream::Error>())
            .is_some_and(|api| (400..500).contains(&api.code()));
        if e.kind() == PublishErrorKind::MaxPayloadExceeded || answered_4xx {
            Self::Refused {
                subject: subject.to_owned(),
                message: e.to_string(),
            }
        } else {
            Self::publish(subject, e)
        }
    }

    /// Whether this is [`BusError::Refused`].
    pub fn is_refused(&self) -> bool {
        matches!(self, Self::Refused { .. })
    }
}
