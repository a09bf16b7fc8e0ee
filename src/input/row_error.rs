//! Why a data row could not become a record: a stable code for machines
//! (the JSON report's `rejections[].code`, `docs/format.md` "Rejected
//! rows") and a sentence for people. Texts are the ones reports have
//! always shown.

use super::records::{MAX_RECORD_BYTES, MAX_RECORD_LINES};
use crate::activity::Capacity;
use crate::evidence::RejectCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum RowError {
    /// Not as many fields as the header, and not a last `CustomProperties`
    /// cell split on its commas.
    #[error("expected {expected} fields, found {found}")]
    FieldCount { expected: usize, found: usize },
    /// `TimeStamp` is the producer's "unknown" and `ActivityCreationTime`
    /// cannot stand in.
    #[error(
        "TimeStamp: unknown (0001-01-01) and ActivityCreationTime: expected an RFC 3339 time, found \"{creation}\""
    )]
    NoTime { creation: String },
    #[error("TimeStamp: expected an RFC 3339 time, found \"{stamp}\"")]
    BadTime { stamp: String },
    #[error("line of {bytes} bytes exceeds the {} MiB limit; skipped", MAX_RECORD_BYTES >> 20)]
    TooLong { bytes: u64 },
    #[error("unterminated quote: no closing '\"' within {MAX_RECORD_LINES} lines")]
    UnterminatedQuote,
    #[error("line number past {}: split the file", u32::MAX)]
    LineNumber,
    #[error(transparent)]
    Capacity(#[from] Capacity),
}

impl RowError {
    pub(super) fn code(&self) -> RejectCode {
        match self {
            RowError::FieldCount { .. } => RejectCode::FieldCount,
            RowError::NoTime { .. } => RejectCode::NoTime,
            RowError::BadTime { .. } => RejectCode::BadTime,
            RowError::TooLong { .. } => RejectCode::LineTooLong,
            RowError::UnterminatedQuote => RejectCode::UnterminatedQuote,
            RowError::LineNumber | RowError::Capacity(_) => RejectCode::TooLarge,
        }
    }
}
