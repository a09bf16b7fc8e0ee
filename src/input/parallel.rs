//! Parsing one file on every core: the calling thread splits records into
//! batches (cheap), workers parse batches into partial readers (the costly
//! part: fields, times, Python literals, interning), and the caller merges
//! the partial results back in file order (`crate::parallel::ordered`).
//! The outcome is identical to a single pass.

use super::records::{Fields, Next, Records, Splitter};
use super::{FileReader, InputError};
use crate::parallel::{Pool, ordered};
use std::cell::Cell;
use std::io::{self, BufRead};

/// Records per batch: large enough to amortise the hand-off, small enough
/// to keep a few in flight.
const BATCH_RECORDS: usize = 4096;

pub(super) enum Error {
    /// Reading failed near this line.
    Read(u64, io::Error),
    Input(InputError),
}

/// A run of consecutive records: their bytes and what the splitter said.
struct Batch {
    bytes: Vec<u8>,
    items: Vec<(Next, u64, usize, usize)>,
}

/// `size` (the file's length) lets the merged tables be sized once from the
/// first batch's row length, instead of doubling (which briefly holds the
/// old and the new copy). `workers` parse (at most eight: more only add
/// batches in flight).
pub(super) fn read<'p, R: BufRead>(
    records: &mut Records<R>,
    new_reader: impl Fn() -> FileReader<'p> + Sync,
    size: Option<u64>,
    workers: usize,
    bar: &indicatif::ProgressBar,
) -> Result<FileReader<'p>, Error> {
    let workers = workers.clamp(1, 8);
    let pool = Pool {
        workers,
        ahead: workers * 2,
    };
    let mut index = 0;
    // Set from the first batch, used once the first part is merged (not
    // before: the estimate must survive until there is a table to size).
    let estimate = Cell::new(None);
    let mut merged: Option<FileReader<'p>> = None;
    ordered(
        pool,
        |spare| {
            let batch = next_batch(records, spare)?;
            if let Some(batch) = &batch {
                if index == 0 {
                    estimate.set(estimate_rows(batch, size));
                }
                bar.set_position(records.consumed());
                index += 1;
            }
            Ok(batch)
        },
        || (Splitter::default(), Fields::default()),
        |(splitter, fields), batch, spent| {
            // A merged part's tables, already paged in, are filled again.
            let reader = match spent {
                Some(spent) => new_reader().reusing(spent),
                None => new_reader(),
            };
            parse_batch(batch, reader, splitter, fields).map_err(Error::Input)
        },
        |mut part| match merged.as_mut() {
            Some(m) => {
                m.absorb(&mut part);
                Ok(Some(part))
            }
            None => {
                if let Some(rows) = estimate.take() {
                    part.reserve(rows);
                }
                merged = Some(part);
                Ok(None)
            }
        },
    )?;
    Ok(merged.unwrap_or_else(&new_reader))
}

/// Rows the whole file probably holds, from the first batch's bytes per row
/// (plus a margin, so the estimate is rarely exceeded).
fn estimate_rows(first: &Batch, size: Option<u64>) -> Option<usize> {
    let size = size?;
    let rows = first.items.len().max(1);
    let per_row = (first.bytes.len() / rows).max(1) as u64;
    Some(usize::try_from(size / per_row).ok()?.saturating_mul(21) / 20)
}

/// Up to [`BATCH_RECORDS`] records, read straight into a spare batch's
/// buffers if there is one.
fn next_batch<R: BufRead>(
    records: &mut Records<R>,
    spare: Option<Batch>,
) -> Result<Option<Batch>, Error> {
    let mut batch = match spare {
        Some(mut b) => {
            b.bytes.clear();
            b.items.clear();
            b
        }
        None => Batch {
            bytes: Vec::with_capacity(BATCH_RECORDS * 400),
            items: Vec::with_capacity(BATCH_RECORDS),
        },
    };
    while batch.items.len() < BATCH_RECORDS {
        let start = batch.bytes.len();
        let next = records
            .next_record_into(&mut batch.bytes)
            .map_err(|e| Error::Read(records.next_line(), e))?;
        if next == Next::End {
            break;
        }
        batch
            .items
            .push((next, records.record_offset(), start, batch.bytes.len()));
    }
    Ok((!batch.items.is_empty()).then_some(batch))
}

fn parse_batch<'p>(
    batch: &Batch,
    mut reader: FileReader<'p>,
    splitter: &mut Splitter,
    fields: &mut Fields,
) -> Result<FileReader<'p>, InputError> {
    reader.reserve_batch(batch.items.len());
    for (next, offset, start, end) in &batch.items {
        reader.item(next, &batch.bytes[*start..*end], *offset, splitter, fields)?;
    }
    Ok(reader)
}
