//! Reading a row again by its offset: records keep only what rules read, so
//! exports that show every property (`--timeline`) and the duplicate check
//! go back to the evidence. A regular UTF-8 or cp1252 file is read in place
//! through the handle opened for the first read (never reopened by path:
//! a file renamed over it cannot slip in), after checking that its length
//! and modification time are still those of the first read; standard input
//! and UTF-16 files keep their rows in memory while the run lasts.
//! This is `input`'s side of [`RowSource`] (`ARCHITECTURE.md`).

use super::decode::decode_field;
use super::header::Columns;
use super::records::{Fields, Next, Records, Splitter};
use super::{header, pylit, row, time};
use crate::activity::{Activity, IdHash};
use crate::evidence::{FullRow, RowReader, RowSource, RowSourceError};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;
use std::time::SystemTime;

/// Where an input's raw rows are.
#[derive(Debug, Clone)]
pub(crate) enum RawStore {
    /// The file, through the handle of the first read. `base` is the length
    /// of a UTF-8 BOM, skipped; `len` and `modified` are the file's when it
    /// was opened.
    File {
        file: Arc<File>,
        base: u64,
        len: u64,
        modified: Option<SystemTime>,
    },
    /// Each row's bytes (decoded to UTF-8 for UTF-16 inputs) and a newline.
    Memory(Arc<Vec<u8>>),
}

/// The raw rows of one input and how to find their columns.
#[derive(Debug, Clone)]
pub struct RawRows {
    pub(crate) store: RawStore,
    pub(crate) columns: Columns,
    /// The input as named on the command line, for errors.
    pub(crate) path: String,
}

impl RawRows {
    /// A cursor, once the file is checked to be the one read.
    pub fn cursor(&self) -> Result<RawCursor<'_>, RowSourceError> {
        self.check_unchanged()?;
        Ok(RawCursor {
            rows: self,
            file: None,
            pos: 0,
            splitter: Splitter::default(),
            fields: Fields::default(),
        })
    }

    /// The file behind the handle still has the length and modification
    /// time it had when it was opened (an edit in place changes both).
    fn check_unchanged(&self) -> Result<(), RowSourceError> {
        let RawStore::File {
            file,
            len,
            modified,
            ..
        } = &self.store
        else {
            return Ok(());
        };
        let meta = file.metadata().map_err(|source| self.io_error(source))?;
        let changed = |what: String| RowSourceError::Changed {
            path: self.path.clone(),
            what,
        };
        if meta.len() != *len {
            return Err(changed(format!("{len} bytes then, {} now", meta.len())));
        }
        if meta.modified().ok() != *modified {
            return Err(changed("modified since it was opened".into()));
        }
        Ok(())
    }

    fn io_error(&self, source: io::Error) -> RowSourceError {
        RowSourceError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

impl RowSource for RawRows {
    fn reader(&self) -> Result<Box<dyn RowReader + '_>, RowSourceError> {
        Ok(Box::new(self.cursor()?))
    }
}

/// Reads rows of one input by offset, reading forward where it can (a
/// timeline is mostly in file order).
pub struct RawCursor<'a> {
    rows: &'a RawRows,
    file: Option<BufReader<At<'a>>>,
    pos: u64,
    splitter: Splitter,
    fields: Fields,
}

impl RowReader for RawCursor<'_> {
    fn row(&mut self, record: &Activity) -> Result<FullRow, RowSourceError> {
        let (item_id, created) = self.checked(record)?;
        Ok(FullRow {
            item_id,
            created,
            properties: self.properties_of_fields(),
        })
    }

    fn item_id(&mut self, record: &Activity) -> Result<String, RowSourceError> {
        self.checked(record).map(|(item_id, _)| item_id)
    }
}

impl RawCursor<'_> {
    /// Reads and splits `record`'s row and checks it is still the row read
    /// (item id and time); returns its item id and creation time.
    fn checked(
        &mut self,
        record: &Activity,
    ) -> Result<(String, Option<chrono::DateTime<chrono::Utc>>), RowSourceError> {
        let raw = self
            .raw_row(record.raw())
            .map_err(|e| self.rows.io_error(e))?;
        self.splitter.split(&raw, &mut self.fields);
        // Each column decoded once: the identity check and the row share them.
        let item_text = self.column(header::ITEM_ID);
        let stamp = self.column(header::TIME_STAMP);
        let creation = self.column(header::CREATION_TIME);
        // The same row, or the file changed under the same length and time.
        let time = row::resolve_time(&stamp, || creation.clone());
        if IdHash::of(&item_text) != record.item || time.map(|(t, _)| t).ok() != Some(record.time) {
            return Err(RowSourceError::Changed {
                path: self.rows.path.clone(),
                what: format!("line {} is no longer the row read", record.source().line),
            });
        }
        let created = match time::parse(&creation) {
            time::Parsed::At(t) => Some(t),
            _ => None,
        };
        Ok((item_text.trim().to_string(), created))
    }

    /// Column `which` of the row just split, decoded; empty when missing.
    fn column(&self, which: usize) -> std::borrow::Cow<'_, str> {
        self.rows.columns.index[which]
            .and_then(|p| self.fields.get(p))
            .map_or(std::borrow::Cow::Borrowed(""), |b| decode_field(b).0)
    }

    fn properties_of_fields(&self) -> pylit::Props {
        let cell = match row::properties_cell(&self.fields, &self.rows.columns) {
            Ok((cell, _)) => cell.into_owned(),
            Err(_) => Vec::new(),
        };
        let (text, _) = decode_field(&cell);
        let text = text.trim();
        if text.is_empty() {
            return pylit::Props::new();
        }
        pylit::parse_dict(text).unwrap_or_else(|_| pylit::salvage_pairs(text))
    }

    /// The raw bytes of the row at `offset`.
    pub fn raw_row(&mut self, offset: u64) -> io::Result<Vec<u8>> {
        match &self.rows.store {
            RawStore::Memory(bytes) => {
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                first_record(&bytes[start..])
            }
            RawStore::File { file, base, .. } => {
                let target = base + offset;
                let reader = match &mut self.file {
                    Some(f) => f,
                    None => {
                        self.pos = 0;
                        let at = At { file, pos: 0 };
                        self.file.insert(BufReader::with_capacity(1 << 16, at))
                    }
                };
                // Forward and near: stay in the buffer; otherwise seek.
                match i64::try_from(target).ok().zip(i64::try_from(self.pos).ok()) {
                    Some((t, p)) if t >= p => reader.seek_relative(t - p)?,
                    _ => {
                        reader.seek(SeekFrom::Start(target))?;
                    }
                }
                let mut records = Records::new(&mut *reader);
                let raw = match records.next_record()? {
                    Next::Record { .. } => records.record().to_vec(),
                    _ => Vec::new(),
                };
                self.pos = target + records.consumed();
                Ok(raw)
            }
        }
    }
}

/// A shared file read at positions of its own: workers reading one input
/// at once do not move each other's offset (positioned reads).
#[derive(Debug)]
struct At<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = read_at(self.file, buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for At<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let moved = |base: u64, by: i64| {
            base.checked_add_signed(by)
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before start"))
        };
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::Current(by) => moved(self.pos, by)?,
            SeekFrom::End(by) => moved(self.file.metadata()?.len(), by)?,
        };
        Ok(self.pos)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

fn first_record(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut records = Records::new(bytes);
    Ok(match records.next_record()? {
        Next::Record { .. } => records.record().to_vec(),
        _ => Vec::new(),
    })
}
