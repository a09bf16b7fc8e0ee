//! Deletion rules (`docs/rules.md` §2.6). One user delete writes `Delete` +
//! `DeleteFromInbox` + `Move`; only `Delete` rows are counted.

use super::keywords::Keywords;
use super::window::{self, Event};
use super::{Ctx, Meta, Phase, Rule, Stage, Tactic, p, plural, quoted};
use crate::activity::{App, IdHash, Kind, PropKey, Rec};
use crate::finding::{Finding, Level};
use chrono::Duration;
use rustc_hash::FxHashSet as HashSet;
use std::sync::Arc;

/// §3.6 security-notice subjects (non-delivery reports excluded: deleting
/// bounces is ordinary housekeeping, see `delete-ndr-cleanup` in the catalogue).
pub(super) const NOTICE_SUBJECTS: &[&str] = &[
    "severity alert",
    "security alert",
    "unusual sign-in*",
    "sign-in attempt",
    "suspicious",
    "phishing",
    "hijacked",
    "do not click",
    "do not open",
    "account suspended",
    "password reset",
    "password changed",
    "verify your account",
    "account locked",
    "2fa",
    "2-step",
    "authenticator",
    "verification code",
    "security info*",
    "new mfa",
    "new multi-factor",
    "new sign-in method",
    "new device",
    "new security",
    "mfa method",
    "security code",
];
/// §3.6 senders of Microsoft alert and account-protection mail; `x@*`
/// matches any domain.
pub(super) const NOTICE_SENDERS: &[&str] = &[
    "office365alerts@microsoft.com",
    "o365mc@microsoft.com",
    "account-security-noreply@accountprotection.microsoft.com",
    "msonlineservicesteam@microsoftonline.com",
];

fn is_delete(a: Rec<'_>) -> bool {
    a.kind == Kind::Delete
}

fn folder_is(a: Rec<'_>, key: &str, folder: &str) -> bool {
    a.prop(key).is_some_and(|f| f.eq_ignore_ascii_case(folder))
}

/// A purge: emptying Deleted Items, deleting from it, or a hard delete.
fn is_purge(a: Rec<'_>) -> bool {
    is_delete(a)
        && (a.flag("DeletedByEmptyFolder") == Some(true)
            || folder_is(a, "SourceDefaultFolderType", "DeletedItems")
            || a.get(PropKey::DeleteType)
                .is_some_and(|t| t.eq_ignore_ascii_case("HardDelete"))
            || a.get(PropKey::DeletedByDeleteAll)
                .is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false")))
}

/// "Delete DeleteType=SoftDelete SourceDefaultFolderType=Inbox 'subject'":
/// made for up to [`crate::finding::DETAILED_EVIDENCE`] rows of every
/// deletion finding, so kept to one allocation (a busy shared mailbox
/// raises a thousand of them).
fn delete_detail(ctx: &Ctx<'_>, i: usize) -> String {
    use std::fmt::Write as _;
    let a = ctx.activity(i);
    let mut d = String::with_capacity(96);
    d.push_str(a.kind_name());
    for (name, key) in [
        ("DeleteType", PropKey::DeleteType),
        ("SourceDefaultFolderType", PropKey::SourceDefaultFolderType),
        ("SourceFolder", PropKey::SourceFolder),
        ("TargetFolder", PropKey::TargetFolder),
    ] {
        if let Some(v) = a.get(key) {
            let _ = write!(d, " {name}={v}");
        }
    }
    if let Some(s) = a.subject() {
        d.push(' ');
        d.push_str(&quoted(&s));
    }
    d
}

pub(super) struct Mass;

impl Rule for Mass {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "delete-mass",
                phase: Phase::Hiding,
                tactic: Tactic::Concealment,
                stage: Some(Stage::Concealment),
                title: "Mass deletion",
                level: Level::Medium,
                attack: &["T1070.008"],
                experimental: false,
                description: "Many distinct items deleted by a user client in a sliding window; high in suspect context",
                params: &[p::THRESHOLD.int(25), p::WINDOW_MINUTES.int(10)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let window = ctx.minutes(p::WINDOW_MINUTES);
        for (_, records) in ctx.mailboxes() {
            // Emptying Deleted Items is its own rule, not a mass delete.
            let events: Vec<Event<IdHash>> = ctx
                .of_kinds(records, &[Kind::Delete])
                .into_iter()
                .filter_map(|i| {
                    let a = ctx.activity(i);
                    let counted = is_delete(a)
                        && a.app != App::Exchange
                        && a.flag("DeletedByEmptyFolder") != Some(true);
                    counted.then_some(Event::new(i, a.time, a.item))
                })
                .collect();
            for range in window::bursts(&events, window, ctx.int(p::THRESHOLD) as usize) {
                let burst = &events[range];
                let recs: Vec<usize> = burst.iter().map(Event::record).collect();
                // Keys are keyed id hashes: the fast hash is safe.
                let distinct = window::distinct(burst, rustc_hash::FxBuildHasher);
                let level = if recs.iter().any(|&i| ctx.is_suspect(i)) {
                    Level::High
                } else {
                    Level::Medium
                };
                let ip = recs
                    .iter()
                    .find_map(|&i| ctx.ips.ip(i))
                    .map(|ip| format!(" from {ip}"))
                    .unwrap_or_default();
                let summary = format!(
                    "{} deleted within {} min{ip}",
                    plural(distinct, "distinct item", "distinct items"),
                    window.num_minutes()
                );
                let mut f = ctx.finding(self, level, &recs, summary, |i| delete_detail(ctx, i));
                f.count = distinct as u64;
                out.push(f);
            }
        }
    }
}

pub(super) struct EmptyDeletedItems;

impl Rule for EmptyDeletedItems {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "delete-empty-deleted-items",
                phase: Phase::Hiding,
                tactic: Tactic::Concealment,
                stage: Some(Stage::Concealment),
                title: "Deleted Items emptied or purged",
                level: Level::Low,
                attack: &["T1070.008"],
                experimental: true,
                description: "Deleted Items emptied or items hard-deleted; high after a mass delete, when it purges a just-deleted sent item, or in suspect context",
                params: &[p::RUN_GAP_SECONDS.int(60), p::RAISE_WITHIN_MINUTES.int(60)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let gap = Duration::seconds(ctx.int(p::RUN_GAP_SECONDS));
        let within = ctx.minutes(p::RAISE_WITHIN_MINUTES);
        for (mailbox, records) in ctx.mailboxes() {
            let events: Vec<Event<()>> = ctx
                .of_kinds(records, &[Kind::Delete])
                .into_iter()
                .filter(|&i| is_purge(ctx.activity(i)) && ctx.activity(i).app != App::Exchange)
                .map(|i| Event::new(i, ctx.activity(i).time, ()))
                .collect();
            for range in window::clusters(&events, gap) {
                let recs: Vec<usize> = events[range].iter().map(Event::record).collect();
                let start = ctx.activity(recs[0]).time;
                let purged: HashSet<IdHash> = recs
                    .iter()
                    .map(|&i| ctx.activity(i).item)
                    .filter(|s| !s.is_empty())
                    .collect();
                let mut why = Vec::new();
                if ctx.prior.iter().any(|f| {
                    f.rule == Mass.id()
                        && f.mailbox == mailbox
                        && f.first <= start
                        && start - f.last <= within
                }) {
                    why.push("after a mass delete".to_string());
                }
                // Records are in time order: look only at the window before the run.
                let from = records.partition_point(|i| ctx.activity(i).time < start - within);
                let to = records.partition_point(|i| ctx.activity(i).time <= start);
                let sent_moves: Vec<usize> = records
                    .slice(from..to)
                    .iter()
                    .filter(|&i| {
                        let a = ctx.activity(i);
                        a.kind == Kind::Move
                            && purged.contains(&a.item)
                            && folder_is(a, "SourceFolder", "SentItems")
                            && a.time <= start
                            && start - a.time <= within
                    })
                    .collect();
                if !sent_moves.is_empty() {
                    why.push(format!(
                        "purging {} deleted from Sent Items minutes earlier",
                        plural(sent_moves.len(), "message", "messages")
                    ));
                }
                if recs.iter().any(|&i| ctx.is_suspect(i)) {
                    why.push("in suspect context".to_string());
                }
                let level = if why.is_empty() {
                    Level::Low
                } else {
                    Level::High
                };
                let emptied = recs
                    .iter()
                    .any(|&i| ctx.activity(i).flag("DeletedByEmptyFolder") == Some(true));
                let summary = format!(
                    "{} {}{}",
                    if emptied {
                        "Deleted Items emptied:"
                    } else {
                        "Purge:"
                    },
                    plural(
                        recs.len(),
                        "item permanently deleted",
                        "items permanently deleted"
                    ),
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", why.join(", "))
                    }
                );
                let mut cited = sent_moves.clone();
                cited.extend(&recs);
                cited.sort_unstable();
                let mut f = ctx.finding(self, level, &cited, summary, |i| delete_detail(ctx, i));
                // The finding is the purge; earlier rows are cited as context.
                f.first = start;
                f.count = recs.len() as u64;

                out.push(f);
            }
        }
    }
}

pub(super) struct SentItems;

const SEND_KINDS: &[Kind] = &[
    Kind::Reply,
    Kind::ReplyAll,
    Kind::Forward,
    Kind::NewMessage,
    Kind::MessageSent,
];

impl Rule for SentItems {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "delete-sent-items",
                phase: Phase::Hiding,
                tactic: Tactic::Concealment,
                stage: Some(Stage::Concealment),
                title: "Sent mail deleted",
                level: Level::High,
                attack: &["T1070.008"],
                experimental: true,
                description: "A message sent, then deleted from Sent Items within 30 minutes: linked by item or conversation, else (Sent Items copies get a new id) by the same client session or actor",
                params: &[p::WITHIN_MINUTES.int(30)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let within = ctx.minutes(p::WITHIN_MINUTES);
        for (_, records) in ctx.mailboxes() {
            let sends = ctx.of_kinds(records, SEND_KINDS);
            let deletes: Vec<usize> = ctx
                .each_of_kinds(records, &[Kind::Delete])
                .filter(|&d| {
                    let del = ctx.activity(d);
                    is_delete(del) && folder_is(del, "SourceDefaultFolderType", "SentItems")
                })
                .collect();
            // Links by item or conversation first, for every delete: a
            // delete linked only by session must not take the send that a
            // later delete names by id.
            let mut used = HashSet::default();
            let mut pairs: Vec<(usize, usize, &'static str)> = Vec::new();
            for strong in [true, false] {
                for &d in &deletes {
                    if pairs.iter().any(|&(_, pd, _)| pd == d) {
                        continue;
                    }
                    let del = ctx.activity(d);
                    // Sends are in time order: scan back from the delete
                    // only through the window.
                    let end = sends.partition_point(|&s| ctx.activity(s).time <= del.time);
                    let candidates: Vec<usize> = sends[..end]
                        .iter()
                        .rev()
                        .copied()
                        .take_while(|&s| del.time - ctx.activity(s).time <= within)
                        .filter(|s| !used.contains(s))
                        .collect();
                    if let Some((s, link)) = linked_send(ctx, d, &candidates, strong) {
                        used.insert(s);
                        pairs.push((s, d, link));
                    }
                }
            }
            pairs.sort_by_key(|&(_, d, _)| ctx.timeline.time_key(d));
            for (s, d, link) in pairs {
                let minutes = (ctx.activity(d).time - ctx.activity(s).time).num_minutes();
                let summary = format!(
                    "{} deleted from Sent Items {} after it was sent (linked by {link})",
                    ctx.activity(s).kind_name(),
                    plural(minutes as usize, "minute", "minutes")
                );
                let mut f = ctx.finding(self, self.level(), &[s, d], summary, |i| {
                    delete_detail(ctx, i)
                });
                f.count = 1;
                out.push(f);
            }
        }
    }
}

/// The send a Sent Items delete removed, nearest first, and how it was
/// linked: the same item, else the same conversation, else the same
/// client session or actor. Exchange gives a message a new
/// `ActivityItemId` when it lands in Sent Items (`docs/rules.md`), so the
/// ids of the send and of the copy deleted often differ; the session or
/// actor that sent is then the link.
/// `strong`: by item or conversation only; else by session or actor only.
fn linked_send(
    ctx: &Ctx<'_>,
    d: usize,
    candidates: &[usize],
    strong: bool,
) -> Option<(usize, &'static str)> {
    let del = ctx.activity(d);
    let by = |test: &dyn Fn(Rec<'_>) -> bool| {
        candidates.iter().copied().find(|&s| test(ctx.activity(s)))
    };
    if strong {
        if let Some(s) = by(&|s| !s.item.is_empty() && s.item == del.item) {
            return Some((s, "item id"));
        }
        return by(&|s| !s.conversation().is_empty() && s.conversation() == del.conversation())
            .map(|s| (s, "conversation"));
    }
    if let Some(s) = by(&|s| !s.session.is_empty() && s.session == del.session) {
        return Some((s, "client session"));
    }
    let actor = ctx.actor(d)?;
    candidates
        .iter()
        .copied()
        .find(|&s| ctx.actor(s).is_some_and(|a| Arc::ptr_eq(a, actor)))
        .map(|s| (s, "actor"))
}

pub(super) struct SecurityNotice;

/// Whether a delivery is a security notice by sender or subject.
pub(super) fn is_notice(a: Rec<'_>, subjects: &Keywords, senders: &Keywords) -> bool {
    let sender_hit = a.sender().is_some_and(|s| {
        let s = s.to_ascii_lowercase();
        senders.words().iter().any(|w| match w.strip_suffix('*') {
            Some(prefix) => s.starts_with(prefix),
            None => &s == w,
        })
    });
    sender_hit || a.subject().is_some_and(|s| subjects.is_match(&s))
}

impl Rule for SecurityNotice {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "delete-security-notice",
                phase: Phase::Hiding,
                tactic: Tactic::Concealment,
                stage: Some(Stage::Concealment),
                title: "Security notice removed",
                level: Level::High,
                attack: &["T1070.008", "T1564.008"],
                experimental: true,
                description: "A Microsoft alert, unusual sign-in or MFA notice deleted (or moved to Deleted Items/Junk) within 24 h of delivery",
                params: &[
                    p::SUBJECTS.words(NOTICE_SUBJECTS),
                    p::SENDERS.words(NOTICE_SENDERS),
                    p::WITHIN_HOURS.int(24),
                ],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let subjects = ctx.words(p::SUBJECTS);
        let senders = ctx.words(p::SENDERS);
        let within = Duration::hours(ctx.int(p::WITHIN_HOURS));
        for (_, records) in ctx.mailboxes() {
            let deliveries = ctx.deliveries(records);
            for i in ctx.of_kinds(records, &[Kind::Delete, Kind::Move]) {
                let a = ctx.activity(i);
                let removal = is_delete(a)
                    || (a.kind == Kind::Move
                        && (folder_is(a, "TargetFolder", "DeletedItems")
                            || folder_is(a, "TargetFolder", "JunkEmail")));
                if !removal {
                    continue;
                }
                let Some(d) = deliveries.linked(ctx.timeline, i).filter(|&d| d != i) else {
                    continue;
                };
                let delivery = ctx.activity(d);
                if a.time < delivery.time
                    || a.time - delivery.time > within
                    || !is_notice(delivery, subjects, senders)
                {
                    continue;
                }
                let summary = format!(
                    "{} of {} from {} by {} {} after delivery",
                    a.kind_name(),
                    quoted(&delivery.subject().unwrap_or_default()),
                    delivery.sender().unwrap_or_default(),
                    a.app_name(),
                    plural(
                        (a.time - delivery.time).num_minutes() as usize,
                        "minute",
                        "minutes"
                    )
                );
                let mut f = ctx.finding(self, self.level(), &[d, i], summary, |r| {
                    delete_detail(ctx, r)
                });
                f.count = 1;
                if a.app == App::Exchange {
                    // Exchange removing a notice is a rule's doing.
                    super::inbox_rules::attribute_to_author(ctx, records, &mut f);
                }
                out.push(f);
            }
        }
    }
}
