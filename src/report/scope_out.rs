//! `--scope`: the intrusion scope as rows (`docs/scope.md` §3): one per
//! (actor, item) and one per search, as CSV (formula-neutralised, like the
//! timeline) or JSON Lines. Texts are the export's, verbatim.

use super::{Report, TimelineFormat};
use crate::activity::PropKey;
use crate::clock;
use crate::escape;
use crate::evidence::RowReader;
use crate::items::Via;
use crate::scope::{Access, ItemAccess, Scope, SearchAccess};
use indexmap::IndexMap;
use serde::Serialize;
use std::borrow::Cow;
use std::io::{self, Write};

/// One scope row. Field order is column order.
#[derive(Serialize)]
struct Row<'a> {
    /// `item` or `search`.
    row: &'static str,
    mailbox: &'a str,
    actor: String,
    actor_label: String,
    first: String,
    last: String,
    /// Rows per kind of access (items only).
    access: IndexMap<&'static str, u32>,
    count: usize,
    item_id: Option<String>,
    resolved: Option<&'static str>,
    resolved_line: Option<u32>,
    /// Why an item is unresolved, or what a weaker resolution means.
    note: Option<String>,
    subject: Option<Cow<'a, str>>,
    sender: Option<Cow<'a, str>>,
    received: Option<String>,
    folder: Option<Cow<'a, str>>,
    /// Folders the actor's rows name for the item, verbatim.
    seen_in: Vec<Cow<'a, str>>,
    query: Option<&'a str>,
    /// Results `ResIds` lists (`None` when the row has no `ResIds`).
    results: Option<usize>,
    result_ids: Option<String>,
    path: &'a str,
    lines: Vec<u32>,
}

const CSV_COLUMNS: &[&str] = &[
    "row",
    "mailbox",
    "actor",
    "actor_label",
    "first",
    "last",
    "access",
    "count",
    "item_id",
    "resolved",
    "resolved_line",
    "note",
    "subject",
    "sender",
    "received",
    "folder",
    "seen_in",
    "query",
    "results",
    "result_ids",
    "path",
    "lines",
];

pub fn write<W: Write>(out: &mut W, report: &Report<'_>, format: TimelineFormat) -> io::Result<()> {
    let Some(scope) = report.scope else {
        return Ok(());
    };
    match format {
        TimelineFormat::Csv => {
            let mut w = csv::WriterBuilder::new().from_writer(&mut *out);
            w.write_record(CSV_COLUMNS)?;
            for_each_row(report, scope, |row| {
                write_csv_row(&mut w, row).map_err(io::Error::other)
            })?;
            w.flush()
        }
        TimelineFormat::Jsonl => for_each_row(report, scope, |row| {
            serde_json::to_writer(&mut *out, row)?;
            out.write_all(b"\n")
        }),
    }
}

/// Every row in order: each actor's items (by first access), then its
/// searches (by time).
fn for_each_row(
    report: &Report<'_>,
    scope: &Scope,
    mut f: impl FnMut(&Row<'_>) -> io::Result<()>,
) -> io::Result<()> {
    // Item ids and `ResIds` are read from the rows, verbatim (records keep
    // only their hashes).
    let mut readers: Vec<Box<dyn RowReader + '_>> = report
        .timeline
        .row_sources()
        .iter()
        .map(|s| s.reader())
        .collect::<Result<_, _>>()
        .map_err(io::Error::other)?;
    let mut searches = scope.searches.iter().peekable();
    let mut items = scope.items.iter().peekable();
    for n in 0..scope.actors.len() {
        while let Some(item) = items.next_if(|it| it.actor == n) {
            f(&item_row(report, scope, item, &mut readers)?)?;
        }
        while let Some(s) = searches.next_if(|s| s.actor == n) {
            f(&search_row(report, scope, s, &mut readers)?)?;
        }
    }
    Ok(())
}

/// The row of one (actor, item).
fn item_row<'a>(
    report: &'a Report<'_>,
    scope: &Scope,
    item: &ItemAccess,
    readers: &mut [Box<dyn RowReader + '_>],
) -> io::Result<Row<'a>> {
    let tl = report.timeline;
    let actor = &scope.actors[item.actor];
    let first = item.records.first().map_or(0, |&i| i as usize);
    let last = item.records.last().map_or(first, |&i| i as usize);
    let a = tl.activity(first);
    let raw = readers[a.source().file as usize]
        .row(a)
        .map_err(io::Error::other)?;
    let facts = super::timeline_out::ItemFacts::of_item(report, item.item);
    let mut seen_in: Vec<Cow<'a, str>> = Vec::new();
    for &i in &item.records {
        if let Some(folder) = tl.rec(i as usize).folder()
            && !seen_in.contains(&folder)
        {
            seen_in.push(folder);
        }
    }
    Ok(Row {
        row: "item",
        mailbox: tl.mailbox(a),
        actor: actor.id(),
        actor_label: actor.label(),
        first: clock::format(a.time),
        last: clock::format(tl.activity(last).time),
        access: Access::ALL
            .iter()
            .filter(|&&k| item.has(k))
            .map(|&k| (k.as_str(), item.counts[k as usize]))
            .collect(),
        count: item.records.len(),
        item_id: Some(raw.item_id).filter(|id| !id.is_empty()),
        resolved: Some(item.item.via.as_str()),
        resolved_line: facts.line,
        note: note(report, item),
        subject: facts.subject,
        sender: facts.sender,
        received: facts.received,
        folder: facts.folder,
        seen_in,
        query: None,
        results: None,
        result_ids: None,
        path: tl.path(a),
        lines: item
            .records
            .iter()
            .map(|&i| tl.activity(i as usize).source().line)
            .collect(),
    })
}

/// What a reader must know about how the item was resolved.
fn note(report: &Report<'_>, item: &ItemAccess) -> Option<String> {
    let tl = report.timeline;
    match item.item.via {
        Via::Unresolved => {
            let first = item.records.first().map(|&i| tl.activity(i as usize));
            let start = first
                .and_then(|a| tl.inputs().get(a.source().file as usize))
                .and_then(|s| s.first);
            Some(match start {
                Some(t) => format!(
                    "no row of the export describes this message (no delivery, send or message id); it may predate the export's first row, {}",
                    clock::format(t)
                ),
                None => "no row of the export describes this message".into(),
            })
        }
        Via::Conversation => Some(
            "only the thread is known (same ConversationId): the subject is the thread's, the sender unknown".into(),
        ),
        Via::Sent => Some("sent from this mailbox; the export names no subject or recipients".into()),
        Via::Moved => Some("linked through a server-side move to the id it was delivered with".into()),
        _ => None,
    }
}

/// The row of one search: its query verbatim, and what `ResIds` lists.
fn search_row<'a>(
    report: &'a Report<'_>,
    scope: &Scope,
    s: &SearchAccess,
    readers: &mut [Box<dyn RowReader + '_>],
) -> io::Result<Row<'a>> {
    let tl = report.timeline;
    let actor = &scope.actors[s.actor];
    let a = tl.rec(s.record);
    let raw = readers[a.source().file as usize]
        .row(tl.activity(s.record))
        .map_err(io::Error::other)?;
    let result_ids = raw
        .properties
        .get("ResIds")
        .and_then(|v| v.as_text())
        .map(|t| t.into_owned());
    Ok(Row {
        row: "search",
        mailbox: tl.mailbox(&a),
        actor: actor.id(),
        actor_label: actor.label(),
        first: clock::format(a.time),
        last: clock::format(a.time),
        access: IndexMap::new(),
        count: 1,
        item_id: None,
        resolved: None,
        resolved_line: None,
        note: None,
        subject: None,
        sender: None,
        received: None,
        folder: a.folder(),
        seen_in: Vec::new(),
        query: tl.rec(s.record).get(PropKey::Query),
        results: result_ids
            .as_deref()
            .map(|ids| ids.split(',').filter(|id| !id.trim().is_empty()).count()),
        result_ids,
        path: tl.path(&a),
        lines: vec![a.source().line],
    })
}

/// The row as CSV cells, every data cell formula-neutralised.
fn write_csv_row<W: Write>(w: &mut csv::Writer<W>, r: &Row<'_>) -> csv::Result<()> {
    let access: Vec<String> = r.access.iter().map(|(k, n)| format!("{k}={n}")).collect();
    let seen: Vec<&str> = r.seen_in.iter().map(|f| f.as_ref()).collect();
    let lines: Vec<String> = r.lines.iter().map(u32::to_string).collect();
    let opt = |v: Option<String>| v.unwrap_or_default();
    let cells = [
        r.row.to_string(),
        r.mailbox.to_string(),
        r.actor.clone(),
        r.actor_label.clone(),
        r.first.clone(),
        r.last.clone(),
        access.join(";"),
        r.count.to_string(),
        opt(r.item_id.clone()),
        r.resolved.unwrap_or_default().to_string(),
        opt(r.resolved_line.map(|l| l.to_string())),
        opt(r.note.clone()),
        opt(r.subject.as_ref().map(|s| s.to_string())),
        opt(r.sender.as_ref().map(|s| s.to_string())),
        opt(r.received.clone()),
        opt(r.folder.as_ref().map(|s| s.to_string())),
        seen.join(";"),
        r.query.unwrap_or_default().to_string(),
        opt(r.results.map(|n| n.to_string())),
        opt(r.result_ids.clone()),
        r.path.to_string(),
        lines.join(" "),
    ];
    for c in &cells {
        w.write_field(escape::csv_cell(c).as_bytes())?;
    }
    w.write_record(None::<&[u8]>)
}
