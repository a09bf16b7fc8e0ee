//! `--scope`: the intrusion scope as rows (`docs/scope.md` §3): one per
//! (actor, item) and one per search, as CSV (formula-neutralised, like the
//! timeline) or JSON Lines. Texts are the export's, verbatim.

use super::timeline_out::{csv_builder, write_in_order};
use super::{Report, TimelineFormat};
use crate::activity::{Kind, PropKey};
use crate::clock;
use crate::escape;
use crate::evidence::RowReader;
use crate::items::Via;
use crate::scope::{Access, ItemAccess, Scope, SearchAccess};
use indexmap::IndexMap;
use serde::Serialize;
use std::borrow::Cow;
use std::io::{self, Write};
use std::ops::Range;

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
    /// Whether the message has attachments, as far as the export tells:
    /// the line of the first row (anyone's) that opened one.
    attachment_opened_line: Option<u32>,
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
    "attachment_opened_line",
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
    if format == TimelineFormat::Csv {
        let mut w = csv_builder().from_writer(&mut *out);
        w.write_record(CSV_COLUMNS)?;
        w.flush()?;
    }
    let order = rows_in_order(scope);
    // Each worker reads rows through readers of its own (item ids and
    // `ResIds` are read from the rows, verbatim: records keep only their
    // hashes); the first check that the evidence is unchanged comes before
    // any row is written.
    let new_readers = || -> io::Result<Vec<Box<dyn RowReader + '_>>> {
        let readers = report.timeline.row_sources().iter().map(|s| s.reader());
        readers.collect::<Result<_, _>>().map_err(io::Error::other)
    };
    drop(new_readers()?);
    let format =
        |readers: &mut Vec<Box<dyn RowReader + '_>>, positions: Range<usize>, buf: Vec<u8>| {
            let rows = order[positions].iter().map(|&row| match row {
                RowRef::Item(n) => item_row(report, scope, &scope.items[n], readers),
                RowRef::Search(n) => search_row(report, scope, &scope.searches[n], readers),
            });
            match format {
                TimelineFormat::Csv => {
                    let mut w = csv_builder().from_writer(buf);
                    for row in rows {
                        write_csv_row(&mut w, &row?).map_err(io::Error::other)?;
                    }
                    w.into_inner().map_err(|e| e.into_error())
                }
                TimelineFormat::Jsonl | TimelineFormat::Ecs => {
                    let mut buf = buf;
                    for row in rows {
                        serde_json::to_writer(&mut buf, &row?)?;
                        buf.push(b'\n');
                    }
                    Ok(buf)
                }
            }
        };
    write_in_order(out, order.len(), new_readers, format)
}

/// A scope row: an item or a search, by position in the scope.
#[derive(Clone, Copy)]
enum RowRef {
    Item(usize),
    Search(usize),
}

/// Every row in order: each actor's items (by first access), then its
/// searches (by time).
fn rows_in_order(scope: &Scope) -> Vec<RowRef> {
    let mut order = Vec::with_capacity(scope.items.len() + scope.searches.len());
    let (mut item, mut search) = (0, 0);
    for n in 0..scope.actors.len() {
        while scope.items.get(item).is_some_and(|it| it.actor == n) {
            order.push(RowRef::Item(item));
            item += 1;
        }
        while scope.searches.get(search).is_some_and(|s| s.actor == n) {
            order.push(RowRef::Search(search));
            search += 1;
        }
    }
    order
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
    let records = scope.records_of(item);
    let first = records.first().map_or(0, |&i| i as usize);
    let last = records.last().map_or(first, |&i| i as usize);
    let counts = scope.access_counts(tl, item);
    let a = tl.activity(first);
    let item_id = readers[a.source().file as usize]
        .item_id(a)
        .map_err(io::Error::other)?;
    let facts = super::timeline_out::ItemFacts::of_item(report, item.item);
    let mut seen_in: Vec<Cow<'a, str>> = Vec::new();
    for &i in records {
        if let Some(folder) = tl.rec(i as usize).folder()
            && !seen_in.contains(&folder)
        {
            seen_in.push(folder);
        }
    }
    Ok(Row {
        row: "item",
        mailbox: tl.mailbox(a),
        actor: actor.id().to_string(),
        actor_label: actor.label().to_string(),
        first: clock::format(a.time),
        last: clock::format(tl.activity(last).time),
        access: Access::ALL
            .iter()
            .filter(|&&k| item.has(k))
            .map(|&k| (k.as_str(), counts[k as usize]))
            .collect(),
        count: records.len(),
        item_id: Some(item_id).filter(|id| !id.is_empty()),
        resolved: Some(item.item.via.as_str()),
        resolved_line: facts.line,
        note: note(report, scope, item),
        subject: facts.subject,
        sender: facts.sender,
        received: facts.received,
        folder: facts.folder,
        attachment_opened_line: report
            .items
            .and_then(|items| items.attachment_opened(tl, first, item.item.key))
            .map(|j| tl.activity(j).source().line),
        seen_in,
        query: None,
        results: None,
        result_ids: None,
        path: tl.path(a),
        lines: records
            .iter()
            .map(|&i| tl.activity(i as usize).source().line)
            .collect(),
    })
}

/// What a reader must know about how the item was resolved.
fn note(report: &Report<'_>, scope: &Scope, item: &ItemAccess) -> Option<String> {
    let records = scope.records_of(item);
    Some(match item.item.via {
        Via::Unresolved => unresolved_note(report, records),
        Via::Conversation => "only the thread is known (same ConversationId): the subject is the thread's, the sender unknown".into(),
        Via::Sent => "sent from this mailbox; the export names no recipients".into(),
        Via::OwnRow => "no delivery of this item in the export; sender (or subject) as the item's own rows name it".into(),
        Via::Moved => "linked through a server-side move to the id it was delivered with".into(),
        Via::ItemId | Via::MessageId => return None,
    })
}

/// Why no row describes an item, as far as its own rows tell.
fn unresolved_note(report: &Report<'_>, records: &[u32]) -> String {
    let tl = report.timeline;
    let first = records.first().map(|&i| tl.rec(i as usize));
    let moved_here = first.filter(|a| a.kind == Kind::Move && a.get(PropKey::MoveType).is_some());
    let ambiguous = records.first().is_some_and(|&i| {
        report
            .items
            .is_some_and(|items| items.move_is_ambiguous(tl, i as usize))
    });
    if let Some(a) = moved_here.filter(|_| ambiguous) {
        return format!(
            "its id is the one the move at line {} gave it; several items were moved at once, so which earlier id was its cannot be told",
            a.source().line
        );
    }
    if let Some(a) = moved_here {
        return format!(
            "its id is the one the move at line {} gave it, and no row names the id it had before",
            a.source().line
        );
    }
    if records
        .iter()
        .any(|&i| !tl.rec(i as usize).message_id().is_empty())
    {
        return "its InternetMessageId matches no delivery of the export".into();
    }
    let start = first
        .and_then(|a| tl.inputs().get(a.source().file as usize))
        .and_then(|s| s.first);
    match start {
        Some(t) => format!(
            "no delivery or send of this item in the export; it may predate the export's first row, {}",
            clock::format(t)
        ),
        None => "no delivery or send of this item in the export".into(),
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
        actor: actor.id().to_string(),
        actor_label: actor.label().to_string(),
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
        attachment_opened_line: None,
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
        opt(r.attachment_opened_line.map(|l| l.to_string())),
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
