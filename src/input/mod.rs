//! The input boundary: one export file (or stdin) in, normalised
//! [`Activity`] records out, with every data row accounted for as a record,
//! a rejection or a duplicate. Nothing past this module knows about CSV,
//! encodings or Python literals, so another export format only needs a new
//! reader here.

pub mod decode;
mod header;
pub mod pylit;
pub mod records;
mod row;
pub mod time;

use crate::activity::{Activity, PropsStatus, TimeSource};
use crate::error::InputError;
use chrono::{DateTime, Utc};
use decode::Encoding;
use header::Columns;
use indexmap::IndexMap;
use records::{Fields, MAX_RECORD_BYTES, MAX_RECORD_LINES, Next, Records, Splitter};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

/// A row that could not become a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub file: u32,
    pub line: u64,
    pub reason: String,
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
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

/// Everything read from one input.
#[derive(Debug)]
pub struct Parsed {
    pub summary: InputSummary,
    pub activities: Vec<Activity>,
    pub rejections: Vec<Rejection>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// The first rejected row ends the run.
    pub strict: bool,
}

/// Opens `path` (`-` = stdin) and reads it as input number `file`.
pub fn read_path(path: &str, file: u32, opts: ReadOptions) -> Result<Parsed, InputError> {
    let source: Box<dyn Read + Send> = if path == "-" {
        Box::new(io::stdin())
    } else {
        let meta = std::fs::metadata(path).map_err(|source| InputError::Open {
            path: path.into(),
            source,
        })?;
        if meta.is_dir() {
            return Err(InputError::Directory { path: path.into() });
        }
        Box::new(File::open(path).map_err(|source| InputError::Open {
            path: path.into(),
            source,
        })?)
    };
    read(source, path, file, opts)
}

/// Reads an export from any byte source.
pub fn read<R: Read + Send + 'static>(
    source: R,
    path: &str,
    file: u32,
    opts: ReadOptions,
) -> Result<Parsed, InputError> {
    let read_err = |line, source| InputError::Read {
        path: path.into(),
        line,
        source,
    };
    let (encoding, text) =
        decode::sniff(BufReader::with_capacity(1 << 16, source)).map_err(|e| read_err(1, e))?;
    let mut records = Records::new(text);
    let mut splitter = Splitter::default();
    let mut fields = Fields::default();
    let columns = read_header(&mut records, &mut splitter, &mut fields, path)?;
    let mut reader = FileReader::new(path, file, encoding, columns, opts);
    loop {
        match records
            .next_record()
            .map_err(|e| read_err(reader.last_line + 1, e))?
        {
            Next::End => break,
            Next::Record { line } => {
                splitter.split(records.record(), &mut fields);
                reader.row(line, records.record(), &fields)?;
            }
            Next::TooLong { line, bytes } => {
                let reason = format!(
                    "line of {bytes} bytes exceeds the {} MiB limit; skipped",
                    MAX_RECORD_BYTES >> 20
                );
                reader.unreadable_line(line, reason)?;
            }
            Next::Unterminated { line } => {
                let reason =
                    format!("unterminated quote: no closing '\"' within {MAX_RECORD_LINES} lines");
                reader.unreadable_line(line, reason)?;
            }
        }
    }
    if reader.summary.rows == 0 {
        return Err(InputError::NoRows { path: path.into() });
    }
    reader.summary.missing_final_newline = records.missing_final_newline;
    Ok(reader.finish())
}

/// The first non-blank record must be the retriever header.
fn read_header<R: BufRead>(
    records: &mut Records<R>,
    splitter: &mut Splitter,
    fields: &mut Fields,
    path: &str,
) -> Result<Columns, InputError> {
    let not_export = |found: String| InputError::NotAnExport {
        path: path.into(),
        found,
    };
    loop {
        let next = records.next_record().map_err(|source| InputError::Read {
            path: path.into(),
            line: 1,
            source,
        })?;
        match next {
            Next::Record { .. } => {
                splitter.split(records.record(), fields);
                if fields.is_blank() {
                    continue;
                }
                return Columns::from_header(records.record(), fields).map_err(not_export);
            }
            Next::End => return Err(not_export("an empty file".into())),
            Next::TooLong { bytes, .. } => {
                return Err(not_export(format!("a first line of {bytes} bytes")));
            }
            Next::Unterminated { .. } => {
                return Err(not_export("a first line with an unterminated quote".into()));
            }
        }
    }
}

/// State while streaming the data rows of one input.
struct FileReader<'p> {
    path: &'p str,
    file: u32,
    columns: Columns,
    opts: ReadOptions,
    summary: InputSummary,
    activities: Vec<Activity>,
    rejections: Vec<Rejection>,
    /// 128-bit digest of each row's raw bytes → its first line.
    seen: HashMap<u128, u64>,
    user_names: IndexMap<String, u64>,
    last_line: u64,
}

impl<'p> FileReader<'p> {
    fn new(
        path: &'p str,
        file: u32,
        encoding: Encoding,
        columns: Columns,
        opts: ReadOptions,
    ) -> Self {
        let summary = InputSummary {
            path: path.into(),
            mailbox: String::new(),
            encoding,
            rows: 0,
            records: 0,
            rejected: 0,
            duplicates: 0,
            repeated_headers: 0,
            cp1252_fields: 0,
            salvaged_properties: 0,
            creation_time_fallbacks: 0,
            implausible_times: 0,

            missing_final_newline: false,
            duplicate_lines: Vec::new(),
            first: None,
            last: None,
        };
        FileReader {
            path,
            file,
            columns,
            opts,
            summary,
            activities: Vec::new(),
            rejections: Vec::new(),
            seen: HashMap::new(),
            user_names: IndexMap::new(),
            last_line: 1,
        }
    }

    fn row(&mut self, line: u64, raw: &[u8], fields: &Fields) -> Result<(), InputError> {
        self.last_line = line;
        if fields.is_blank() {
            return Ok(());
        }
        if header::is_header(fields) {
            self.summary.repeated_headers += 1;
            return Ok(());
        }
        self.summary.rows += 1;
        match self.seen.entry(row::digest(raw)) {
            Entry::Occupied(first) => {
                self.summary.duplicates += 1;
                self.summary.duplicate_lines.push((line, *first.get()));
                return Ok(());
            }
            Entry::Vacant(slot) => {
                slot.insert(line);
            }
        }
        let source = crate::activity::Source {
            file: self.file,
            line,
        };
        match row::build(fields, &self.columns, source) {
            Ok(built) => {
                self.summary.cp1252_fields += u64::from(built.cp1252_fields);
                self.accept(built.activity);
                Ok(())
            }
            Err(reason) => self.reject(line, reason),
        }
    }

    /// A line that could not even be split into fields: a row, rejected.
    fn unreadable_line(&mut self, line: u64, reason: String) -> Result<(), InputError> {
        self.last_line = line;
        self.summary.rows += 1;
        self.reject(line, reason)
    }

    fn accept(&mut self, activity: Activity) {
        let s = &mut self.summary;
        s.records += 1;
        s.salvaged_properties += u64::from(matches!(
            activity.props_status,
            PropsStatus::Salvaged { .. }
        ));
        s.creation_time_fallbacks += u64::from(activity.time_source == TimeSource::CreationTime);
        s.implausible_times += u64::from(activity.implausible_time());
        s.first = Some(s.first.map_or(activity.time, |f| f.min(activity.time)));
        s.last = Some(s.last.map_or(activity.time, |l| l.max(activity.time)));
        if activity.kind == crate::activity::Kind::ServerLogon
            && let Some(user) = activity.user_name()
        {
            *self.user_names.entry(user.into_owned()).or_default() += 1;
        }
        self.activities.push(activity);
    }

    fn reject(&mut self, line: u64, reason: String) -> Result<(), InputError> {
        if self.opts.strict {
            return Err(InputError::Strict {
                path: self.path.into(),
                line,
                reason,
            });
        }
        self.summary.rejected += 1;
        self.rejections.push(Rejection {
            file: self.file,
            line,
            reason,
        });
        Ok(())
    }

    fn finish(mut self) -> Parsed {
        self.summary.mailbox = mailbox_name(&self.user_names, self.path);
        if self.summary.cp1252_fields > 0 {
            self.summary.encoding = Encoding::Cp1252;
        }
        Parsed {
            summary: self.summary,
            activities: self.activities,
            rejections: self.rejections,
        }
    }
}

/// The mailbox owner: the most frequent `ServerLogon.UserName` (first seen
/// wins a tie), else the file's stem.
fn mailbox_name(user_names: &IndexMap<String, u64>, path: &str) -> String {
    let mut best: Option<(&String, u64)> = None;
    for (name, &n) in user_names {
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((name, n));
        }
    }
    match best {
        Some((name, _)) => name.clone(),
        None if path == "-" => "stdin".into(),
        None => std::path::Path::new(path)
            .file_stem()
            .map_or_else(|| path.into(), |s| s.to_string_lossy().into_owned()),
    }
}
