//! Sliding-window bursts: the building block of every "≥N in M minutes" rule.

use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::ops::Range;

/// One countable event: a timeline record and the key that makes it
/// distinct (an item id, a search term). A busy mailbox's reads make
/// hundreds of thousands of these, so the record index is held in 32 bits
/// (as the timeline's activity-type index holds it).
#[derive(Debug, Clone)]
pub(super) struct Event<K> {
    record: u32,
    pub time: DateTime<Utc>,
    pub key: K,
}

impl<K> Event<K> {
    pub(super) fn new(record: usize, time: DateTime<Utc>, key: K) -> Event<K> {
        Event {
            record: u32::try_from(record).unwrap_or(u32::MAX),
            time,
            key,
        }
    }

    /// The timeline index of the event's record.
    pub(super) fn record(&self) -> usize {
        self.record as usize
    }
}

/// Ranges of `events` (sorted by time) covered by some window of length
/// `window` holding at least `min` distinct keys; overlapping qualifying
/// windows merge into one burst. Windows are inclusive at both ends.
pub(super) fn bursts<K: Hash + Eq>(
    events: &[Event<K>],
    window: Duration,
    min: usize,
) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    // The events' positions stand in for their records.
    let positions = events
        .iter()
        .enumerate()
        .map(|(n, e)| Event::new(n, e.time, &e.key));
    // SipHash: some keys are text from the export.
    let hasher = std::hash::RandomState::new();
    for_each_burst(positions, window, min, hasher, |burst| {
        if let (Some(first), Some(last)) = (burst.first(), burst.last()) {
            out.push(first.record()..last.record() + 1);
        }
    });
    out
}

/// The bursts of a stream of events (sorted by time), as [`bursts`] finds
/// them, handed to `each` one by one: only the window and the current
/// burst are held, not the stream (a busy mailbox reads hundreds of
/// thousands of messages). `hasher` hashes the keys counted in the window:
/// keyed (SipHash) where keys are export text an attacker could aim at one
/// bucket.
pub(super) fn for_each_burst<K: Hash + Eq + Clone>(
    events: impl IntoIterator<Item = Event<K>>,
    window: Duration,
    min: usize,
    hasher: impl BuildHasher,
    mut each: impl FnMut(&[Event<K>]),
) {
    let mut counts: HashMap<K, usize, _> = HashMap::with_hasher(hasher);
    // The events inside the window ending at the latest one; `left` is
    // the stream position of the first.
    let mut live: VecDeque<Event<K>> = VecDeque::new();
    let mut left = 0;
    let mut burst: Vec<Event<K>> = Vec::new();
    // Stream position one past the burst's last event.
    let mut burst_end = 0;
    // When an event leaves the window (a deadline per event instead of a
    // chrono subtraction per step).
    let until = |e: &Event<K>| {
        e.time
            .checked_add_signed(window)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    };
    for (right, e) in events.into_iter().enumerate() {
        *counts.entry(e.key.clone()).or_insert(0) += 1;
        let now = e.time;
        live.push_back(e);
        while live.front().is_some_and(|first| now > until(first)) {
            if let Some(gone) = live.pop_front()
                && let Some(n) = counts.get_mut(&gone.key)
            {
                *n -= 1;
                if *n == 0 {
                    counts.remove(&gone.key);
                }
            }
            left += 1;
        }
        if counts.len() >= min.max(1) {
            if burst.is_empty() || left >= burst_end {
                if !burst.is_empty() {
                    each(&burst);
                    burst.clear();
                }
                burst.extend(live.iter().cloned());
            } else {
                // Overlaps the burst: add what it does not hold yet.
                burst.extend(live.iter().skip(burst_end - left).cloned());
            }
            burst_end = right + 1;
        }
    }
    if !burst.is_empty() {
        each(&burst);
    }
}

/// Splits time-sorted events into clusters whose neighbours are at most
/// `gap` apart.
pub(super) fn clusters<K>(events: &[Event<K>], gap: Duration) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        match out.last_mut() {
            Some(last) if e.time - events[i - 1].time <= gap => last.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// Distinct keys in a slice of events, hashed with `hasher` (as in
/// [`for_each_burst`]).
pub(super) fn distinct<K: Hash + Eq>(events: &[Event<K>], hasher: impl BuildHasher) -> usize {
    let mut keys = HashSet::with_hasher(hasher);
    keys.extend(events.iter().map(|e| &e.key));
    keys.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ev(minute: i64, key: u32) -> Event<u32> {
        let start = Utc.with_ymd_and_hms(2018, 6, 20, 8, 0, 0).unwrap();
        Event::new(minute as usize, start + Duration::minutes(minute), key)
    }

    #[test]
    fn threshold_is_inclusive_and_distinct() {
        let events = vec![ev(0, 1), ev(5, 2), ev(10, 3)];
        assert_eq!(bursts(&events, Duration::minutes(10), 3), vec![0..3]);
        assert!(bursts(&events, Duration::minutes(9), 3).is_empty());
        let same = vec![ev(0, 1), ev(1, 1), ev(2, 1)];
        assert!(bursts(&same, Duration::minutes(10), 2).is_empty());
    }

    #[test]
    fn overlapping_windows_merge_and_far_ones_split() {
        let events = vec![
            ev(0, 1),
            ev(1, 2),
            ev(2, 3),
            ev(3, 4),
            ev(100, 5),
            ev(101, 6),
        ];
        assert_eq!(bursts(&events, Duration::minutes(2), 2), vec![0..4, 4..6]);
    }

    /// The sliding window over a slice, as it was before bursts were
    /// streamed: the reference the streamed version must match.
    fn bursts_by_slice(events: &[Event<u32>], window: Duration, min: usize) -> Vec<Range<usize>> {
        let mut out: Vec<Range<usize>> = Vec::new();
        let mut counts: HashMap<u32, usize> = HashMap::new();
        let mut left = 0;
        for (right, e) in events.iter().enumerate() {
            *counts.entry(e.key).or_insert(0) += 1;
            while e.time > events[left].time + window {
                let n = counts.get_mut(&events[left].key).unwrap();
                *n -= 1;
                if *n == 0 {
                    counts.remove(&events[left].key);
                }
                left += 1;
            }
            if counts.len() >= min.max(1) {
                match out.last_mut() {
                    Some(last) if left < last.end => last.end = right + 1,
                    _ => out.push(left..right + 1),
                }
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn streamed_bursts_match_the_sliding_window(
            steps in proptest::collection::vec((0i64..8, 0u32..6), 0..200),
            window in 0i64..12,
            min in 0usize..5,
        ) {
            let mut minute = 0;
            let events: Vec<Event<u32>> = steps
                .iter()
                .map(|&(step, key)| {
                    minute += step;
                    ev(minute, key)
                })
                .collect();
            let window = Duration::minutes(window);
            proptest::prop_assert_eq!(bursts(&events, window, min), bursts_by_slice(&events, window, min));
        }
    }

    #[test]
    fn clusters_by_gap() {
        let events = vec![ev(0, 1), ev(30, 2), ev(200, 3)];
        assert_eq!(clusters(&events, Duration::minutes(60)), vec![0..2, 2..3]);
    }
}
