//! Suspect context (`docs/rules.md` §2.1): a record whose session or
//! attributed IP had an access anomaly within 24 hours. It raises levels
//! (`medium↑high`).

use crate::attribution::IpAttribution;
use crate::finding::Finding;
use crate::intern::Sym;
use crate::timeline::Timeline;
use chrono::{DateTime, Duration, Utc};
use rustc_hash::FxHashMap;

const WINDOW_HOURS: i64 = 24;

/// Times of access anomalies, by (input, session) and by (input, IP), each
/// sorted, so a lookup is a binary search however many there are.
#[derive(Debug, Default)]
pub(super) struct Suspect {
    by_session: FxHashMap<(u32, Sym), Vec<DateTime<Utc>>>,
    by_ip: FxHashMap<(u32, u32), Vec<DateTime<Utc>>>,
}

impl Suspect {
    /// Marks the session, IP and time of every evidence row of the findings
    /// of `sources`.
    pub(super) fn from_findings(
        timeline: &Timeline,
        ips: &IpAttribution,
        findings: &[Finding],
        sources: &[&dyn super::Rule],
    ) -> Suspect {
        let mut s = Suspect::default();
        for f in findings
            .iter()
            .filter(|f| sources.iter().any(|r| r.id() == f.rule))
        {
            for e in f.evidence.iter() {
                let a = timeline.activity(e.record);
                if !a.session.is_empty() {
                    s.by_session
                        .entry((a.source().file, a.session))
                        .or_default()
                        .push(a.time);
                }
                if let Some(ip) = ips.get(e.record).ip() {
                    s.by_ip
                        .entry((a.source().file, ip))
                        .or_default()
                        .push(a.time);
                }
            }
        }
        for times in s.by_session.values_mut().chain(s.by_ip.values_mut()) {
            times.sort_unstable();
        }
        s
    }

    pub(super) fn contains(&self, timeline: &Timeline, ips: &IpAttribution, i: usize) -> bool {
        let a = timeline.activity(i);
        let near = |times: Option<&Vec<DateTime<Utc>>>| {
            times.is_some_and(|t| {
                let window = Duration::hours(WINDOW_HOURS);
                let from = t.partition_point(|&m| m < a.time - window);
                t.get(from).is_some_and(|&m| m <= a.time + window)
            })
        };
        let by_session =
            !a.session.is_empty() && near(self.by_session.get(&(a.source().file, a.session)));
        by_session
            || ips
                .get(i)
                .ip()
                .is_some_and(|ip| near(self.by_ip.get(&(a.source().file, ip))))
    }
}
