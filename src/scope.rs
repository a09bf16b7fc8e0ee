//! Intrusion scope: what the chosen actors touched (`docs/scope.md`). The
//! step after the rules: it reads the actors the rules judged, the
//! findings that name them and the item catalogue (`items.rs`), and lists,
//! per actor, every message it previewed, opened, answered, sent, moved or
//! deleted, and every search it ran. Reports render it; nothing here
//! re-judges a finding.

use crate::activity::{App, Kind, PropKey, Rec};
use crate::actors::{Actor, Actors};
use crate::attribution::IpAttribution;
use crate::finding::{Finding, Level, Tactic};
use crate::items::{Catalogue, Resolved, Via};
use crate::net::{Block, looks_like_ip};
use crate::timeline::Timeline;
use chrono::{DateTime, Utc};
use hashbrown::HashTable;
use rustc_hash::FxHashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// `--actor`: one network, one block of networks, or one client session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Ip(IpAddr),
    Cidr(Block),
    Session(String),
}

impl Selector {
    /// An IP, a CIDR block (`203.0.113.0/24`, `2001:db8::/48`) or anything
    /// else as a `ClientSessionId`.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("--actor: expected an IP, a CIDR block, a session id or 'all'".into());
        }
        if text.contains('/') {
            let block = Block::parse(text).map_err(|e| format!("--actor {text}: {e}"))?;
            return Ok(Selector::Cidr(block));
        }
        match text.parse::<IpAddr>() {
            Ok(ip) => Ok(Selector::Ip(ip)),
            Err(_) if looks_like_ip(text) => {
                Err(format!("--actor {text}: not a valid IPv4 or IPv6 address"))
            }
            Err(_) => Ok(Selector::Session(text.to_string())),
        }
    }

    fn label(&self) -> String {
        match self {
            Selector::Ip(ip) => format!("IP {ip}"),
            Selector::Cidr(block) => format!("network {block}"),
            Selector::Session(s) => format!("session {s}"),
        }
    }

    fn matches_ip(&self, ip: &str) -> bool {
        let Ok(ip) = ip.trim().parse::<IpAddr>() else {
            return false;
        };
        match *self {
            Selector::Ip(want) => ip == want,
            Selector::Cidr(block) => block.contains(ip),
            Selector::Session(_) => false,
        }
    }
}

/// Whose activity is scoped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Selection {
    /// The actors that findings at medium or above name (the default).
    #[default]
    Suspect,
    /// Everyone: every actor, Exchange's own actions, and rows no actor is
    /// tied to.
    All,
    /// The records of these networks or sessions, one scoped actor each.
    Explicit(Vec<Selector>),
}

impl Selection {
    pub fn describe(&self) -> String {
        match self {
            Selection::Suspect => "actors named by findings at medium or above".into(),
            Selection::All => "every actor (--actor all)".into(),
            Selection::Explicit(s) => {
                let names: Vec<String> = s.iter().map(Selector::label).collect();
                format!("--actor {}", names.join(", "))
            }
        }
    }
}

/// What an activity did to an item. Order is the order reports list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    Preview,
    Open,
    AttachmentOpened,
    LinkClicked,
    MarkedRead,
    Replied,
    Forwarded,
    Sent,
    Moved,
    Deleted,
    Purged,
    Other,
}

/// Kinds of access: the length of per-kind tables.
pub const ACCESS_KINDS: usize = 12;

impl Access {
    pub const ALL: [Access; ACCESS_KINDS] = [
        Access::Preview,
        Access::Open,
        Access::AttachmentOpened,
        Access::LinkClicked,
        Access::MarkedRead,
        Access::Replied,
        Access::Forwarded,
        Access::Sent,
        Access::Moved,
        Access::Deleted,
        Access::Purged,
        Access::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Access::Preview => "preview",
            Access::Open => "open",
            Access::AttachmentOpened => "attachment-opened",
            Access::LinkClicked => "link-clicked",
            Access::MarkedRead => "marked-read",
            Access::Replied => "replied",
            Access::Forwarded => "forwarded",
            Access::Sent => "sent",
            Access::Moved => "moved",
            Access::Deleted => "deleted",
            Access::Purged => "purged",
            Access::Other => "other",
        }
    }
}

/// What record `a` did to its item (`docs/scope.md` §2); `None` for a
/// row that is no one's access (a delivery is Exchange's).
pub fn access_of(a: &Rec<'_>) -> Option<Access> {
    let is = |key: PropKey, words: &[&str]| {
        a.get(key)
            .is_some_and(|v| words.iter().any(|w| v.trim().eq_ignore_ascii_case(w)))
    };
    let purge = is(PropKey::DeleteType, &["SoftDelete", "HardDelete"])
        || is(PropKey::DeletedByEmptyFolder, &["True", "1"])
        || is(PropKey::MoveType, &["SoftDelete", "HardDelete"]);
    Some(match a.kind {
        Kind::MessageDelivered => return None,
        Kind::ReadingPaneDisplayStart | Kind::ReadingPaneDisplayEnd | Kind::MessageSelected => {
            Access::Preview
        }
        Kind::InspectorDisplayStart | Kind::InspectorDisplayEnd => Access::Open,
        Kind::OpenedAnAttachment | Kind::PreviewOfAttachmentStarted => Access::AttachmentOpened,
        Kind::LinkClicked => Access::LinkClicked,
        Kind::MarkAsRead => Access::MarkedRead,
        Kind::Reply | Kind::ReplyAll => Access::Replied,
        Kind::Forward => Access::Forwarded,
        Kind::MessageSent | Kind::RemoteSend => Access::Sent,
        Kind::Delete | Kind::DeleteFromInbox if purge => Access::Purged,
        Kind::Delete | Kind::DeleteFromInbox => Access::Deleted,
        Kind::Move if purge => Access::Purged,
        Kind::Move if is(PropKey::MoveType, &["Delete"]) => Access::Deleted,
        Kind::Move | Kind::MoveFromInbox | Kind::MoveToInbox | Kind::CopyItem => Access::Moved,
        _ => Access::Other,
    })
}

/// A search row: a `Query` the user ran (keystroke suggestions, partial
/// text, are not searches).
fn is_search(a: &Rec<'_>) -> bool {
    !a.kind.is_search_suggestion() && a.get(PropKey::Query).is_some()
}

/// Who a scoped actor is.
#[derive(Debug, Clone)]
pub enum Who {
    Actor(Arc<Actor>),
    Selector(Selector),
    /// Exchange acting on its own (rules, retention), under `--actor all`.
    Exchange,
    /// Rows no logon ties to anyone, under `--actor all`.
    Unattributed,
}

/// Distinct items per kind of access, and searches: the figures counsel
/// quotes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Items with any access.
    pub items: usize,
    /// Per [`Access`], in its order: items with at least one such access.
    pub by_access: [usize; ACCESS_KINDS],
    /// Items whose message facts no row of the export gives.
    pub unresolved: usize,
    /// Items moved to Deleted Items or purged.
    pub deleted_any: usize,
    pub searches: usize,
}

impl Counts {
    pub fn of(&self, access: Access) -> usize {
        self.by_access[access as usize]
    }
}

/// One actor whose activity is scoped, in one mailbox.
#[derive(Debug, Clone)]
pub struct ScopedActor {
    /// The input (mailbox).
    pub file: usize,
    pub who: Who,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    /// Records of this actor in the scope (items, searches, logons, the rest).
    pub records: usize,
    pub counts: Counts,
    /// [`ScopedActor::id`] and [`ScopedActor::label`], made once (every
    /// scope row names its actor).
    id: String,
    label: String,
}

impl ScopedActor {
    fn new(file: usize, who: Who) -> ScopedActor {
        let (id, label) = (id_of(&who), label_of(&who));
        ScopedActor {
            file,
            who,
            first: None,
            last: None,
            records: 0,
            counts: Counts::default(),
            id,
            label,
        }
    }

    /// `A3`, `IP 203.0.113.7`, `Exchange`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `A3 (new: 185.220.101.0/24, Chrome on Windows)`.
    pub fn label(&self) -> &str {
        &self.label
    }
}

fn id_of(who: &Who) -> String {
    match who {
        Who::Actor(a) => a.id.clone(),
        Who::Selector(s) => s.label(),
        Who::Exchange => "Exchange".into(),
        Who::Unattributed => "unattributed".into(),
    }
}

fn label_of(who: &Who) -> String {
    match who {
        Who::Actor(a) => a.label(),
        Who::Selector(s) => s.label(),
        Who::Exchange => "Exchange (the service acting on its own: rules, retention)".into(),
        Who::Unattributed => "rows no logon ties to an actor".into(),
    }
}

/// One (actor, item): every record of the actor on the item.
#[derive(Debug, Clone)]
pub struct ItemAccess {
    pub actor: usize,
    pub item: Resolved,
    /// A bit per [`Access`] seen.
    kinds: u16,
    /// Its records in [`Scope::records_of`]: a run of the scope's list.
    start: u32,
    len: u32,
}

impl ItemAccess {
    pub fn has(&self, access: Access) -> bool {
        (self.kinds & (1 << access as u16)) != 0
    }
}

/// One search of a scoped actor.
#[derive(Debug, Clone, Copy)]
pub struct SearchAccess {
    pub actor: usize,
    pub record: usize,
}

/// The scope of a run.
#[derive(Debug, Default)]
pub struct Scope {
    pub selection: Selection,
    pub actors: Vec<ScopedActor>,
    /// Grouped by actor, each actor's items by first access.
    pub items: Vec<ItemAccess>,
    /// Every item's records, item after item, each in time order: one
    /// list, not one per item (`--actor all` on a busy mailbox scopes
    /// hundreds of thousands of items).
    records: Vec<u32>,
    /// By actor, then time.
    pub searches: Vec<SearchAccess>,
}

/// What decides, per record, which scoped actors it belongs to.
struct Chooser<'a> {
    selection: &'a Selection,
    actors: &'a Actors,
    suspects: Vec<*const Actor>,
    /// Per attributed IP index: the selectors it matches.
    ip_matches: FxHashMap<u32, Vec<usize>>,
}

impl Chooser<'_> {
    fn suspect(&self, actor: &Arc<Actor>) -> bool {
        self.suspects.contains(&Arc::as_ptr(actor))
    }

    /// The scoped actors (as keys) of record `i`.
    fn who(&mut self, tl: &Timeline, ips: &IpAttribution, i: usize, out: &mut Vec<Key>) {
        out.clear();
        let actor = self.actors.of(i);
        let selection = self.selection;
        match selection {
            Selection::Suspect => {
                if let Some(a) = actor.filter(|a| self.suspect(a)) {
                    out.push(Key::Actor(Arc::as_ptr(a)));
                }
            }
            Selection::All => out.push(match actor {
                Some(a) => Key::Actor(Arc::as_ptr(a)),
                None if tl.activity(i).app == App::Exchange => Key::Exchange,
                None => Key::Unattributed,
            }),
            Selection::Explicit(selectors) => {
                if let Some(ip) = ips.get(i).ip() {
                    let text = ips.ip(i).unwrap_or("");
                    let matched = self.ip_matches.entry(ip).or_insert_with(|| {
                        (0..selectors.len())
                            .filter(|&k| selectors[k].matches_ip(text))
                            .collect()
                    });
                    out.extend(matched.iter().map(|&k| Key::Selector(k)));
                }
                let session = tl.rec(i).session_id();
                for (k, s) in selectors.iter().enumerate() {
                    if let Selector::Session(want) = s
                        && !session.is_empty()
                        && session.eq_ignore_ascii_case(want.trim())
                        && !out.contains(&Key::Selector(k))
                    {
                        out.push(Key::Selector(k));
                    }
                }
            }
        }
    }
}

/// A scoped actor while the scope is built (per mailbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Actor(*const Actor),
    Selector(usize),
    Exchange,
    Unattributed,
}

/// The actors findings at medium or above name: the suspects.
fn suspects(findings: &[Finding]) -> Vec<*const Actor> {
    let mut out: Vec<*const Actor> = findings
        .iter()
        .filter(|f| f.level >= Level::Medium && f.tactic != Tactic::DataQuality)
        .filter_map(|f| f.actor.as_ref())
        .filter(|a| !a.is_known())
        .map(Arc::as_ptr)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Inputs of [`Scope::of`]: the products of the steps before it.
pub(crate) struct Sources<'a> {
    pub timeline: &'a Timeline,
    pub ips: &'a IpAttribution,
    pub actors: &'a Actors,
    pub items: &'a Catalogue,
    pub findings: &'a [Finding],
}

impl Scope {
    /// The records of `item`, in time order.
    pub fn records_of(&self, item: &ItemAccess) -> &[u32] {
        let start = item.start as usize;
        self.records
            .get(start..start + item.len as usize)
            .unwrap_or_default()
    }

    /// Rows per [`Access`] of `item`.
    pub fn access_counts(&self, timeline: &Timeline, item: &ItemAccess) -> [u32; ACCESS_KINDS] {
        let mut counts = [0; ACCESS_KINDS];
        for &i in self.records_of(item) {
            if let Some(access) = access_of(&timeline.rec(i as usize)) {
                counts[access as usize] += 1;
            }
        }
        counts
    }

    /// `preview=2;marked-read=1`: rows per kind of access, in [`Access`]'s
    /// order.
    pub fn access_list(&self, timeline: &Timeline, item: &ItemAccess) -> String {
        let counts = self.access_counts(timeline, item);
        let parts: Vec<String> = Access::ALL
            .iter()
            .filter(|&&k| counts[k as usize] > 0)
            .map(|&k| format!("{}={}", k.as_str(), counts[k as usize]))
            .collect();
        parts.join(";")
    }

    pub(crate) fn of(
        src: &Sources<'_>,
        selection: &Selection,
        in_window: &dyn Fn(DateTime<Utc>) -> bool,
    ) -> Scope {
        let mut chooser = Chooser {
            selection,
            actors: src.actors,
            suspects: suspects(src.findings),
            ip_matches: FxHashMap::default(),
        };
        let mut scope = Scope {
            selection: selection.clone(),
            ..Scope::default()
        };
        if *selection == Selection::Suspect && chooser.suspects.is_empty() {
            return scope;
        }
        for &records in src.timeline.mailboxes() {
            scope.add_mailbox(src, &mut chooser, records, in_window);
        }
        scope
    }

    fn add_mailbox(
        &mut self,
        src: &Sources<'_>,
        chooser: &mut Chooser<'_>,
        records: crate::timeline::Records,
        in_window: &dyn Fn(DateTime<Utc>) -> bool,
    ) {
        let tl = src.timeline;
        let base = self.actors.len();
        let mut index: FxHashMap<Key, usize> = FxHashMap::default();
        // (actor, item key) → position in `items`: positions only, compared
        // through `items` (a map holding the keys took three times as much
        // under `--actor all`).
        let mut by_item: HashTable<u32> = HashTable::new();
        let mut keys = Vec::new();
        let mut items: Vec<ItemAccess> = Vec::new();
        // (position in `items`, record), in record order.
        let mut accesses: Vec<(u32, u32)> = Vec::new();
        for i in records.iter() {
            let a = tl.activity(i);
            // A delivery is Exchange's doing for the sender, no one's
            // access: the item catalogue reads it, the scope does not.
            if a.kind == Kind::MessageDelivered || !in_window(a.time) {
                continue;
            }
            chooser.who(tl, src.ips, i, &mut keys);
            if keys.is_empty() {
                continue;
            }
            let rec = tl.rec(i);
            let access = access_of(&rec);
            let item = access.and_then(|_| src.items.resolve(tl, i));
            for &key in &keys {
                let actor = *index.entry(key).or_insert_with(|| {
                    let who = who_of(key, src.actors, i, chooser.selection);
                    self.actors.push(ScopedActor::new(records.file, who));
                    self.actors.len() - 1
                });
                let scoped = &mut self.actors[actor];
                scoped.first = Some(scoped.first.map_or(a.time, |t| t.min(a.time)));
                scoped.last = Some(scoped.last.map_or(a.time, |t| t.max(a.time)));
                scoped.records += 1;
                if is_search(&rec) {
                    self.searches.push(SearchAccess { actor, record: i });
                    scoped.counts.searches += 1;
                }
                if let (Some(access), Some(item)) = (access, item) {
                    let at = item_position(&mut by_item, &mut items, actor, item);
                    accesses.push((at, i as u32));
                    let entry = &mut items[at as usize];
                    entry.kinds |= 1 << (access as u16);
                    entry.len += 1;
                    // The most specific resolution among its rows wins
                    // (`Via` is declared in that order): a row that only
                    // knows the thread must not hide one that found the
                    // delivery.
                    if item.via < entry.item.via {
                        entry.item = item;
                    }
                }
            }
        }
        drop(by_item);
        self.order_actors_from(base, &mut items);
        self.gather_records(&mut items, accesses);
        let first_record = |it: &ItemAccess| self.records.get(it.start as usize).copied();
        items.sort_by_key(|it| (it.actor, first_record(it)));
        self.searches.sort_by_key(|s| (s.actor, s.record));
        for item in &items {
            self.actors[item.actor].counts.add(item);
        }
        self.items.extend(items);
    }

    /// Puts the actors from `base` on (this mailbox's) in order of their
    /// first record, and renumbers `items` and the searches to match.
    fn order_actors_from(&mut self, base: usize, items: &mut [ItemAccess]) {
        let mut order: Vec<usize> = (base..self.actors.len()).collect();
        order.sort_by_key(|&n| (self.actors[n].first, n));
        let mut renumber = vec![0; self.actors.len() - base];
        for (to, &from) in order.iter().enumerate() {
            renumber[from - base] = base + to;
        }
        let mut sorted: Vec<Option<ScopedActor>> = self.actors.drain(base..).map(Some).collect();
        for &from in &order {
            if let Some(a) = sorted[from - base].take() {
                self.actors.push(a);
            }
        }
        for item in items {
            item.actor = renumber[item.actor - base];
        }
        for s in &mut self.searches {
            if s.actor >= base {
                s.actor = renumber[s.actor - base];
            }
        }
    }

    /// Each item's records into the scope's one list, item after item: a
    /// counting sort of `accesses` (position in `items`, record), which is
    /// in record order, so each item's run is too.
    fn gather_records(&mut self, items: &mut [ItemAccess], accesses: Vec<(u32, u32)>) {
        let mut next = self.records.len() as u32;
        for item in items.iter_mut() {
            item.start = next;
            next += item.len;
        }
        let mut fill: Vec<u32> = items.iter().map(|it| it.start).collect();
        self.records.resize(next as usize, 0);
        for (at, record) in accesses {
            let slot = &mut fill[at as usize];
            self.records[*slot as usize] = record;
            *slot += 1;
        }
    }
}

impl Counts {
    /// Counts one (actor, item) of the actor's.
    fn add(&mut self, item: &ItemAccess) {
        self.items += 1;
        self.unresolved += usize::from(item.item.via == Via::Unresolved);
        for k in Access::ALL {
            self.by_access[k as usize] += usize::from(item.has(k));
        }
        self.deleted_any += usize::from(item.has(Access::Deleted) || item.has(Access::Purged));
    }
}

/// The position in `items` of (`actor`, `item`), added if new.
fn item_position(
    table: &mut HashTable<u32>,
    items: &mut Vec<ItemAccess>,
    actor: usize,
    item: Resolved,
) -> u32 {
    let hash = |actor: usize, key: crate::activity::IdHash| {
        key.0 ^ (actor as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    };
    let same = |it: &ItemAccess| it.actor == actor && it.item.key == item.key;
    let found = table.find(hash(actor, item.key), |&at| same(&items[at as usize]));
    if let Some(&at) = found {
        return at;
    }
    let at = items.len() as u32;
    items.push(ItemAccess {
        actor,
        item,
        kinds: 0,
        start: 0,
        len: 0,
    });
    table.insert_unique(hash(actor, item.key), at, |&j| {
        let it = &items[j as usize];
        hash(it.actor, it.item.key)
    });
    at
}

fn who_of(key: Key, actors: &Actors, i: usize, selection: &Selection) -> Who {
    match key {
        Key::Actor(_) => actors
            .of(i)
            .map_or(Who::Unattributed, |a| Who::Actor(a.clone())),
        Key::Selector(k) => match selection {
            Selection::Explicit(s) => s.get(k).cloned().map_or(Who::Unattributed, Who::Selector),
            _ => Who::Unattributed,
        },
        Key::Exchange => Who::Exchange,
        Key::Unattributed => Who::Unattributed,
    }
}
