//! One input's records in (mailbox, time, line) order, and its exact
//! duplicate rows dropped, while the evidence is at hand (`docs/format.md`
//! §8 on order, §9 on paging overlaps). The timeline only concatenates
//! inputs that arrive this way.

use super::raw::{RawCursor, RawRows};
use crate::activity::{Activity, Arenas, Rec};
use crate::evidence::InputSummary;
use rustc_hash::FxHashMap;

/// The mailboxes of one input (its accounts, or the file as one): the
/// first one's file number and their summaries, in order.
pub(super) struct Mailboxes<'a> {
    pub first: u32,
    pub summaries: Vec<&'a mut InputSummary>,
}

impl Mailboxes<'_> {
    fn of(&mut self, record: &Activity) -> Option<&mut InputSummary> {
        let k = record.source().file.checked_sub(self.first)?;
        self.summaries.get_mut(k as usize).map(|s| &mut **s)
    }
}

/// Sorts records by (file, time, line), which is unique, so either sort
/// gives the same order. Exports are mostly in order (ascending, or long
/// runs in server order), and inputs are concatenated in order: then the
/// run-adaptive stable sort only merges a few runs (several times faster
/// than the unstable sort on a million rows), touching little of its
/// scratch. Where runs are short (a shuffled file) it would be slower
/// than the in-place unstable sort and touch a scratch of half the
/// records, so that case keeps the unstable sort.
/// `descents` (records that sort before the one stored before them) is
/// counted by the reader: none, and there is nothing to do; a few, all at
/// known positions `at`, and the runs between them are merged.
pub(super) fn sort_by_input_and_time(activities: &mut [Activity], descents: u64, at: &[usize]) {
    let key = |a: &Activity| (a.source().file, a.time, a.source().line);
    if descents == at.len() as u64 {
        for (n, &start) in at.iter().enumerate() {
            // The run ends at the next descent or its input's end.
            let end = at.get(n + 1).copied().unwrap_or(activities.len());
            let file = activities[start].source().file;
            let end = start + activities[start..end].partition_point(|a| a.source().file == file);
            merge_run(&mut activities[..end], start, key);
        }
        debug_assert!(activities.is_sorted_by_key(key));
        return;
    }
    if descents <= (activities.len() / MIN_SORTED_RUN) as u64 {
        activities.sort_by_key(key);
    } else {
        activities.sort_unstable_by_key(key);
    }
}

/// Merges the sorted run `records[start..]` into the sorted records before
/// it: only the records after the run's first key move, and only the
/// smaller side is copied aside. Keys are unique, so order among equals
/// cannot arise.
fn merge_run<K: Ord>(records: &mut [Activity], start: usize, key: impl Fn(&Activity) -> K) {
    let Some(first) = records.get(start).map(&key) else {
        return;
    };
    let from = records[..start].partition_point(|a| key(a) < first);
    let end = records.len();
    if end - start <= start - from {
        // The run aside, merged from the back: the larger tails go last.
        let run = records[start..].to_vec();
        let (mut left, mut write) = (start, end);
        for r in run.into_iter().rev() {
            let r_key = key(&r);
            while left > from && key(&records[left - 1]) > r_key {
                left -= 1;
                write -= 1;
                records.swap(left, write);
            }
            write -= 1;
            records[write] = r;
        }
    } else {
        // The displaced records aside, merged from the front.
        let displaced = records[from..start].to_vec();
        let (mut next, mut right, mut write) = (0, start, from);
        while let Some(d) = displaced.get(next) {
            if right < end && key(&records[right]) < key(d) {
                records.swap(write, right);
                right += 1;
            } else {
                records[write] = d.clone();
                next += 1;
            }
            write += 1;
        }
    }
}

/// Average run length above which input counts as mostly sorted.
const MIN_SORTED_RUN: usize = 1024;

/// Drops exact duplicate rows (paging overlaps): same input, same time and,
/// read again, the same bytes. The first in file order stays. Only rows
/// that share their instant and their parsed content are read again, so a
/// normal export costs nothing here and records need not carry a digest.
pub(super) fn drop_duplicates(
    (activities, arenas): (&mut Vec<Activity>, &Arenas),
    mut mailboxes: Mailboxes<'_>,
    raw: &RawRows,
) {
    // Just read: the check of the file cannot fail but on an I/O error,
    // and then no row is read again and none is dropped.
    let Ok(mut cursor) = raw.cursor() else { return };
    let mut dropped = Vec::new();
    let mut start = 0;
    while start < activities.len() {
        let time = activities[start].time;
        let end = start
            + 1
            + activities[start + 1..]
                .iter()
                .take_while(|a| a.time == time)
                .count();
        if end - start > 1 {
            let timeline = (&activities[..], arenas);
            find_twins(
                timeline,
                start..end,
                &mut cursor,
                &mut dropped,
                &mut mailboxes,
            );
        }
        start = end;
    }
    if !dropped.is_empty() {
        dropped.sort_unstable();
        let mut k = 0;
        let mut next = dropped.iter().peekable();
        activities.retain(|_| {
            k += 1;
            next.next_if_eq(&&(k - 1)).is_none()
        });
    }
    for s in mailboxes.summaries {
        s.duplicate_lines.sort_unstable();
    }
}

/// Within one instant, rows of the same input whose records are alike
/// (equal [`Rec::fingerprint`]) are candidates (a map keeps this linear
/// however many rows share it); their bytes, read again, decide. Rows with
/// no alike record are never read. Pushes the indices of later twins to
/// `dropped`.
fn find_twins(
    timeline: (&[Activity], &Arenas),
    group: std::ops::Range<usize>,
    cursor: &mut RawCursor<'_>,
    dropped: &mut Vec<usize>,
    inputs: &mut Mailboxes<'_>,
) {
    let (activities, arenas) = timeline;
    let mut kept: FxHashMap<(u32, u64), Vec<usize>> = FxHashMap::default();
    for i in group {
        let b = &activities[i];
        let key = (b.source().file, Rec::new(b, arenas).fingerprint());
        let candidates = kept.entry(key).or_default();
        if candidates.is_empty() {
            candidates.push(i);
            continue;
        }
        let Ok(mine) = cursor.raw_row(b.raw()) else {
            continue;
        };
        let twin = candidates
            .iter()
            .copied()
            .find(|&j| cursor.raw_row(activities[j].raw()).ok().as_ref() == Some(&mine));
        match twin {
            Some(j) => {
                let Some(summary) = inputs.of(b) else {
                    continue;
                };
                dropped.push(i);
                summary.records -= 1;
                summary.duplicates += 1;
                summary.duplicate_lines.push((
                    u64::from(b.source().line),
                    u64::from(activities[j].source().line),
                ));
            }
            None => candidates.push(i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::{Kind, Source, TimeSource};
    use chrono::DateTime;

    /// Inputs made of a few sorted runs each (times in seconds, with
    /// ties), stored input by input in line order.
    fn stored(inputs: &[Vec<Vec<i64>>]) -> (Vec<Activity>, u64, Vec<usize>) {
        let (mut records, mut descents, mut at) = (Vec::new(), 0, Vec::new());
        for (file, runs) in inputs.iter().enumerate() {
            let mut times: Vec<i64> = Vec::new();
            for run in runs {
                let mut run = run.clone();
                run.sort_unstable();
                times.extend(run);
            }
            for (n, &t) in times.iter().enumerate() {
                if n > 0 && t < times[n - 1] {
                    descents += 1;
                    at.push(records.len());
                }
                let time = DateTime::from_timestamp(1_500_000_000 + t, 0).unwrap_or_default();
                let source = Source {
                    file: file as u32,
                    line: n as u32 + 2,
                };
                let kind = Kind::Logon;
                records.push(Activity::new(time, TimeSource::TimeStamp, source, kind));
            }
        }
        (records, descents, at)
    }

    proptest::proptest! {
        #[test]
        fn merging_a_few_runs_sorts_like_a_sort(
            inputs in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(0i64..40, 0..30), 0..4),
                1..4,
            )
        ) {
            let (mut records, descents, at) = stored(&inputs);
            let key = |a: &Activity| (a.source().file, a.time, a.source().line);
            let mut expected: Vec<_> = records.iter().map(key).collect();
            expected.sort();
            // With the positions (merged), and without them (sorted).
            let mut sorted = records.clone();
            sort_by_input_and_time(&mut records, descents, &at);
            sort_by_input_and_time(&mut sorted, descents, &[]);
            let merged: Vec<_> = records.iter().map(key).collect();
            let resorted: Vec<_> = sorted.iter().map(key).collect();
            proptest::prop_assert_eq!(&merged, &expected);
            proptest::prop_assert_eq!(&resorted, &expected);
        }
    }
}
