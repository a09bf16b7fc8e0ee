//! Reading a row again by its offset: records keep only what rules read, so
//! exports that show every property (`--timeline`) go back to the source.
//! A regular UTF-8 or cp1252 file is read in place; standard input and
//! UTF-16 files keep their rows in memory while the run lasts.

use super::decode::decode_field;
use super::header::Columns;
use super::records::{Fields, Next, Records, Splitter};
use super::{header, pylit, row, time};
use std::fs::File;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::PathBuf;

/// Where an input's raw rows are.
#[derive(Debug, Clone)]
pub enum RawStore {
    /// The file itself; `base` is the length of a UTF-8 BOM, skipped.
    File { path: PathBuf, base: u64 },
    /// Each row's bytes (decoded to UTF-8 for UTF-16 inputs) and a newline.
    Memory(Vec<u8>),
}

/// The raw rows of one input and how to find `CustomProperties` in them.
#[derive(Debug, Clone)]
pub struct RawRows {
    pub(crate) store: RawStore,
    pub(crate) columns: Columns,
}

impl RawRows {
    pub fn cursor(&self) -> RawCursor<'_> {
        RawCursor {
            rows: self,
            file: None,
            pos: 0,
            splitter: Splitter::default(),
            fields: Fields::default(),
        }
    }
}

/// Reads rows of one input by offset, keeping the file open and reading
/// forward where it can (a timeline is mostly in file order).
pub struct RawCursor<'a> {
    rows: &'a RawRows,
    file: Option<BufReader<File>>,
    pos: u64,
    splitter: Splitter,
    fields: Fields,
}

/// What exports show of a row beyond the compact record.
#[derive(Debug, Default)]
pub struct RawRow {
    pub item_id: String,
    /// `ActivityCreationTime`, when readable.
    pub created: Option<chrono::DateTime<chrono::Utc>>,
    pub properties: pylit::Props,
}

impl RawCursor<'_> {
    /// The item id, creation time and full property map of the row at
    /// `offset`.
    pub fn row(&mut self, offset: u64) -> io::Result<RawRow> {
        let raw = self.raw_row(offset)?;
        self.splitter.split(&raw, &mut self.fields);
        let item_id = self.column(header::ITEM_ID).trim().to_string();
        let created = match time::parse(&self.column(header::CREATION_TIME)) {
            time::Parsed::At(t) => Some(t),
            _ => None,
        };
        Ok(RawRow {
            item_id,
            created,
            properties: self.properties_of_fields(),
        })
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
            RawStore::File { path, base } => {
                let target = base + offset;
                let file = match &mut self.file {
                    Some(f) => f,
                    None => {
                        self.pos = 0;
                        self.file
                            .insert(BufReader::with_capacity(1 << 16, File::open(path)?))
                    }
                };
                // Forward and near: stay in the buffer; otherwise seek.
                match i64::try_from(target).ok().zip(i64::try_from(self.pos).ok()) {
                    Some((t, p)) if t >= p => file.seek_relative(t - p)?,
                    _ => {
                        file.seek(SeekFrom::Start(target))?;
                    }
                }
                let mut records = Records::new(&mut *file);
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

fn first_record(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut records = Records::new(bytes);
    Ok(match records.next_record()? {
        Next::Record { .. } => records.record().to_vec(),
        _ => Vec::new(),
    })
}
