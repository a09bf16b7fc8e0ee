//! `--timeline`: every record inside `--from`/`--to`, one row per activity,
//! in timeline order, as CSV (formula-neutralised) or JSON Lines, optionally
//! with the fields Timesketch requires (`--timesketch`).

use super::Style;
use super::{Citations, Report};
use crate::clock;
use crate::escape;
use crate::evidence::{FullRow, Props, RowReader};
use crate::finding::Level;
use crate::parallel::{Pool, ordered};
use serde::Serialize;
use std::borrow::Cow;
use std::io::{self, Write};
use std::ops::Range;

/// The timeline's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineFormat {
    /// Comma-separated values, every data cell formula-neutralised.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// One Elastic Common Schema document per line (`ecs.rs`).
    Ecs,
}

/// How the timeline is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineOptions {
    pub format: TimelineFormat,
    /// Add the fields Timesketch requires.
    pub timesketch: bool,
}

/// What Timesketch shows as the kind of time.
const TIMESTAMP_DESC: &str = "Activity Time";

/// One exported record. Field order is column order.
#[derive(Serialize)]
pub(super) struct Row<'a> {
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    sketch: Option<Sketch>,
    pub(super) time: String,
    pub(super) created: Option<String>,
    pub(super) mailbox: &'a str,
    pub(super) app: &'a str,
    pub(super) activity: &'a str,
    pub(super) item_id: &'a str,
    pub(super) session: &'a str,
    pub(super) ip: Option<&'a str>,
    pub(super) ip_via: &'static str,
    /// With `--geoip` only: the IP's country code, AS number and its
    /// organisation (the rest is in the JSON report's `ip_info`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub(super) ip_geo: Option<IpGeo<'a>>,
    pub(super) user_agent: Option<Cow<'a, str>>,
    pub(super) sender: Option<Cow<'a, str>>,
    pub(super) subject: Option<Cow<'a, str>>,
    pub(super) folder: Option<Cow<'a, str>>,
    /// The display name a row gives `folder`, when it is a custom
    /// folder's id (`docs/scope.md` §1.4).
    pub(super) folder_name: Option<&'a str>,
    pub(super) query: Option<&'a str>,
    pub(super) internet_message_id: Option<Cow<'a, str>>,
    pub(super) conversation_id: Option<Cow<'a, str>>,
    /// The message the row acts on, from the item catalogue
    /// (`docs/scope.md` §1): its subject, sender and received time, how it
    /// was found, and the line they come from.
    pub(super) item_subject: Option<Cow<'a, str>>,
    pub(super) item_sender: Option<Cow<'a, str>>,
    pub(super) item_received: Option<String>,
    pub(super) item_resolved: Option<&'static str>,
    pub(super) item_line: Option<u32>,
    /// The highest level of the reported findings citing the row.
    pub(super) level: Option<&'static str>,
    /// The same level as a number (0–4), and the rule of the first
    /// finding at it, for the ECS profile's `event.severity` and
    /// `rule.name`.
    #[serde(skip)]
    pub(super) severity: Option<u8>,
    #[serde(skip)]
    pub(super) top_rule: Option<&'static str>,
    pub(super) findings: Vec<&'static str>,
    pub(super) path: &'a str,
    pub(super) line: u64,
    /// The parsed CustomProperties, in the file's key order.
    pub(super) properties: &'a Props,
}

/// The `--geoip` columns of a row.
#[derive(Serialize, Default)]
pub(super) struct IpGeo<'a> {
    pub(super) ip_country: Option<&'a str>,
    pub(super) ip_asn: Option<u32>,
    pub(super) ip_org: Option<&'a str>,
}

/// The columns `--geoip` adds after `ip_via`.
const GEO_COLUMNS: &[&str] = &["ip_country", "ip_asn", "ip_org"];

/// Timesketch's mandatory fields (google/timesketch
/// `docs/guides/user/import-from-json-csv.md`) and its tag list.
#[derive(Serialize)]
struct Sketch {
    message: String,
    datetime: String,
    timestamp: i64,
    timestamp_desc: &'static str,
    tag: Vec<&'static str>,
}

const CSV_COLUMNS: &[&str] = &[
    "time",
    "created",
    "mailbox",
    "app",
    "activity",
    "item_id",
    "session",
    "ip",
    "ip_via",
    "user_agent",
    "sender",
    "subject",
    "folder",
    "folder_name",
    "query",
    "internet_message_id",
    "conversation_id",
    "item_subject",
    "item_sender",
    "item_received",
    "item_resolved",
    "item_line",
    "level",
    "findings",
    "path",
    "line",
    "properties",
];
const SKETCH_COLUMNS: &[&str] = &["message", "datetime", "timestamp", "timestamp_desc"];

pub fn write<W: Write>(
    out: &mut W,
    report: &Report<'_>,
    opts: &TimelineOptions,
    style: &Style,
) -> io::Result<()> {
    if opts.format == TimelineFormat::Csv {
        csv_writer(&mut *out, opts.timesketch, report.geoip.is_some())?.flush()?;
    }
    let tags = report.citations();
    // Each worker reads rows through readers of its own; the first check
    // that the evidence is unchanged comes before any row is written.
    let new_readers = || -> io::Result<Vec<Box<dyn RowReader + '_>>> {
        let readers = report
            .timeline
            .row_sources()
            .iter()
            .map(|source| source.reader());
        readers.collect::<Result<_, _>>().map_err(io::Error::other)
    };
    drop(new_readers()?);
    // Record indices in timeline order, where storage order is not that
    // (several inputs); chunks are ranges of positions in it.
    let tl = report.timeline;
    let order: Option<Vec<u32>> =
        (!tl.stored_in_time_order()).then(|| tl.in_time_order().map(|i| i as u32).collect());
    let at = |p: usize| order.as_ref().map_or(p, |o| o[p] as usize);
    let format =
        |readers: &mut Vec<Box<dyn RowReader + '_>>, positions: Range<usize>, buf: Vec<u8>| {
            let rows = positions
                .map(at)
                .filter(|&i| report.window.contains(tl.activity(i).time));
            match opts.format {
                TimelineFormat::Jsonl => {
                    let mut buf = buf;
                    for_each_row(report, opts, tags, readers, rows, |r| {
                        write_jsonl(&mut buf, r, style)
                    })?;
                    Ok(buf)
                }
                TimelineFormat::Ecs => {
                    let mut buf = buf;
                    for_each_row(report, opts, tags, readers, rows, |r| {
                        super::ecs::write_row(&mut buf, r)
                    })?;
                    Ok(buf)
                }
                TimelineFormat::Csv => {
                    let mut w = csv_builder().from_writer(buf);
                    for_each_row(report, opts, tags, readers, rows, |r| {
                        write_csv_row(&mut w, r).map_err(csv_io)
                    })?;
                    w.into_inner().map_err(|e| e.into_error())
                }
            }
        };
    write_in_order(out, report.timeline.len(), new_readers, format)
}

/// Rows a worker formats at a time.
const CHUNK: usize = 4096;

/// Formats positions `0..total` in chunks on every core and writes the
/// chunks in order (`crate::parallel::ordered`), so the output is the same
/// as one pass. Each worker keeps its own `state` (row readers; a worker
/// that cannot make its state fails each of its chunks); at most two
/// chunks per worker are formatted ahead of the writer, which bounds
/// memory, and written buffers go back to be filled again.
pub(super) fn write_in_order<W: Write, S>(
    out: &mut W,
    total: usize,
    new_state: impl Fn() -> io::Result<S> + Sync,
    format: impl Fn(&mut S, Range<usize>, Vec<u8>) -> io::Result<Vec<u8>> + Sync,
) -> io::Result<()> {
    let workers = crate::parallel::cores().clamp(1, 8);
    let pool = Pool {
        workers,
        ahead: workers * 2,
    };
    let mut chunks = (0..total).step_by(CHUNK);
    ordered(
        pool,
        |_| Ok(chunks.next().map(|start| start..(start + CHUNK).min(total))),
        new_state,
        |state, positions, spent: Option<Vec<u8>>| match state {
            Ok(state) => {
                let mut buf = spent.unwrap_or_default();
                buf.clear();
                format(state, positions.clone(), buf)
            }
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        },
        |chunk: Vec<u8>| {
            out.write_all(&chunk)?;
            Ok(Some(chunk))
        },
    )
}

/// Builds each exported row of `records`, reading the full properties
/// again from each input (mostly forward).
fn for_each_row(
    report: &Report<'_>,
    opts: &TimelineOptions,
    tags: &Citations,
    readers: &mut [Box<dyn RowReader + '_>],
    records: impl Iterator<Item = usize>,
    mut f: impl FnMut(&Row<'_>) -> io::Result<()>,
) -> io::Result<()> {
    for i in records {
        let a = report.timeline.activity(i);
        let raw = readers[a.source().file as usize]
            .row(a)
            .map_err(io::Error::other)?;
        let cited_by = citing(report, tags, i);
        f(&row(report, i, &raw, cited_by, opts.timesketch))?;
    }
    Ok(())
}

/// What the reported findings say of record `i`: the highest level among
/// those citing it, and their rules' ids, sorted.
struct Cited {
    level: Option<Level>,
    /// The rule of the first finding (in report order) at that level.
    top: Option<&'static str>,
    rules: Vec<&'static str>,
}

fn citing(report: &Report<'_>, cited: &Citations, i: usize) -> Cited {
    let mut level = None;
    let mut top = None;
    let mut rules: Vec<&'static str> = Vec::new();
    for f in cited.of_record(i).map(|n| report.findings[n]) {
        if Some(f.level) > level {
            level = Some(f.level);
            top = Some(f.rule);
        }
        rules.push(f.rule);
    }
    rules.sort_unstable();
    rules.dedup();
    Cited { level, top, rules }
}

fn row<'a>(
    report: &'a Report<'_>,
    i: usize,
    raw: &'a FullRow,
    cited: Cited,
    timesketch: bool,
) -> Row<'a> {
    let findings = cited.rules;
    let tl = report.timeline;
    let a = tl.rec(i);
    let item = ItemFacts::of(report, i);
    let text = |key: &str| {
        raw.properties
            .get(key)
            .and_then(|v| v.as_text())
            .filter(|t| !t.is_empty())
    };
    Row {
        sketch: timesketch.then(|| Sketch {
            message: message(report, i, &item),
            datetime: clock::format(a.time),
            timestamp: a.time.timestamp_micros(),
            timestamp_desc: TIMESTAMP_DESC,
            tag: findings.clone(),
        }),
        time: clock::format(a.time),
        created: raw.created.map(clock::format),
        mailbox: tl.mailbox(&a),
        app: a.app_name(),
        activity: a.kind_name(),
        item_id: &raw.item_id,
        session: a.session_id(),
        ip: report.ips.ip(i),
        ip_via: report.ips.get(i).via().as_str(),
        ip_geo: report.geoip.map(|_| {
            let info = report.ips.ip(i).and_then(|ip| report.ip_info(ip));
            IpGeo {
                ip_country: info.and_then(|g| g.country_code.as_deref()),
                ip_asn: info.and_then(|g| g.asn),
                ip_org: info.and_then(|g| g.org.as_deref()),
            }
        }),
        user_agent: a.user_agent(),
        sender: a.sender(),
        subject: a.subject(),
        folder: a.folder(),
        folder_name: report.folder_name(i),
        query: a.search_text(),
        internet_message_id: text("InternetMessageId"),
        conversation_id: text("ConversationId"),
        item_subject: item.subject,
        item_sender: item.sender,
        item_received: item.received,
        item_resolved: item.resolved,
        item_line: item.line,
        level: cited.level.map(Level::as_str),
        severity: cited.level.map(|l| l as u8),
        top_rule: cited.top,
        findings,
        path: tl.path(&a),
        line: u64::from(a.source().line),
        properties: &raw.properties,
    }
}

/// What the item catalogue says of the message record `i` acts on.
#[derive(Default)]
pub(super) struct ItemFacts<'a> {
    pub subject: Option<Cow<'a, str>>,
    pub sender: Option<Cow<'a, str>>,
    pub received: Option<String>,
    /// Where it was delivered (or `SentItems` for a message sent here).
    pub folder: Option<Cow<'a, str>>,
    pub resolved: Option<&'static str>,
    pub line: Option<u32>,
}

impl<'a> ItemFacts<'a> {
    /// The facts of the item record `i` acts on.
    pub(super) fn of(report: &Report<'a>, i: usize) -> ItemFacts<'a> {
        report
            .item_of(i)
            .map_or_else(ItemFacts::default, |item| ItemFacts::of_item(report, item))
    }

    /// The facts of a resolved item: a message's from its delivery; a
    /// thread's subject only; a sent message's folder.
    pub(super) fn of_item(report: &Report<'a>, item: crate::items::Resolved) -> ItemFacts<'a> {
        use crate::items::Via;
        let facts = item.from().map(|d| report.timeline.rec(d));
        let message = matches!(item.via, Via::ItemId | Via::Moved | Via::MessageId);
        let names_sender = message || item.via == Via::OwnRow;
        ItemFacts {
            subject: facts.and_then(|d| d.subject()),
            sender: facts.filter(|_| names_sender).and_then(|d| d.sender()),
            received: facts.filter(|_| message).map(|d| clock::format(d.time)),
            folder: match item.via {
                Via::Sent => Some(Cow::Borrowed("SentItems")),
                _ => item
                    .from()
                    .filter(|_| message)
                    .and_then(|d| report.folder_shown(d)),
            },
            resolved: Some(item.via.as_str()),
            line: facts.map(|d| d.source().line),
        }
    }
}

/// One readable line: "SearchResult by Web from 1.2.3.4: query 'wire transfer'".
/// `item`: what the catalogue says of the row's message (resolved once
/// per row, for the row's columns and this line alike).
fn message(report: &Report<'_>, i: usize, item: &ItemFacts<'_>) -> String {
    let a = report.timeline.rec(i);
    let mut m = format!("{} by {}", a.kind_name(), a.app_name());
    if let Some(ip) = report.ips.ip(i) {
        m.push_str(&format!(" from {ip}"));
        if let Some(info) = report.ip_info(ip) {
            m.push_str(&format!(" ({})", info.describe()));
        }
    }
    let what = [
        a.search_text().map(|q| format!("query '{q}'")),
        a.subject().map(|s| format!("subject '{s}'")),
        a.sender().map(|s| format!("sender {s}")),
        a.subject()
            .is_none()
            .then_some(item.subject.as_ref())
            .flatten()
            .map(|s| format!("message '{s}'")),
        a.sender()
            .is_none()
            .then_some(item.sender.as_ref())
            .flatten()
            .map(|s| format!("from {s}")),
        report.folder_shown(i).map(|f| format!("folder {f}")),
        a.user_agent().map(|u| format!("agent '{u}'")),
    ];
    let parts: Vec<String> = what.into_iter().flatten().collect();
    if !parts.is_empty() {
        m.push_str(": ");
        m.push_str(&parts.join(", "));
    }
    escape::for_terminal(&m).into_owned()
}

fn write_jsonl<W: Write>(out: &mut W, r: &Row<'_>, style: &Style) -> io::Result<()> {
    let line = serde_json::to_string(r).map_err(io::Error::from)?;
    if style.terminal {
        out.write_all(escape::for_terminal(&line).as_bytes())?;
    } else {
        out.write_all(line.as_bytes())?;
    }
    out.write_all(b"\n")
}

pub(super) fn csv_builder() -> csv::WriterBuilder {
    let mut builder = csv::WriterBuilder::new();
    builder.terminator(csv::Terminator::Any(b'\n'));
    builder
}

/// A CSV writer with the header row written.
fn csv_writer<W: Write>(out: W, timesketch: bool, geo: bool) -> io::Result<csv::Writer<W>> {
    let mut w = csv_builder().from_writer(out);
    let mut header: Vec<&str> = Vec::new();
    if timesketch {
        header.extend(SKETCH_COLUMNS);
    }
    for &column in CSV_COLUMNS {
        header.push(column);
        if geo && column == "ip_via" {
            header.extend(GEO_COLUMNS);
        }
    }
    if timesketch {
        header.push("tag");
    }
    w.write_record(&header).map_err(csv_io)?;
    Ok(w)
}

/// The row as CSV cells, every data cell formula-neutralised, written one
/// by one (a million rows: no per-cell copies).
fn write_csv_row<W: Write>(w: &mut csv::Writer<W>, r: &Row<'_>) -> csv::Result<()> {
    // Timesketch is not a spreadsheet: its profile keeps the text as the
    // export has it; the plain timeline, which analysts open in Excel,
    // neutralises formulas.
    let spreadsheet = r.sketch.is_none();
    let mut cell = |text: &str| {
        let text = if spreadsheet {
            escape::csv_cell(text)
        } else {
            Cow::Borrowed(text)
        };
        w.write_field(text.as_bytes())
    };
    if let Some(s) = &r.sketch {
        cell(&s.message)?;
        cell(&s.datetime)?;
        cell(&s.timestamp.to_string())?;
        cell(s.timestamp_desc)?;
    }
    cell(&r.time)?;
    cell(r.created.as_deref().unwrap_or_default())?;
    cell(r.mailbox)?;
    cell(r.app)?;
    cell(r.activity)?;
    cell(r.item_id)?;
    cell(r.session)?;
    cell(r.ip.unwrap_or_default())?;
    cell(r.ip_via)?;
    if let Some(g) = &r.ip_geo {
        cell(g.ip_country.unwrap_or_default())?;
        cell(&g.ip_asn.map(|n| n.to_string()).unwrap_or_default())?;
        cell(g.ip_org.unwrap_or_default())?;
    }
    for v in [&r.user_agent, &r.sender, &r.subject, &r.folder] {
        cell(v.as_deref().unwrap_or_default())?;
    }
    cell(r.folder_name.unwrap_or_default())?;
    cell(r.query.unwrap_or_default())?;
    cell(r.internet_message_id.as_deref().unwrap_or_default())?;
    cell(r.conversation_id.as_deref().unwrap_or_default())?;
    cell(r.item_subject.as_deref().unwrap_or_default())?;
    cell(r.item_sender.as_deref().unwrap_or_default())?;
    cell(r.item_received.as_deref().unwrap_or_default())?;
    cell(r.item_resolved.unwrap_or_default())?;
    cell(&r.item_line.map(|l| l.to_string()).unwrap_or_default())?;
    cell(r.level.unwrap_or_default())?;
    cell(&r.findings.join(" "))?;
    cell(r.path)?;
    cell(&r.line.to_string())?;
    cell(&serde_json::to_string(r.properties).unwrap_or_default())?;
    if let Some(s) = &r.sketch {
        cell(&serde_json::to_string(&s.tag).unwrap_or_default())?;
    }
    w.write_record(None::<&[u8]>)
}

fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes each record index on its own line, in whatever chunk order
    /// the workers finish (later chunks are made to finish first).
    fn numbers(total: usize, fail_at: Option<usize>) -> io::Result<String> {
        let mut out = Vec::new();
        let format = |_: &mut (), records: Range<usize>, mut buf: Vec<u8>| {
            if records.start == 0 {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            for i in records {
                if Some(i) == fail_at {
                    return Err(io::Error::other(format!("record {i}")));
                }
                writeln!(buf, "{i}")?;
            }
            Ok(buf)
        };
        write_in_order(&mut out, total, || Ok(()), format)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn chunks_are_written_in_record_order() {
        for total in [0, 1, CHUNK, 3 * CHUNK + 17] {
            let expected: String = (0..total).map(|i| format!("{i}\n")).collect();
            assert_eq!(numbers(total, None).unwrap(), expected);
        }
    }

    #[test]
    fn a_failing_chunk_ends_the_write_with_its_error() {
        let error = numbers(20 * CHUNK, Some(5 * CHUNK + 3)).unwrap_err();
        assert_eq!(error.to_string(), format!("record {}", 5 * CHUNK + 3));
    }
}
