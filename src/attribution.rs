//! IP attribution: which network each record came from. A detection
//! policy, kept apart from the timeline it reads: the timeline stores what
//! the rows say; this step decides, per record, which logon's IP it
//! inherits (`docs/rules.md` §2.9 `data-attribution`). Rules, actors and
//! reports read its result; nothing reads the rows for IPs again.

use crate::activity::{Activity, App, Arenas, Rec};
use crate::intern::Sym;
use crate::timeline::Timeline;
use chrono::{DateTime, Duration, Utc};
use indexmap::IndexSet;
use rustc_hash::FxHashMap;

/// How long a logon's IP is lent to later rows of the same client type that
/// share no session with it (`docs/rules.md` §2.9 `data-attribution`).
const SAME_APP_WINDOW_MINUTES: i64 = 30;

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

/// A record's IP (an index into [`IpAttribution`]'s IPs) and how it was found,
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

/// Every record's attributed IP, parallel to the timeline's records.
#[derive(Debug, Default)]
pub struct IpAttribution {
    per_record: Vec<Attribution>,
    /// Interned IP strings; an [`Attribution`] holds an index.
    ips: IndexSet<String>,
}

impl IpAttribution {
    /// Attributes every record of `timeline`.
    pub fn of(timeline: &Timeline) -> IpAttribution {
        IpAttribution::of_records(timeline.activities(), timeline.arenas())
    }

    /// The same from the records alone, for [`Timeline::build_beside`].
    pub fn of_records(activities: &[Activity], arenas: &Arenas) -> IpAttribution {
        attribute(activities, arenas)
    }

    /// The attributed IP of record `i`.
    pub fn ip(&self, i: usize) -> Option<&str> {
        let id = self.per_record.get(i)?.ip()?;
        self.ips.get_index(id as usize).map(String::as_str)
    }

    /// Every distinct IP any record was attributed, in order of first
    /// appearance.
    pub fn addresses(&self) -> impl Iterator<Item = &str> {
        self.ips.iter().map(String::as_str)
    }

    /// How record `i`'s IP was found (or [`Attribution::NONE`] past the end).
    pub fn get(&self, i: usize) -> Attribution {
        self.per_record.get(i).copied().unwrap_or(Attribution::NONE)
    }

    /// Every IP seen on a logon row: count, first and last time, in order of
    /// first appearance.
    pub fn logon_ips<'a>(&'a self, timeline: &Timeline) -> Vec<IpSeen<'a>> {
        let mut logons: Vec<usize> = (0..self.per_record.len())
            .filter(|&i| self.per_record[i].via() == Via::Logon)
            .collect();
        // Storage is input by input; the list goes by time.
        logons.sort_by_key(|&i| timeline.time_key(i));
        let mut seen: indexmap::IndexMap<&str, IpSeen<'_>> = indexmap::IndexMap::new();
        for i in logons {
            let a = timeline.activity(i);
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

/// Gives every record the best IP available inside its own mailbox: its own
/// (logons), its session's, or the latest same-app logon within 30 minutes.
/// Never "the last IP anywhere in the file" (Magic Unicorn's heuristic).
fn attribute(activities: &[Activity], arenas: &Arenas) -> IpAttribution {
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
    IpAttribution {
        per_record: out,
        ips,
    }
}
