//! Inbox rules (`docs/rules.md` §1.3, §2.5). No activity type records rule
//! creation, so rules are detected twice: directly, should a rule-named type
//! ever appear, and from their effects: deliveries straight into hiding
//! folders and server-side moves, mark-reads and forwards seconds after
//! delivery. Hits are clustered by sender and subject tokens so the summary
//! reads like the rule an attacker would have written.

use super::deletion::{self, is_notice};
use super::keywords::Keywords;
use super::search;
use super::window::{self, Event};
use super::{Ctx, Meta, Phase, Rule, Stage, Tactic, list, p, plural, quoted};
use crate::activity::{App, IdHash, Kind, PropKey, Rec, folder_type_name};
use crate::finding::{Finding, Level};
use crate::intern::Sym;
use crate::timeline::Records;
use chrono::{DateTime, Duration, Utc};
use indexmap::{IndexMap, IndexSet};
use rustc_hash::FxHashMap;
use rustc_hash::FxHashSet as HashSet;

/// `docs/rules.md` §3.4: localised display names of folders rules hide mail in.
const HIDING_FOLDER_NAMES: &[&str] = &[
    "archive",
    "archiv",
    "archiveren",
    "archivio",
    "archivo",
    "arkiv",
    "arkiver",
    "arquivo",
    "conversation history",
    "verlauf der unterhaltung",
    "historique des conversations",
    "historial de conversaciones",
    "cronologia delle conversazioni",
    "gesprekgeschiedenis",
    "histórico de conversações",
    "konversationshistorik",
    "samtalehistorik",
    "samtalelogg",
    "rss feeds",
    "rss subscriptions",
    "rss-feeds",
    "rss-abonnements",
    "sottoscrizioni rss",
    "rss-feeder",
    "rss-syötteet",
    "rss-подписки",
    "deleted items",
    "deletions",
];
/// `docs/rules.md` §3.4: localised display names of Junk Email, where
/// rules hide mail too, but where people and filters also look daily.
const JUNK_FOLDER_NAMES: &[&str] = &[
    "junkemail",
    "junk email",
    "junk-e-mail",
    "courrier indésirable",
    "correo no deseado",
    "posta indesiderata",
    "ongewenste e-mail",
    "e-mail de lixo",
    "skräppost",
    "uønsket mail",
    "søppelpost",
];

/// Deleted Items by well-known and display name.
const DELETED_ITEMS_NAMES: &[&str] = &["deleteditems", "deleted items", "deletions"];

/// Well-known folder names a server-side action moving mail there hides it.
const HIDING_WELL_KNOWN: &[&str] = &[
    "deleteditems",
    "junkemail",
    "rsssubscription",
    "rssfeeds",
    "communicatorhistory",
    "conversationhistory",
    "archive",
];

/// The security-notice lists, shared with `delete-security-notice` so one
/// `--config` entry tunes all three rules.
fn notice_lists<'a>(ctx: &Ctx<'a>) -> (&'a Keywords, &'a Keywords) {
    (
        ctx.settings
            .keywords(deletion::SecurityNotice.id(), p::SUBJECTS),
        ctx.settings
            .keywords(deletion::SecurityNotice.id(), p::SENDERS),
    )
}

/// Whether a folder name or code is a place rules hide mail.
fn is_hiding_folder(folder: &str) -> bool {
    is_hiding_lowered(&folder.trim().to_lowercase())
}

/// [`is_hiding_folder`] of a name already trimmed and lowercased.
fn is_hiding_lowered(f: &str) -> bool {
    HIDING_WELL_KNOWN.contains(&f)
        || HIDING_FOLDER_NAMES.contains(&f)
        || JUNK_FOLDER_NAMES.contains(&f)
}

/// Where a user client acted, for `rule-hidden-folder-read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FolderClass {
    /// RSS, Conversation History: mail there is seldom read.
    Hiding,
    /// Outlook's one-click Archive: the owner reads it, an intruder
    /// checks it for filed mail; counts only in suspect context.
    Archive,
    /// Read by people every day; counts only when opened in the reading
    /// pane in suspect context.
    DeletedItems,
}

/// Archive by well-known and localised display name (§3.4's first eight).
const ARCHIVE_NAMES: &[&str] = &[
    "archive",
    "archiv",
    "archiveren",
    "archivio",
    "archivo",
    "arkiv",
    "arkiver",
    "arquivo",
];

fn folder_class(folder: &str) -> Option<FolderClass> {
    let f = folder.trim().to_lowercase();
    if JUNK_FOLDER_NAMES.contains(&f.as_str()) {
        None
    } else if DELETED_ITEMS_NAMES.contains(&f.as_str()) {
        Some(FolderClass::DeletedItems)
    } else if ARCHIVE_NAMES.contains(&f.as_str()) {
        Some(FolderClass::Archive)
    } else {
        is_hiding_lowered(&f).then_some(FolderClass::Hiding)
    }
}

/// A delete, or a move into Deleted Items (by well-known or display name).
fn goes_to_deleted_items(a: Rec<'_>) -> bool {
    a.kind == Kind::Delete
        || a.get(PropKey::TargetFolder).and_then(folder_class) == Some(FolderClass::DeletedItems)
}

/// Whether `hay` contains the ASCII `needle`, ignoring ASCII case, without
/// a lowercase copy: no other character lowercases into ASCII letters.
/// Only the positions of the needle's first byte are compared.
fn contains_ascii_ci(hay: &str, needle: &str) -> bool {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    hay.iter().enumerate().any(|(k, &b)| {
        b.eq_ignore_ascii_case(&first)
            && hay
                .get(k + 1..k + 1 + rest.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(rest))
    })
}

fn sender_domain(sender: &str) -> String {
    sender
        .rsplit_once('@')
        .map_or_else(|| sender.to_lowercase(), |(_, d)| d.to_lowercase())
}

/// Words of ≥4 letters shared by every subject of a cluster.
fn common_subject_words(subjects: &[String]) -> Vec<String> {
    let words = |s: &str| -> IndexSet<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 4)
            .map(str::to_lowercase)
            .collect()
    };
    let mut iter = subjects.iter();
    let Some(first) = iter.next() else {
        return Vec::new();
    };
    let mut common = words(first);
    for s in iter {
        let w = words(s);
        common.retain(|x| w.contains(x));
    }
    common
        .into_iter()
        .filter(|w| !matches!(w.as_str(), "from" | "with" | "your" | "this" | "that"))
        .take(3)
        .collect()
}

/// "from *@vendor.example, subject has "invoice" → RssSubscription".
fn describe_rule(ctx: &Ctx<'_>, deliveries: &[usize], target: &str) -> String {
    let senders: IndexSet<String> = deliveries
        .iter()
        .filter_map(|&d| ctx.activity(d).sender())
        .map(|s| s.to_lowercase())
        .collect();
    let domains: IndexSet<String> = senders.iter().map(|s| sender_domain(s)).collect();
    let from = match (senders.len(), domains.len()) {
        (0, _) => "from unknown senders".to_string(),
        (1, _) => format!("from {}", senders[0]),
        (_, 1) => format!("from *@{}", domains[0]),
        (n, _) => format!("from {n} senders"),
    };
    let subjects: Vec<String> = deliveries
        .iter()
        .filter_map(|&d| ctx.activity(d).subject())
        .map(|s| s.into_owned())
        .collect();
    let words = common_subject_words(&subjects);
    let subject = if words.is_empty() {
        String::new()
    } else {
        format!(
            ", subject has {}",
            list(
                &words.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>(),
                3
            )
        )
    };
    format!("{from}{subject} → {target}")
}

fn delivery_detail(ctx: &Ctx<'_>, i: usize) -> String {
    let a = ctx.activity(i);
    match a.kind {
        Kind::MessageDelivered => format!(
            "delivered to {} from {} {}",
            a.folder().unwrap_or_default(),
            a.sender().unwrap_or_default(),
            quoted(&a.subject().unwrap_or_default())
        ),
        _ => {
            let target = a
                .get(PropKey::TargetFolder)
                .map(|t| format!(" to {t}"))
                .unwrap_or_default();
            format!("{} by {}{target}", a.kind_name(), a.app_name())
        }
    }
}

pub(super) struct RuleActivity;

impl Rule for RuleActivity {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "rule-activity",
                phase: Phase::Hiding,
                tactic: Tactic::Concealment,
                stage: Some(Stage::Concealment),
                title: "Rule operation logged directly",
                level: Level::High,
                attack: &["T1564.008", "T1114.003", "T1137.005"],
                experimental: true,
                description: "Any activity type whose name mentions a rule (none is known: direct evidence when one appears)",
                params: &[],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for (_, records) in ctx.mailboxes() {
            // Decided per type, then only those types' rows are read.
            let strings = &ctx.timeline.arenas().strings;
            let kinds: Vec<Kind> = ctx
                .kinds_present(records)
                .into_iter()
                .filter(|k| k.name(strings).to_ascii_lowercase().contains("rule"))
                .collect();
            let mut by_type: IndexMap<&str, Vec<usize>> = IndexMap::new();
            for i in ctx.of_kinds(records, &kinds) {
                by_type
                    .entry(ctx.activity(i).kind_name())
                    .or_default()
                    .push(i);
            }
            for (kind, recs) in by_type {
                let names: Vec<String> = recs
                    .iter()
                    .filter_map(|&i| rule_name(ctx.activity(i)))
                    .collect();
                let odd: Vec<String> = names
                    .iter()
                    .filter(|n| suspicious_name(n))
                    .map(|n| quoted(n))
                    .collect();
                let summary = format!(
                    "{} of activity type {kind}{}{}",
                    plural(recs.len(), "row", "rows"),
                    if names.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", rule {}",
                            list(&names.iter().map(|n| quoted(n)).collect::<Vec<_>>(), 3)
                        )
                    },
                    if odd.is_empty() {
                        String::new()
                    } else {
                        format!("; suspicious name {}", list(&odd, 3))
                    }
                );
                out.push(ctx.finding(self, self.level(), &recs, summary, |i| {
                    all_properties(ctx.activity(i))
                }));
            }
        }
    }
}

fn rule_name(a: Rec<'_>) -> Option<String> {
    ["RuleName", "Name", "DisplayName"]
        .iter()
        .find_map(|k| a.prop(k).map(|v| v.into_owned()))
}

/// Empty, ≤3 characters, punctuation only or one repeated character: names
/// attackers give rules so they do not stand out (MAS, HEARTH).
fn suspicious_name(name: &str) -> bool {
    let n = name.trim();
    let mut chars = n.chars();
    let first = chars.clone().next();
    n.chars().count() <= 3
        || n.chars().all(|c| !c.is_alphanumeric())
        || first.is_some_and(|f| chars.all(|c| c == f))
}

fn all_properties(a: Rec<'_>) -> String {
    let pairs: Vec<String> = a.props().map(|(k, v)| format!("{k}={v}")).collect();
    if pairs.is_empty() {
        a.kind_name().to_string()
    } else {
        pairs.join("; ")
    }
}

pub(super) struct AlertNotice;

/// Sender of Microsoft 365 alert-policy mail (`docs/rules.md` §3.6).
const ALERT_SENDER: &str = "office365alerts@microsoft.com";

impl Rule for AlertNotice {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "rule-alert-notice",
                phase: Phase::Hiding,
                tactic: Tactic::Concealment,
                stage: Some(Stage::Concealment),
                title: "Microsoft alert about a rule delivered",
                level: Level::High,
                attack: &["T1114.003", "T1564.008"],
                experimental: true,
                description: "A Microsoft 365 alert (\"<Severity>-severity alert: …\") about a rule, e.g. Creation of forwarding/redirect rule; cites the activity just before it",
                params: &[],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for (_, records) in ctx.mailboxes() {
            // The last user (non-Exchange) activity before an alert, looked
            // for backwards only as far as the previous alert, whose answer
            // carries over: each row is looked at once at most.
            let mut last_user: Option<usize> = None;
            let mut scanned_to = records.first().unwrap_or_default();
            for &d in ctx.kind_list(records, Kind::MessageDelivered) {
                let i = d as usize;
                let a = ctx.activity(i);
                let subject = a.subject().unwrap_or_default();
                let from_alerts = a
                    .sender()
                    .is_some_and(|s| s.eq_ignore_ascii_case(ALERT_SENDER))
                    || contains_ascii_ci(&subject, "-severity alert:");
                if !from_alerts || !contains_ascii_ci(&subject, "rule") {
                    continue;
                }
                if let Some(j) = (scanned_to..i)
                    .rev()
                    .find(|&j| ctx.activity(j).app != App::Exchange)
                {
                    last_user = Some(j);
                }
                scanned_to = i;
                // The alert names the policy, not the rule: cite the
                // mailbox's last user activity before it as the likely moment.
                let before = last_user;
                let mut recs: Vec<usize> = before.into_iter().collect();
                recs.push(i);
                let policy = subject
                    .split_once(':')
                    .map_or(subject.as_ref(), |(_, p)| p.trim());
                let summary = format!(
                    "Microsoft alert {} delivered{}",
                    quoted(policy),
                    before
                        .map(|j| format!(
                            "; the last user activity before it was {} at {}",
                            ctx.activity(j).kind_name(),
                            ctx.activity(j).time.format("%H:%M:%S")
                        ))
                        .unwrap_or_default()
                );
                let mut f = ctx.finding(self, self.level(), &recs, summary, |r| {
                    delivery_detail(ctx, r)
                });
                f.first = a.time;
                f.count = 1;
                // The alert is about whoever made the rule, not whoever
                // acted last: tied by time to a new actor, or to no one.
                f.actor = None;
                attribute_to_author(ctx, records, &mut f);
                out.push(f);
            }
        }
    }
}

pub(super) struct HiddenDelivery;

impl Rule for HiddenDelivery {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "rule-hidden-delivery",
                phase: Phase::Hiding,
                tactic: Tactic::Concealment,
                stage: Some(Stage::Concealment),
                title: "Delivered straight into a hiding folder",
                level: Level::High,
                attack: &["T1564.008"],
                experimental: true,
                description: "Mail delivered past the Inbox into Deleted Items, RSS or Conversation History (high), a custom folder, or Junk from a sender whose mail reached the Inbox 3 times before its first Junk delivery, 3 in 24 h (medium)",
                params: &[p::JUNK_PER_SENDER.int(3), p::JUNK_INBOX_HISTORY.int(3)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let financial = ctx.settings.keywords(search::Financial.id(), p::KEYWORDS);
        let (subjects, senders) = notice_lists(ctx);
        let junk_history = ctx.int(p::JUNK_INBOX_HISTORY).max(0) as u32;
        for (_, records) in ctx.mailboxes() {
            // Each distinct sender lowercased and numbered once (by its
            // interned symbol), not hashed as text per delivery.
            let mut numbers: FxHashMap<Option<Sym>, usize> = FxHashMap::default();
            let mut lowered: IndexSet<String> = IndexSet::new();
            // Per sender: deliveries that reached the Inbox so far, and
            // whether its first Junk delivery came after enough of them.
            let mut reached_inbox: Vec<u32> = Vec::new();
            let mut junk_counts: Vec<Option<bool>> = Vec::new();
            let mut clusters: IndexMap<(String, String), Vec<(usize, Level)>> = IndexMap::new();
            for i in ctx.each_of_kinds(records, &[Kind::MessageDelivered]) {
                let a = ctx.activity(i);
                let n = *numbers.entry(a.sender_sym()).or_insert_with(|| {
                    let text = a.sender().unwrap_or_default().to_lowercase();
                    let (n, _) = lowered.insert_full(text);
                    reached_inbox.resize(lowered.len(), 0);
                    junk_counts.resize(lowered.len(), None);
                    n
                });
                let hidden = hidden_folder(ctx, i, a).filter(|_| !is_meeting_mail(a));
                let Some((folder, base)) = hidden else {
                    if a.get(PropKey::DeliveredFolderType) == Some("5")
                        || a.flag("DeliveredToInbox") == Some(true)
                    {
                        reached_inbox[n] += 1;
                    }
                    continue;
                };
                let sender = lowered.get_index(n).map_or("", String::as_str);
                let sensitive = a.subject().is_some_and(|s| financial.is_match(&s))
                    || is_notice(a, subjects, senders);
                let level = if sensitive { Level::High } else { base };
                // Junk filtering is Microsoft's, not a rule's: a sender's
                // Junk counts only when its mail reached the Inbox several
                // times before its first Junk delivery (a correspondent
                // whose mail then switched). Spam that slips through once
                // and is caught from then on does not.
                if folder == "JunkEmail"
                    && !*junk_counts[n].get_or_insert(reached_inbox[n] >= junk_history)
                {
                    continue;
                }
                clusters
                    .entry((sender_domain(sender), folder))
                    .or_default()
                    .push((i, level));
            }
            // SipHash: sender addresses are the export's text.
            let inbox_senders: std::collections::HashSet<String> =
                (lowered.into_iter().zip(reached_inbox))
                    .filter_map(|(sender, inbox)| (inbox > 0).then_some(sender))
                    .collect();
            self.emit(ctx, records, clusters, &inbox_senders, out);
        }
    }
}

impl HiddenDelivery {
    fn emit(
        &self,
        ctx: &Ctx<'_>,
        records: Records,
        clusters: IndexMap<(String, String), Vec<(usize, Level)>>,
        inbox: &std::collections::HashSet<String>,
        out: &mut Vec<Finding>,
    ) {
        let junk_min = ctx.int(p::JUNK_PER_SENDER) as usize;
        for ((_, folder), hits) in clusters {
            if folder == "JunkEmail" {
                let events: Vec<Event<()>> = hits
                    .iter()
                    .map(|(i, _)| Event::new(*i, ctx.activity(*i).time, ()))
                    .collect();
                let enough = events
                    .windows(junk_min.max(1))
                    .any(|w| w[w.len() - 1].time - w[0].time <= Duration::hours(24));
                if !enough {
                    continue;
                }
            }
            let recs: Vec<usize> = hits.iter().map(|(i, _)| *i).collect();
            let is_standing = standing(ctx, records, recs[0]);
            let level = if is_standing {
                Level::Low
            } else {
                hits.iter().map(|(_, l)| *l).max().unwrap_or(Level::Medium)
            };
            let history = recs.iter().any(|&i| {
                ctx.activity(i)
                    .sender()
                    .is_some_and(|s| inbox.contains(&s.to_lowercase()))
            });
            let summary = format!(
                "{}{} delivered past the Inbox: {}{}",
                if is_standing { STANDING } else { "" },
                plural(recs.len(), "message", "messages"),
                describe_rule(ctx, &recs, &folder),
                if history {
                    " (the sender's earlier mail reached the Inbox)"
                } else {
                    ""
                }
            );
            let mut f = ctx.finding(self, level, &recs, summary, |i| delivery_detail(ctx, i));
            if !is_standing {
                attribute_to_author(ctx, records, &mut f);
            }
            out.push(f);
        }
    }
}

/// The hiding folder a delivery went to and its base level, if any.
fn hidden_folder(ctx: &Ctx<'_>, i: usize, a: Rec<'_>) -> Option<(String, Level)> {
    let to_inbox = a
        .flag("DeliveredToInbox")
        .or_else(|| a.flag("DelieveredToInbox"));
    if to_inbox != Some(false) || a.flag("DeliveredToClutter") == Some(true) {
        return None;
    }
    let code = a.get(PropKey::DeliveredFolderType)?;
    let name = folder_type_name(code).map_or_else(|| code.to_string(), str::to_string);
    match name.as_str() {
        "DeletedItems" | "RssSubscription" | "CommunicatorHistory" => Some((name, Level::High)),
        "JunkEmail" => Some((name, Level::Medium)),
        // Each custom folder is its own pattern: an intruder's new folder
        // for a vendor is not the owner's standing one for it. Its id's
        // tail (where EWS ids differ) tells them apart; the display name
        // is added where an OWA row gives it.
        "Custom" => a.get(PropKey::DeliveredFolderId).map(|id| {
            let name = ctx.folder_name(i, id).map(|n| n.name.as_str());
            (custom_folder(id, name), Level::Medium)
        }),
        other if is_hiding_folder(other) => Some((other.to_string(), Level::High)),
        _ => None,
    }
}

/// "a custom folder …<last 12 characters of its id>", or "the custom
/// folder 'Name' (…<tail>)" when a row names it.
fn custom_folder(id: &str, name: Option<&str>) -> String {
    let tail = crate::items::id_tail(id);
    match name {
        Some(name) => format!("the custom folder '{name}' (…{tail})"),
        None => format!("a custom folder …{tail}"),
    }
}

/// A server action paired one-to-one with the delivery it followed.
struct Paired {
    action: usize,
    delivery: usize,
}

/// Pairs each action (time-ordered) with the delivery of its item: the
/// same item id or Internet message id. A server `Move` carries the item's
/// *new* id and no message id (`docs/rules.md`, "Rule effects"), so for it
/// (and a forward, a new item) the one delivery within `within` before it
/// stands in, only when there
/// is exactly one and the two rows do not name different sessions: never
/// the nearest of several, which paired unrelated mail.
fn pair_with_deliveries(
    ctx: &Ctx<'_>,
    records: Records,
    actions: &[usize],
    within: Duration,
) -> Vec<Paired> {
    let deliveries = ctx.deliveries(records);
    let delivered = ctx.kind_list(records, Kind::MessageDelivered);
    let mut used = HashSet::default();
    let mut out = Vec::new();
    for &a in actions {
        let action = ctx.activity(a);
        let t = action.time;
        let near = |d: usize| {
            let dt = t - ctx.activity(d).time;
            dt >= Duration::zero() && dt <= within
        };
        let by_id = deliveries.linked(ctx.timeline, a).filter(|&d| near(d));
        let only_one = || {
            let end = delivered.partition_point(|&d| ctx.activity(d as usize).time <= t);
            let mut window = delivered[..end]
                .iter()
                .rev()
                .map(|&d| d as usize)
                .take_while(|&d| near(d));
            let d = window.next()?;
            let session = ctx.activity(d).session;
            let same_session =
                action.session.is_empty() || session.is_empty() || session == action.session;
            (window.next().is_none() && same_session).then_some(d)
        };
        // A `Delete` keeps the item's id: unlinked, it is about other mail.
        // A `Move` gives the item a new id; when Exchange logged the same
        // operation as a `Delete` too, that row names the item.
        let paired = by_id.or_else(|| match action.kind {
            Kind::Delete => None,
            _ => match delete_twin(ctx, records, a) {
                Some(twin) => deliveries.linked(ctx.timeline, twin).filter(|&d| near(d)),
                None => only_one(),
            },
        });
        if let Some(d) = paired.filter(|d| used.insert(*d)) {
            out.push(Paired {
                action: a,
                delivery: d,
            });
        }
    }
    out
}

/// The `Delete` row of the same session within a second of `mv`, a `Move`
/// with `MoveType` Delete: Exchange logs one deletion as both, the
/// `Delete` under the item's old id, the `Move` under its new one in
/// Deleted Items (`docs/format.md`, "Deleting").
fn delete_twin(ctx: &Ctx<'_>, records: Records, mv: usize) -> Option<usize> {
    let a = ctx.activity(mv);
    if a.session.is_empty()
        || !a
            .get(PropKey::MoveType)
            .is_some_and(|t| t.eq_ignore_ascii_case("Delete"))
    {
        return None;
    }
    let second = Duration::seconds(1);
    let deletes = ctx.kind_list(records, Kind::Delete);
    let from = deletes.partition_point(|&d| ctx.activity(d as usize).time < a.time - second);
    deletes[from..]
        .iter()
        .map(|&d| d as usize)
        .take_while(|&d| ctx.activity(d).time <= a.time + second)
        .find(|&d| ctx.activity(d).session == a.session)
}

/// Exchange's Calendar Assistant files and deletes meeting requests,
/// responses and cancellations on its own (`docs/benign.md`).
fn is_meeting_mail(a: Rec<'_>) -> bool {
    if a.get(PropKey::ItemClass)
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("ipm.schedule.meeting"))
    {
        return true;
    }
    let subject = a.subject().unwrap_or_default();
    MEETING_PREFIXES.iter().any(|p| {
        subject.len() >= p.len()
            && subject.is_char_boundary(p.len())
            && subject[..p.len()].eq_ignore_ascii_case(p)
    })
}

const MEETING_PREFIXES: &[&str] = &[
    "accepted:",
    "declined:",
    "tentative:",
    "canceled:",
    "cancelled:",
    "updated:",
    "new time proposed:",
];

/// A pattern (sender → folder) whose first effect falls in the baseline
/// period is a rule the owner already had: one low finding, named so.
fn standing(ctx: &Ctx<'_>, records: Records, first: usize) -> bool {
    ctx.judged(records) && ctx.activity(first).time < ctx.baseline_end(records)
}

pub(super) struct ServerMove;

impl Rule for ServerMove {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "rule-server-move",
                phase: Phase::Hiding,
                tactic: Tactic::Concealment,
                stage: Some(Stage::Concealment),
                title: "Server moved/deleted new mail",
                level: Level::High,
                attack: &["T1564.008", "T1070.008"],
                experimental: true,
                description: "Move or Delete by Exchange (server rule) seconds after delivery, out of the Inbox; high into hiding folders or for sensitive mail",
                params: &[p::WITHIN_SECONDS.int(5)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let within = Duration::seconds(ctx.int(p::WITHIN_SECONDS));
        let financial = ctx.settings.keywords(search::Financial.id(), p::KEYWORDS);
        let (subjects, senders) = notice_lists(ctx);
        for (_, records) in ctx.mailboxes() {
            // Exchange's own moves only: an Outlook move seconds after a
            // delivery is the person at the keyboard (or their client
            // rule), about whatever mail they were reading.
            let actions: Vec<usize> = ctx
                .server_of_kinds(records, &[Kind::Move, Kind::Delete])
                .into_iter()
                .filter(|&i| leaves_inbox(ctx.activity(i)))
                .collect();
            let mut clusters: IndexMap<(String, String), Vec<(Paired, Level)>> = IndexMap::new();
            let mut ignored: Option<FxHashMap<IdHash, DateTime<Utc>>> = None;
            for p in pair_with_deliveries(ctx, records, &actions, within) {
                let (a, d) = (ctx.activity(p.action), ctx.activity(p.delivery));
                if is_meeting_mail(d) {
                    continue;
                }
                let target = if a.kind == Kind::Delete {
                    "deleted".to_string()
                } else {
                    a.get(PropKey::TargetFolder)
                        .map_or_else(|| "another folder".into(), |t| t.to_string())
                };
                // Outlook's Ignore conversation: the owner deleted the
                // thread, and Exchange deletes what arrives in it later.
                if goes_to_deleted_items(a) {
                    let ignored =
                        ignored.get_or_insert_with(|| deleted_conversations(ctx, records));
                    if ignored
                        .get(&d.conversation())
                        .is_some_and(|&since| since < d.time)
                    {
                        continue;
                    }
                }
                let sensitive = d.subject().is_some_and(|s| financial.is_match(&s))
                    || is_notice(d, subjects, senders);
                let level = if a.kind == Kind::Delete || is_hiding_folder(&target) || sensitive {
                    Level::High
                } else {
                    Level::Medium
                };
                let sender = d.sender().unwrap_or_default().to_lowercase();
                clusters
                    .entry((sender, target))
                    .or_default()
                    .push((p, level));
            }
            for ((_, target), hits) in clusters {
                let dels: Vec<usize> = hits.iter().map(|(p, _)| p.delivery).collect();
                let is_standing = standing(ctx, records, dels[0]);
                let level = if is_standing {
                    Level::Low
                } else {
                    hits.iter().map(|(_, l)| *l).max().unwrap_or(Level::Medium)
                };
                let summary = format!(
                    "{}{} handled by Exchange within seconds of delivery: {}",
                    if is_standing { STANDING } else { "" },
                    plural(hits.len(), "message", "messages"),
                    describe_rule(ctx, &dels, &target)
                );
                let mut recs: Vec<usize> = hits
                    .iter()
                    .flat_map(|(p, _)| [p.delivery, p.action])
                    .collect();
                recs.sort_unstable();
                let mut f = ctx.finding(self, level, &recs, summary, |i| delivery_detail(ctx, i));
                f.count = hits.len() as u64;
                if !is_standing {
                    attribute_to_author(ctx, records, &mut f);
                }
                out.push(f);
            }
        }
    }
}

/// The conversations someone not suspect deleted mail of with a user
/// client, to when they first did (the conversation of the delivery the
/// delete is linked to, else the delete's own). Exchange deleting later
/// mail of such a conversation is Outlook's Ignore conversation; an
/// intruder's deletions do not count, so a rule that clears the replies
/// to its fraud stays a finding.
fn deleted_conversations(ctx: &Ctx<'_>, records: Records) -> FxHashMap<IdHash, DateTime<Utc>> {
    let deliveries = ctx.deliveries(records);
    let mut first: FxHashMap<IdHash, DateTime<Utc>> = FxHashMap::default();
    for i in ctx.each_of_kinds(records, &[Kind::Move, Kind::Delete]) {
        let a = ctx.activity(i);
        if a.app == App::Exchange || !goes_to_deleted_items(a) || ctx.is_suspect(i) {
            continue;
        }
        let conversation = deliveries
            .linked(ctx.timeline, i)
            .map(|d| ctx.activity(d).conversation())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| a.conversation());
        if !conversation.is_empty() {
            first.entry(conversation).or_insert(a.time);
        }
    }
    first
}

/// How long after a new actor appears a rule's first effect is still tied
/// to it: the bec-chain window, since a rule may wait days for its mail.
const AUTHOR_WINDOW_HOURS: i64 = 72;

/// Ties an effect of a rule made after the baseline to the new actor who
/// appeared last before its first effect: rule changes are not in this
/// log, so that actor is the only one who can be named, and the summary
/// says it is by time. Without such an actor the finding stays actor-less.
pub(super) fn attribute_to_author(ctx: &Ctx<'_>, records: Records, f: &mut Finding) {
    if f.actor.is_some() {
        return;
    }
    let within = Duration::hours(AUTHOR_WINDOW_HOURS);
    if let Some(author) = ctx.new_actor_before(records, f.first, within) {
        f.summary.push_str(&format!(
            "; first effect {} after new actor {} appeared (attributed by time: rule changes are not logged)",
            super::episodes::span_text(f.first - author.first),
            author.id
        ));
        f.actor = Some(author);
    }
}

/// How a standing rule's finding begins.
const STANDING: &str = "Standing rule, active since the export's first days: ";

/// From the Inbox (or no source recorded) to anything but Inbox/Clutter.
fn leaves_inbox(a: Rec<'_>) -> bool {
    let source = a
        .get(PropKey::SourceFolder)
        .or_else(|| a.get(PropKey::SourceDefaultFolderType));
    let from_inbox = source.is_none_or(|s| s.eq_ignore_ascii_case("Inbox"));
    let target = a.get(PropKey::TargetFolder);
    let stays = target
        .is_some_and(|t| t.eq_ignore_ascii_case("Inbox") || t.eq_ignore_ascii_case("Clutter"));
    from_inbox && !stays
}

pub(super) struct ServerMarkRead;

impl Rule for ServerMarkRead {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "rule-server-mark-read",
                phase: Phase::Hiding,
                tactic: Tactic::Concealment,
                stage: Some(Stage::Concealment),
                title: "Server marked new mail read",
                level: Level::Medium,
                attack: &["T1564.008"],
                experimental: true,
                description: "MarkAsRead by Exchange on an item seconds after its delivery; high when the item was also moved by the server",
                params: &[p::WITHIN_SECONDS.int(5)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let within = Duration::seconds(ctx.int(p::WITHIN_SECONDS));
        let moved: HashSet<usize> = ctx
            .prior
            .iter()
            .filter(|f| f.rule == ServerMove.id())
            .flat_map(|f| f.evidence.iter().map(|e| e.record))
            .collect();
        for (_, records) in ctx.mailboxes() {
            let deliveries = ctx.deliveries(records);
            let mut hits: IndexMap<String, Vec<(usize, usize)>> = IndexMap::new();
            for &i in ctx.server_kind_list(records, Kind::MarkAsRead) {
                let i = i as usize;
                let a = ctx.activity(i);
                let Some(d) = deliveries.linked(ctx.timeline, i) else {
                    continue;
                };
                if is_meeting_mail(ctx.activity(d)) {
                    continue; // the Calendar Assistant marks responses read
                }
                let dt = a.time - ctx.activity(d).time;
                if dt >= Duration::zero() && dt <= within {
                    hits.entry(sender_domain(&ctx.activity(d).sender().unwrap_or_default()))
                        .or_default()
                        .push((d, i));
                }
            }
            for (_, pairs) in hits {
                let dels: Vec<usize> = pairs.iter().map(|p| p.0).collect();
                let also_moved = dels.iter().any(|d| moved.contains(d));
                let is_standing = standing(ctx, records, dels[0]);
                let level = if is_standing {
                    Level::Low
                } else if also_moved {
                    Level::High
                } else {
                    Level::Medium
                };
                let summary = format!(
                    "{} marked read by Exchange within seconds of delivery{}: {}",
                    plural(pairs.len(), "message", "messages"),
                    if also_moved { " and moved" } else { "" },
                    describe_rule(ctx, &dels, "read")
                );
                let mut recs: Vec<usize> = pairs.iter().flat_map(|&(d, i)| [d, i]).collect();
                recs.sort_unstable();
                let mut f = ctx.finding(self, level, &recs, summary, |i| delivery_detail(ctx, i));
                f.count = pairs.len() as u64;
                if !is_standing {
                    attribute_to_author(ctx, records, &mut f);
                }
                out.push(f);
            }
        }
    }
}

pub(super) struct InferredForward;

const FORWARD_KINDS: &[Kind] = &[Kind::Forward, Kind::MessageSent, Kind::RemoteSend];

impl Rule for InferredForward {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "rule-inferred-forward",
                phase: Phase::Hiding,
                tactic: Tactic::Collection,
                stage: Some(Stage::Action),
                title: "Inferred auto-forward",
                level: Level::High,
                attack: &["T1114.003", "T1020"],
                experimental: true,
                description: "Forward/MessageSent/RemoteSend by Exchange seconds after deliveries, repeatedly within a day",
                params: &[
                    p::WITHIN_SECONDS.int(10),
                    p::THRESHOLD.int(2),
                    p::WINDOW_HOURS.int(24),
                ],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let within = Duration::seconds(ctx.int(p::WITHIN_SECONDS));
        let window = Duration::hours(ctx.int(p::WINDOW_HOURS));
        for (_, records) in ctx.mailboxes() {
            let actions = ctx.server_of_kinds(records, FORWARD_KINDS);
            let mut pairs = pair_with_deliveries(ctx, records, &actions, within);
            // Meeting requests sent on to a calendar delegate are the
            // Calendar Assistant's, not a forwarding rule's.
            pairs.retain(|p| !is_meeting_mail(ctx.activity(p.delivery)));
            let events: Vec<Event<usize>> = pairs
                .iter()
                .map(|p| Event::new(p.action, ctx.activity(p.action).time, p.delivery))
                .collect();
            for range in window::bursts(&events, window, ctx.int(p::THRESHOLD) as usize) {
                let group = &pairs[range];
                let dels: Vec<usize> = group.iter().map(|p| p.delivery).collect();
                let summary = format!(
                    "{} sent on by Exchange within seconds of delivery: {}",
                    plural(group.len(), "message", "messages"),
                    describe_rule(ctx, &dels, "forwarded")
                );
                let mut recs: Vec<usize> =
                    group.iter().flat_map(|p| [p.delivery, p.action]).collect();
                recs.sort_unstable();
                let mut f = ctx.finding(self, self.level(), &recs, summary, |i| {
                    delivery_detail(ctx, i)
                });
                f.count = group.len() as u64;
                attribute_to_author(ctx, records, &mut f);
                out.push(f);
            }
        }
    }
}

pub(super) struct HiddenFolderRead;

/// What a user client does in a folder: read it, or take mail out of it.
const FOLDER_ACTS: &[Kind] = &[
    Kind::ReadingPaneDisplayStart,
    Kind::MarkAsRead,
    Kind::Move,
    Kind::Delete,
];

impl Rule for HiddenFolderRead {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "rule-hidden-folder-read",
                phase: Phase::Hiding,
                tactic: Tactic::Concealment,
                stage: Some(Stage::Concealment),
                title: "Hiding folder opened",
                level: Level::Medium,
                attack: &["T1564.008"],
                experimental: true,
                description: "A user client reading, moving or deleting mail in a folder rules hide mail in (RSS, Conversation History; Archive only in suspect context; Deleted Items only opened in the reading pane in suspect context; never Junk): high in suspect context, else medium for 3 distinct items in 24 h; the owner's known actors are left out",
                params: &[p::THRESHOLD.int(3), p::WINDOW_MINUTES.int(1440)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let threshold = ctx.int(p::THRESHOLD) as usize;
        let window = ctx.minutes(p::WINDOW_MINUTES);
        for (_, records) in ctx.mailboxes() {
            // Per actor (or none), the rows in a hiding folder and whether
            // each is in suspect context.
            let mut by_actor: IndexMap<Option<usize>, Vec<(usize, bool)>> = IndexMap::new();
            // Kind by kind, not merged in time order: nearly every row is
            // a known actor's and skipped, so sorting the few kept is
            // cheaper than merging them all.
            let rows = FOLDER_ACTS
                .iter()
                .flat_map(|&kind| ctx.kind_list(records, kind))
                .map(|&i| i as usize);
            for i in rows {
                let actor = ctx.actor(i);
                // The owner's own folders are the owner's business.
                if actor.is_some_and(|a| a.is_known()) {
                    continue;
                }
                let a = ctx.activity(i);
                if a.app == App::Exchange {
                    continue;
                }
                let Some(class) = acted_in(a).and_then(folder_class) else {
                    continue;
                };
                let suspect = ctx.is_suspect(i);
                // Deleted Items is read by everyone, a phone's sync marks
                // mail read there, and purging it is
                // `delete-empty-deleted-items`'s: only someone suspect
                // choosing it in the reading pane counts.
                let counts = match class {
                    FolderClass::Hiding => true,
                    FolderClass::Archive => suspect,
                    FolderClass::DeletedItems => suspect && a.kind == Kind::ReadingPaneDisplayStart,
                };
                if !counts {
                    continue;
                }
                by_actor
                    .entry(actor.map(|a| a.first_record))
                    .or_default()
                    .push((i, suspect));
            }
            let mut groups: Vec<Vec<(usize, bool)>> = by_actor.into_values().collect();
            for rows in &mut groups {
                rows.sort_unstable();
            }
            groups.sort_by_key(|rows| rows[0].0);
            for rows in groups {
                for run in
                    rows.chunk_by(|x, y| ctx.activity(y.0).time - ctx.activity(x.0).time <= window)
                {
                    self.emit_run(ctx, run, threshold, out);
                }
            }
        }
    }
}

impl HiddenFolderRead {
    /// One finding for a run of rows of one actor less than a day apart:
    /// high with a row in suspect context, else medium from `threshold`
    /// distinct items.
    fn emit_run(
        &self,
        ctx: &Ctx<'_>,
        run: &[(usize, bool)],
        threshold: usize,
        out: &mut Vec<Finding>,
    ) {
        let suspect = run.iter().any(|&(_, s)| s);
        let items: HashSet<_> = run.iter().map(|&(i, _)| ctx.activity(i).item).collect();
        if !suspect && items.len() < threshold {
            return;
        }
        let recs: Vec<usize> = run.iter().map(|&(i, _)| i).collect();
        let folders: IndexSet<String> = recs
            .iter()
            .filter_map(|&i| acted_in(ctx.activity(i)))
            .map(str::to_string)
            .collect();
        let folders: Vec<String> = folders.into_iter().collect();
        let summary = format!(
            "{} in {} opened, moved or deleted by a user client{}",
            plural(items.len(), "item", "items"),
            list(&folders, 3),
            if suspect { " in suspect context" } else { "" }
        );
        let level = if suspect { Level::High } else { Level::Medium };
        let mut f = ctx.finding(self, level, &recs, summary, |i| {
            let a = ctx.activity(i);
            format!("{} in {}", a.kind_name(), acted_in(a).unwrap_or_default())
        });
        f.count = items.len() as u64;
        out.push(f);
    }
}

/// The folder a user client's row acted in: the one shown in the reading
/// pane, or the one mail was moved, marked or deleted out of.
fn acted_in<'a>(a: Rec<'a>) -> Option<&'a str> {
    match a.kind {
        Kind::ReadingPaneDisplayStart => a.get(PropKey::SelectedFolderName),
        _ => a
            .get(PropKey::SourceFolder)
            .or_else(|| a.get(PropKey::SourceDefaultFolderType)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_rule_names() {
        assert!(suspicious_name("."));
        assert!(suspicious_name("aaaa"));
        assert!(suspicious_name("ab"));
        assert!(!suspicious_name("Newsletters"));
    }

    #[test]
    fn shared_subject_words() {
        let s = vec![
            "Invoice 4411 overdue".to_string(),
            "RE: invoice 4412 overdue".to_string(),
        ];
        assert_eq!(common_subject_words(&s), ["invoice", "overdue"]);
    }

    #[test]
    fn folder_classes() {
        assert_eq!(folder_class("RSS Subscriptions"), Some(FolderClass::Hiding));
        assert_eq!(folder_class(" Archiv "), Some(FolderClass::Archive));
        assert_eq!(
            folder_class("DeletedItems"),
            Some(FolderClass::DeletedItems)
        );
        assert_eq!(folder_class("Junk Email"), None);
        assert_eq!(folder_class("Inbox"), None);
    }

    #[test]
    fn hiding_folders() {
        assert!(is_hiding_folder("RSS Subscriptions"));
        assert!(is_hiding_folder("DeletedItems"));
        assert!(!is_hiding_folder("Newsletters"));
    }
}
