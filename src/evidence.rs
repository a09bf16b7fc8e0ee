//! What the model knows of the evidence beyond its records: each input's
//! row accounting, the rows that could not become records, the property
//! values an export shows, and the port through which a report asks for a
//! row's full properties ([`RowSource`]). `input` fills these in; the
//! timeline, rules and reports read them without knowing CSV, encodings or
//! Python literals (`ARCHITECTURE.md`).

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::Serialize;

/// The encoding an input was read as, reported per input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Encoding {
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "utf-8-bom")]
    Utf8Bom,
    /// At least one field was not UTF-8 and was decoded as Windows-1252
    /// (retriever v0 on Windows).
    #[serde(rename = "cp1252")]
    Cp1252,
    #[serde(rename = "utf-16le")]
    Utf16Le,
    #[serde(rename = "utf-16be")]
    Utf16Be,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Cp1252 => "cp1252",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
        }
    }
}

/// A row that could not become a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub file: u32,
    pub line: u64,
    /// Where the row starts: a byte offset in the file (in the decoded
    /// UTF-8 text, for UTF-16 files).
    pub offset: u64,
    pub code: RejectCode,
    /// The reason, for people.
    pub reason: String,
}

/// Why a row was rejected, as machines match it: stable across releases
/// (`docs/format.md`, "Rejected rows"); spelt by [`RejectCode::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectCode {
    /// Fewer or more fields than the header.
    FieldCount,
    /// No usable time: `TimeStamp` unknown and `ActivityCreationTime`
    /// unreadable.
    NoTime,
    /// `TimeStamp` is not a time.
    BadTime,
    /// A line over the record size limit, skipped unread.
    LineTooLong,
    /// A quote that never closed within the line bound.
    UnterminatedQuote,
    /// Past what one run can number or store (split the file).
    TooLarge,
}

impl RejectCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::FieldCount => "field-count",
            RejectCode::NoTime => "no-time",
            RejectCode::BadTime => "bad-time",
            RejectCode::LineTooLong => "line-too-long",
            RejectCode::UnterminatedQuote => "unterminated-quote",
            RejectCode::TooLarge => "too-large",
        }
    }
}

/// Per-input bookkeeping, reported in the header block and JSON `inputs`.
#[derive(Debug, Clone)]
pub struct InputSummary {
    pub path: String,
    /// Most frequent `ServerLogon.UserName`, else the file name.
    pub mailbox: String,
    pub encoding: Encoding,
    /// Data rows read (header lines excluded).
    pub rows: u64,
    pub records: u64,
    pub rejected: u64,
    pub duplicates: u64,
    /// Header lines after the first (merged files); not rows.
    pub repeated_headers: u64,
    /// Their line numbers, in order.
    pub header_lines: Vec<u64>,
    /// Set when this is one account of a file that held several
    /// ([`accounts`]).
    pub account: Option<AccountPart>,
    /// Fields decoded as cp1252 because they were not UTF-8.
    pub cp1252_fields: u64,
    /// Records whose `CustomProperties` was not a valid literal.
    pub salvaged_properties: u64,
    /// Records timed by `ActivityCreationTime` (sentinel or bad `TimeStamp`).
    pub creation_time_fallbacks: u64,
    /// Records whose time is before 2000 or after 2099.
    pub implausible_times: u64,
    /// The last line had no line terminator: possibly a cut-short export.
    pub missing_final_newline: bool,
    /// Line of each dropped duplicate and the line it repeats.
    pub duplicate_lines: Vec<(u64, u64)>,
    /// SHA-256 and size of the whole file as read (every account of a
    /// pasted file carries its file's); `None` only before reading ends.
    pub custody: Option<crate::input::digest::Custody>,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

/// Where an account sits in its file, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountPart {
    /// 1-based.
    pub index: usize,
    /// Accounts the file held.
    pub of: usize,
    pub first_line: u64,
    /// The last line of the account (the line before the next account's
    /// header, or the file's last line).
    pub last_line: u64,
}

/// One Python literal value. Serialises to the natural JSON value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PyValue {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<PyValue>),
    Dict(Props),
}

/// Property map in the file's key order.
pub type Props = IndexMap<String, PyValue>;

impl PyValue {
    /// The value as text: strings as they are, scalars in Python's spelling
    /// (`True`, `5`), containers as compact JSON. `None` has no text.
    pub fn as_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        match self {
            PyValue::None => None,
            PyValue::Str(s) => Some(Cow::Borrowed(s)),
            PyValue::Bool(true) => Some(Cow::Borrowed("True")),
            PyValue::Bool(false) => Some(Cow::Borrowed("False")),
            PyValue::Int(i) => Some(Cow::Owned(i.to_string())),
            PyValue::Float(f) => Some(Cow::Owned(f.to_string())),
            other => serde_json::to_string(other).ok().map(Cow::Owned),
        }
    }
}

/// What an export shows of a row beyond its compact record (which keeps
/// only what rules read): the item id as written, the creation time and
/// every property, in the file's key order.
#[derive(Debug, Default)]
pub struct FullRow {
    pub item_id: String,
    /// `ActivityCreationTime`, when readable.
    pub created: Option<DateTime<Utc>>,
    pub properties: Props,
}

/// Why a row could not be read again. Both end the run with exit 74.
#[derive(Debug, thiserror::Error)]
pub enum RowSourceError {
    /// The evidence is no longer what was read: a report built from it
    /// would mix two files.
    #[error("{path}: changed since it was read ({what}); run again on an unchanged copy")]
    Changed { path: String, what: String },
    #[error("{path}: reading a row again failed")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The port through which reports read a record's full row: implemented
/// by `input` over the evidence it already holds open (or keeps in
/// memory), so nothing past `input` knows how rows are framed or decoded,
/// and no file is opened twice by its path.
pub trait RowSource: Send + Sync + std::fmt::Debug {
    /// A reader for one worker, after checking that the evidence is the
    /// one read (its length and modification time).
    fn reader(&self) -> Result<Box<dyn RowReader + '_>, RowSourceError>;
}

/// Reads full rows of one input, one worker's buffers.
pub trait RowReader {
    /// The full row of `record`; a row whose item id or time is no longer
    /// the record's is [`RowSourceError::Changed`].
    fn row(&mut self, record: &crate::activity::Activity) -> Result<FullRow, RowSourceError>;

    /// The item id of `record` as written, checked like [`RowReader::row`]
    /// (a reader may skip parsing the properties).
    fn item_id(&mut self, record: &crate::activity::Activity) -> Result<String, RowSourceError> {
        self.row(record).map(|r| r.item_id)
    }
}
