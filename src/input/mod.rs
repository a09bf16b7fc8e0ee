//! The input boundary: one export file (or stdin) in, normalised
//! [`Activity`] records out, with every data row accounted for as a record,
//! a rejection or a duplicate. Nothing past this module knows about CSV,
//! encodings or Python literals, so another export format only needs a new
//! reader here.

mod accounts;
mod decode;
pub mod digest;
pub mod discover;
mod header;
mod order;
mod parallel;
pub mod pylit;
mod raw;
mod records;
mod row;
mod row_error;

pub use crate::evidence::{InputSummary, Rejection};
pub use raw::RawRows;
use raw::RawStore;
mod time;

use crate::activity::{
    Activity, Arenas, Kind, MAX_INPUTS, Rec, Source, TimeSource, append_records,
};
use crate::error::InputError;
use chrono::{DateTime, Utc};
use decode::Encoding;
use header::Columns;
use indexmap::IndexMap;
use records::{Fields, Next, Records, Splitter};
use row_error::RowError;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

/// Everything read from one input: compact records in (mailbox, time,
/// line) order with exact duplicates dropped, the strings and properties
/// they refer to, and the evidence to read each full row again from.
#[derive(Debug)]
pub struct Parsed {
    pub summary: InputSummary,
    pub activities: Vec<Activity>,
    pub arenas: Arenas,
    pub raw: Arc<RawRows>,
    pub rejections: Vec<Rejection>,
    /// Record → why its `CustomProperties` had to be salvaged.
    pub salvage_errors: Vec<(Source, String)>,
    /// The file number the caller gave: records, rejections and salvage
    /// notes are numbered from it (accounts take the numbers after it).
    pub file: u32,
    /// The accounts of a file pasted together from several mailboxes'
    /// exports, each its own mailbox numbered `file + k`; empty for one.
    pub accounts: Vec<accounts::Account>,
    /// Rows earlier than the row before them in the file: 0 when the file
    /// was in time order, as exports normally are (counted while parsing,
    /// where the records are hot; the sort merges runs when there are few).
    pub descents: u64,
    /// Where they were, as positions in file order, when there were at most
    /// [`KEPT_DESCENTS`] (else empty).
    pub descents_at: Vec<usize>,
}

impl Parsed {
    /// The mailboxes this input holds: its accounts, or itself.
    pub fn mailboxes(&self) -> usize {
        self.accounts.len().max(1)
    }
}

/// Descents whose positions are kept (see [`Parsed::descents_at`]).
pub const KEPT_DESCENTS: u64 = 8;

impl Parsed {
    /// Record `i` with its strings and properties.
    pub fn rec(&self, i: usize) -> Rec<'_> {
        Rec::new(&self.activities[i], &self.arenas)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// The first rejected row ends the run.
    pub strict: bool,
    /// Draw a progress bar on stderr for a large file (decided by the
    /// caller: stderr is a terminal and `-q` is off).
    pub progress: bool,
    /// Threads that parse one plain file: 0 is every core, 1 one pass
    /// (when several files are read at once, they share the cores).
    pub workers: usize,
    /// The most mailboxes one pasted file may become (a run's inputs are
    /// numbered in 16 bits; more accounts keep the file one mailbox): 0 is
    /// [`MAX_INPUTS`].
    pub max_mailboxes: usize,
}

impl ReadOptions {
    fn mailbox_limit(&self) -> usize {
        match self.max_mailboxes {
            0 => MAX_INPUTS,
            n => n,
        }
    }
}

use crate::parallel::cores;

/// Files smaller than this are read too fast for a progress bar.
const PROGRESS_MIN_BYTES: u64 = 32 << 20;

/// A byte-count progress bar on stderr, or a hidden one.
fn progress_bar(opts: ReadOptions, path: &str, size: Option<u64>) -> indicatif::ProgressBar {
    match size.filter(|&s| opts.progress && s >= PROGRESS_MIN_BYTES) {
        Some(size) => {
            let bar = indicatif::ProgressBar::new(size);
            let style = indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(crate::escape::for_terminal_short(path, 40));
            bar
        }
        None => indicatif::ProgressBar::hidden(),
    }
}

/// A file as opened for the first read: the handle rows are read again
/// through, and its length and modification time then (`raw.rs`).
struct Held {
    file: Arc<File>,
    len: u64,
    modified: Option<SystemTime>,
}

/// Opens `path` (`-` = stdin) and reads it as input number `file`. Any
/// path the system can open is read, UTF-8 or not; reports show it as
/// [`Path::display`] does.
pub fn read_path(path: &Path, file: u32, opts: ReadOptions) -> Result<Parsed, InputError> {
    let name = path.display().to_string();
    if path.as_os_str() == "-" {
        return read_from(io::stdin(), &name, file, opts, None);
    }
    let open_error = |source| InputError::Open {
        path: name.clone(),
        source,
    };
    let opened = File::open(path).map_err(open_error)?;
    let meta = opened.metadata().map_err(open_error)?;
    if meta.is_dir() {
        return Err(InputError::Directory { path: name });
    }
    if discover::is_gzip(path) {
        // Decompressed as it is read; the hash is of the file as stored.
        // Rows cannot be read again by offset from a compressed file, so
        // they are kept in memory (docs/inputs.md).
        let (hashed, hasher) = digest::hashing(opened);
        let decoded = flate2::read::MultiGzDecoder::new(hashed);
        return read_hashed(decoded, &name, file, opts, None, hasher);
    }
    let held = Held {
        file: Arc::new(opened.try_clone().map_err(open_error)?),
        len: meta.len(),
        modified: meta.modified().ok(),
    };
    read_from(opened, &name, file, opts, Some(held))
}

/// Reads an export from any byte source (its rows are kept in memory for
/// exports).
pub fn read<R: Read + Send + 'static>(
    source: R,
    path: &str,
    file: u32,
    opts: ReadOptions,
) -> Result<Parsed, InputError> {
    read_from(source, path, file, opts, None)
}

/// Reads an export; `held` is the file to read rows again from, when the
/// source is one (else raw rows are kept in memory).
fn read_from<R: Read + Send + 'static>(
    source: R,
    path: &str,
    file: u32,
    opts: ReadOptions,
    held: Option<Held>,
) -> Result<Parsed, InputError> {
    let (source, hasher) = digest::hashing(source);
    read_hashed(source, path, file, opts, held, hasher)
}

/// Reads an export whose bytes `hasher` is already hashing (`source` may
/// be a decoder over the hashed file).
fn read_hashed<R: Read + Send + 'static>(
    source: R,
    path: &str,
    file: u32,
    opts: ReadOptions,
    held: Option<Held>,
    hasher: digest::Hasher,
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
    // Rows are read again by offset for exports: from the file when it is a
    // plain file in a byte-compatible encoding, else from memory.
    let in_memory = held.is_none() || matches!(encoding, Encoding::Utf16Le | Encoding::Utf16Be);
    let new_reader = || FileReader::new(path, file, encoding, columns.clone(), opts, in_memory);
    let size = held.as_ref().map(|h| h.len);
    let bar = progress_bar(opts, path, size);
    // In-memory raw rows and --strict need one reader in file order; a
    // plain file is parsed in parallel batches, unless it has one core.
    let workers = match opts.workers {
        0 => cores(),
        n => n,
    };
    let reader = if in_memory || opts.strict || workers == 1 {
        let mut reader = new_reader();
        let mut splitter = Splitter::default();
        loop {
            let next = records
                .next_record()
                .map_err(|e| read_err(reader.last_line + 1, e))?;
            if next == Next::End {
                break;
            }
            reader.item(
                &next,
                records.record(),
                records.record_offset(),
                &mut splitter,
                &mut fields,
            )?;
            if reader.summary.rows % 8192 == 0 {
                bar.set_position(records.consumed());
            }
        }
        reader
    } else {
        parallel::read(&mut records, new_reader, size, workers, &bar).map_err(|e| match e {
            parallel::Error::Read(line, source) => read_err(line, source),
            parallel::Error::Input(e) => e,
        })?
    };
    bar.finish_and_clear();
    let mut reader = reader;
    if reader.summary.rows == 0 {
        return Err(InputError::NoRows { path: path.into() });
    }
    reader.summary.missing_final_newline = records.missing_final_newline;
    // The source has ended; dropping it lets the hash finish.
    drop(records);
    let custody = hasher.finish().map_err(|e| read_err(reader.last_line, e))?;
    reader.summary.custody = Some(custody);
    Ok(reader.finish(held.filter(|_| !in_memory), opts))
}

/// Whether `path` is an export with at least one data row: its first
/// non-blank line is the retriever header and a record follows. Reads only
/// the first lines; `Err` says what was found instead.
pub fn probe(path: &Path) -> Result<(), String> {
    let name = path.display().to_string();
    let opened = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let source: Box<dyn Read + Send> = if discover::is_gzip(path) {
        Box::new(flate2::read::MultiGzDecoder::new(opened))
    } else {
        Box::new(opened)
    };
    let (_, text) = decode::sniff(BufReader::with_capacity(1 << 16, source))
        .map_err(|e| format!("unreadable: {e}"))?;
    let mut records = Records::new(text);
    let (mut splitter, mut fields) = (Splitter::default(), Fields::default());
    read_header(&mut records, &mut splitter, &mut fields, &name).map_err(|e| match e {
        InputError::NotAnExport { found, .. } => format!("not an Activities export: found {found}"),
        other => other.to_string(),
    })?;
    loop {
        match records.next_record() {
            Ok(Next::End) => return Err("header but no data rows".into()),
            Ok(Next::Record { .. }) => {
                splitter.split(records.record(), &mut fields);
                if !fields.is_blank() {
                    return Ok(());
                }
            }
            // A damaged first row is still an export: its reading will
            // account for it.
            Ok(_) => return Ok(()),
            Err(e) => return Err(format!("unreadable: {e}")),
        }
    }
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
    arenas: Arenas,
    /// Raw rows kept in memory when the source cannot be read again.
    memory: Option<Vec<u8>>,
    /// Added to stream offsets to give file offsets (a UTF-8 BOM).
    base: u64,
    rejections: Vec<Rejection>,
    salvage_errors: Vec<(u32, String)>,
    user_names: IndexMap<String, u64>,
    last_line: u64,
    order: Descents,
}

/// Counts, in file order, the records whose time is earlier than the
/// record before them, and keeps where the first few are. Batches are
/// counted apart and joined in order.
#[derive(Debug, Clone, Default)]
struct Descents {
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    count: u64,
    at: Vec<usize>,
}

impl Descents {
    /// The record at `index` has `time`.
    fn push(&mut self, time: DateTime<Utc>, index: usize) {
        if self.last.is_some_and(|last| time < last) {
            self.found(index);
        }
        self.first = self.first.or(Some(time));
        self.last = Some(time);
    }

    fn found(&mut self, index: usize) {
        self.count += 1;
        if self.count <= KEPT_DESCENTS {
            self.at.push(index);
        }
    }

    /// `later` follows these records in the file, from index `offset`.
    fn append(&mut self, later: Descents, offset: usize) {
        if matches!((self.last, later.first), (Some(l), Some(f)) if f < l) {
            self.found(offset);
        }
        // Past the kept positions, only the count is needed.
        let unkept = later.count - later.at.len() as u64;
        for at in later.at {
            self.found(offset + at);
        }
        self.count += unkept;
        self.first = self.first.or(later.first);
        self.last = later.last.or(self.last);
    }

    /// The kept positions, when they are all of them.
    fn all_positions(self) -> Vec<usize> {
        if self.count == self.at.len() as u64 {
            self.at
        } else {
            Vec::new()
        }
    }
}

impl<'p> FileReader<'p> {
    fn new(
        path: &'p str,
        file: u32,
        encoding: Encoding,
        columns: Columns,
        opts: ReadOptions,
        in_memory: bool,
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
            header_lines: Vec::new(),
            account: None,
            cp1252_fields: 0,
            salvaged_properties: 0,
            creation_time_fallbacks: 0,
            implausible_times: 0,
            missing_final_newline: false,
            duplicate_lines: Vec::new(),
            custody: None,
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
            arenas: Arenas::default(),
            memory: in_memory.then(Vec::new),
            base: if encoding == Encoding::Utf8Bom { 3 } else { 0 },
            rejections: Vec::new(),
            salvage_errors: Vec::new(),
            user_names: IndexMap::new(),
            last_line: 1,
            order: Descents::default(),
        }
    }

    fn row(
        &mut self,
        line: u64,
        raw: &[u8],
        offset: u64,
        fields: &Fields,
    ) -> Result<(), InputError> {
        self.last_line = line;
        if fields.is_blank() {
            return Ok(());
        }
        if header::is_header(fields) {
            self.summary.repeated_headers += 1;
            self.summary.header_lines.push(line);
            return Ok(());
        }
        self.summary.rows += 1;
        let Ok(short_line) = u32::try_from(line) else {
            return self.reject(line, offset, RowError::LineNumber);
        };
        let source = crate::activity::Source {
            file: self.file,
            line: short_line,
        };
        match row::build(fields, &self.columns, source, &mut self.arenas) {
            Ok(built) => {
                self.summary.cp1252_fields += u64::from(built.cp1252_fields);
                let mut activity = built.activity;
                let at = match &mut self.memory {
                    Some(memory) => {
                        let at = memory.len() as u64;
                        memory.extend_from_slice(raw);
                        memory.push(b'\n');
                        at
                    }
                    None => offset,
                };
                if let Err(full) = activity.set_raw(at) {
                    return self.reject(line, offset, full.into());
                }
                if let Some(error) = built.salvage_error {
                    self.salvage_errors.push((short_line, error));
                }
                self.accept(activity);
                Ok(())
            }
            Err(error) => self.reject(line, offset, error),
        }
    }

    /// One item from the record splitter.
    fn item(
        &mut self,
        next: &Next,
        raw: &[u8],
        offset: u64,
        splitter: &mut Splitter,
        fields: &mut Fields,
    ) -> Result<(), InputError> {
        match *next {
            Next::End => Ok(()),
            Next::Record { line } => {
                splitter.split(raw, fields);
                self.row(line, raw, offset, fields)
            }
            Next::TooLong { line, bytes } => {
                self.unreadable_line(line, offset, RowError::TooLong { bytes })
            }
            Next::Unterminated { line } => {
                self.unreadable_line(line, offset, RowError::UnterminatedQuote)
            }
        }
    }

    /// Makes room for about `rows` records, and arenas filled at the rate
    /// of the records read so far, plus a twentieth (a growing Vec would
    /// briefly hold two copies).
    fn reserve(&mut self, rows: usize) {
        let seen = self.activities.len().max(1);
        let room = |have: usize| {
            let total = rows.saturating_mul(have) / seen;
            total.saturating_add(total / 20).saturating_sub(have)
        };
        self.activities
            .reserve(rows.saturating_sub(self.activities.len()));
        let arenas = &mut self.arenas;
        arenas.reserve_extras(room(arenas.extras_len()));
    }

    /// A fresh reader (for the next parallel batch) in the table allocations
    /// of `spent`, a batch reader already absorbed.
    fn reusing(self, spent: FileReader<'p>) -> Self {
        let FileReader {
            mut activities,
            arenas,
            ..
        } = spent;
        activities.clear();
        FileReader {
            activities,
            arenas: Arenas::reusing(arenas),
            ..self
        }
    }

    /// Makes room for one parallel batch of `rows` rows, so its tables are
    /// not grown by doubling (extras: about six words per row in exports).
    fn reserve_batch(&mut self, rows: usize) {
        self.activities.reserve(rows);
        self.arenas.reserve_extras(rows.saturating_mul(6));
    }

    /// Appends a later batch's results (the parallel reader's merge): its
    /// strings and properties join this reader's tables, and `part` keeps
    /// only its emptied tables (for [`FileReader::reusing`]).
    fn absorb(&mut self, part: &mut FileReader<'p>) {
        let offset = self.activities.len();
        append_records(
            (&mut self.arenas, &mut self.activities),
            (&mut part.arenas, &mut part.activities),
        );
        let (s, p) = (&mut self.summary, &part.summary);
        s.rows += p.rows;
        s.records += p.records;
        s.rejected += p.rejected;
        s.repeated_headers += p.repeated_headers;
        s.header_lines.extend_from_slice(&p.header_lines);
        s.cp1252_fields += p.cp1252_fields;
        s.salvaged_properties += p.salvaged_properties;
        s.creation_time_fallbacks += p.creation_time_fallbacks;
        s.implausible_times += p.implausible_times;
        s.first = s.first.into_iter().chain(p.first).min();
        s.last = s.last.into_iter().chain(p.last).max();
        self.rejections.append(&mut part.rejections);
        self.salvage_errors.append(&mut part.salvage_errors);
        for (name, n) in part.user_names.drain(..) {
            *self.user_names.entry(name).or_default() += n;
        }
        self.last_line = self.last_line.max(part.last_line);
        self.order.append(std::mem::take(&mut part.order), offset);
    }

    /// A line that could not even be split into fields: a row, rejected.
    fn unreadable_line(
        &mut self,
        line: u64,
        offset: u64,
        error: RowError,
    ) -> Result<(), InputError> {
        self.last_line = line;
        self.summary.rows += 1;
        self.reject(line, offset, error)
    }

    fn accept(&mut self, activity: Activity) {
        let s = &mut self.summary;
        s.records += 1;
        s.salvaged_properties += u64::from(activity.salvaged());
        s.creation_time_fallbacks += u64::from(activity.time_source() == TimeSource::CreationTime);
        s.implausible_times += u64::from(activity.implausible_time());
        s.first = Some(s.first.map_or(activity.time, |f| f.min(activity.time)));
        s.last = Some(s.last.map_or(activity.time, |l| l.max(activity.time)));
        if activity.kind == Kind::ServerLogon
            && let Some(user) = Rec::new(&activity, &self.arenas).user_name()
        {
            if let Some(n) = self.user_names.get_mut(user.as_ref()) {
                *n += 1;
            } else {
                self.user_names.insert(user.into_owned(), 1);
            }
        }
        self.order.push(activity.time, self.activities.len());
        self.activities.push(activity);
    }

    /// `offset` is the row's in the decoded stream.
    fn reject(&mut self, line: u64, offset: u64, error: RowError) -> Result<(), InputError> {
        if self.opts.strict {
            return Err(InputError::Strict {
                path: self.path.into(),
                line,
                reason: error.to_string(),
            });
        }
        self.summary.rejected += 1;
        self.rejections.push(Rejection {
            file: self.file,
            line,
            offset: self.base + offset,
            code: error.code(),
            reason: error.to_string(),
        });
        Ok(())
    }

    /// The input as the timeline takes it: accounts found and numbered,
    /// records sorted, exact duplicates dropped.
    fn finish(mut self, held: Option<Held>, opts: ReadOptions) -> Parsed {
        self.summary.mailbox = mailbox_name(&self.user_names, self.path);
        if self.summary.cp1252_fields > 0 {
            self.summary.encoding = Encoding::Cp1252;
        }
        let store = match (self.memory, held) {
            (Some(bytes), _) => RawStore::Memory(Arc::new(bytes)),
            (None, Some(held)) => RawStore::File {
                file: held.file,
                base: self.base,
                len: held.len,
                modified: held.modified,
            },
            (None, None) => RawStore::Memory(Arc::default()),
        };
        let last_line = self.last_line;
        let file = self.file;
        let mut parsed = Parsed {
            summary: self.summary,
            activities: self.activities,
            arenas: self.arenas,
            raw: Arc::new(RawRows {
                store,
                columns: self.columns,
                path: self.path.into(),
            }),
            rejections: self.rejections,
            salvage_errors: Vec::new(),
            file,
            accounts: Vec::new(),
            descents: self.order.count,
            descents_at: self.order.all_positions(),
        };
        let mut accounts = accounts::split(&parsed, last_line);
        if accounts.len() > opts.mailbox_limit() {
            accounts.clear();
        }
        parsed.accounts = accounts;
        let salvaged = std::mem::take(&mut self.salvage_errors);
        number_accounts(&mut parsed, salvaged);
        let (descents, at) = (parsed.descents, std::mem::take(&mut parsed.descents_at));
        order::sort_by_input_and_time(&mut parsed.activities, descents, &at);
        parsed.descents_at = at;
        let Parsed {
            activities,
            arenas,
            raw,
            summary,
            accounts,
            ..
        } = &mut parsed;
        let summaries = if accounts.is_empty() {
            vec![summary]
        } else {
            accounts.iter_mut().map(|a| &mut a.summary).collect()
        };
        let mailboxes = order::Mailboxes {
            first: file,
            summaries,
        };
        order::drop_duplicates((activities, arenas), mailboxes, raw);
        parsed
    }
}

/// Numbers each record, rejection and salvage note by its account: the
/// input's own number for the first (or only) one, then the next ones.
fn number_accounts(parsed: &mut Parsed, salvaged: Vec<(u32, String)>) {
    let starts: Vec<u64> = parsed.accounts.iter().map(|a| a.first_line).collect();
    let base = parsed.file;
    let file_of = |line: u64| {
        let k = starts.partition_point(|&first| first <= line);
        base.saturating_add(u32::try_from(k.saturating_sub(1)).unwrap_or(u32::MAX))
    };
    if !starts.is_empty() {
        for a in &mut parsed.activities {
            a.set_file(file_of(u64::from(a.source().line)));
        }
        for r in &mut parsed.rejections {
            r.file = file_of(r.line);
        }
        parsed.rejections.sort_by_key(|r| (r.file, r.line));
    }
    parsed.salvage_errors = salvaged
        .into_iter()
        .map(|(line, e)| {
            let file = file_of(u64::from(line));
            (Source { file, line }, e)
        })
        .collect();
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
