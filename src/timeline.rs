//! All records of all inputs in one timeline. Stored input by input, each
//! input sorted by time; merged into one time order for showing; indexed by
//! mailbox and activity type. Built once; what the rows mean (which network
//! a record came from, who acted) is decided by the steps that read it
//! (`attribution.rs`, `actors.rs`, `rules/`).

use crate::activity::{Activity, App, Arenas, Kind, Rec, Source, append_records};
use crate::evidence::{InputSummary, Rejection, RowSource};
use crate::input::Parsed;
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::ops::Range;
use std::sync::Arc;

#[derive(Debug)]
pub struct Timeline {
    inputs: Vec<InputSummary>,
    /// Input by input, each in time order: sorted by (file, time, line),
    /// so that a rule reading one mailbox reads neighbouring memory (with
    /// inputs interleaved by time, a case of forty mailboxes ran its rules
    /// four times slower). [`Timeline::in_time_order`] merges the inputs.
    activities: Vec<Activity>,
    /// One set of strings, properties and message ids for all inputs.
    arenas: Arenas,
    /// Per input: where to read full rows again (exports).
    raw: Vec<Arc<dyn RowSource>>,
    /// Why a record's `CustomProperties` had to be salvaged.
    salvage_errors: HashMap<Source, String>,
    /// Each input's (mailbox's) records: a run of `activities`.
    by_mailbox: Vec<Records>,
    /// The same per activity type, so a rule touches only its types.
    by_kind: Vec<KindIndex>,
    /// The same for the rows of `AppIdType` `Exchange` only, so a rule
    /// about the service's own actions (a server rule's moves, marks and
    /// forwards) does not read every user row of those types to skip it.
    by_server_kind: Vec<KindIndex>,
    /// Per input: records per client type (the reports' counts).
    app_counts: Vec<FxHashMap<App, u64>>,
    rejections: Vec<Rejection>,
}

impl Timeline {
    /// The timeline of the inputs, numbered in the order given. Each
    /// arrives sorted and deduplicated (`input/order.rs`), so inputs are
    /// only appended to one set of tables (the first input's, taken over)
    /// and renumbered after pasted files that became several mailboxes.
    pub fn build(parsed: Vec<Parsed>) -> Timeline {
        Timeline::build_beside(parsed, |_, _| ()).0
    }

    /// [`Timeline::build`], running `step` over the records on another
    /// core while the indexes are built: a step that reads only the records
    /// (IP attribution) need not wait for indexes it does not use.
    pub fn build_beside<T: Send>(
        parsed: Vec<Parsed>,
        step: impl FnOnce(&[Activity], &Arenas) -> T + Send,
    ) -> (Timeline, T) {
        let mut inputs = Vec::with_capacity(parsed.len());
        let mut raw: Vec<Arc<dyn RowSource>> = Vec::with_capacity(parsed.len());
        let mut activities = Vec::new();
        let mut rejections = Vec::new();
        let mut salvage_errors = HashMap::new();
        let mut arenas: Option<Arenas> = None;
        // Sized once for every input's records, not grown by doubling.
        let records: usize = parsed.iter().map(|p| p.activities.len()).sum();
        let extras: usize = parsed.iter().map(|p| p.arenas.extras_len()).sum();
        for mut p in parsed {
            let file = u32::try_from(inputs.len()).unwrap_or(u32::MAX);
            renumber(&mut p, file);
            let (mut their_arenas, mut theirs) = (p.arenas, p.activities);
            if let Some(arenas) = arenas.as_mut() {
                append_records((arenas, &mut activities), (&mut their_arenas, &mut theirs));
            } else {
                // One set of arenas for the whole run: the first input's,
                // taken over as they are (no copy), with room for the rest.
                their_arenas.reserve_extras(extras.saturating_sub(their_arenas.extras_len()));
                theirs.reserve_exact(records.saturating_sub(theirs.len()));
                arenas = Some(their_arenas);
                activities = theirs;
            }
            salvage_errors.extend(p.salvage_errors);
            rejections.extend(p.rejections);
            let source: Arc<dyn RowSource> = p.raw;
            if p.accounts.is_empty() {
                inputs.push(p.summary);
                raw.push(source);
            } else {
                for account in p.accounts {
                    inputs.push(account.summary);
                    raw.push(Arc::clone(&source));
                }
            }
        }
        debug_assert!(activities.is_sorted_by_key(|a| (a.source().file, a.time, a.source().line)));
        let arenas = arenas.unwrap_or_default();
        let (indexes, beside) = std::thread::scope(|scope| {
            let beside = scope.spawn(|| step(&activities, &arenas));
            let indexes = index(&activities, inputs.len());
            let beside = beside
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (indexes, beside)
        });
        let timeline = Timeline {
            inputs,
            activities,
            arenas,
            raw,
            by_mailbox: indexes.by_mailbox,
            by_kind: indexes.by_kind,
            by_server_kind: indexes.by_server_kind,
            app_counts: indexes.app_counts,
            rejections,
            salvage_errors,
        };
        (timeline, beside)
    }

    /// Each input's (mailbox's) summary: path, mailbox, row counts.
    pub fn inputs(&self) -> &[InputSummary] {
        &self.inputs
    }

    /// How many records all inputs hold.
    pub fn len(&self) -> usize {
        self.activities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.activities.is_empty()
    }

    /// Every record, input by input, each input in time order (see
    /// [`Timeline::in_time_order`] for one time order).
    pub fn activities(&self) -> &[Activity] {
        &self.activities
    }

    /// Record `i` as stored (compact; see [`Timeline::rec`] for its strings).
    pub fn activity(&self, i: usize) -> &Activity {
        &self.activities[i]
    }

    /// Record `i` with its strings and properties.
    pub fn rec(&self, i: usize) -> Rec<'_> {
        Rec::new(&self.activities[i], &self.arenas)
    }

    /// The strings and properties records point into.
    pub fn arenas(&self) -> &Arenas {
        &self.arenas
    }

    /// Rows that are no record, with file, line and reason, in input order.
    pub fn rejections(&self) -> &[Rejection] {
        &self.rejections
    }

    /// Why record `source`'s `CustomProperties` had to be salvaged, if so.
    pub fn salvage_error(&self, source: Source) -> Option<&str> {
        self.salvage_errors.get(&source).map(String::as_str)
    }

    /// Per input: where its full rows are read again (`--timeline`).
    pub fn row_sources(&self) -> &[Arc<dyn RowSource>] {
        &self.raw
    }

    /// Each input's (mailbox's) records, in input order.
    pub fn mailboxes(&self) -> &[Records] {
        &self.by_mailbox
    }

    /// The records of input `file` of one activity type, in time order.
    pub fn of_kind(&self, file: usize, kind: Kind) -> &[u32] {
        let index = self.by_kind.get(file);
        index.and_then(|k| k.get(&kind)).map_or(&[], Vec::as_slice)
    }

    /// The activity types input `file` has records of, in no particular
    /// order.
    pub fn kinds_of(&self, file: usize) -> impl Iterator<Item = Kind> + '_ {
        self.by_kind
            .get(file)
            .into_iter()
            .flat_map(|k| k.keys().copied())
    }

    /// The same, of the rows the service wrote itself (`AppIdType`
    /// `Exchange`).
    pub fn server_of_kind(&self, file: usize, kind: Kind) -> &[u32] {
        let index = self.by_server_kind.get(file);
        index.and_then(|k| k.get(&kind)).map_or(&[], Vec::as_slice)
    }

    /// Records per activity type, over all inputs (from the indexes).
    pub fn kind_totals(&self) -> impl Iterator<Item = (Kind, u64)> + '_ {
        let lists = self.by_kind.iter().flatten();
        lists.map(|(kind, list)| (*kind, list.len() as u64))
    }

    /// Records per client type, over all inputs.
    pub fn app_totals(&self) -> impl Iterator<Item = (App, u64)> + '_ {
        self.app_counts.iter().flatten().map(|(app, n)| (*app, *n))
    }

    pub fn mailbox(&self, activity: &Activity) -> &str {
        self.inputs
            .get(activity.source().file as usize)
            .map_or("", |s| s.mailbox.as_str())
    }

    pub fn path(&self, activity: &Activity) -> &str {
        self.inputs
            .get(activity.source().file as usize)
            .map_or("", |s| s.path.as_str())
    }

    /// The earliest record's time, over all inputs.
    pub fn first(&self) -> Option<DateTime<Utc>> {
        let firsts = self.by_mailbox.iter().filter_map(Records::first);
        firsts.map(|i| self.activities[i].time).min()
    }

    /// The latest record's time, over all inputs.
    pub fn last(&self) -> Option<DateTime<Utc>> {
        let lasts = self.by_mailbox.iter().filter_map(Records::last);
        lasts.map(|i| self.activities[i].time).max()
    }

    /// Where record `i` sorts in timeline order: (time, file, line).
    pub fn time_key(&self, i: usize) -> TimeKey {
        time_key(&self.activities[i])
    }

    /// Storage order is timeline order: at most one input has records.
    pub fn stored_in_time_order(&self) -> bool {
        self.by_mailbox.iter().filter(|r| !r.is_empty()).count() <= 1
    }

    /// Every record index in timeline order, (time, file, line): the
    /// inputs' runs merged.
    pub fn in_time_order(&self) -> TimeOrder<'_> {
        let mut runs = self.by_mailbox.iter().filter(|r| !r.is_empty());
        if self.stored_in_time_order() {
            let run = runs.next().map_or(0..0, Records::iter);
            return TimeOrder {
                activities: &self.activities,
                single: Some(run),
                heads: BinaryHeap::new(),
            };
        }
        let mut order = TimeOrder {
            activities: &self.activities,
            single: None,
            heads: BinaryHeap::with_capacity(self.by_mailbox.len()),
        };
        for run in runs {
            order.push(run.start, run.end);
        }
        order
    }
}

/// Record indices in timeline order (see [`Timeline::in_time_order`]).
pub struct TimeOrder<'a> {
    activities: &'a [Activity],
    /// With one input, storage order is time order.
    single: Option<Range<usize>>,
    /// Per input with records left: the sort key of its next record, and
    /// where its run ends; smallest key first.
    heads: BinaryHeap<Reverse<(TimeKey, usize, usize)>>,
}

/// A record's place in timeline order: time, then input, then line.
pub type TimeKey = (DateTime<Utc>, u32, u32);

fn time_key(a: &Activity) -> TimeKey {
    (a.time, a.source().file, a.source().line)
}

impl TimeOrder<'_> {
    fn push(&mut self, next: usize, end: usize) {
        if next < end {
            let key = time_key(&self.activities[next]);
            self.heads.push(Reverse((key, next, end)));
        }
    }
}

impl Iterator for TimeOrder<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if let Some(run) = &mut self.single {
            return run.next();
        }
        let Reverse((_, i, end)) = self.heads.pop()?;
        self.push(i + 1, end);
        Some(i)
    }
}

/// One input's records by activity type, in time order.
pub type KindIndex = FxHashMap<Kind, Vec<u32>>;

/// One mailbox's records: a run of consecutive timeline indices, in time
/// order (the timeline stores inputs one after the other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Records {
    /// The input they were read from.
    pub file: usize,
    start: usize,
    end: usize,
}

impl Records {
    /// The timeline indices, in time order.
    pub fn iter(&self) -> Range<usize> {
        self.start..self.end
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn first(&self) -> Option<usize> {
        self.iter().next()
    }

    pub fn last(&self) -> Option<usize> {
        self.iter().next_back()
    }

    /// The timeline index of the `n`th record.
    pub fn get(&self, n: usize) -> Option<usize> {
        (n < self.len()).then_some(self.start + n)
    }

    /// How many leading records satisfy `pred`, which holds for a prefix
    /// (a time bound, as records are in time order): a binary search, as
    /// `slice::partition_point`.
    pub fn partition_point(&self, mut pred: impl FnMut(usize) -> bool) -> usize {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = low + (high - low) / 2;
            if pred(self.start + mid) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        low
    }

    /// The records at positions `positions` (clamped to these records).
    pub fn slice(&self, positions: Range<usize>) -> Records {
        let at = |n: usize| self.start + n.min(self.len());
        Records {
            file: self.file,
            start: at(positions.start),
            end: at(positions.end).max(at(positions.start)),
        }
    }
}

/// Moves an input's numbers (its records', rejections' and salvage notes',
/// from the number it was read as) to start at `file`: the inputs before it
/// may have been pasted files that became several mailboxes.
fn renumber(p: &mut Parsed, file: u32) {
    if p.file == file {
        return;
    }
    let moved = |n: u32| n - p.file + file;
    for a in &mut p.activities {
        a.set_file(moved(a.source().file));
    }
    for r in &mut p.rejections {
        r.file = moved(r.file);
    }
    for (source, _) in &mut p.salvage_errors {
        source.file = moved(source.file);
    }
    p.file = file;
}

/// What [`index`] finds, per input.
struct Indexes {
    by_mailbox: Vec<Records>,
    by_kind: Vec<KindIndex>,
    by_server_kind: Vec<KindIndex>,
    app_counts: Vec<FxHashMap<App, u64>>,
}

/// Per input: its records, its records by activity type (in time order),
/// the same for the service's (`Exchange`) rows, and how many it has of
/// each client type.
fn index(activities: &[Activity], inputs: usize) -> Indexes {
    let mut by_mailbox: Vec<Records> = (0..inputs)
        .map(|file| Records {
            file,
            start: 0,
            end: 0,
        })
        .collect();
    let mut by_kind: Vec<KindIndex> = vec![KindIndex::default(); inputs];
    let mut by_server_kind: Vec<KindIndex> = vec![KindIndex::default(); inputs];
    let mut app_counts: Vec<FxHashMap<App, u64>> = vec![FxHashMap::default(); inputs];
    for (i, a) in activities.iter().enumerate() {
        let file = a.source().file as usize;
        if let Some(run) = by_mailbox.get_mut(file) {
            // Sorted by input first: each input's records are one run.
            if run.is_empty() {
                run.start = i;
            }
            run.end = i + 1;
        }
        if let Some(kinds) = by_kind.get_mut(file) {
            // Fits: 2^32 records would take hundreds of GB.
            kinds.entry(a.kind).or_default().push(i as u32);
        }
        if a.app == App::Exchange
            && let Some(kinds) = by_server_kind.get_mut(file)
        {
            kinds.entry(a.kind).or_default().push(i as u32);
        }
        if let Some(apps) = app_counts.get_mut(file) {
            *apps.entry(a.app).or_insert(0) += 1;
        }
    }
    Indexes {
        by_mailbox,
        by_kind,
        by_server_kind,
        app_counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_search_and_slice_like_a_slice_of_indices() {
        let records = Records {
            file: 3,
            start: 10,
            end: 20,
        };
        let indices: Vec<usize> = (10..20).collect();
        for bound in 8..22 {
            assert_eq!(
                records.partition_point(|i| i < bound),
                indices.partition_point(|&i| i < bound)
            );
        }
        assert_eq!((records.first(), records.last()), (Some(10), Some(19)));
        assert_eq!((records.get(9), records.get(10)), (Some(19), None));
        let middle = records.slice(2..5);
        assert_eq!((middle.file, middle.iter()), (3, 12..15));
        assert!(records.slice(7..30).iter().eq(17..20));
        assert!(records.slice(12..30).is_empty());
        let (from, to) = (5, 2);
        assert!(records.slice(from..to).is_empty());
    }
}
