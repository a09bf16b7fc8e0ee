//! Parsing one file on every core: the calling thread splits records into
//! batches (cheap), workers parse batches into partial readers (the costly
//! part: fields, times, Python literals, interning), and the caller merges
//! the partial results back in file order as they arrive. The outcome is
//! identical to a single pass.

use super::records::{Fields, Next, Records, Splitter};
use super::{FileReader, InputError};
use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::sync::{Mutex, mpsc};

/// Records per batch: large enough to amortise the hand-off, small enough
/// to keep a few in flight.
const BATCH_RECORDS: usize = 4096;

pub enum Error {
    /// Reading failed near this line.
    Read(u64, io::Error),
    Input(InputError),
}

/// A run of consecutive records: their bytes and what the splitter said.
struct Batch {
    index: usize,
    bytes: Vec<u8>,
    items: Vec<(Next, u64, usize, usize)>,
}

/// `size` (the file's length) lets the merged tables be sized once from the
/// first batch's row length, instead of doubling (which briefly holds the
/// old and the new copy). `workers` parse (at most eight: more only add
/// batches in flight).
pub fn read<'p, R: BufRead>(
    records: &mut Records<R>,
    new_reader: impl Fn() -> FileReader<'p> + Sync,
    size: Option<u64>,
    workers: usize,
    bar: &indicatif::ProgressBar,
) -> Result<FileReader<'p>, Error> {
    let workers = workers.clamp(1, 8);
    let (batch_tx, batch_rx) = mpsc::sync_channel::<Batch>(workers);
    let (done_tx, done_rx) = mpsc::channel::<(usize, Result<FileReader<'p>, InputError>)>();
    // Parsed batches come back to be filled again, and merged batch readers
    // to be refilled: their memory is already paged in (fresh buffers and
    // tables per batch cost page faults, which are slow on a VM).
    let (spare_tx, spare_rx) = mpsc::channel::<Batch>();
    let (spent_tx, spent_rx) = mpsc::channel::<FileReader<'p>>();
    let (batch_rx, spent_rx) = (Mutex::new(batch_rx), Mutex::new(spent_rx));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (batch_rx, done_tx, new_reader) = (&batch_rx, done_tx.clone(), &new_reader);
            let (spare_tx, spent_rx) = (spare_tx.clone(), &spent_rx);
            scope.spawn(move || {
                let (mut splitter, mut fields) = (Splitter::default(), Fields::default());
                loop {
                    let next = batch_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok(batch)) = next else { break };
                    let spent = spent_rx.lock().ok().and_then(|rx| rx.try_recv().ok());
                    let reader = match spent {
                        Some(spent) => new_reader().reusing(spent),
                        None => new_reader(),
                    };
                    let result = parse_batch(&batch, reader, &mut splitter, &mut fields);
                    if done_tx.send((batch.index, result)).is_err() {
                        break;
                    }
                    let _ = spare_tx.send(batch);
                }
            });
        }
        drop(spare_tx);
        drop(done_tx);
        let mut merged: Option<FileReader<'p>> = None;
        let mut waiting: BTreeMap<usize, Result<FileReader<'p>, InputError>> = BTreeMap::new();
        let mut next_index = 0;
        let mut failure = None;
        let mut index = 0;
        let mut estimate = None;
        loop {
            match next_batch(records, index, spare_rx.try_recv().ok()) {
                Ok(Some(batch)) => {
                    if index == 0 {
                        estimate = estimate_rows(&batch, size);
                    }
                    if batch_tx.send(batch).is_err() {
                        break;
                    }
                    bar.set_position(records.consumed());
                    index += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
            // Merge what is ready, in order, to keep few partial tables alive.
            while let Ok((i, part)) = done_rx.try_recv() {
                waiting.insert(i, part);
            }
            merge_ready(&mut merged, &mut waiting, &mut next_index, &spent_tx)
                .map_err(Error::Input)?;
            // Once, as soon as the first batch is merged (not before: the
            // estimate must survive until there is a table to size).
            if let (Some(m), Some(rows)) = (merged.as_mut(), estimate) {
                m.reserve(rows);
                estimate = None;
            }
        }
        drop(batch_tx);
        for (i, part) in done_rx {
            waiting.insert(i, part);
        }
        merge_ready(&mut merged, &mut waiting, &mut next_index, &spent_tx).map_err(Error::Input)?;
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(merged.unwrap_or_else(&new_reader))
    })
}

/// Rows the whole file probably holds, from the first batch's bytes per row
/// (plus a margin, so the estimate is rarely exceeded).
fn estimate_rows(first: &Batch, size: Option<u64>) -> Option<usize> {
    let size = size?;
    let rows = first.items.len().max(1);
    let per_row = (first.bytes.len() / rows).max(1) as u64;
    Some(usize::try_from(size / per_row).ok()?.saturating_mul(21) / 20)
}

/// Merges the parts that are next in file order; absorbed parts go to
/// `spent` for their tables to be refilled.
fn merge_ready<'p>(
    merged: &mut Option<FileReader<'p>>,
    waiting: &mut BTreeMap<usize, Result<FileReader<'p>, InputError>>,
    next_index: &mut usize,
    spent: &mpsc::Sender<FileReader<'p>>,
) -> Result<(), InputError> {
    while let Some(part) = waiting.remove(next_index) {
        let mut part = part?;
        match merged {
            Some(m) => {
                m.absorb(&mut part);
                let _ = spent.send(part);
            }
            None => *merged = Some(part),
        }
        *next_index += 1;
    }
    Ok(())
}

/// Up to [`BATCH_RECORDS`] records, read straight into a spare batch's
/// buffers if there is one.
fn next_batch<R: BufRead>(
    records: &mut Records<R>,
    index: usize,
    spare: Option<Batch>,
) -> Result<Option<Batch>, Error> {
    let mut batch = match spare {
        Some(mut b) => {
            b.bytes.clear();
            b.items.clear();
            b.index = index;
            b
        }
        None => Batch {
            index,
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
