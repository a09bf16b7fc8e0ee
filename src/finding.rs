//! What rules emit and reports read.

use crate::actors::Actor;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;

/// Sigma's levels, in order: `--fail-on high` means `level >= High`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Context, never an alert.
    Informational,
    /// Notable, rarely an incident alone.
    Low,
    /// Review manually.
    Medium,
    /// Should trigger a timely review.
    High,
    /// Incident almost certain.
    Critical,
}

impl Level {
    /// Least severe first.
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    /// The short form used in the table.
    pub fn short(self) -> &'static str {
        match self {
            Level::Informational => "info",
            Level::Low => "low",
            Level::Medium => "med",
            Level::High => "high",
            Level::Critical => "crit",
        }
    }

    /// One level up, capped at critical.
    pub fn raised(self) -> Level {
        match self {
            Level::Informational => Level::Low,
            Level::Low => Level::Medium,
            Level::Medium => Level::High,
            Level::High | Level::Critical => Level::Critical,
        }
    }
}

/// How many evidence rows of a finding get a `detail` text: no report
/// shows more (JSON lists this many, HTML and the table fewer), while a
/// busy mailbox's burst finding can cite tens of thousands of rows.
pub const DETAILED_EVIDENCE: usize = 100;

/// A row a finding cites: an index into the timeline plus what about it
/// mattered ("query 'wire transfer'"); the detail is empty past the first
/// [`DETAILED_EVIDENCE`] rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence<'a> {
    pub record: usize,
    pub detail: &'a str,
}

/// The rows a finding cites, packed: a record index in four bytes and the
/// details in one string. A busy mailbox's burst findings cite a hundred
/// thousand rows, which as separate index/string pairs took 80 bytes each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EvidenceList {
    records: Vec<u32>,
    /// Where each detail ends in `details`, for the first rows (at most
    /// [`DETAILED_EVIDENCE`]); the rest have none.
    ends: Vec<u32>,
    details: String,
}

impl EvidenceList {
    /// Cites `record`, with `detail` while fewer than [`DETAILED_EVIDENCE`]
    /// rows have one (it is not called after that).
    fn push(&mut self, record: usize, detail: impl FnOnce() -> String) {
        // Four bytes: a run holding 4 billion records would need some
        // 200 GB for its tables before any rule ran.
        self.records.push(u32::try_from(record).unwrap_or(u32::MAX));
        if self.ends.len() < DETAILED_EVIDENCE {
            self.details.push_str(&detail());
            self.ends
                .push(u32::try_from(self.details.len()).unwrap_or(u32::MAX));
        }
    }

    /// Cites `records` in order, each of the first [`DETAILED_EVIDENCE`]
    /// with `detail(record)`; sized to fit (findings live to the end).
    pub fn of(records: &[usize], detail: impl Fn(usize) -> String) -> EvidenceList {
        let mut list = EvidenceList {
            records: Vec::with_capacity(records.len()),
            ends: Vec::with_capacity(records.len().min(DETAILED_EVIDENCE)),
            details: String::new(),
        };
        for &i in records {
            list.push(i, || detail(i));
        }
        list.details.shrink_to_fit();
        list
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Appends the rows of `other` this list does not cite yet, with their
    /// details while there is room: two findings merged into one episode.
    pub fn extend(&mut self, other: &EvidenceList) {
        let cited: rustc_hash::FxHashSet<u32> = self.records.iter().copied().collect();
        for e in other.iter() {
            if !cited.contains(&u32::try_from(e.record).unwrap_or(u32::MAX)) {
                self.push(e.record, || e.detail.to_string());
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn clear(&mut self) {
        *self = EvidenceList::default();
    }

    pub fn first(&self) -> Option<Evidence<'_>> {
        self.iter().next()
    }

    pub fn iter(&self) -> impl Iterator<Item = Evidence<'_>> + '_ {
        let mut start = 0;
        self.records.iter().enumerate().map(move |(n, &record)| {
            let detail = match self.ends.get(n) {
                Some(&end) => {
                    let detail = self.details.get(start..end as usize).unwrap_or("");
                    start = end as usize;
                    detail
                }
                None => "",
            };
            Evidence {
                record: record as usize,
                detail,
            }
        })
    }
}

/// What a finding says the intruder was doing (`docs/rules.md` §2): the
/// classification an analyst sorts findings by. Not the run order
/// ([`crate::rules::Phase`]) nor the chain stage ([`Stage`]): reading a burst
/// of messages is collection, and counts for the chain as reconnaissance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tactic {
    /// Getting in: logons, clients, sessions.
    Access,
    /// Looking around: searches.
    Reconnaissance,
    /// Taking mail: reading, attachments, forwarding.
    Collection,
    /// Hiding: inbox-rule effects, deletes.
    Concealment,
    /// Acting as the user: sending, replying in payment threads.
    Action,
    /// The BEC chain itself, made of the others.
    Correlation,
    /// The export, not the intruder: gaps, damaged rows.
    DataQuality,
}

impl Tactic {
    pub fn as_str(self) -> &'static str {
        match self {
            Tactic::Access => "access",
            Tactic::Reconnaissance => "reconnaissance",
            Tactic::Collection => "collection",
            Tactic::Concealment => "concealment",
            Tactic::Action => "action",
            Tactic::Correlation => "correlation",
            Tactic::DataQuality => "data-quality",
        }
    }
}

/// The stage a finding fills in the BEC chain (`bec-chain`,
/// `docs/rules.md` §2.8); rules outside the chain have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Access,
    Reconnaissance,
    Concealment,
    Action,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: &'static str,
    pub title: &'static str,
    pub level: Level,
    pub attack: &'static [&'static str],
    /// Its rule's tactic and chain stage.
    pub tactic: Tactic,
    pub stage: Option<Stage>,
    /// The mailbox (input file) the finding is about.
    pub mailbox: String,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub count: u64,
    /// One sentence an analyst can paste into a case report.
    pub summary: String,
    pub evidence: EvidenceList,
    pub experimental: bool,
    /// Who the evidence points at (`docs/actors.md`): the new actor among
    /// its rows if there is one, else the one with most rows.
    pub actor: Option<Arc<Actor>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_keeps_details_for_the_first_rows_only() {
        let mut list = EvidenceList::default();
        assert!(list.first().is_none());
        let mut asked = 0;
        for i in 0..DETAILED_EVIDENCE + 5 {
            list.push(i * 2, || {
                asked += 1;
                if i == 1 {
                    String::new()
                } else {
                    format!("row {i}")
                }
            });
        }
        assert_eq!(asked, DETAILED_EVIDENCE);
        assert_eq!(list.len(), DETAILED_EVIDENCE + 5);
        let all: Vec<Evidence<'_>> = list.iter().collect();
        assert_eq!(
            all[0],
            Evidence {
                record: 0,
                detail: "row 0"
            }
        );
        assert_eq!(
            all[1],
            Evidence {
                record: 2,
                detail: ""
            }
        );
        assert_eq!(
            all[2],
            Evidence {
                record: 4,
                detail: "row 2"
            }
        );
        let last = DETAILED_EVIDENCE - 1;
        assert_eq!(all[last].detail, format!("row {last}"));
        assert_eq!(
            all[DETAILED_EVIDENCE],
            Evidence {
                record: 2 * DETAILED_EVIDENCE,
                detail: ""
            }
        );
        assert_eq!(list.first(), Some(all[0]));
        let records: Vec<usize> = (0..DETAILED_EVIDENCE + 5).map(|i| i * 2).collect();
        let built = EvidenceList::of(&records, |r| match r {
            2 => String::new(),
            r => format!("row {}", r / 2),
        });
        assert_eq!(built, list);
        list.clear();
        assert!(list.is_empty());
    }
}
