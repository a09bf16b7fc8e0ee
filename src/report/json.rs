//! `--format json` (the `o365scan.report/1` contract, README "JSON report")
//! and `--format jsonl` (one finding per line).

use super::Report;
use super::Style;
use super::counts::Counts;
use crate::actors::Actor;
use crate::clock;
use crate::escape;
use crate::finding::Finding;
use serde::{Serialize, Serializer};
use std::io::{self, Write};

pub const SCHEMA: &str = "o365scan.report/1";

/// Evidence rows written per finding; `count` still says how many matched
/// and the timeline export tags every cited row.
pub(super) const MAX_EVIDENCE: usize = crate::finding::DETAILED_EVIDENCE;

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    tool: Tool,
    /// `--case` and `--examiner`, null when not given.
    case: JsonCase<'a>,
    inputs: Vec<Input<'a>>,
    records: u64,
    rejected: u64,
    duplicates: u64,
    first: Option<String>,
    last: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<Filter>,
    counts: Counts<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<JsonScope<'a>>,
    /// `--geoip` only: the databases read and what they provide.
    #[serde(skip_serializing_if = "Option::is_none")]
    geoip: Option<Vec<JsonDatabase<'a>>>,
    /// `--geoip` only: what the databases say of each IP, once per IP (so
    /// rows and findings stay small); an IP no database knows is absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_info: Option<indexmap::IndexMap<&'a str, &'a crate::geoip::IpInfo>>,
    findings: Vec<JsonFinding<'a>>,
    rejections: Vec<Rejection<'a>>,
}

#[derive(Serialize)]
struct JsonCase<'a> {
    reference: Option<&'a str>,
    examiner: Option<&'a str>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Input<'a> {
    path: &'a str,
    mailbox: &'a str,
    /// Of the whole file as read (chain of custody, docs/custody.md).
    sha256: Option<String>,
    bytes: Option<u64>,
    encoding: &'static str,
    rows: u64,
    records: u64,
    rejected: u64,
    duplicates: u64,
    repeated_headers: u64,
    /// Present when the file held several accounts' exports.
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<Account>,
    first: Option<String>,
    last: Option<String>,
}

/// Which account of a pasted file an input is, and its lines.
#[derive(Serialize)]
struct Account {
    index: usize,
    of: usize,
    first_line: u64,
    last_line: u64,
}

/// Present only with `--from`/`--to`.
#[derive(Serialize)]
struct Filter {
    from: Option<String>,
    to: Option<String>,
    excluded_records: u64,
    excluded_findings: usize,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'static str,
    title: &'static str,
    level: &'static str,
    /// The level as a number, 0 (informational) to 4 (critical), for
    /// `jq 'select(.severity >= 3)'`.
    severity: u8,
    mailbox: &'a str,
    attack: &'static [&'static str],
    first: String,
    last: String,
    count: u64,
    summary: &'a str,
    evidence: EvidenceRows<'a>,
    experimental: bool,
    actor: Option<JsonActor<'a>>,
}

/// A finding's actor (`docs/actors.md`).
#[derive(Serialize)]
struct JsonActor<'a> {
    id: &'a str,
    standing: &'static str,
    first: String,
    last: String,
    networks: &'a [String],
    ips: &'a [String],
    agents: &'a [String],
    clients: &'a [String],
    sessions: usize,
    logons: usize,
    failed_logons: usize,
}

impl<'a> JsonActor<'a> {
    fn of(a: &'a Actor) -> JsonActor<'a> {
        JsonActor {
            id: &a.id,
            standing: a.standing.as_str(),
            first: clock::format(a.first),
            last: clock::format(a.last),
            networks: &a.networks,
            ips: &a.ips,
            agents: &a.agents,
            clients: &a.clients,
            sessions: a.sessions,
            logons: a.logons,
            failed_logons: a.failed_logons,
        }
    }
}

/// A finding's evidence, made row by row as it is written: a busy
/// mailbox's report cites a hundred thousand rows, which need not all be
/// held at once.
struct EvidenceRows<'a> {
    report: &'a Report<'a>,
    finding: &'a Finding,
}

impl Serialize for EvidenceRows<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let tl = self.report.timeline;
        serializer.collect_seq(
            self.finding
                .evidence
                .iter()
                .take(MAX_EVIDENCE)
                .filter_map(|e| {
                    let a = (e.record < tl.len()).then(|| tl.rec(e.record))?;
                    Some(JsonEvidence {
                        path: tl.path(&a),
                        line: u64::from(a.source().line),
                        time: clock::format(a.time),
                        activity: a.kind_name(),
                        detail: e.detail,
                    })
                }),
        )
    }
}

#[derive(Serialize)]
struct JsonEvidence<'a> {
    path: &'a str,
    line: u64,
    time: String,
    activity: &'a str,
    detail: &'a str,
}

#[derive(Serialize)]
struct JsonDatabase<'a> {
    path: &'a str,
    database_type: &'a str,
    /// When the database was built (from its metadata).
    built: Option<String>,
    provides: &'a [&'static str],
}

fn geoip_databases<'a>(report: &'a Report<'a>) -> Option<Vec<JsonDatabase<'a>>> {
    let g = report.geoip?;
    Some(
        g.databases
            .iter()
            .map(|d| JsonDatabase {
                path: &d.path,
                database_type: &d.database_type,
                built: i64::try_from(d.build_epoch)
                    .ok()
                    .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                    .map(clock::format),
                provides: &d.provides,
            })
            .collect(),
    )
}

/// What the scoped actors touched: the figures counsel quotes
/// (`docs/scope.md` §4). Items are distinct messages.
#[derive(Serialize)]
struct JsonScope<'a> {
    selection: String,
    actors: Vec<JsonScopedActor<'a>>,
}

#[derive(Serialize)]
struct JsonScopedActor<'a> {
    mailbox: &'a str,
    actor: String,
    label: String,
    first: Option<String>,
    last: Option<String>,
    records: usize,
    items: usize,
    previewed: usize,
    opened: usize,
    attachments_opened: usize,
    links_clicked: usize,
    marked_read: usize,
    replied: usize,
    forwarded: usize,
    sent: usize,
    moved: usize,
    /// Moved to Deleted Items or purged.
    deleted: usize,
    purged: usize,
    unresolved: usize,
    searches: usize,
}

fn scope<'a>(report: &'a Report<'a>) -> Option<JsonScope<'a>> {
    use crate::scope::Access as A;
    let scope = report.scope?;
    let tl = report.timeline;
    let actors = scope
        .actors
        .iter()
        .map(|a| {
            let c = &a.counts;
            JsonScopedActor {
                mailbox: tl.inputs().get(a.file).map_or("", |s| &s.mailbox),
                actor: a.id().to_string(),
                label: a.label().to_string(),
                first: a.first.map(clock::format),
                last: a.last.map(clock::format),
                records: a.records,
                items: c.items,
                previewed: c.of(A::Preview),
                opened: c.of(A::Open),
                attachments_opened: c.of(A::AttachmentOpened),
                links_clicked: c.of(A::LinkClicked),
                marked_read: c.of(A::MarkedRead),
                replied: c.of(A::Replied),
                forwarded: c.of(A::Forwarded),
                sent: c.of(A::Sent),
                moved: c.of(A::Moved),
                deleted: c.deleted_any,
                purged: c.of(A::Purged),
                unresolved: c.unresolved,
                searches: c.searches,
            }
        })
        .collect();
    Some(JsonScope {
        selection: scope.selection.describe(),
        actors,
    })
}

#[derive(Serialize)]
struct Rejection<'a> {
    path: &'a str,
    line: u64,
    /// Stable, for machines ([`crate::evidence::RejectCode`]); `reason` is
    /// for people.
    code: &'static str,
    reason: &'a str,
}

fn document<'a>(report: &'a Report<'a>) -> Document<'a> {
    let tl = report.timeline;
    let inputs = tl
        .inputs()
        .iter()
        .map(|s| Input {
            path: &s.path,
            mailbox: &s.mailbox,
            sha256: s.custody.map(|c| c.hex()),
            bytes: s.custody.map(|c| c.bytes),
            encoding: s.encoding.as_str(),
            rows: s.rows,
            records: s.records,
            rejected: s.rejected,
            duplicates: s.duplicates,
            repeated_headers: s.repeated_headers,
            account: s.account.map(|a| Account {
                index: a.index,
                of: a.of,
                first_line: a.first_line,
                last_line: a.last_line,
            }),
            first: s.first.map(clock::format),
            last: s.last.map(clock::format),
        })
        .collect();
    let rejections = tl
        .rejections()
        .iter()
        .map(|r| Rejection {
            path: tl.inputs().get(r.file as usize).map_or("", |s| &s.path),
            line: r.line,
            code: r.code.as_str(),
            reason: &r.reason,
        })
        .collect();
    Document {
        schema: SCHEMA,
        tool: Tool {
            name: "o365scan",
            version: env!("CARGO_PKG_VERSION"),
        },
        case: JsonCase {
            reference: report.case.and_then(|c| c.reference.as_deref()),
            examiner: report.case.and_then(|c| c.examiner.as_deref()),
        },
        inputs,
        records: report.records(),
        rejected: report.rejected(),
        duplicates: report.duplicates(),
        first: tl.first().map(clock::format),
        last: tl.last().map(clock::format),
        filter: report.window.is_set().then(|| Filter {
            from: report.window.from.map(clock::format),
            to: report.window.to.map(clock::format),
            excluded_records: report.excluded_records(),
            excluded_findings: report.excluded_findings,
        }),
        counts: super::counts::counts(tl, &report.window),
        scope: scope(report),
        geoip: geoip_databases(report),
        ip_info: report.geoip.map(|g| g.known().collect()),
        findings: report.findings.iter().map(|f| finding(report, f)).collect(),
        rejections,
    }
}

fn finding<'a>(report: &'a Report<'a>, f: &'a Finding) -> JsonFinding<'a> {
    let evidence = EvidenceRows { report, finding: f };
    JsonFinding {
        rule: f.rule,
        title: f.title,
        level: f.level.as_str(),
        severity: f.level as u8,
        mailbox: &f.mailbox,
        attack: f.attack,
        first: clock::format(f.first),
        last: clock::format(f.last),
        count: f.count,
        summary: &f.summary,
        evidence,
        experimental: f.experimental,
        actor: f.actor.as_deref().map(JsonActor::of),
    }
}

pub(super) fn write<W: Write>(out: &mut W, report: &Report<'_>, style: &Style) -> io::Result<()> {
    let doc = document(report);
    if style.terminal {
        let text = serde_json::to_string_pretty(&doc).map_err(io::Error::from)?;
        write_text(out, &text, style)?;
    } else {
        // Streamed: a big report is never held twice in memory.
        serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::from)?;
    }
    out.write_all(b"\n")
}

pub(super) fn write_lines<W: Write>(
    out: &mut W,
    report: &Report<'_>,
    style: &Style,
) -> io::Result<()> {
    for f in &report.findings {
        let line = serde_json::to_string(&finding(report, f)).map_err(io::Error::from)?;
        write_text(out, &line, style)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// JSON already escapes control characters as `\u001b`, but bidi and
/// zero-width characters stay literal: escape them too on a terminal.
fn write_text<W: Write>(out: &mut W, text: &str, style: &Style) -> io::Result<()> {
    if style.terminal {
        out.write_all(escape::for_terminal(text).as_bytes())
    } else {
        out.write_all(text.as_bytes())
    }
}

#[derive(Serialize)]
struct RuleInfo {
    rule: &'static str,
    title: &'static str,
    level: &'static str,
    attack: &'static [&'static str],
    experimental: bool,
    description: &'static str,
    params: Vec<&'static str>,
}

/// `--list-rules --format json|jsonl`: the catalogue as data.
pub(super) fn list_rules<W: Write>(out: &mut W, format: super::Format) -> io::Result<()> {
    let rules: Vec<RuleInfo> = crate::rules::RULES
        .iter()
        .map(|r| RuleInfo {
            rule: r.id(),
            title: r.title(),
            level: r.level().as_str(),
            attack: r.attack(),
            experimental: r.experimental(),
            description: r.description(),
            params: r.params().iter().map(|p| p.key).collect(),
        })
        .collect();
    if format == super::Format::Jsonl {
        for r in &rules {
            serde_json::to_writer(&mut *out, r).map_err(io::Error::from)?;
            out.write_all(b"\n")?;
        }
        return Ok(());
    }
    serde_json::to_writer_pretty(&mut *out, &rules).map_err(io::Error::from)?;
    out.write_all(b"\n")
}
