//! The command line (clap derive). Nothing past `config` sees these types.

use crate::finding::Level;
use crate::report;
use clap::{Parser, ValueEnum};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Examples:
  o365scan activities.csv                          findings and summary as a table
  o365scan --format json activities.csv > r.json   full report as JSON
  o365scan --format jsonl a.csv b.csv              one finding per line, two mailboxes
  o365scan --fail-on high activities.csv           exit 1 on high or critical findings
  o365scan --timeline tl.csv activities.csv        also every record as CSV (Excel, Timeline Explorer)
  o365scan --timesketch --timeline tl.jsonl a.csv  timeline ready for Timesketch import
  o365scan --html report.html activities.csv       also a self-contained HTML report
  o365scan --scope scope.csv activities.csv       what the suspect actors read, sent, searched, deleted
  o365scan --actor 203.0.113.0/24 --scope s.jsonl a.csv   the scope of one network
  o365scan --ioc case42.txt exports/*.csv         every mailbox swept for known indicators
  o365scan --from 2018-06-01 --tz Europe/London a.csv   June onwards, table times in UK time
  o365scan --list-rules                            the rule catalogue
  zcat activities.csv.gz | o365scan -              read standard input

Exit status: 0 ok, 1 findings at/above --fail-on, 2 usage, 65 bad data,
66 cannot open input, 73 cannot create output, 74 read or write failure";

/// Offline BEC triage of Office 365 Outlook Activities API exports
/// (CrowdStrike retriever.py CSV).
#[derive(Debug, Parser)]
#[command(
    name = "o365scan",
    version,
    about,
    after_help = AFTER_HELP,
    args_override_self = true,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Export files to read; each is one mailbox. `-` reads standard input.
    #[arg(value_name = "FILE", required_unless_present = "list_rules")]
    pub files: Vec<PathBuf>,

    /// Report format written to standard output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// When to colour the table.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,

    /// Print no warnings or notes on standard error (errors still print).
    #[arg(short, long)]
    pub quiet: bool,

    /// Make the first rejected row a fatal data error (exit 65).
    #[arg(long)]
    pub strict: bool,

    /// List the rules (id, level, ATT&CK, title) and exit.
    #[arg(long)]
    pub list_rules: bool,

    /// Run only these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub rules: Vec<String>,

    /// Skip these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub exclude_rules: Vec<String>,

    /// Report only findings at or above this level.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_level: Option<LevelArg>,

    /// Exit 1 when a finding is at or above this level.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub fail_on: Option<LevelArg>,

    /// Rule settings (thresholds, windows, keyword lists) as TOML.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,

    /// Also write every record, one row per activity, to PATH (`.csv` or
    /// `.jsonl`; `-` is standard output, with --timeline-format).
    #[arg(long, value_name = "PATH")]
    pub timeline: Option<PathBuf>,

    /// Timeline format, when PATH's extension does not say.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub timeline_format: Option<TimelineFormat>,

    /// Also write a self-contained HTML report to PATH (for clients and
    /// counsel: findings, activity chart, IPs, filterable timeline).
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,

    /// Add Timesketch's fields (message, datetime, timestamp,
    /// timestamp_desc, tag) to the timeline.
    #[arg(long, requires = "timeline")]
    pub timesketch: bool,

    /// Only records and findings from this time on (RFC 3339, or a UTC date
    /// YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,

    /// Only records and findings up to this time (RFC 3339, or a UTC date:
    /// the whole day is included).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,

    /// Whose activity the intrusion scope lists: an IP, a CIDR block or a
    /// ClientSessionId (repeatable), or `all`. Default: the actors named by
    /// findings at medium or above.
    #[arg(long, value_name = "IP|CIDR|SESSION|all")]
    pub actor: Vec<String>,
    /// Also write the intrusion scope to PATH (`.csv` or `.jsonl`): one row
    /// per (actor, item) touched and per search.
    #[arg(long, value_name = "PATH")]
    pub scope: Option<PathBuf>,
    /// Sweep every mailbox for the indicators in FILE (repeatable): plain
    /// text, one `[type:]value[<TAB>label]` a line (ip, cidr, ua, sender,
    /// domain, subject, search, asn), or CSV `type,value,label`. Each match
    /// is an `ioc-match` finding.
    #[arg(long, value_name = "FILE")]
    pub ioc: Vec<PathBuf>,
    /// Enrich IPs offline from a MaxMind DB file (repeatable: a City or
    /// Country database and an ASN database; GeoLite2/GeoIP2, DB-IP Lite
    /// and IPinfo Lite layouts). Never any network access.
    #[arg(long, value_name = "FILE.mmdb")]
    pub geoip: Vec<PathBuf>,
    /// The case reference, shown in every report (table, JSON, HTML).
    #[arg(long, value_name = "TEXT")]
    pub case: Option<String>,
    /// Who ran the analysis, shown in every report (table, JSON, HTML).
    #[arg(long, value_name = "TEXT")]
    pub examiner: Option<String>,
    /// Show table times in this zone (IANA name like Europe/London, or an
    /// offset like +01:00). Machine formats stay UTC.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to standard output.
    Man,
}

/// `--timeline-format` (the report's [`report::TimelineFormat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimelineFormat {
    /// Comma-separated values, spreadsheet-safe.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Elastic Common Schema documents, one per line, for the bulk API of
    /// Elasticsearch or OpenSearch (docs/ecs.md).
    Ecs,
}

/// `--format` (the report's [`report::Format`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable tables (default).
    Table,
    /// One JSON document: the o365scan.report/1 contract.
    Json,
    /// One finding per line, as in the JSON report's `findings`.
    Jsonl,
}

/// `--min-level` and `--fail-on`: the model's [`Level`], spelt for the
/// command line (the model does not depend on clap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
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

impl From<LevelArg> for Level {
    fn from(level: LevelArg) -> Level {
        match level {
            LevelArg::Informational => Level::Informational,
            LevelArg::Low => Level::Low,
            LevelArg::Medium => Level::Medium,
            LevelArg::High => Level::High,
            LevelArg::Critical => Level::Critical,
        }
    }
}

impl From<Format> for report::Format {
    fn from(format: Format) -> report::Format {
        match format {
            Format::Table => report::Format::Table,
            Format::Json => report::Format::Json,
            Format::Jsonl => report::Format::Jsonl,
        }
    }
}

impl From<TimelineFormat> for report::TimelineFormat {
    fn from(format: TimelineFormat) -> report::TimelineFormat {
        match format {
            TimelineFormat::Csv => report::TimelineFormat::Csv,
            TimelineFormat::Jsonl => report::TimelineFormat::Jsonl,
            TimelineFormat::Ecs => report::TimelineFormat::Ecs,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Colour when standard output is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
