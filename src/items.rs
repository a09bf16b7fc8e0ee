//! The item catalogue: which message each activity acts on
//! (`docs/scope.md` §1). A row names its item by `ActivityItemId`; the
//! message's facts (subject, sender, received time, folder) are on its
//! `MessageDelivered` row, which is found by that id, by the id the item
//! had before Exchange moved it, by `InternetMessageId`, and last by
//! `ConversationId` (the thread, not the message). An item the export has
//! no row for stays unresolved: nothing is guessed.
//!
//! Built per mailbox from the timeline alone, once, on first use: the
//! delivery tables by the rules (as before), the move links, the sent
//! items and the conversations only when a scope or a timeline asks.

use crate::activity::{IdHash, Kind, PropKey, Rec};
use crate::timeline::{Records, Timeline};
use chrono::Duration;
use hashbrown::HashTable;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::OnceLock;

/// The deliveries of one mailbox, by item id and Internet message id.
///
/// The tables hold record indices only and compare through the records
/// (ids are hashes already): a few bytes per delivery, where a map from id
/// to index took four times as much on a busy mailbox.
pub(crate) struct Deliveries {
    by_item: HashTable<u32>,
    by_message_id: HashTable<u32>,
}

/// The ids the tables compare through: a record's item id, and its
/// Internet message id.
fn item_of(timeline: &Timeline, j: u32) -> IdHash {
    timeline.activity(j as usize).item
}

fn message_id_of(timeline: &Timeline, j: u32) -> IdHash {
    timeline.rec(j as usize).message_id()
}

fn conversation_of(timeline: &Timeline, j: u32) -> IdHash {
    timeline.rec(j as usize).conversation()
}

/// First-come entry of `i` under `id` (records arrive in time order, so
/// the earliest record of an id wins).
fn insert_first(table: &mut HashTable<u32>, id: IdHash, i: u32, id_of: impl Fn(u32) -> IdHash) {
    if id.is_empty() {
        return;
    }
    let rehash = |&j: &u32| id_of(j).0;
    if let hashbrown::hash_table::Entry::Vacant(slot) =
        table.entry(id.0, |&j| id_of(j) == id, rehash)
    {
        slot.insert(i);
    }
}

/// The record of `table` under `id`.
fn find(
    timeline: &Timeline,
    table: &HashTable<u32>,
    id: IdHash,
    id_of: fn(&Timeline, u32) -> IdHash,
) -> Option<usize> {
    if id.is_empty() {
        return None;
    }
    table
        .find(id.0, |&j| id_of(timeline, j) == id)
        .map(|&j| j as usize)
}

/// A table of the records of `kind` in `records`, first per id.
fn first_by(
    timeline: &Timeline,
    records: Records,
    kind: Kind,
    id_of: fn(&Timeline, u32) -> IdHash,
) -> HashTable<u32> {
    let list = timeline.of_kind(records.file, kind);
    let mut table = HashTable::with_capacity(list.len());
    for &i in list {
        insert_first(&mut table, id_of(timeline, i), i, |j| id_of(timeline, j));
    }
    table
}

impl Deliveries {
    pub(crate) fn of(timeline: &Timeline, records: Records) -> Deliveries {
        let delivered = timeline.of_kind(records.file, Kind::MessageDelivered);
        let (item, message_id) = (|j| item_of(timeline, j), |j| message_id_of(timeline, j));
        // One pass over the deliveries fills both tables, sized once
        // (growing by rehashing cost more than filling). A busy mailbox has
        // hundreds of thousands: reading each record once took two thirds
        // of the CPU of a pass per table on two threads, and the tables
        // are built beside the rules, which want the cores.
        let mut by_item = HashTable::with_capacity(delivered.len());
        let mut by_message_id = HashTable::with_capacity(delivered.len());
        for &i in delivered {
            insert_first(&mut by_item, item(i), i, item);
            insert_first(&mut by_message_id, message_id(i), i, message_id);
        }
        Deliveries {
            by_item,
            by_message_id,
        }
    }

    /// The delivery of the item record `i` acts on: same `ActivityItemId`,
    /// else same `InternetMessageId`.
    pub(crate) fn linked(&self, timeline: &Timeline, i: usize) -> Option<usize> {
        let a = timeline.rec(i);
        if a.kind == Kind::MessageDelivered {
            return Some(i);
        }
        self.by_item(timeline, a.item)
            .or_else(|| self.by_message_id(timeline, a.message_id()))
    }

    fn by_item(&self, timeline: &Timeline, item: IdHash) -> Option<usize> {
        find(timeline, &self.by_item, item, item_of)
    }

    fn by_message_id(&self, timeline: &Timeline, id: IdHash) -> Option<usize> {
        find(timeline, &self.by_message_id, id, message_id_of)
    }

    /// The subject of the linked delivery (or the row's own subject).
    pub(crate) fn subject(&self, timeline: &Timeline, i: usize) -> Option<String> {
        let own = timeline.rec(i).subject().map(|s| s.into_owned());
        own.or_else(|| {
            let d = self.linked(timeline, i)?;
            timeline.rec(d).subject().map(|s| s.into_owned())
        })
    }
}

/// How long after the row that names an item's old id Exchange writes the
/// `Move` row with its new id. They come from one call: a few milliseconds
/// apart in every capture; a second leaves room for a slow store.
const MOVE_PAIR_SECONDS: i64 = 1;

/// Item ids before and after Exchange moved an item (`docs/scope.md` §1.2):
/// a server-side `Move` row carries the item's *new* id; the row written
/// just before it for the same action (the `Delete` with
/// `MoveToDeletedItems`, `DeleteFromInbox`, or the client's own `Move`, in
/// the same session or, for OWA's datapoint, the browser's) carries the old
/// one. They are linked only when exactly one old id is waiting
/// ([`waiting_for`]): when a multi-select writes several old ids before
/// their moves, which new id is whose cannot be told, and none is linked.
#[derive(Debug, Default)]
pub(crate) struct MoveLinks {
    /// New id → (old id, the `Move` record).
    older: FxHashMap<IdHash, (IdHash, u32)>,
    /// New ids of moves that could not be paired with one old id (several
    /// were waiting: a multi-select).
    ambiguous: FxHashSet<IdHash>,
}

/// Old ids waiting at once, past which every move in the window is
/// ambiguous anyway: bounds the work per row on a mass delete.
const MAX_WAITING: usize = 64;

/// How a row names an item's id before a server-side move: the first half
/// of a move pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OldId {
    /// A server row of the same action (`Delete` with
    /// `MoveToDeletedItems`, `DeleteFromInbox`, `MoveFromInbox`): pairs
    /// only within its session.
    SameSession,
    /// OWA's client datapoint (a `Move` with `DestinationFolder` and no
    /// `MoveType`), written in the browser's session: may pair with the
    /// server's `Move` in another session, to the same folder.
    Datapoint,
}

fn names_old_id(a: &Rec<'_>) -> Option<OldId> {
    match a.kind {
        Kind::Delete => a
            .get(PropKey::DeleteType)
            .is_some_and(|t| t.eq_ignore_ascii_case("MoveToDeletedItems"))
            .then_some(OldId::SameSession),
        Kind::DeleteFromInbox | Kind::MoveFromInbox => Some(OldId::SameSession),
        Kind::Move => (a.get(PropKey::MoveType).is_none()
            && a.get(PropKey::DestinationFolder).is_some())
        .then_some(OldId::Datapoint),
        _ => None,
    }
}

/// The server's `Move` row, which carries the new id.
fn is_server_move(a: &Rec<'_>) -> bool {
    a.kind == Kind::Move && a.get(PropKey::MoveType).is_some()
}

/// An old id waiting for the server's `Move` that gives the item its new
/// one.
struct Waiting {
    item: IdHash,
    time: chrono::DateTime<chrono::Utc>,
    session: crate::intern::Sym,
    app: crate::activity::App,
    how: OldId,
    /// The datapoint's destination (folder id), to compare with the
    /// server's `TargetFolder`.
    destination: Option<String>,
}

/// Which old id a server `Move` pairs with.
enum Pair {
    One(IdHash),
    None,
    Several,
}

/// The distinct ids of `ids`, as a [`Pair`].
fn pair_of(mut ids: Vec<IdHash>) -> Pair {
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [] => Pair::None,
        [one] => Pair::One(*one),
        _ => Pair::Several,
    }
}

/// The old id `mv` (a server `Move`) pairs with: the one waiting in its own
/// session; else, since OWA writes its datapoint in the browser's session
/// and the server its rows in its own, the one datapoint waiting in another
/// session of the same client type with the same destination folder
/// (never for Exchange's own moves: a rule moving mail in the same second
/// as the user must not take the user's item).
fn waiting_for<'w>(waiting: impl Iterator<Item = &'w Waiting> + Clone, mv: &Rec<'_>) -> Pair {
    let own = waiting
        .clone()
        .filter(|w| !mv.session.is_empty() && w.session == mv.session)
        .map(|w| w.item)
        .collect();
    match pair_of(own) {
        Pair::None if mv.app != crate::activity::App::Exchange => {
            let target = mv.get(PropKey::TargetFolder).map(str::trim);
            pair_of(
                waiting
                    .filter(|w| w.how == OldId::Datapoint && w.app == mv.app)
                    .filter(|w| same_folder(w.destination.as_deref(), target))
                    .map(|w| w.item)
                    .collect(),
            )
        }
        pair => pair,
    }
}

/// Whether a datapoint's destination can be the server's target. The
/// datapoint names a folder by id; the server by well-known name where
/// there is one (`Inbox`, `RssSubscription`), else by id: two ids must be
/// equal; a name cannot be compared with an id and does not rule it out.
fn same_folder(destination: Option<&str>, target: Option<&str>) -> bool {
    let is_id = |f: &str| {
        f.len() >= 20
            && f.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=-_".contains(&b))
    };
    match (destination, target) {
        (Some(d), Some(t)) if is_id(d) && is_id(t) => d == t,
        _ => true,
    }
}

impl MoveLinks {
    fn of(timeline: &Timeline, records: Records) -> MoveLinks {
        let file = records.file;
        let mut rows: Vec<u32> = [
            Kind::Delete,
            Kind::DeleteFromInbox,
            Kind::MoveFromInbox,
            Kind::Move,
        ]
        .iter()
        .flat_map(|&k| timeline.of_kind(file, k).iter().copied())
        .collect();
        rows.sort_unstable();
        // The old ids waiting for their move, within the pairing window;
        // past MAX_WAITING, every move until `crowded` is ambiguous.
        let mut waiting: std::collections::VecDeque<Waiting> = Default::default();
        let mut crowded: Option<chrono::DateTime<chrono::Utc>> = None;
        let mut links = MoveLinks::default();
        let within = Duration::seconds(MOVE_PAIR_SECONDS);
        for i in rows {
            let a = timeline.rec(i as usize);
            if a.item.is_empty() {
                continue;
            }
            waiting.retain(|w| a.time - w.time <= within);
            if is_server_move(&a) {
                let pair = match crowded {
                    Some(until) if a.time <= until => Pair::Several,
                    _ => waiting_for(waiting.iter(), &a),
                };
                match pair {
                    Pair::One(old) => {
                        if old != a.item {
                            links.older.entry(a.item).or_insert((old, i));
                        }
                        waiting.retain(|w| w.item != old);
                    }
                    Pair::None => {}
                    Pair::Several => {
                        links.ambiguous.insert(a.item);
                    }
                }
            } else if let Some(how) = names_old_id(&a) {
                if waiting.len() == MAX_WAITING {
                    waiting.pop_front();
                    crowded = Some(a.time + within);
                }
                waiting.push_back(Waiting {
                    item: a.item,
                    time: a.time,
                    session: a.session,
                    app: a.app,
                    how,
                    destination: a
                        .get(PropKey::DestinationFolder)
                        .map(|d| d.trim().to_string()),
                });
            }
        }
        links
    }
    /// The id the item had before its moves, as far back as the rows go,
    /// and the first `Move` on the way (`None` if it never moved).
    fn origin(&self, mut id: IdHash) -> (IdHash, Option<u32>) {
        let mut first_move = None;
        // A chain is as long as the item's moves; a cycle (an id reused)
        // must not loop.
        for _ in 0..64 {
            match self.older.get(&id) {
                Some(&(old, at)) => {
                    first_move = Some(at);
                    id = old;
                }
                None => break,
            }
        }
        (id, first_move)
    }
}

/// How an item's facts were found, most specific first (the scope keeps
/// the first of these any of an item's rows reached; `resolve` tries them
/// in its own order, which puts `Sent` before `MessageId` because a sent
/// item's id is its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Via {
    /// Its `MessageDelivered` row has the same `ActivityItemId`.
    ItemId,
    /// Its `MessageDelivered` row has the id the item had before a move.
    Moved,
    /// Its `MessageDelivered` row has the same `InternetMessageId`.
    MessageId,
    /// The item was sent from this mailbox (`MessageSent`, same id).
    Sent,
    /// No delivery, but the row itself names the message's sender or
    /// subject (a phone's `MarkAsRead` carries `SenderAddress`).
    OwnRow,
    /// Only its thread is known: a delivery with the same
    /// `ConversationId` (the thread's subject, not this message's sender).
    Conversation,
    /// No row of the export describes it.
    Unresolved,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::ItemId => "item-id",
            Via::Moved => "moved-item-id",
            Via::MessageId => "internet-message-id",
            Via::Sent => "sent",
            Via::OwnRow => "own-row",
            Via::Conversation => "conversation",
            Via::Unresolved => "unresolved",
        }
    }
}

/// What the catalogue knows of the item a record acts on (16 bytes: a
/// scope of every actor holds one per item touched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// The item's identity across its moves: the oldest id the rows link
    /// it to; for an item found by `InternetMessageId`, its delivery's id
    /// (a row with no item id and no delivery: the message id's hash).
    pub key: IdHash,
    pub via: Via,
    /// [`Resolved::from`], or [`NO_RECORD`].
    from: u32,
}

const NO_RECORD: u32 = u32::MAX;

impl Resolved {
    fn new(key: IdHash, via: Via, from: Option<usize>) -> Resolved {
        let from = from
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or(NO_RECORD);
        Resolved { key, via, from }
    }

    /// The record its facts come from: a `MessageDelivered`, a
    /// `MessageSent`, or (by conversation) a delivery in the thread.
    pub fn from(&self) -> Option<usize> {
        (self.from != NO_RECORD).then_some(self.from as usize)
    }
}

/// One mailbox's tables, each built on first use.
#[derive(Default)]
struct MailboxItems {
    moves: OnceLock<MoveLinks>,
    sent: OnceLock<HashTable<u32>>,
    conversations: OnceLock<HashTable<u32>>,
    /// Item key → the first row that opened one of its attachments.
    attachments: OnceLock<FxHashMap<IdHash, u32>>,
    /// Item id → the `InternetMessageId` some row of it carries, so that
    /// the rows of an item that lack it resolve as the ones that have it.
    message_ids: OnceLock<FxHashMap<IdHash, IdHash>>,
    folders: OnceLock<FolderNames>,
}

/// Custom folders' display names, where a row of the export gives one
/// (`docs/scope.md` §1.4). A delivery names a custom folder only by id
/// (`DeliveredFolderId`), a server `Move` by id (`TargetFolder`); but OWA's
/// rows about an item carry `SelectedFolderName`, the display name of the
/// folder open at the time. An item id changes when the item moves, so an
/// OWA row about the id a delivery or move gave, outside conversation view
/// (which spans folders), was made with that folder open. A folder id is
/// named only when every such row agrees.
#[derive(Default)]
pub struct FolderNames {
    names: FxHashMap<String, FolderName>,
}

/// A folder's display name and the first row that gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderName {
    pub name: String,
    pub line: u32,
    /// Rows naming it another way: then it is not named at all.
    conflicting: bool,
}

/// The types whose OWA rows carry `SelectedFolderName` for an item
/// (`docs/format.md` §7).
const NAMES_FOLDER: &[Kind] = &[
    Kind::ReadingPaneDisplayStart,
    Kind::ReadingPaneDisplayEnd,
    Kind::MarkAsRead,
    Kind::MarkAsUnread,
    Kind::Reply,
    Kind::ReplyAll,
    Kind::Forward,
    Kind::Delete,
    Kind::Move,
];

/// A folder id as the export writes one (base64, no spaces), not a
/// well-known folder's name such as `Inbox` or `DeletedItems`.
fn is_folder_id(text: &str) -> bool {
    let text = text.trim();
    text.len() >= 20 && !text.contains(' ') && text != "null"
}

/// The last 12 characters of a folder id, where EWS ids of one mailbox
/// differ: enough to tell folders apart in a sentence.
pub fn id_tail(id: &str) -> &str {
    let id = id.trim();
    id.char_indices()
        .rev()
        .nth(11)
        .map_or(id, |(at, _)| &id[at..])
}

impl FolderNames {
    fn of(timeline: &Timeline, records: Records) -> FolderNames {
        let file = records.file;
        // Where each item id was put: its delivery's custom folder, or a
        // server move's target folder id.
        let mut placed: FxHashMap<IdHash, &str> = FxHashMap::default();
        for &j in timeline.of_kind(file, Kind::MessageDelivered) {
            let a = timeline.rec(j as usize);
            if let Some(id) = a
                .get(PropKey::DeliveredFolderId)
                .filter(|f| is_folder_id(f))
            {
                placed.insert(a.item, id.trim());
            }
        }
        for &j in timeline.server_of_kind(file, Kind::Move) {
            let a = timeline.rec(j as usize);
            if let Some(id) = a.get(PropKey::TargetFolder).filter(|f| is_folder_id(f)) {
                placed.insert(a.item, id.trim());
            }
        }
        let mut names: FxHashMap<String, FolderName> = FxHashMap::default();
        if placed.is_empty() {
            return FolderNames { names };
        }
        let mut rows: Vec<u32> = NAMES_FOLDER
            .iter()
            .flat_map(|&k| timeline.of_kind(file, k).iter().copied())
            .collect();
        rows.sort_unstable();
        for j in rows {
            let a = timeline.rec(j as usize);
            let Some(&folder) = placed.get(&a.item) else {
                continue;
            };
            if a.get(PropKey::IsConversation).map(str::trim) == Some("1") {
                continue;
            }
            let Some(name) = a.get(PropKey::SelectedFolderName).map(str::trim) else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            let line = a.source().line;
            let entry = names
                .entry(folder.to_string())
                .or_insert_with(|| FolderName {
                    name: name.to_string(),
                    line,
                    conflicting: false,
                });
            if entry.name != name {
                entry.conflicting = true;
            }
        }
        names.retain(|_, n| !n.conflicting);
        FolderNames { names }
    }

    pub fn get(&self, folder_id: &str) -> Option<&FolderName> {
        self.names.get(folder_id.trim())
    }
}

/// The types whose rows carry an `InternetMessageId` beside the item id
/// (`docs/format.md` §7: phones' and Outlook's marks, replies, forwards).
const CARRY_MESSAGE_ID: &[Kind] = &[
    Kind::MarkAsRead,
    Kind::MarkAsUnread,
    Kind::Reply,
    Kind::ReplyAll,
    Kind::Forward,
];

/// Item id → message id over the rows of [`CARRY_MESSAGE_ID`], first
/// come.
fn message_ids_of(timeline: &Timeline, records: Records) -> FxHashMap<IdHash, IdHash> {
    let mut map = FxHashMap::default();
    for &kind in CARRY_MESSAGE_ID {
        for &i in timeline.of_kind(records.file, kind) {
            let a = timeline.rec(i as usize);
            let id = a.message_id();
            if !a.item.is_empty() && !id.is_empty() {
                map.entry(a.item).or_insert(id);
            }
        }
    }
    map
}

/// Every mailbox's item tables. The delivery tables are filled by the
/// rules' stage (they need them first); the rest on first use.
pub struct Catalogue {
    deliveries: Vec<OnceLock<Deliveries>>,
    mailboxes: Vec<MailboxItems>,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue")
            .field("mailboxes", &self.mailboxes.len())
            .finish()
    }
}

impl Catalogue {
    /// Empty tables for every mailbox of `timeline`.
    pub fn new(timeline: &Timeline) -> Catalogue {
        let n = timeline.inputs().len().max(1);
        Catalogue {
            deliveries: (0..n).map(|_| OnceLock::new()).collect(),
            mailboxes: (0..n).map(|_| MailboxItems::default()).collect(),
        }
    }

    fn slot(&self, file: usize) -> usize {
        file.min(self.deliveries.len().saturating_sub(1))
    }

    /// The delivery tables of the mailbox `records` belong to.
    pub(crate) fn deliveries(&self, timeline: &Timeline, records: Records) -> &Deliveries {
        self.deliveries[self.slot(records.file)].get_or_init(|| Deliveries::of(timeline, records))
    }

    /// Builds every mailbox's delivery tables (run beside the first rules).
    pub(crate) fn fill_deliveries(&self, timeline: &Timeline) {
        for &records in timeline.mailboxes() {
            if !records.is_empty() {
                self.deliveries(timeline, records);
            }
        }
    }

    fn mailbox_of(&self, timeline: &Timeline, i: usize) -> Option<(Records, &MailboxItems)> {
        let file = timeline.activity(i).source().file as usize;
        let records = *timeline.mailboxes().get(file)?;
        Some((records, &self.mailboxes[self.slot(file)]))
    }

    /// The custom folders of the mailbox of record `i` that rows name
    /// ([`FolderNames`]), built on first use.
    pub fn folder_names(&self, timeline: &Timeline, i: usize) -> Option<&FolderNames> {
        let (records, tables) = self.mailbox_of(timeline, i)?;
        Some(
            tables
                .folders
                .get_or_init(|| FolderNames::of(timeline, records)),
        )
    }

    /// The display name of folder id `folder` in the mailbox of record `i`.
    pub fn folder_name(&self, timeline: &Timeline, i: usize, folder: &str) -> Option<&FolderName> {
        if !is_folder_id(folder) {
            return None;
        }
        self.folder_names(timeline, i)?.get(folder)
    }

    /// Whether record `i` is a server-side `Move` whose earlier id could
    /// not be told: several were waiting (a multi-select).
    pub fn move_is_ambiguous(&self, timeline: &Timeline, i: usize) -> bool {
        let Some((records, tables)) = self.mailbox_of(timeline, i) else {
            return false;
        };
        let moves = tables
            .moves
            .get_or_init(|| MoveLinks::of(timeline, records));
        let a = timeline.activity(i);
        a.kind == Kind::Move && moves.ambiguous.contains(&a.item)
    }

    /// The item record `i` acts on, and what is known of it; `None` for a
    /// row about no item (logons, searches, a new message not yet saved).
    /// The first row of the mailbox of record `i` that opened an
    /// attachment of the item `key` names, by anyone: the export's only
    /// evidence that a message has attachments (no delivery key says so).
    pub fn attachment_opened(&self, timeline: &Timeline, i: usize, key: IdHash) -> Option<usize> {
        let (records, tables) = self.mailbox_of(timeline, i)?;
        let opened = tables.attachments.get_or_init(|| {
            let mut map = FxHashMap::default();
            for kind in [Kind::OpenedAnAttachment, Kind::PreviewOfAttachmentStarted] {
                for &j in timeline.of_kind(records.file, kind) {
                    if let Some(item) = self.resolve(timeline, j as usize) {
                        let first = map.entry(item.key).or_insert(j);
                        *first = (*first).min(j);
                    }
                }
            }
            map
        });
        opened.get(&key).map(|&j| j as usize)
    }

    pub fn resolve(&self, timeline: &Timeline, i: usize) -> Option<Resolved> {
        let a = timeline.rec(i);
        if a.item.is_empty() && a.message_id().is_empty() {
            return None;
        }
        let (records, tables) = self.mailbox_of(timeline, i)?;
        if a.kind == Kind::MessageDelivered {
            return Some(Resolved::new(a.item, Via::ItemId, Some(i)));
        }
        let moves = tables
            .moves
            .get_or_init(|| MoveLinks::of(timeline, records));
        let (origin, moved) = moves.origin(a.item);
        let lookup = Lookup {
            timeline,
            records,
            tables,
            deliveries: self.deliveries(timeline, records),
            i,
            origin,
            moved: moved.is_some(),
            // A row with no item id is known by its message id alone.
            key: if a.item.is_empty() {
                a.message_id()
            } else {
                origin
            },
        };
        // In order: the strongest evidence first (`docs/scope.md` §1).
        let found = lookup
            .by_item_id()
            .or_else(|| lookup.sent_here())
            .or_else(|| lookup.by_message_id())
            .or_else(|| lookup.own_row())
            .or_else(|| lookup.by_thread());
        Some(found.unwrap_or(Resolved::new(lookup.key, Via::Unresolved, None)))
    }
}

/// One record's resolution, step by step ([`Catalogue::resolve`]).
struct Lookup<'a> {
    timeline: &'a Timeline,
    records: Records,
    tables: &'a MailboxItems,
    deliveries: &'a Deliveries,
    i: usize,
    /// The oldest id the move links lead back to (the row's own if none).
    origin: IdHash,
    moved: bool,
    key: IdHash,
}

impl Lookup<'_> {
    fn rec(&self) -> Rec<'_> {
        self.timeline.rec(self.i)
    }

    fn found(&self, via: Via, from: Option<usize>) -> Option<Resolved> {
        from.map(|from| Resolved::new(self.key, via, Some(from)))
    }

    /// A delivery of the id it was delivered with, or of its own id.
    fn by_item_id(&self) -> Option<Resolved> {
        let via = if self.moved { Via::Moved } else { Via::ItemId };
        let (tl, item) = (self.timeline, self.rec().item);
        self.found(via, self.deliveries.by_item(tl, self.origin))
            .or_else(|| self.found(Via::ItemId, self.deliveries.by_item(tl, item)))
    }

    /// A `MessageSent` of the item: sent from this mailbox.
    fn sent_here(&self) -> Option<Resolved> {
        let (tl, records) = (self.timeline, self.records);
        let sent = self
            .tables
            .sent
            .get_or_init(|| first_by(tl, records, Kind::MessageSent, item_of));
        self.found(Via::Sent, find(tl, sent, self.origin, item_of))
    }

    /// A delivery of the row's `InternetMessageId`, else of the one another
    /// row of the same item carries; its id becomes the item's identity.
    fn by_message_id(&self) -> Option<Resolved> {
        let (tl, records) = (self.timeline, self.records);
        let a = self.rec();
        let id = Some(a.message_id())
            .filter(|id| !id.is_empty())
            .or_else(|| {
                let ids = self
                    .tables
                    .message_ids
                    .get_or_init(|| message_ids_of(tl, records));
                ids.get(&self.origin).or_else(|| ids.get(&a.item)).copied()
            })?;
        let d = self.deliveries.by_message_id(tl, id)?;
        Some(Resolved::new(tl.activity(d).item, Via::MessageId, Some(d)))
    }

    /// The row names the message's sender or subject itself.
    fn own_row(&self) -> Option<Resolved> {
        let a = self.rec();
        let named = a.sender().is_some() || a.subject().is_some();
        named.then(|| Resolved::new(self.key, Via::OwnRow, Some(self.i)))
    }

    /// Only a delivery in the same thread.
    fn by_thread(&self) -> Option<Resolved> {
        let (tl, records) = (self.timeline, self.records);
        let conversations = self
            .tables
            .conversations
            .get_or_init(|| first_by(tl, records, Kind::MessageDelivered, conversation_of));
        let d = find(
            tl,
            conversations,
            self.rec().conversation(),
            conversation_of,
        );
        self.found(Via::Conversation, d)
    }
}

#[cfg(test)]
mod tests {
    use super::same_folder;

    #[test]
    fn folder_ids_must_agree_names_cannot_be_compared() {
        let id = "LgAAAAC3HcBsw9HdTJn3mWBmGvcBAQBxq7UoN0ZnR4nT1XqC2kTfAAAH2kPAAAB";
        let other = "LgAAAAC3HcBsw9HdTJn3mWBmGvcBAQBxq7UoN0ZnR4nT1XqC2kTfAAAH2kQAAAB";
        assert!(same_folder(Some(id), Some(id)));
        assert!(!same_folder(Some(id), Some(other)));
        assert!(same_folder(Some(id), Some("RssSubscription")));
        assert!(same_folder(None, Some(id)));
    }
}
