//! What the reports count: records per activity and client type inside the
//! window, and sessions.

use super::Window;
use crate::activity::{App, Kind};
use crate::intern::Sym;
use crate::timeline::Timeline;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;

/// Records per activity type and per client type, sorted by name (the
/// JSON report's `counts` as it is).
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub(super) struct Counts<'a> {
    pub activity: BTreeMap<&'a str, u64>,
    pub app: BTreeMap<&'a str, u64>,
}

/// Records per `ActivityIdType` and per `AppIdType` inside `window`, each
/// sorted by name: from the timeline's indexes without a window, else one
/// pass over the records.
pub(super) fn counts<'t>(timeline: &'t Timeline, window: &Window) -> Counts<'t> {
    let mut kinds: FxHashMap<Kind, u64> = FxHashMap::default();
    let mut apps: FxHashMap<App, u64> = FxHashMap::default();
    if window.is_set() {
        for (_, a) in window.records(timeline) {
            *kinds.entry(a.kind).or_insert(0) += 1;
            *apps.entry(a.app).or_insert(0) += 1;
        }
    } else {
        for (kind, n) in timeline.kind_totals() {
            *kinds.entry(kind).or_insert(0) += n;
        }
        for (app, n) in timeline.app_totals() {
            *apps.entry(app).or_insert(0) += n;
        }
    }
    let strings = &timeline.arenas().strings;
    Counts {
        activity: by_name(kinds, |k| k.name(strings)),
        app: by_name(apps, |app| app.name(strings)),
    }
}

/// Distinct non-empty `ClientSessionId`s, per mailbox.
pub(super) fn sessions(timeline: &Timeline) -> usize {
    let sessions: FxHashSet<(u32, Sym)> = timeline
        .activities()
        .iter()
        .filter(|a| !a.session.is_empty())
        .map(|a| (a.source().file, a.session))
        .collect();
    sessions.len()
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
