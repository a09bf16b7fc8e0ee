//! What rules emit and reports read.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Sigma's levels, in order: `--fail-on high` means `level >= High`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    clap::ValueEnum,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Context, never an alert.
    #[value(alias = "info")]
    Informational,
    /// Notable, rarely an incident alone.
    Low,
    /// Review manually.
    #[value(alias = "med")]
    Medium,
    /// Should trigger a timely review.
    High,
    /// Incident almost certain.
    #[value(alias = "crit")]
    Critical,
}

impl Level {
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub record: usize,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: &'static str,
    pub title: &'static str,
    pub level: Level,
    pub attack: &'static [&'static str],
    /// The mailbox (input file) the finding is about.
    pub mailbox: String,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub count: u64,
    /// One sentence an analyst can paste into a case report.
    pub summary: String,
    pub evidence: Vec<Evidence>,
    pub experimental: bool,
}
