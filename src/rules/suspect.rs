//! Suspect context (`detections.md` §2.1): a record whose session or
//! attributed IP had an access anomaly within 24 hours. It raises levels
//! (`medium↑high`).

use crate::finding::Finding;
use crate::timeline::Timeline;
use chrono::{DateTime, Duration, Utc};

const WINDOW_HOURS: i64 = 24;

#[derive(Debug, Default)]
pub struct Suspect {
    marks: Vec<Mark>,
}

#[derive(Debug)]
struct Mark {
    file: u32,
    session: crate::intern::Sym,
    ip: Option<u32>,
    time: DateTime<Utc>,
}

impl Suspect {
    /// Marks the session, IP and time of every evidence row of the findings
    /// of `sources`.
    pub fn from_findings(timeline: &Timeline, findings: &[Finding], sources: &[&str]) -> Suspect {
        let mut marks = Vec::new();
        for f in findings.iter().filter(|f| sources.contains(&f.rule)) {
            for e in &f.evidence {
                let a = &timeline.activities[e.record];
                marks.push(Mark {
                    file: a.source.file,
                    session: a.session,
                    ip: timeline.attribution[e.record].ip,
                    time: a.time,
                });
            }
        }
        Suspect { marks }
    }

    pub fn contains(&self, timeline: &Timeline, i: usize) -> bool {
        let a = &timeline.activities[i];
        let ip = timeline.attribution[i].ip;
        self.marks.iter().any(|m| {
            m.file == a.source.file
                && ((!a.session.is_empty() && m.session == a.session)
                    || (ip.is_some() && m.ip == ip))
                && (a.time - m.time).abs() <= Duration::hours(WINDOW_HOURS)
        })
    }
}
