//! Reading, collection and sending bursts (`docs/rules.md` §2.4, §2.7).

use super::window::{self, Event};
use super::{Ctx, Meta, Phase, Rule, Stage, Tactic, p, plural, search};
use crate::activity::{App, IdHash, Kind, Rec};
use crate::finding::{Finding, Level};
use crate::timeline::Records;

const READ_KINDS: &[Kind] = &[
    Kind::ReadingPaneDisplayStart,
    Kind::MessageSelected,
    Kind::InspectorDisplayStart,
    Kind::MarkAsRead,
];
const ATTACHMENT_KINDS: &[Kind] = &[Kind::OpenedAnAttachment, Kind::PreviewOfAttachmentStarted];

/// What makes an event distinct, in eight bytes (a busy mailbox has
/// hundreds of thousands of reads): an item id hash, a conversation id hash
/// (salted, so an item and a conversation of the same text differ), or the
/// record itself when the row has no id. Id hashes are odd, record keys
/// even, so a record never collides with an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key(u64);

impl Key {
    /// An even constant: the salt keeps a conversation hash odd.
    const CONVERSATION_SALT: u64 = 0x9e37_79b9_7f4a_7c16;

    fn item(id: IdHash) -> Key {
        Key(id.0)
    }

    fn conversation(id: IdHash) -> Key {
        Key(id.0 ^ Self::CONVERSATION_SALT)
    }

    fn record(i: usize) -> Key {
        Key((i as u64) << 1)
    }
}

/// A read: the conversation when the client showed conversations, else
/// the item.
fn read_key(a: Rec<'_>, i: usize) -> Key {
    if a.flag("IsConversation") == Some(true) && !a.conversation().is_empty() {
        return Key::conversation(a.conversation());
    }
    item_key(a, i)
}

fn item_key(a: Rec<'_>, i: usize) -> Key {
    if a.item.is_empty() {
        Key::record(i)
    } else {
        Key::item(a.item)
    }
}

/// Events of `kinds` by a user client (not the service), keyed by `key`,
/// made as they are consumed.
fn user_events<'c>(
    ctx: &'c Ctx<'_>,
    records: Records,
    kinds: &[Kind],
    key: &'c dyn Fn(Rec<'_>, usize) -> Key,
) -> impl Iterator<Item = Event<Key>> + 'c {
    ctx.each_of_kinds(records, kinds).filter_map(move |i| {
        let a = ctx.activity(i);
        (a.app != App::Exchange).then(|| Event::new(i, a.time, key(a, i)))
    })
}

/// "from 1.2.3.4" for the first attributed IP of a burst.
fn from_ip(ctx: &Ctx<'_>, records: &[usize]) -> String {
    records
        .iter()
        .find_map(|&i| ctx.ips.ip(i))
        .map(|ip| format!(" from {ip}"))
        .unwrap_or_default()
}

fn item_detail(ctx: &Ctx<'_>, i: usize) -> String {
    let a = ctx.activity(i);
    match a.subject() {
        Some(s) => format!("{} {}", a.kind_name(), super::quoted(&s)),
        None if !a.item.is_empty() => format!("{} line {}", a.kind_name(), a.source().line),
        None => a.kind_name().to_string(),
    }
}

/// One finding per burst; `level_of` decides the level from the burst's rows.
fn burst_findings(
    rule: &dyn Rule,
    ctx: &Ctx<'_>,
    events: impl Iterator<Item = Event<Key>>,
    what: (&str, &str),
    level_of: &dyn Fn(&[usize]) -> Level,
    out: &mut Vec<Finding>,
) {
    let window = ctx.minutes(p::WINDOW_MINUTES);
    let threshold = ctx.int(p::THRESHOLD) as usize;
    // Keys are keyed id hashes or record indices, which no export can aim
    // at one bucket: the fast hash is safe here.
    let hasher = rustc_hash::FxBuildHasher;
    window::for_each_burst(events, window, threshold, hasher, |burst| {
        let recs: Vec<usize> = burst.iter().map(Event::record).collect();
        let distinct = window::distinct(burst, hasher);
        // The true span, not the window it fitted in.
        let span = burst.last().map(|e| e.time).unwrap_or_default()
            - burst.first().map(|e| e.time).unwrap_or_default();
        let summary = format!(
            "{} within {}{}",
            plural(distinct, what.0, what.1),
            super::episodes::span_text(span),
            from_ip(ctx, &recs)
        );
        let mut f = ctx.finding(rule, level_of(&recs), &recs, summary, |i| {
            item_detail(ctx, i)
        });
        f.count = distinct as u64;
        out.push(f);
    });
}

pub(super) struct ReadBurst;

impl Rule for ReadBurst {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "read-burst",
                phase: Phase::Reading,
                tactic: Tactic::Collection,
                stage: Some(Stage::Reconnaissance),
                title: "Reading burst",
                level: Level::Medium,
                attack: &["T1114.002"],
                experimental: false,
                description: "Many distinct messages opened or marked read by a user client in minutes; high in suspect context",
                params: &[p::THRESHOLD.int(30), p::WINDOW_MINUTES.int(10)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for (_, records) in ctx.mailboxes() {
            let events = user_events(ctx, records, READ_KINDS, &read_key);
            let level = |recs: &[usize]| {
                if recs.iter().any(|&i| ctx.is_suspect(i)) {
                    Level::High
                } else {
                    Level::Medium
                }
            };
            burst_findings(
                self,
                ctx,
                events,
                ("distinct message read", "distinct messages read"),
                &level,
                out,
            );
        }
    }
}

pub(super) struct AttachmentBurst;

impl Rule for AttachmentBurst {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "attachment-burst",
                phase: Phase::Reading,
                tactic: Tactic::Collection,
                stage: Some(Stage::Reconnaissance),
                title: "Attachment harvesting",
                level: Level::Medium,
                attack: &["T1114.002"],
                experimental: false,
                description: "Attachments of many distinct items opened in minutes; high when an item's subject is financial",
                params: &[p::THRESHOLD.int(5), p::WINDOW_MINUTES.int(10)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let financial = ctx.settings.keywords(search::Financial.id(), p::KEYWORDS);
        for (_, records) in ctx.mailboxes() {
            let deliveries = ctx.deliveries(records);
            let events = user_events(ctx, records, ATTACHMENT_KINDS, &item_key);
            let level = |recs: &[usize]| {
                let finance = recs.iter().any(|&i| {
                    deliveries
                        .subject(ctx.timeline, i)
                        .is_some_and(|s| financial.is_match(&s))
                });
                if finance { Level::High } else { Level::Medium }
            };
            burst_findings(
                self,
                ctx,
                events,
                ("item's attachments opened", "items' attachments opened"),
                &level,
                out,
            );
        }
    }
}

pub(super) struct SendBurst;

impl Rule for SendBurst {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "send-burst",
                phase: Phase::Reading,
                tactic: Tactic::Action,
                stage: Some(Stage::Action),
                title: "Send burst",
                level: Level::Medium,
                attack: &["T1534"],
                experimental: false,
                description: "Many messages sent by a user client in an hour; high within 2 h after an access finding",
                params: &[
                    p::THRESHOLD.int(20),
                    p::WINDOW_MINUTES.int(60),
                    p::AFTER_ACCESS_MINUTES.int(120),
                ],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let after = ctx.minutes(p::AFTER_ACCESS_MINUTES);
        for (mailbox, records) in ctx.mailboxes() {
            // MessageSent is the send; NewMessage (compose) only stands in
            // for exports without MessageSent rows, so a send is not counted twice.
            let has_sent = records
                .iter()
                .any(|i| ctx.activity(i).kind == Kind::MessageSent);
            let kind = if has_sent {
                Kind::MessageSent
            } else {
                Kind::NewMessage
            };
            let events = user_events(ctx, records, &[kind], &|_, i| Key::record(i));
            let access: Vec<_> = ctx
                .prior
                .iter()
                .filter(|f| f.mailbox == mailbox && f.tactic == Tactic::Access)
                .map(|f| f.first)
                .collect();
            let level = |recs: &[usize]| {
                let t = recs
                    .first()
                    .map(|&i| ctx.activity(i).time)
                    .unwrap_or_default();
                if access.iter().any(|&a| a <= t && t - a <= after) {
                    Level::High
                } else {
                    Level::Medium
                }
            };
            burst_findings(
                self,
                ctx,
                events,
                ("message sent", "messages sent"),
                &level,
                out,
            );
        }
    }
}

pub(super) struct ForwardBurst;

impl Rule for ForwardBurst {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "forward-burst",
                phase: Phase::Reading,
                tactic: Tactic::Action,
                stage: Some(Stage::Action),
                title: "Manual forwarding burst",
                level: Level::Medium,
                attack: &["T1114"],
                experimental: false,
                description: "Many distinct items forwarded by a user client, or any forward by a new actor; high for a new actor or with a financial subject",
                params: &[p::THRESHOLD.int(10), p::WINDOW_MINUTES.int(30)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let financial = ctx.settings.keywords(search::Financial.id(), p::KEYWORDS);
        for (_, records) in ctx.mailboxes() {
            let deliveries = ctx.deliveries(records);
            let events = user_events(ctx, records, &[Kind::Forward], &item_key);
            let level = |recs: &[usize]| {
                let raised = recs.iter().any(|&i| {
                    ctx.is_suspect(i)
                        || deliveries
                            .subject(ctx.timeline, i)
                            .is_some_and(|s| financial.is_match(&s))
                });
                if raised { Level::High } else { Level::Medium }
            };
            let start = out.len();
            burst_findings(
                self,
                ctx,
                events,
                ("distinct item forwarded", "distinct items forwarded"),
                &level,
                out,
            );
            self.new_actor_forwards(ctx, records, start, &level, out);
        }
    }
}

impl ForwardBurst {
    /// Forwards by a new actor, however few, outside any burst: an
    /// intruder sends on the one payment mail it came for.
    fn new_actor_forwards(
        &self,
        ctx: &Ctx<'_>,
        records: Records,
        start: usize,
        level: &dyn Fn(&[usize]) -> Level,
        out: &mut Vec<Finding>,
    ) {
        let in_bursts: rustc_hash::FxHashSet<usize> = out[start..]
            .iter()
            .flat_map(|f| f.evidence.iter().map(|e| e.record))
            .collect();
        let mut by_actor: indexmap::IndexMap<usize, Vec<usize>> = indexmap::IndexMap::new();
        for i in ctx.each_of_kinds(records, &[Kind::Forward]) {
            if let Some(actor) = ctx.actor(i).filter(|a| a.is_new())
                && ctx.activity(i).app != App::Exchange
                && !in_bursts.contains(&i)
            {
                by_actor.entry(actor.first_record).or_default().push(i);
            }
        }
        for recs in by_actor.into_values() {
            let summary = format!(
                "{} by a new actor{}",
                plural(recs.len(), "item forwarded", "items forwarded"),
                from_ip(ctx, &recs)
            );
            let f = ctx.finding(self, level(&recs), &recs, summary, |i| item_detail(ctx, i));
            out.push(f);
        }
    }
}

pub(super) struct FinanceThread;

/// What puts a message into someone else's thread.
const THREAD_KINDS: &[Kind] = &[Kind::Reply, Kind::ReplyAll, Kind::Forward];

impl Rule for FinanceThread {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "send-finance-thread",
                phase: Phase::Reading,
                tactic: Tactic::Action,
                stage: Some(Stage::Action),
                title: "Reply into a payment thread from suspect access",
                level: Level::Critical,
                attack: &["T1534", "T1657"],
                experimental: true,
                description: "A reply or forward by a user client in suspect context on an item or conversation whose delivered subject is financial; the session's sends in the next 15 min join it, and one actor's replies less than 24 h apart are one finding",
                params: &[p::WINDOW_MINUTES.int(1440), p::SENT_WITHIN_MINUTES.int(15)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let financial = ctx.settings.keywords(search::Financial.id(), p::KEYWORDS);
        let window = ctx.minutes(p::WINDOW_MINUTES);
        let sent_within = ctx.minutes(p::SENT_WITHIN_MINUTES);
        for (_, records) in ctx.mailboxes() {
            let deliveries = ctx.deliveries(records);
            // Financial conversations, built on the first reply that needs
            // them: most mailboxes have no reply in suspect context at all.
            let mut threads: Option<rustc_hash::FxHashMap<IdHash, usize>> = None;
            // Per actor (or none), each reply and the delivery of its thread.
            let mut by_actor: indexmap::IndexMap<Option<usize>, Vec<(usize, usize)>> =
                indexmap::IndexMap::new();
            for i in ctx.each_of_kinds(records, THREAD_KINDS) {
                let actor = ctx.actor(i);
                if actor.is_some_and(|a| a.is_known()) || !ctx.is_suspect(i) {
                    continue;
                }
                let a = ctx.activity(i);
                if a.app == App::Exchange {
                    continue;
                }
                let by_item = deliveries.linked(ctx.timeline, i).filter(|&d| {
                    ctx.activity(d)
                        .subject()
                        .is_some_and(|s| financial.is_match(&s))
                });
                let thread = by_item.or_else(|| {
                    let conversation = a.conversation();
                    if conversation.is_empty() {
                        return None;
                    }
                    let threads =
                        threads.get_or_insert_with(|| financial_threads(ctx, records, financial));
                    threads.get(&conversation).copied()
                });
                if let Some(delivery) = thread {
                    by_actor
                        .entry(actor.map(|a| a.first_record))
                        .or_default()
                        .push((i, delivery));
                }
            }
            for replies in by_actor.into_values() {
                for run in replies
                    .chunk_by(|x, y| ctx.activity(y.0).time - ctx.activity(x.0).time <= window)
                {
                    out.push(self.emit(ctx, records, run, sent_within));
                }
            }
        }
    }
}

/// The mailbox's conversations whose delivered subject is financial, to
/// their first such delivery.
fn financial_threads(
    ctx: &Ctx<'_>,
    records: Records,
    financial: &super::keywords::Keywords,
) -> rustc_hash::FxHashMap<IdHash, usize> {
    let mut threads = rustc_hash::FxHashMap::default();
    for &d in ctx.kind_list(records, Kind::MessageDelivered) {
        let a = ctx.activity(d as usize);
        let conversation = a.conversation();
        if !conversation.is_empty()
            && !threads.contains_key(&conversation)
            && a.subject().is_some_and(|s| financial.is_match(&s))
        {
            threads.insert(conversation, d as usize);
        }
    }
    threads
}

impl FinanceThread {
    /// One actor's replies into payment threads, each followed by the sends
    /// of its session within `sent_within` (the reply going out; a send's
    /// row has the draft's id, not the thread's).
    fn emit(
        &self,
        ctx: &Ctx<'_>,
        records: Records,
        run: &[(usize, usize)],
        sent_within: chrono::Duration,
    ) -> Finding {
        let sent = ctx.kind_list(records, Kind::MessageSent);
        let mut recs = Vec::new();
        let mut delivery_of = rustc_hash::FxHashMap::default();
        for &(reply, delivery) in run {
            let a = ctx.activity(reply);
            delivery_of.insert(reply, delivery);
            recs.push(reply);
            let from = sent.partition_point(|&j| ctx.activity(j as usize).time < a.time);
            recs.extend(
                sent[from..]
                    .iter()
                    .map(|&j| j as usize)
                    .take_while(|&j| ctx.activity(j).time - a.time <= sent_within)
                    .filter(|&j| !a.session.is_empty() && ctx.activity(j).session == a.session),
            );
        }
        recs.sort_unstable();
        recs.dedup();
        let (first, delivery) = run[0];
        let d = ctx.activity(delivery);
        let threads: rustc_hash::FxHashSet<usize> = run.iter().map(|&(_, d)| d).collect();
        let more = match threads.len() {
            1 => String::new(),
            n => format!(" and {} more", plural(n - 1, "thread", "threads")),
        };
        let summary = format!(
            "{} in the thread {} from {}{more}{}",
            ctx.activity(first).kind_name(),
            super::quoted(&d.subject().unwrap_or_default()),
            d.sender().unwrap_or_default(),
            from_ip(ctx, &recs)
        );
        let mut f = ctx.finding(self, self.level(), &recs, summary, |i| {
            match delivery_of.get(&i) {
                Some(&delivery) => {
                    let d = ctx.activity(delivery);
                    format!(
                        "{} to {} {}",
                        ctx.activity(i).kind_name(),
                        d.sender().unwrap_or_default(),
                        super::quoted(&d.subject().unwrap_or_default())
                    )
                }
                None => "sent from the same session".to_string(),
            }
        });
        f.count = run.len() as u64;
        f
    }
}
