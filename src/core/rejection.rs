//! Why a record was refused: one [`ErrorCode`] per rule plus a human detail.

use crate::error::{ErrorCode, ErrorReply};

/// A refused record. The code is what dead-letter subjects, metrics and the
/// `check` command report; the detail names the offending values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct Rejection {
    /// The rule that refused the record.
    pub code: ErrorCode,
    /// What exactly was wrong, with the values involved.
    pub detail: String,
}

impl Rejection {
    /// Builds a rejection.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }

    /// The wire form, for dead letters.
    pub fn to_reply(&self, request_id: Option<String>, ts: i64) -> ErrorReply {
        ErrorReply::new(self.code, self.detail.clone(), request_id, ts)
    }
}
