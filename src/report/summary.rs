//! The executive summary at the top of the table and HTML reports: a few
//! sentences a reader without the technical background follows, made from
//! the findings, their actors and the intrusion scope (docs/reports.md §1).
//!
//! Every statement that comes from a finding is a [`Piece::Claim`] naming
//! the findings it rests on, so the HTML links each clause to its evidence
//! and a test checks that the clauses and the findings agree. Nothing here
//! is inferred beyond what the findings say: a rule that sees the effect
//! of an inbox rule is worded "consistent with an inbox rule".

use super::Report;
use crate::actors::{Actor, Standing, agent_key};
use crate::finding::{Finding, Level, Tactic};
use crate::scope::{Access, Counts, Who};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Actors given their own paragraph; the rest are counted.
const MAX_ACTORS: usize = 4;
/// Clauses per actor; the rest are counted.
const MAX_CLAUSES: usize = 8;
/// Search texts quoted in one clause.
const MAX_QUERIES: usize = 3;

/// A part of a sentence.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    /// A statement resting on these findings (indices into
    /// [`Report::findings`]).
    Claim {
        text: String,
        findings: Vec<usize>,
    },
    /// A statement from the intrusion scope (the HTML links its section).
    Scope(String),
}

/// Paragraphs of pieces.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    pub paragraphs: Vec<Vec<Piece>>,
}

impl Summary {
    /// The text without links, as the table prints it (each claim followed
    /// by the ids of its rules in brackets).
    pub fn plain(&self, report: &Report<'_>) -> Vec<String> {
        self.paragraphs
            .iter()
            .map(|pieces| {
                pieces
                    .iter()
                    .map(|p| match p {
                        Piece::Text(t) | Piece::Scope(t) => t.clone(),
                        Piece::Claim { text, findings } => {
                            format!("{text} [{}]", rule_ids(report, findings).join(", "))
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

/// The distinct rule ids of `findings`, in order.
pub fn rule_ids(report: &Report<'_>, findings: &[usize]) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = Vec::new();
    for &n in findings {
        let rule = report.findings[n].rule;
        if !ids.contains(&rule) {
            ids.push(rule);
        }
    }
    ids
}

/// Findings the summary speaks of: medium and above, not about the
/// export's own quality (the same judgement as the default scope).
fn is_told(f: &Finding) -> bool {
    f.level >= Level::Medium && f.tactic != Tactic::DataQuality
}

pub fn of(report: &Report<'_>) -> Summary {
    let told: Vec<usize> = (0..report.findings.len())
        .filter(|&n| is_told(report.findings[n]))
        .collect();
    let mut paragraphs = Vec::new();
    if told.is_empty() {
        paragraphs.push(vec![Piece::Text(nothing_found(report))]);
        paragraphs.push(vec![Piece::Text(examined(report))]);
        return Summary { paragraphs };
    }
    let (mut by_actor, unattributed) = group_by_actor(report, &told);
    // The most severe actors first (a BEC chain must not fall past the
    // cut), then in order of their first finding.
    let worst = |fs: &[usize]| fs.iter().map(|&n| report.findings[n].level).max();
    by_actor.sort_by_key(|(_, fs)| std::cmp::Reverse(worst(fs)));
    for (actor, findings) in by_actor.iter().take(MAX_ACTORS) {
        paragraphs.push(actor_paragraph(report, actor, findings));
    }
    if by_actor.len() > MAX_ACTORS {
        let rest: usize = by_actor[MAX_ACTORS..].iter().map(|(_, f)| f.len()).sum();
        let more = by_actor.len() - MAX_ACTORS;
        paragraphs.push(vec![Piece::Text(format!(
            "{} named by {rest} further findings, listed below.",
            if more == 1 {
                "1 more actor is".to_string()
            } else {
                format!("{more} more actors are")
            }
        ))]);
    }
    if !unattributed.is_empty() {
        paragraphs.push(unattributed_paragraph(report, &unattributed));
    }
    paragraphs.push(vec![Piece::Text(examined(report))]);
    Summary { paragraphs }
}

type ActorFindings = (Arc<Actor>, Vec<usize>);

/// Told findings per actor (in order of each actor's first finding), and
/// those no actor is named by.
fn group_by_actor(report: &Report<'_>, told: &[usize]) -> (Vec<ActorFindings>, Vec<usize>) {
    let mut by_actor: Vec<ActorFindings> = Vec::new();
    let mut unattributed = Vec::new();
    for &n in told {
        let f = report.findings[n];
        match &f.actor {
            // One `Arc` per actor: ids repeat across mailboxes, pointers do not.
            Some(a) => match by_actor.iter_mut().find(|(b, _)| Arc::ptr_eq(a, b)) {
                Some((_, list)) => list.push(n),
                None => by_actor.push((a.clone(), vec![n])),
            },
            None => unattributed.push(n),
        }
    }
    (by_actor, unattributed)
}

fn actor_paragraph(report: &Report<'_>, actor: &Arc<Actor>, findings: &[usize]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let chain: Vec<usize> = findings
        .iter()
        .copied()
        .filter(|&n| report.findings[n].tactic == Tactic::Correlation && is_chain(report, n))
        .collect();
    if !chain.is_empty() {
        pieces.push(Piece::Claim {
            text: "The activity below follows the pattern of a business email compromise".into(),
            findings: chain.clone(),
        });
        pieces.push(Piece::Text(". ".into()));
    }
    let access: Vec<usize> = findings
        .iter()
        .copied()
        .filter(|&n| report.findings[n].tactic == Tactic::Access)
        .collect();
    let opening = opening(report, actor, findings);
    if access.is_empty() {
        pieces.push(Piece::Text(opening));
    } else {
        pieces.push(Piece::Claim {
            text: opening,
            findings: access,
        });
    }
    let rest: Vec<usize> = findings
        .iter()
        .copied()
        .filter(|&n| {
            let t = report.findings[n].tactic;
            t != Tactic::Access && !chain.contains(&n)
        })
        .collect();
    let groups = clause_groups(report, &rest);
    let mut last_day = Some(actor.first.date_naive());
    let shown = groups.len().min(MAX_CLAUSES);
    for (k, group) in groups.iter().take(MAX_CLAUSES).enumerate() {
        let sep = match (k + 1 == shown, groups.len() > MAX_CLAUSES) {
            _ if k == 0 => ". ",
            (true, false) if k > 1 => ", and ",
            (true, false) => " and ",
            _ => ", ",
        };
        pieces.push(Piece::Text(sep.into()));
        let f = report.findings[group[0]];
        let mut when = when(f.first, &mut last_day);
        if k == 0 {
            when = capitalise(&when);
        }
        let hedge = if group.iter().any(|&n| report.findings[n].experimental) {
            " (an experimental rule's lead)"
        } else {
            ""
        };
        pieces.push(Piece::Claim {
            text: format!("{when} it {}{hedge}", clause(report, group)),
            findings: group.clone(),
        });
    }
    if groups.len() > MAX_CLAUSES {
        let more: usize = groups[MAX_CLAUSES..].iter().map(Vec::len).sum();
        pieces.push(Piece::Text(format!(", with {more} more findings below")));
    }
    pieces.push(Piece::Text(".".into()));
    if let Some(text) = scope_sentence(report, actor) {
        pieces.push(Piece::Text(" ".into()));
        pieces.push(Piece::Scope(text));
    }
    pieces
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn is_chain(report: &Report<'_>, n: usize) -> bool {
    report.findings[n].rule == "bec-chain"
}

/// "An unfamiliar actor, A4, signed in from 45.77.149.60 using Firefox on
/// Linux on 4 February 2018 at 03:08 UTC".
fn opening(report: &Report<'_>, actor: &Actor, findings: &[usize]) -> String {
    let who = match actor.standing {
        Standing::New => format!("An unfamiliar actor, {},", actor.id),
        Standing::Unjudged => format!(
            "An actor, {} (the export is too short to tell the owner's usual devices from others),",
            actor.id
        ),
        Standing::Baseline | Standing::Adopted => {
            format!("The owner's usual device or network, {},", actor.id)
        }
    };
    // The first record need not be a successful sign-in: say when the
    // actor was first seen, and how its sign-ins went.
    let verb = if actor.logons > 0 && !actor.signed_in() {
        "tried and failed to sign in, first"
    } else {
        "was first seen"
    };
    let from = match actor.ips.as_slice() {
        [] => String::new(),
        [ip] => format!(" from {ip}"),
        [ip, rest] => format!(" from {ip} (and {rest})"),
        [ip, rest @ ..] => format!(" from {ip} (and {} other addresses)", rest.len()),
    };
    let attempts = match (actor.logons, actor.failed_logons) {
        (_, 0) => String::new(),
        (n, f) if f == n => format!(" ({})", count_of(f, "failed sign-in", "failed sign-ins")),
        (n, f) => format!(
            " ({}, {f} of them failed)",
            count_of(n, "sign-in", "sign-ins")
        ),
    };
    let using = actor
        .agents
        .first()
        .map(|ua| format!(" using {}", agent_key(ua)))
        .unwrap_or_default();
    let mailbox = if report.timeline.inputs().len() > 1 {
        findings
            .first()
            .map(|&n| format!(" to the mailbox {}", report.findings[n].mailbox))
            .unwrap_or_default()
    } else {
        String::new()
    };
    format!(
        "{who} {verb}{mailbox}{from}{using} on {}{attempts}",
        long_time(actor.first)
    )
}

/// "4 February 2018 at 03:08 UTC".
fn long_time(t: DateTime<Utc>) -> String {
    t.format("%-d %B %Y at %H:%M UTC").to_string()
}

/// "at 03:11" on the day last named, else "on 5 February 2018 at 09:08".
fn when(t: DateTime<Utc>, last_day: &mut Option<chrono::NaiveDate>) -> String {
    let day = t.date_naive();
    let text = if *last_day == Some(day) {
        t.format("at %H:%M").to_string()
    } else {
        t.format("on %-d %B %Y at %H:%M").to_string()
    };
    *last_day = Some(day);
    text
}

/// Findings in time order, consecutive findings of one rule together
/// (three `delete-sent-items` episodes are one clause, "three times").
fn clause_groups(report: &Report<'_>, findings: &[usize]) -> Vec<Vec<usize>> {
    let mut sorted = findings.to_vec();
    sorted.sort_by_key(|&n| (report.findings[n].first, n));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for n in sorted {
        match groups.last_mut() {
            Some(g) if report.findings[g[0]].rule == report.findings[n].rule => g.push(n),
            _ => groups.push(vec![n]),
        }
    }
    groups
}

/// What the findings of one group say, in plain words.
fn clause(report: &Report<'_>, group: &[usize]) -> String {
    let f = report.findings[group[0]];
    let times = match group.len() {
        1 => String::new(),
        2 => " (twice)".into(),
        n => format!(" ({n} times)"),
    };
    let phrase = match f.rule {
        "search-financial" => format!("searched the mailbox for {}", queries(report, group)),
        "search-detection" => format!(
            "searched for signs that it had been noticed: {}",
            queries(report, group)
        ),
        "search-credentials" => format!(
            "searched for passwords or account details: {}",
            queries(report, group)
        ),
        "search-then-read" => "opened messages that its search had found".into(),
        "read-burst" => "read a large number of messages in a short time".into(),
        "attachment-burst" => "opened a large number of attachments in a short time".into(),
        "rule-hidden-delivery" => hidden_delivery(report, f),
        "rule-server-move" => {
            "had new mail moved or deleted as it arrived, consistent with an inbox rule".into()
        }
        "rule-server-mark-read" => {
            "had new mail marked as read as it arrived, consistent with an inbox rule".into()
        }
        "rule-hidden-folder-read" => "opened the folder where hidden mail was being filed".into(),
        "rule-inferred-forward" => {
            "had mail forwarded automatically, consistent with a forwarding rule".into()
        }
        "rule-activity" => "changed the mailbox's rules (recorded directly)".into(),
        "rule-alert-notice" => "received Microsoft's alert about a mail rule".into(),
        "delete-mass" => "deleted a large number of messages".into(),
        "delete-empty-deleted-items" => "emptied the Deleted Items folder".into(),
        "delete-sent-items" if group.len() > 1 => {
            "deleted messages it had sent from Sent Items".into()
        }
        "delete-sent-items" => "deleted a message it had sent from Sent Items".into(),
        "delete-security-notice" => "deleted a security notice".into(),
        "send-burst" => "sent a large number of messages in a short time".into(),
        "forward-burst" => "forwarded a large number of messages".into(),
        "send-finance-thread" => "replied in a conversation about payments".into(),
        "ioc-match" => "matched an indicator of compromise supplied for this case".into(),
        _ => format!("raised '{}'", f.title),
    };
    format!("{phrase}{times}")
}

/// The search texts of the findings' rows, verbatim and quoted, at most
/// [`MAX_QUERIES`].
fn queries(report: &Report<'_>, group: &[usize]) -> String {
    let mut all: Vec<String> = Vec::new();
    for &n in group {
        for e in report.findings[n].evidence.iter() {
            let rec = report.timeline.rec(e.record);
            let Some(q) = rec.search_text() else { continue };
            let q = q.trim().to_string();
            if !all.contains(&q) {
                all.push(q);
            }
        }
    }
    // Keystroke rows rebuild a search letter by letter ('w', 'wi', …):
    // a text that starts another is part of it, not a search of its own.
    let whole: Vec<&String> = all
        .iter()
        .filter(|q| !all.iter().any(|o| o != *q && o.starts_with(q.as_str())))
        .collect();
    let quoted: Vec<String> = whole
        .iter()
        .take(MAX_QUERIES)
        .map(|q| format!("'{q}'"))
        .collect();
    match whole.len().saturating_sub(quoted.len()) {
        0 if quoted.is_empty() => "financial terms".into(),
        0 => quoted.join(", "),
        more => format!("{} and {more} other terms", quoted.join(", ")),
    }
}

/// "had mail from billing@… delivered straight into RssSubscription,
/// consistent with an inbox rule hiding it" (the export logs no rule
/// change: the rule links the effect to the actor by time).
fn hidden_delivery(report: &Report<'_>, f: &Finding) -> String {
    let first = f
        .evidence
        .iter()
        .next()
        .map(|e| report.timeline.rec(e.record));
    let sender = first.as_ref().and_then(|r| r.sender());
    let folder = first.as_ref().and_then(|r| r.folder());
    let from = sender.map_or_else(String::new, |s| format!(" from {s}"));
    let into = folder.map_or_else(|| " past the Inbox".to_string(), |d| format!(" into {d}"));
    format!(
        "had mail{from} delivered straight{into}, consistent with an inbox rule hiding it (rule changes are not logged: the link to the actor is by time)"
    )
}

/// "In all it previewed or opened 4 messages, sent 2 and deleted 2 (none
/// permanently), and ran 1 search." from the scope, when it holds the
/// actor.
fn scope_sentence(report: &Report<'_>, actor: &Arc<Actor>) -> Option<String> {
    let scope = report.scope?;
    let scoped = scope
        .actors
        .iter()
        .find(|s| matches!(&s.who, Who::Actor(a) if Arc::ptr_eq(a, actor)))?;
    let c: &Counts = &scoped.counts;
    let read = c.of(Access::Preview).max(c.of(Access::Open));
    let mut parts = Vec::new();
    if read > 0 {
        parts.push(format!("previewed or opened {}", messages(read)));
    }
    for (n, verb) in [
        (c.of(Access::AttachmentOpened), "opened the attachments of"),
        (c.of(Access::Replied), "replied to"),
        (c.of(Access::Forwarded), "forwarded"),
        (c.of(Access::Sent), "sent"),
    ] {
        if n > 0 {
            parts.push(format!("{verb} {}", thousands(n)));
        }
    }
    if c.deleted_any > 0 {
        let purged = c.of(Access::Purged);
        let permanently = match purged {
            0 => String::new(),
            n if n == c.deleted_any => ", all of them permanently".to_string(),
            n => format!(", {} of them permanently", thousands(n)),
        };
        parts.push(format!("deleted {}{permanently}", thousands(c.deleted_any)));
    }
    if c.searches > 0 {
        parts.push(format!(
            "ran {} {}",
            thousands(c.searches),
            if c.searches == 1 {
                "search"
            } else {
                "searches"
            }
        ));
    }
    (!parts.is_empty()).then(|| format!("In all, it {}.", join_and(&parts)))
}

fn messages(n: usize) -> String {
    match n {
        1 => "1 message".into(),
        n => format!("{} messages", thousands(n)),
    }
}

/// `12345` as `12,345`.
fn thousands(n: impl TryInto<u64>) -> String {
    let digits = n.try_into().unwrap_or(u64::MAX).to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "1 mailbox", "3 mailboxes".
fn count_of(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [first, last] => format!("{first} and {last}"),
        [init @ .., last] => format!("{}, and {last}", init.join(", ")),
    }
}

fn unattributed_paragraph(report: &Report<'_>, findings: &[usize]) -> Vec<Piece> {
    let mut pieces = vec![Piece::Text("Found with no sign-in tied to it: ".into())];
    let groups = clause_groups(report, findings);
    let mut last_day = None;
    for (k, group) in groups.iter().take(MAX_CLAUSES).enumerate() {
        if k > 0 {
            pieces.push(Piece::Text("; ".into()));
        }
        let f = report.findings[group[0]];
        let when = when(f.first, &mut last_day);
        let what = match f.rule {
            "rule-alert-notice" => format!(
                "Microsoft sent the mailbox an alert about a mail rule{}",
                times_of(group)
            ),
            _ => format!(
                "{} ({}){}",
                clause(report, group),
                f.mailbox,
                times_of(group)
            ),
        };
        pieces.push(Piece::Claim {
            text: format!("{what}, {when}"),
            findings: group.clone(),
        });
    }
    if groups.len() > MAX_CLAUSES {
        let more: usize = groups[MAX_CLAUSES..].iter().map(Vec::len).sum();
        pieces.push(Piece::Text(format!("; and {more} more findings below")));
    }
    pieces.push(Piece::Text(".".into()));
    pieces
}

fn times_of(group: &[usize]) -> String {
    match group.len() {
        1 => String::new(),
        n => format!(" ({n} times)"),
    }
}

/// When nothing is told: say so, plainly, with what lower findings exist.
fn nothing_found(report: &Report<'_>) -> String {
    let lower = report.findings.len();
    let mut text =
        "No activity in the export matched a detection rule at medium level or above.".to_string();
    if lower > 0 {
        text.push_str(&format!(
            " {lower} {} at low or informational level {} listed below for context; none of them alone indicates a compromise.",
            if lower == 1 { "finding" } else { "findings" },
            if lower == 1 { "is" } else { "are" }
        ));
    }
    text
}

/// What was examined: records, mailboxes, span, logons and searches.
fn examined(report: &Report<'_>) -> String {
    let tl = report.timeline;
    let mailboxes = tl.inputs().len();
    let span = match (tl.first(), tl.last()) {
        (Some(a), Some(b)) => format!(" from {} to {}", long_time(a), long_time(b)),
        _ => String::new(),
    };
    let high = report
        .findings
        .iter()
        .filter(|f| f.level >= Level::High)
        .count();
    let set_aside = match (report.rejected(), report.duplicates()) {
        (0, 0) => "no row was rejected or set aside as a duplicate".to_string(),
        (r, 0) => format!(
            "{} rejected as damaged",
            count_of(usize::try_from(r).unwrap_or(usize::MAX), "row", "rows")
        ),
        (0, d) => format!(
            "{} set aside as exact duplicates",
            count_of(usize::try_from(d).unwrap_or(usize::MAX), "row", "rows")
        ),
        (r, d) => format!(
            "{} rejected as damaged and {} set aside as exact duplicates",
            count_of(usize::try_from(r).unwrap_or(usize::MAX), "row", "rows"),
            thousands(d)
        ),
    };
    let within = if report.window.is_set() {
        format!(
            "; only the {} within the --from/--to window were reported on",
            count_of(
                usize::try_from(report.records() - report.excluded_records()).unwrap_or(usize::MAX),
                "record",
                "records"
            )
        )
    } else {
        String::new()
    };
    format!(
        "Examined: {} of {}{span} ({set_aside}){within}; logon rows name {}; {} in all, {} of them high or critical.",
        count_of(
            usize::try_from(report.records()).unwrap_or(usize::MAX),
            "activity record",
            "activity records"
        ),
        count_of(mailboxes, "mailbox", "mailboxes"),
        count_of(report.ips.logon_ips(tl).len(), "address", "addresses"),
        count_of(report.findings.len(), "finding", "findings"),
        thousands(high),
    )
}
