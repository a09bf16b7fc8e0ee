//! `--timeline`: every record inside `--from`/`--to`, one row per activity,
//! in timeline order, as CSV (formula-neutralised) or JSON Lines, optionally
//! with the fields Timesketch requires (`--timesketch`).

use super::Report;
use crate::cli::TimelineFormat;
use crate::config::{Style, TimelineOut};
use crate::escape;
use crate::input::time;
use crate::input::{RawCursor, RawRow, RawRows};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Write};

/// What Timesketch shows as the kind of time.
const TIMESTAMP_DESC: &str = "Activity Time";

/// One exported record. Field order is column order.
#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    sketch: Option<Sketch>,
    time: String,
    created: Option<String>,
    mailbox: &'a str,
    app: &'a str,
    activity: &'a str,
    item_id: &'a str,
    session: &'a str,
    ip: Option<&'a str>,
    ip_via: &'static str,
    user_agent: Option<Cow<'a, str>>,
    sender: Option<Cow<'a, str>>,
    subject: Option<Cow<'a, str>>,
    folder: Option<Cow<'a, str>>,
    query: Option<String>,
    internet_message_id: Option<Cow<'a, str>>,
    conversation_id: Option<Cow<'a, str>>,
    findings: Vec<&'static str>,
    path: &'a str,
    line: u64,
    /// The parsed CustomProperties, in the file's key order.
    properties: &'a crate::input::pylit::Props,
}

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
    "query",
    "internet_message_id",
    "conversation_id",
    "findings",
    "path",
    "line",
    "properties",
];
const SKETCH_COLUMNS: &[&str] = &["message", "datetime", "timestamp", "timestamp_desc"];

pub fn write<W: Write>(
    out: &mut W,
    report: &Report<'_>,
    opts: &TimelineOut,
    style: &Style,
) -> io::Result<()> {
    match opts.format {
        TimelineFormat::Jsonl => for_each_row(report, opts, |r| write_jsonl(out, r, style)),
        TimelineFormat::Csv => {
            let mut w = csv_writer(out, opts.timesketch)?;
            for_each_row(report, opts, |r| write_csv_row(&mut w, r).map_err(csv_io))?;
            w.flush()
        }
    }
}

/// Builds each exported row in timeline order, reading the full properties
/// again from each input (mostly forward).
fn for_each_row(
    report: &Report<'_>,
    opts: &TimelineOut,
    mut f: impl FnMut(&Row<'_>) -> io::Result<()>,
) -> io::Result<()> {
    let tags = citing_rules(report);
    let mut cursors: Vec<RawCursor<'_>> = report.timeline.raw.iter().map(RawRows::cursor).collect();
    for (i, a) in report.timeline.within(report.window) {
        let raw = cursors[a.source().file as usize].row(a.raw())?;
        f(&row(
            report,
            i,
            &raw,
            tags.get(&i).cloned().unwrap_or_default(),
            opts.timesketch,
        ))?;
    }
    Ok(())
}

/// Record index → ids of the reported findings that cite it, sorted.
fn citing_rules(report: &Report<'_>) -> HashMap<usize, Vec<&'static str>> {
    let mut tags: HashMap<usize, Vec<&'static str>> = HashMap::new();
    for f in &report.findings {
        for e in &f.evidence {
            tags.entry(e.record).or_default().push(f.rule);
        }
    }
    for ids in tags.values_mut() {
        ids.sort_unstable();
        ids.dedup();
    }
    tags
}

fn row<'a>(
    report: &'a Report<'_>,
    i: usize,
    raw: &'a RawRow,
    findings: Vec<&'static str>,
    timesketch: bool,
) -> Row<'a> {
    let tl = report.timeline;
    let a = tl.rec(i);
    let text = |key: &str| {
        raw.properties
            .get(key)
            .and_then(|v| v.as_text())
            .filter(|t| !t.is_empty())
    };
    Row {
        sketch: timesketch.then(|| Sketch {
            message: message(report, i),
            datetime: time::format(a.time),
            timestamp: a.time.timestamp_micros(),
            timestamp_desc: TIMESTAMP_DESC,
            tag: findings.clone(),
        }),
        time: time::format(a.time),
        created: raw.created.map(time::format),
        mailbox: tl.mailbox(&a),
        app: a.app_name(),
        activity: a.kind_name(),
        item_id: &raw.item_id,
        session: a.session_id(),
        ip: tl.ip(i),
        ip_via: tl.attribution[i].via().as_str(),
        user_agent: a.user_agent(),
        sender: a.sender(),
        subject: a.subject(),
        folder: a.folder(),
        query: a.search_term(),
        internet_message_id: text("InternetMessageId"),
        conversation_id: text("ConversationId"),
        findings,
        path: tl.path(&a),
        line: u64::from(a.source().line),
        properties: &raw.properties,
    }
}

/// One readable line: "SearchResult by Web from 1.2.3.4: query 'wire transfer'".
fn message(report: &Report<'_>, i: usize) -> String {
    let a = report.timeline.rec(i);
    let mut m = format!("{} by {}", a.kind_name(), a.app_name());
    if let Some(ip) = report.timeline.ip(i) {
        m.push_str(&format!(" from {ip}"));
    }
    let what = [
        a.search_term().map(|q| format!("query '{q}'")),
        a.subject().map(|s| format!("subject '{s}'")),
        a.sender().map(|s| format!("sender {s}")),
        a.folder().map(|f| format!("folder {f}")),
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

/// A CSV writer with the header row written.
fn csv_writer<W: Write>(out: W, timesketch: bool) -> io::Result<csv::Writer<W>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out);
    let mut header: Vec<&str> = Vec::new();
    if timesketch {
        header.extend(SKETCH_COLUMNS);
    }
    header.extend(CSV_COLUMNS);
    if timesketch {
        header.push("tag");
    }
    w.write_record(&header).map_err(csv_io)?;
    Ok(w)
}

/// The row as CSV cells, every data cell formula-neutralised, written one
/// by one (a million rows: no per-cell copies).
fn write_csv_row<W: Write>(w: &mut csv::Writer<W>, r: &Row<'_>) -> csv::Result<()> {
    let mut cell = |text: &str| w.write_field(escape::csv_cell(text).as_bytes());
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
    for v in [&r.user_agent, &r.sender, &r.subject, &r.folder] {
        cell(v.as_deref().unwrap_or_default())?;
    }
    cell(r.query.as_deref().unwrap_or_default())?;
    cell(r.internet_message_id.as_deref().unwrap_or_default())?;
    cell(r.conversation_id.as_deref().unwrap_or_default())?;
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
