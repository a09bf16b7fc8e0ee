//! The HTML report's "What the intruder touched" section (`docs/scope.md`
//! §4): per scoped actor the counts counsel quotes, then every item it
//! touched (filterable, sortable by received time), each with its read
//! history. Every data string HTML-escaped.

use super::Report;
use super::html::{escape_html, human};
use super::timeline_out::ItemFacts;
use crate::items::Via;
use crate::scope::{Access, ItemAccess, Scope};
use std::fmt::Write as _;

/// Item rows in the page; `--scope` lists all.
pub(super) const MAX_SCOPE_ITEMS: usize = 2_000;

pub(super) fn section(page: &mut String, report: &Report<'_>) {
    let Some(scope) = report.scope else {
        return;
    };
    let _ = write!(
        page,
        "<section id=\"scope\"><h2>What the intruder touched</h2><p class=\"note\">Scoped: {}. Counts are distinct messages.</p>",
        escape_html(&scope.selection.describe())
    );
    if scope.actors.is_empty() {
        page.push_str(match scope.selection {
            crate::scope::Selection::Suspect => "<p>No actor is scoped: no finding at medium or above names an actor. Run with <code>--actor all</code> or <code>--actor IP|CIDR|SESSION</code> to list what anyone touched.</p></section>\n",
            _ => "<p>No record of the export matches the chosen actors.</p></section>\n",
        });
        return;
    }
    counts(page, report, scope);
    items(page, report, scope);
    page.push_str("</section>\n");
}

fn counts(page: &mut String, report: &Report<'_>, scope: &Scope) {
    page.push_str("<div class=\"wide\"><table class=\"counts\"><thead><tr><th>Actor</th><th>Active (UTC)</th><th>Messages</th><th>Previewed</th><th>Opened</th><th>Attachments opened</th><th>Forwarded</th><th>Sent</th><th>Deleted</th><th>Purged</th><th>Searches</th></tr></thead><tbody>");
    for a in &scope.actors {
        let c = &a.counts;
        let mailbox = report
            .timeline
            .inputs()
            .get(a.file)
            .map_or("", |s| s.mailbox.as_str());
        let span = match (a.first, a.last) {
            (Some(f), Some(l)) => format!("{} ~ {}", human(f), human(l)),
            _ => String::new(),
        };
        let _ = write!(
            page,
            "<tr><td>{}<br><span class=\"note\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape_html(a.label()),
            escape_html(mailbox),
            span,
            c.items,
            c.of(Access::Preview),
            c.of(Access::Open),
            c.of(Access::AttachmentOpened),
            c.of(Access::Forwarded),
            c.of(Access::Sent),
            c.deleted_any,
            c.of(Access::Purged),
            c.searches
        );
    }
    page.push_str("</tbody></table></div>\n");
}

/// The items in the page: each actor gets an equal share of
/// [`MAX_SCOPE_ITEMS`] (a busy first actor must not push the others out),
/// and the share an actor does not use goes to the rest, in order.
fn shown_items(scope: &Scope) -> Vec<&ItemAccess> {
    let actors = scope.actors.len().max(1);
    let share = MAX_SCOPE_ITEMS / actors;
    let mut per_actor = vec![0usize; actors];
    let mut keep = vec![false; scope.items.len()];
    let mut room = MAX_SCOPE_ITEMS;
    for (n, it) in scope.items.iter().enumerate() {
        if per_actor[it.actor] < share && room > 0 {
            per_actor[it.actor] += 1;
            keep[n] = true;
            room -= 1;
        }
    }
    // What the actors with fewer items left, to the first items left out.
    for k in keep.iter_mut().filter(|k| !**k).take(room) {
        *k = true;
    }
    scope
        .items
        .iter()
        .zip(keep)
        .filter_map(|(it, k)| k.then_some(it))
        .collect()
}

fn items(page: &mut String, report: &Report<'_>, scope: &Scope) {
    let shown_items = shown_items(scope);
    let shown = shown_items.len();
    let _ = write!(
        page,
        "<div class=\"controls\"><input id=\"sq\" type=\"search\" placeholder=\"Filter items (subject, sender, access…)\" aria-label=\"Filter items\"> <span class=\"note\"><span id=\"sshown\">{shown}</span> items shown; click “Received” to sort</span></div>"
    );
    if shown < scope.items.len() {
        let _ = write!(
            page,
            "<p class=\"note\">{shown} of {} items are in this page; <code>--scope FILE</code> lists all.</p>",
            scope.items.len()
        );
    }
    page.push_str("<div class=\"wide\"><table id=\"scopeitems\"><thead><tr><th>Actor</th><th id=\"sortrecv\" class=\"sortable\">Received (UTC)</th><th>Subject</th><th>Sender</th><th>Folder</th><th>Access</th><th>First / last access</th><th>Read history</th></tr></thead><tbody>\n");
    for item in shown_items {
        item_row(page, report, scope, item);
    }
    page.push_str("</tbody></table></div>\n");
}

fn item_row(page: &mut String, report: &Report<'_>, scope: &Scope, item: &ItemAccess) {
    let tl = report.timeline;
    let records = scope.records_of(item);
    let Some(&first) = records.first() else {
        return;
    };
    let last = records.last().copied().unwrap_or(first);
    let facts = ItemFacts::of_item(report, item.item);
    let received_key = facts.received.clone().unwrap_or_default();
    // Shown to the second, like every time on the page; sorted by the
    // full RFC 3339 text in `data-received`.
    let received_shown = match (&facts.received, item.item.from()) {
        (Some(_), Some(d)) => human(tl.activity(d).time),
        _ => String::new(),
    };
    let subject = match (&facts.subject, item.item.via) {
        (Some(s), Via::Conversation) => format!("{s} (thread)"),
        (Some(s), _) => s.to_string(),
        (None, Via::Unresolved) => "(not described by any row of the export)".into(),
        (None, Via::Sent) => "(sent from this mailbox; the export names no subject)".into(),
        (None, _) => String::new(),
    };
    // Where it was delivered, else where the rows saw it.
    let folder = facts
        .folder
        .clone()
        .or_else(|| tl.rec(first as usize).folder())
        .unwrap_or_default();
    let _ = write!(
        page,
        "<tr data-received=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}<br>{}</td><td><details><summary>{} rows</summary><ul>",
        escape_html(&received_key),
        escape_html(scope.actors[item.actor].id()),
        received_shown,
        escape_html(&subject),
        escape_html(facts.sender.as_deref().unwrap_or("")),
        escape_html(&folder),
        escape_html(&scope.access_list(tl, item)),
        human(tl.activity(first as usize).time),
        human(tl.activity(last as usize).time),
        records.len()
    );
    for &i in records {
        let a = tl.rec(i as usize);
        let access = crate::scope::access_of(&a).map_or("", Access::as_str);
        let _ = write!(
            page,
            "<li>{} {} ({}) {} · line {}</li>",
            a.time.format("%Y-%m-%d %H:%M:%S%.3f"),
            escape_html(a.kind_name()),
            access,
            escape_html(a.app_name()),
            a.source().line
        );
    }
    page.push_str("</ul></details></td></tr>\n");
}
