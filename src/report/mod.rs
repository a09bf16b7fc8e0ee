//! Reports: one writer per format, all reading the same [`Report`]. Writers
//! format; they never re-judge findings.

mod chart;
mod counts;
mod ecs;
pub mod html;
mod html_scope;
mod json;
mod legend;
pub mod scope_out;
mod style;
pub mod summary;
mod table;
pub mod timeline_out;
mod window;

use crate::attribution::IpAttribution;
use crate::finding::Finding;
use crate::items::Catalogue;
use crate::scope::Scope;
use crate::timeline::Timeline;
use std::io::{self, Write};

pub use json::SCHEMA;
pub use style::{Style, TABLE_WIDTH, Zone};
pub use timeline_out::{TimelineFormat, TimelineOptions};
pub use window::Window;

/// The report written to standard output or `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable tables.
    Table,
    /// One JSON document: the o365scan.report/1 contract.
    Json,
    /// One finding per line, as in the JSON report's `findings`.
    Jsonl,
}

/// Who the report is for and by, and when it was made (docs/custody.md).
#[derive(Debug, Clone)]
pub struct CaseInfo {
    /// `--case`.
    pub reference: Option<String>,
    /// `--examiner`.
    pub examiner: Option<String>,
    /// Now, or `SOURCE_DATE_EPOCH`; shown by the HTML report only.
    pub generated: chrono::DateTime<chrono::Utc>,
}

/// What every format renders.
pub struct Report<'a> {
    pub timeline: &'a Timeline,
    /// Which network each record came from.
    pub ips: &'a IpAttribution,
    /// Findings overlapping the window, sorted by first time, then rule id,
    /// then mailbox (the JSON order).
    pub findings: Vec<&'a Finding>,
    /// `--from`/`--to`.
    pub window: Window,
    /// Findings left out by the window.
    pub excluded_findings: usize,
    /// Which message each record acts on, for the rows that show it.
    pub items: Option<&'a Catalogue>,
    /// What the scoped actors touched.
    pub scope: Option<&'a Scope>,
    /// `--geoip`: what the databases say of each IP.
    pub geoip: Option<&'a crate::geoip::GeoIp>,
    /// `--case`, `--examiner`, and when the report was made.
    pub case: Option<&'a CaseInfo>,
    /// Which findings cite each record: made on first use, once for the
    /// timeline export and the HTML report alike.
    citations: std::sync::OnceLock<Citations>,
}

impl<'a> Report<'a> {
    pub fn new(
        timeline: &'a Timeline,
        ips: &'a IpAttribution,
        findings: &'a [Finding],
        window: Window,
    ) -> Self {
        let mut sorted: Vec<&Finding> = findings
            .iter()
            .filter(|f| window.overlaps(f.first, f.last))
            .collect();
        let excluded_findings = findings.len() - sorted.len();
        sorted.sort_by(|a, b| (a.first, a.rule, &a.mailbox).cmp(&(b.first, b.rule, &b.mailbox)));
        Report {
            timeline,
            ips,
            findings: sorted,
            window,
            excluded_findings,
            items: None,
            scope: None,
            geoip: None,
            case: None,
            citations: std::sync::OnceLock::new(),
        }
    }

    pub fn with_items(self, items: &'a Catalogue) -> Self {
        Report {
            items: Some(items),
            ..self
        }
    }

    pub fn with_scope(self, scope: &'a Scope) -> Self {
        Report {
            scope: Some(scope),
            ..self
        }
    }

    pub fn with_case(self, case: &'a CaseInfo) -> Self {
        Report {
            case: Some(case),
            ..self
        }
    }

    pub fn with_geoip(self, geoip: &'a crate::geoip::GeoIp) -> Self {
        Report {
            geoip: Some(geoip),
            ..self
        }
    }

    /// What `--geoip` says of `ip`.
    pub fn ip_info(&self, ip: &str) -> Option<&'a crate::geoip::IpInfo> {
        self.geoip?.info(ip)
    }

    /// The display name a row of the export gives the folder record `i`
    /// names by id (`docs/scope.md` §1.4), if any.
    pub fn folder_name(&self, i: usize) -> Option<&'a str> {
        let a = self.timeline.rec(i);
        // A delivery into a custom folder gives its id apart from its type.
        let folder = match a.get(crate::activity::PropKey::DeliveredFolderId) {
            Some(id) => std::borrow::Cow::Borrowed(id),
            None => a.folder()?,
        };
        let named = self.items?.folder_name(self.timeline, i, &folder)?;
        Some(named.name.as_str())
    }

    /// The folder record `i` is about, for people: a custom folder's id
    /// as "Name (…tail of the id)" where a row names it, else as exported.
    pub fn folder_shown(&self, i: usize) -> Option<std::borrow::Cow<'a, str>> {
        let a = self.timeline.rec(i);
        let folder = a.folder()?;
        match self.folder_name(i) {
            Some(name) => {
                let id = a
                    .get(crate::activity::PropKey::DeliveredFolderId)
                    .unwrap_or(&folder);
                let tail = crate::items::id_tail(id);
                Some(format!("{name} (…{tail})").into())
            }
            None => Some(folder),
        }
    }

    /// What the catalogue knows of the item record `i` acts on.
    pub fn item_of(&self, i: usize) -> Option<crate::items::Resolved> {
        self.items?.resolve(self.timeline, i)
    }

    /// Which reported findings cite each record.
    pub fn citations(&self) -> &Citations {
        self.citations.get_or_init(|| Citations::of(self))
    }

    /// Why a list is empty, for the sections that would show it.
    pub fn no_findings_reason(&self) -> String {
        let within = if self.window.is_set() {
            " within the --from/--to window"
        } else {
            ""
        };
        let n = self.records();
        format!(
            "No findings: no rule matched the {n} {} examined{within}.",
            if n == 1 { "record" } else { "records" }
        )
    }

    pub fn no_logons_reason(&self) -> &'static str {
        "No logon rows (ServerLogon or Logon with a client IP) in this export: sign-ins cannot be shown, and activity is tied to networks only where rows carry their own IP."
    }

    pub fn no_records_reason(&self) -> &'static str {
        if self.window.is_set() {
            "No records fall within the --from/--to window."
        } else {
            "No records in this export."
        }
    }

    pub fn records(&self) -> u64 {
        self.timeline.inputs().iter().map(|s| s.records).sum()
    }

    pub fn rejected(&self) -> u64 {
        self.timeline.inputs().iter().map(|s| s.rejected).sum()
    }

    pub fn duplicates(&self) -> u64 {
        self.timeline.inputs().iter().map(|s| s.duplicates).sum()
    }

    pub fn rows(&self) -> u64 {
        self.timeline.inputs().iter().map(|s| s.rows).sum()
    }

    /// Records outside `--from`/`--to`.
    pub fn excluded_records(&self) -> u64 {
        let inside = self.window.records(self.timeline).count() as u64;
        self.timeline.len() as u64 - inside
    }
}

pub fn write<W: Write>(
    out: &mut W,
    report: &Report<'_>,
    format: Format,
    style: &Style,
) -> io::Result<()> {
    match format {
        Format::Table => table::write(out, report, style),
        Format::Json => json::write(out, report, style),
        Format::Jsonl => json::write_lines(out, report, style),
    }
}

/// Which reported findings cite each record, as (record, finding) index
/// pairs sorted, so that a record's citations sit together in report
/// order. A busy mailbox's findings cite hundreds of thousands of rows: a
/// map from record to a list took 33 MB at 1M rows, these pairs 2.
pub struct Citations {
    pairs: Vec<(u32, u32)>,
}

impl Citations {
    fn of(report: &Report<'_>) -> Citations {
        let index = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let mut pairs: Vec<(u32, u32)> = report
            .findings
            .iter()
            .enumerate()
            .flat_map(|(n, f)| f.evidence.iter().map(move |e| (index(e.record), index(n))))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        Citations { pairs }
    }

    /// The findings (indices into [`Report::findings`]) citing record `i`,
    /// in report order.
    pub fn of_record(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let start = self
            .pairs
            .partition_point(|&(record, _)| (record as usize) < i);
        self.pairs[start..]
            .iter()
            .take_while(move |&&(record, _)| record as usize == i)
            .map(|&(_, finding)| finding as usize)
    }

    pub fn contains(&self, i: usize) -> bool {
        self.of_record(i).next().is_some()
    }
}

/// `--list-rules`: the catalogue as a table or as JSON.
pub fn list_rules<W: Write>(out: &mut W, format: Format, style: &Style) -> io::Result<()> {
    match format {
        Format::Table => table::list_rules(out, style),
        Format::Json | Format::Jsonl => json::list_rules(out, format),
    }
}
