//! All records of all inputs in one timeline, with per-record IP
//! attribution. Stored input by input, each input sorted by time; merged
//! into one time order for showing. Built once; rules and reports only
//! read it.

use crate::activity::{Activity, App, Arenas, Kind, Rec, Source, append_records};
use crate::evidence::{InputSummary, Rejection, RowSource};
use crate::input::Parsed;
use crate::intern::Sym;
use chrono::{DateTime, Duration, Utc};
use indexmap::IndexSet;
use rustc_hash::{FxHashMap, FxHashSet};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::ops::Range;
use std::sync::Arc;

/// How long a logon's IP is lent to later rows of the same client type that
/// share no session with it (`docs/rules.md` §2.9 `data-attribution`).
const SAME_APP_WINDOW_MINUTES: i64 = 30;

/// `--from`/`--to`, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Window {
    pub fn is_set(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t <= e)
    }

    /// A span that overlaps the window at all.
    pub fn overlaps(&self, first: DateTime<Utc>, last: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| last >= f) && self.to.is_none_or(|e| first <= e)
    }
}

/// How a record's IP was found, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Via {
    /// The row is a logon and carries its own IP.
    Logon,
    /// A logon in the same `ClientSessionId`.
    SameSession,
    /// The nearest earlier logon of the same `AppIdType`, ≤30 min before.
    PriorLogonSameApp,
    None,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Logon => "logon",
            Via::SameSession => "same-session",
            Via::PriorLogonSameApp => "prior-logon-same-app",
            Via::None => "none",
        }
    }
}

/// A record's IP (an index into [`Timeline::ips`]) and how it was found,
/// in four bytes: the IP in the low 30 bits, [`Via`] in the top two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribution(u32);

impl Attribution {
    const IP_BITS: u32 = 30;

    const NONE: Attribution = Attribution((Via::None as u32) << Self::IP_BITS);

    /// An IP past the 2^30th distinct one of a run (no export holds that
    /// many) is not attributed rather than confused with another.
    fn found(ip: u32, via: Via) -> Attribution {
        if ip >= 1 << Self::IP_BITS {
            return Attribution::NONE;
        }
        Attribution((via as u32) << Self::IP_BITS | ip)
    }

    pub fn ip(self) -> Option<u32> {
        (self.via() != Via::None).then_some(self.0 & ((1 << Self::IP_BITS) - 1))
    }

    pub fn via(self) -> Via {
        match self.0 >> Self::IP_BITS {
            0 => Via::Logon,
            1 => Via::SameSession,
            2 => Via::PriorLogonSameApp,
            _ => Via::None,
        }
    }
}

#[derive(Debug)]
pub struct Timeline {
    pub inputs: Vec<InputSummary>,
    /// Input by input, each in time order: sorted by (file, time, line),
    /// so that a rule reading one mailbox reads neighbouring memory (with
    /// inputs interleaved by time, a case of forty mailboxes ran its rules
    /// four times slower). [`Timeline::in_time_order`] merges the inputs.
    pub activities: Vec<Activity>,
    /// Parallel to `activities`.
    pub attribution: Vec<Attribution>,
    /// One set of strings, properties and message ids for all inputs.
    pub arenas: Arenas,
    /// Per input: where to read full rows again (exports).
    pub raw: Vec<Arc<dyn RowSource>>,
    /// Why a record's `CustomProperties` had to be salvaged.
    pub salvage_errors: HashMap<Source, String>,
    /// Interned IP strings.
    pub ips: IndexSet<String>,
    /// Each input's (mailbox's) records: a run of `activities`.
    pub by_mailbox: Vec<Records>,
    /// The same per activity type, so a rule touches only its types.
    pub by_kind: Vec<KindIndex>,
    /// The same for the rows of `AppIdType` `Exchange` only, so a rule
    /// about the service's own actions (a server rule's moves, marks and
    /// forwards) does not read every user row of those types to skip it.
    pub by_server_kind: Vec<KindIndex>,
    /// Per input: records per client type (the reports' counts).
    app_counts: Vec<FxHashMap<App, u64>>,
    pub rejections: Vec<Rejection>,
}

impl Timeline {
    /// The timeline of the inputs, numbered in the order given. Each
    /// arrives sorted and deduplicated (`input/order.rs`), so inputs are
    /// only appended to one set of tables (the first input's, taken over)
    /// and renumbered after pasted files that became several mailboxes.
    pub fn build(parsed: Vec<Parsed>) -> Timeline {
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
        // Independent passes: the indexes on one core, IPs on another.
        let (indexes, (attribution, ips)) = std::thread::scope(|scope| {
            let ips = scope.spawn(|| attribute_ips(&activities, &arenas));
            let indexes = index(&activities, inputs.len());
            let ips = ips
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (indexes, ips)
        });
        Timeline {
            inputs,
            activities,
            arenas,
            raw,
            attribution,
            ips,
            by_mailbox: indexes.by_mailbox,
            by_kind: indexes.by_kind,
            by_server_kind: indexes.by_server_kind,
            app_counts: indexes.app_counts,
            rejections,
            salvage_errors,
        }
    }

    /// Record `i` with its strings and properties.
    pub fn rec(&self, i: usize) -> Rec<'_> {
        Rec::new(&self.activities[i], &self.arenas)
    }

    /// The attributed IP of record `i`.
    pub fn ip(&self, i: usize) -> Option<&str> {
        let id = self.attribution.get(i)?.ip()?;
        self.ips.get_index(id as usize).map(String::as_str)
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

    /// Records inside `window`, input by input (for counting; see
    /// [`Timeline::within_in_time_order`] for showing).
    pub fn within(&self, window: Window) -> impl Iterator<Item = (usize, &Activity)> + '_ {
        self.activities
            .iter()
            .enumerate()
            .filter(move |(_, a)| window.contains(a.time))
    }

    /// Records inside `window` in timeline order: (time, file, line).
    pub fn within_in_time_order(&self, window: Window) -> impl Iterator<Item = usize> + '_ {
        self.in_time_order()
            .filter(move |&i| window.contains(self.activities[i].time))
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

    /// Records per `ActivityIdType` and per `AppIdType` inside `window`,
    /// each sorted by name: from the indexes without a window, else one
    /// pass over the records.
    pub fn counts(&self, window: &Window) -> Counts<'_> {
        let mut kinds: FxHashMap<Kind, u64> = FxHashMap::default();
        let mut apps: FxHashMap<App, u64> = FxHashMap::default();
        if window.is_set() {
            for (_, a) in self.within(*window) {
                *kinds.entry(a.kind).or_insert(0) += 1;
                *apps.entry(a.app).or_insert(0) += 1;
            }
        } else {
            for (kind, list) in self.by_kind.iter().flatten() {
                *kinds.entry(*kind).or_insert(0) += list.len() as u64;
            }
            for (app, n) in self.app_counts.iter().flatten() {
                *apps.entry(*app).or_insert(0) += n;
            }
        }
        Counts {
            activity: by_name(kinds, |k| k.name(&self.arenas.strings)),
            app: by_name(apps, |app| app.name(&self.arenas.strings)),
        }
    }

    /// Distinct non-empty `ClientSessionId`s, per mailbox.
    pub fn session_count(&self) -> usize {
        let sessions: FxHashSet<(u32, Sym)> = self
            .activities
            .iter()
            .filter(|a| !a.session.is_empty())
            .map(|a| (a.source().file, a.session))
            .collect();
        sessions.len()
    }

    /// Every IP seen on a logon row: count, first and last time, in order of
    /// first appearance.
    pub fn logon_ips(&self) -> Vec<IpSeen<'_>> {
        let mut logons: Vec<usize> = (0..self.activities.len())
            .filter(|&i| self.attribution[i].via() == Via::Logon)
            .collect();
        // Storage is input by input; the list goes by time.
        logons.sort_by_key(|&i| self.time_key(i));
        let mut seen: indexmap::IndexMap<&str, IpSeen<'_>> = indexmap::IndexMap::new();
        for i in logons {
            let a = &self.activities[i];
            let Some(ip) = self.ip(i) else { continue };
            let entry = seen.entry(ip).or_insert(IpSeen {
                ip,
                count: 0,
                first: a.time,
                last: a.time,
            });
            entry.count += 1;
            entry.last = a.time;
        }
        seen.into_values().collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpSeen<'a> {
    pub ip: &'a str,
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// Records per activity type and per client type, sorted by name (the
/// JSON report's `counts` as it is).
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts<'a> {
    pub activity: BTreeMap<&'a str, u64>,
    pub app: BTreeMap<&'a str, u64>,
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

/// Counts kept by value (cheap to hash while counting), re-keyed by name.
fn by_name<'a, K>(
    counts: FxHashMap<K, u64>,
    name: impl Fn(K) -> &'a str,
) -> BTreeMap<&'a str, u64> {
    let mut out = BTreeMap::new();
    for (k, n) in counts {
        *out.entry(name(k)).or_insert(0) += n;
    }
    out
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

/// Gives every record the best IP available inside its own mailbox: its own
/// (logons), its session's, or the latest same-app logon within 30 minutes.
/// Never "the last IP anywhere in the file" (Magic Unicorn's heuristic).
fn attribute_ips(activities: &[Activity], arenas: &Arenas) -> (Vec<Attribution>, IndexSet<String>) {
    let mut ips = IndexSet::new();
    let mut intern = |ip: &str| ips.insert_full(ip.to_string()).0 as u32;
    // A session's first logon IP, for rows that precede the logon in time
    // (OWA uploads client events in batches with browser timestamps).
    let rec = |a| Rec::new(a, arenas);
    let mut session_first: FxHashMap<(u32, Sym), u32> = FxHashMap::default();
    for a in activities
        .iter()
        .filter(|a| a.kind.is_logon() && !a.session.is_empty())
    {
        if let Some(ip) = rec(a).client_ip() {
            let id = intern(&ip);
            session_first
                .entry((a.source().file, a.session))
                .or_insert(id);
        }
    }
    let mut session_last: FxHashMap<(u32, Sym), u32> = FxHashMap::default();
    // Per (input, client type): the last logon's IP and until when it holds.
    let mut app_last: FxHashMap<(u32, App), (u32, DateTime<Utc>)> = FxHashMap::default();
    let window = Duration::minutes(SAME_APP_WINDOW_MINUTES);
    let mut out = Vec::with_capacity(activities.len());
    for a in activities {
        let session = (a.source().file, a.session);
        if a.kind.is_logon()
            && let Some(ip) = rec(a).client_ip()
        {
            let id = intern(&ip);
            session_last.insert(session, id);
            let until = a.time.checked_add_signed(window);
            app_last.insert(
                (a.source().file, a.app),
                (id, until.unwrap_or(DateTime::<Utc>::MAX_UTC)),
            );
            out.push(Attribution::found(id, Via::Logon));
            continue;
        }
        let by_session = (!a.session.is_empty())
            .then(|| {
                session_last
                    .get(&session)
                    .or_else(|| session_first.get(&session))
                    .copied()
            })
            .flatten();
        // Only looked up when the session gives nothing (comparing with a
        // precomputed deadline: chrono's subtraction is costly per row).
        let by_app = || {
            app_last
                .get(&(a.source().file, a.app))
                .filter(|(_, until)| a.time <= *until)
                .map(|(id, _)| *id)
        };
        out.push(match by_session {
            Some(id) => Attribution::found(id, Via::SameSession),
            None => by_app().map_or(Attribution::NONE, |id| {
                Attribution::found(id, Via::PriorLogonSameApp)
            }),
        });
    }
    (out, ips)
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
