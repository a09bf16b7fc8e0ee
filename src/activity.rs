//! The normalised activity: one export row after parsing, whatever the
//! producer variant. Records are compact (interned strings, hashed ids, only
//! the properties rules and reports read); [`Rec`] is the view rules use.
//! The full row stays in the file and is read again by offset for exports.

use crate::intern::{Strings, Sym};
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::hash::Hash;

/// Declares an open enumeration: the catalogue's names as constants, plus
/// any other value kept verbatim (interned), since both sets are open (spec
/// §5, §6). Packed in 4 bytes: a catalogue index, or the top bit set over
/// the symbol of a name outside the catalogue. Constants match in patterns
/// like enum variants.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(u32);

        #[allow(non_upper_case_globals)]
        impl $name {
            const NAMES: &'static [&'static str] = &[$($text),+];
            $(pub const $variant: $name = $name(catalogue_index(Self::NAMES, $text));)+

            pub fn parse(text: &str, strings: &mut Strings) -> Self {
                match text {
                    $($text => $name::$variant,)+
                    other => Self::unknown(strings.intern(other)),
                }
            }

            /// A name outside the catalogue (symbols past 2^31, which no
            /// run can hold, share the last slot).
            fn unknown(sym: Sym) -> Self {
                $name(UNKNOWN | (sym.index() as u32).min(!UNKNOWN))
            }

            fn unknown_sym(self) -> Option<Sym> {
                (self.0 & UNKNOWN != 0).then(|| Sym::from_index(self.0 & !UNKNOWN))
            }

            /// The name as written in the export.
            pub fn name<'s>(&self, strings: &'s Strings) -> &'s str {
                match self.unknown_sym() {
                    Some(sym) => strings.get(sym),
                    None => Self::NAMES.get(self.0 as usize).copied().unwrap_or(""),
                }
            }

            pub fn is_known(&self) -> bool {
                self.unknown_sym().is_none()
            }

            pub(crate) fn remap(self, map: &[Sym]) -> Self {
                match self.unknown_sym() {
                    Some(sym) => Self::unknown(map.get(sym.index()).copied().unwrap_or(sym)),
                    None => self,
                }
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.unknown_sym() {
                    Some(sym) => write!(f, "{}::Unknown({sym:?})", stringify!($name)),
                    None => f.write_str(Self::NAMES.get(self.0 as usize).copied().unwrap_or("?")),
                }
            }
        }
    };
}

/// The flag of an open enumeration's value outside the catalogue.
const UNKNOWN: u32 = 1 << 31;

/// Position of `name` in `names`, at compile time (a constant that is not
/// in its own catalogue fails the build).
const fn catalogue_index(names: &[&str], name: &str) -> u32 {
    let mut i = 0;
    while i < names.len() {
        let (a, b) = (names[i].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return i as u32;
            }
        }
        i += 1;
    }
    panic!("name not in the catalogue")
}

open_enum! {
    /// `AppIdType`: the client class (`docs/format.md` §5).
    App {
        Web = "Web", Exchange = "Exchange", Outlook = "Outlook", Mobile = "Mobile",
        MacOutlook = "MacOutlook", MacMail = "MacMail", Pop3 = "POP3", Imap4 = "IMAP4",
        Imap = "IMAP", Lync = "Lync", Other = "Other", Tablet = "Tablet", Desktop = "Desktop",
    }
}

open_enum! {
    /// `ActivityIdType` (`docs/format.md` §6 A–C; `docs/rules.md` §2.9 catalogue).
    Kind {
        // A: documented by CrowdStrike.
        Delete = "Delete", Forward = "Forward", LinkClicked = "LinkClicked",
        MarkAsRead = "MarkAsRead", MarkAsUnread = "MarkAsUnread",
        MessageDelivered = "MessageDelivered", MessageSent = "MessageSent", Move = "Move",
        OpenedAnAttachment = "OpenedAnAttachment", ReadingPaneDisplayEnd = "ReadingPaneDisplayEnd",
        ReadingPaneDisplayStart = "ReadingPaneDisplayStart", Reply = "Reply",
        SearchResult = "SearchResult", ServerLogon = "ServerLogon",
        // B: seen in Exchange Online.
        Logon = "Logon", ReplyAll = "ReplyAll", SearchSuggestionsDisplay = "SearchSuggestionsDisplay",
        SearchSuggestionDisplay = "SearchSuggestionDisplay",
        AcceptCalendarEvent = "AcceptCalendarEvent", AcceptedMeetingRequest = "AcceptedMeetingRequest",
        CancelMeeting = "CancelMeeting", ClutterNotificationSent = "ClutterNotificationSent",
        ContactCreated = "ContactCreated", CopyItem = "CopyItem", CreateAppointment = "CreateAppointment",
        CreateFolder = "CreateFolder", CreateTask = "CreateTask",
        DeclineCalendarEvent = "DeclineCalendarEvent", DeclinedMeetingRequest = "DeclinedMeetingRequest",
        DeleteCalendarEvent = "DeleteCalendarEvent", DeleteFolder = "DeleteFolder",
        DraftCreated = "DraftCreated", Error = "Error", FavoriteFolder = "FavoriteFolder", Flag = "Flag",
        FlagCleared = "FlagCleared", GetUserUnifiedGroups = "GetUserUnifiedGroups",
        MarkMessageAsClutter = "MarkMessageAsClutter", MarkMessageAsNotClutter = "MarkMessageAsNotClutter",
        NewMessage = "NewMessage", SearchQueryExecute = "SearchQueryExecute",
        SearchRefinersDisplay = "SearchRefinersDisplay", SearchRequestEnd = "SearchRequestEnd",
        SearchSessionStart = "SearchSessionStart", SendMeetingRequest = "SendMeetingRequest",
        SetConversationAlwaysClutterState = "SetConversationAlwaysClutterState",
        TentativeMeetingRequest = "TentativeMeetingRequest",
        TentativelyAcceptCalendarEvent = "TentativelyAcceptCalendarEvent",
        UpdateCalendarEvent = "UpdateCalendarEvent",
        // C: Exchange 2013 enum, unverified in Exchange Online; used by rules.
        MessageSelected = "MessageSelected", InspectorDisplayStart = "InspectorDisplayStart",
        InspectorDisplayEnd = "InspectorDisplayEnd", PreviewOfAttachmentStarted = "PreviewOfAttachmentStarted",
        DeleteFromInbox = "DeleteFromInbox", RemoteSend = "RemoteSend", MarkAsJunk = "MarkAsJunk",
        MarkAllItemsAsRead = "MarkAllItemsAsRead", MoveFromInbox = "MoveFromInbox", MoveToInbox = "MoveToInbox",
        SearchSessionEnd = "SearchSessionEnd", SearchRequestStart = "SearchRequestStart",
        SearchResultsReceived = "SearchResultsReceived", FlagComplete = "FlagComplete",
    }
}

impl Kind {
    /// Both spellings of the search-keystroke type (`docs/format.md` §6 B).
    pub fn is_search_suggestion(&self) -> bool {
        matches!(
            *self,
            Kind::SearchSuggestionsDisplay | Kind::SearchSuggestionDisplay
        )
    }

    pub fn is_logon(&self) -> bool {
        matches!(*self, Kind::ServerLogon | Kind::Logon)
    }
}

/// Where the activity's time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    TimeStamp,
    /// `TimeStamp` was the `0001-01-01` sentinel or unreadable, so the
    /// server's `ActivityCreationTime` stands in.
    CreationTime,
}

/// Where a record came from: input index (into the report's inputs) and the
/// 1-based physical line where the row starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source {
    pub file: u32,
    /// Lines past `u32::MAX` are refused at read time (a file of more than
    /// four billion lines is not an Activities export).
    pub line: u32,
}

/// A 64-bit identity of an id string (item, message, conversation): rules
/// only compare ids, so the text is not kept. 0 is "no id"; every other
/// value is odd.
///
/// Keyed (SipHash with a key drawn once per run): an `InternetMessageId` is
/// whatever the sender wrote, and with a public hash an attacker could
/// forge one that links their message to another's delivery. Nothing
/// depends on the values beyond equality, so output stays the same from
/// run to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct IdHash(pub u64);

impl IdHash {
    pub fn of(text: &str) -> IdHash {
        use std::hash::BuildHasher;
        static KEY: std::sync::OnceLock<std::hash::RandomState> = std::sync::OnceLock::new();
        let text = text.trim();
        if text.is_empty() {
            return IdHash(0);
        }
        // Never 0, which means "none".
        IdHash(KEY.get_or_init(Default::default).hash_one(text) | 1)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The CustomProperties keys rules and reports read (`docs/rules.md`); other
/// keys of known activity types are left in the file.
macro_rules! prop_keys {
    ($($variant:ident),+ $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub enum PropKey { $($variant,)+ }

        impl PropKey {
            pub fn from_name(name: &str) -> Option<PropKey> {
                match name {
                    $(stringify!($variant) => Some(PropKey::$variant),)+
                    _ => None,
                }
            }

            pub fn name(self) -> &'static str {
                match self { $(PropKey::$variant => stringify!($variant),)+ }
            }

            const ALL: &'static [PropKey] = &[$(PropKey::$variant,)+];
        }
    };
}

prop_keys! {
    ClientIP, IPAddress, UserAgent, Browser, UserName, Result, ExceptionInfo, Timezone, ClientString,
    Query, SuggestionStimulus, Sid, DeliveredFolderType, DeliveredToInbox, DelieveredToInbox,
    DeliveredToClutter, DeliveredFolderId, SenderSmtpAddress, SenderAddress, From, Subject,
    IsConversation, DeleteType, DeletedByEmptyFolder, DeletedByDeleteAll, SourceDefaultFolderType,
    SourceFolder, TargetFolder, DestinationFolder, SelectedFolderName, MoveType, RuleName, Name,
    DisplayName, AttachmentAction, ItemClass,
}

/// One kept property: a known key (index below 256) or, for activity types
/// outside the catalogue, any key by interned name; the value interned.
/// Stored in the arena as one word or three (see [`Arenas`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prop {
    key: u32,
    pub value: Sym,
}

const OTHER_KEY: u32 = 256;

impl Prop {
    pub fn known(key: PropKey, value: Sym) -> Prop {
        Prop {
            key: key as u32,
            value,
        }
    }

    pub fn other(name: Sym, value: Sym) -> Prop {
        Prop {
            key: OTHER_KEY + name.index() as u32,
            value,
        }
    }

    pub fn same_key(&self, other: &Prop) -> bool {
        self.key == other.key
    }

    pub fn known_key(self) -> Option<PropKey> {
        PropKey::ALL
            .get(self.key as usize)
            .copied()
            .filter(|_| self.key < OTHER_KEY)
    }

    fn key_name(self, strings: &Strings) -> &str {
        match self.known_key() {
            Some(k) => k.name(),
            None => strings.get(crate::intern::Sym::from_index(self.key - OTHER_KEY)),
        }
    }

    pub(crate) fn remap(self, map: &[Sym]) -> Prop {
        let re = |s: Sym| map.get(s.index()).copied().unwrap_or(s);
        let key = if self.key >= OTHER_KEY {
            OTHER_KEY + re(Sym::from_index(self.key - OTHER_KEY)).index() as u32
        } else {
            self.key
        };
        Prop {
            key,
            value: re(self.value),
        }
    }

    /// Appends the arena form: one word (the key in the top six bits over a
    /// value symbol below 2^26), or [`LONG_PROP`] and two words.
    fn encode(self, words: &mut Vec<u32>) {
        let key = self.key;
        let value = self.value.index() as u32;
        if key < LONG_PROP && value < 1 << VALUE_BITS {
            words.push(key << VALUE_BITS | value);
        } else {
            words.extend([LONG_PROP << VALUE_BITS, key, value]);
        }
    }
}

/// Bits of a one-word property's value symbol.
const VALUE_BITS: u32 = 26;
/// The key bits of a property stored in three words.
const LONG_PROP: u32 = (1 << (32 - VALUE_BITS)) - 1;
// Every catalogue key fits a one-word property.
const _: () = assert!(PropKey::ALL.len() < LONG_PROP as usize);

/// Decodes the properties a record's words start with.
#[derive(Clone)]
struct PropWords<'a>(&'a [u32]);

impl Iterator for PropWords<'_> {
    type Item = Prop;

    fn next(&mut self) -> Option<Prop> {
        let (&word, rest) = self.0.split_first()?;
        let key = word >> VALUE_BITS;
        if key != LONG_PROP {
            self.0 = rest;
            return Some(Prop {
                key,
                value: Sym::from_index(word & ((1 << VALUE_BITS) - 1)),
            });
        }
        let [key, value, rest @ ..] = rest else {
            self.0 = &[];
            return None;
        };
        self.0 = rest;
        Some(Prop {
            key: *key,
            value: Sym::from_index(*value),
        })
    }
}

/// The hashed `InternetMessageId` and `ConversationId` of a row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageIds {
    pub message_id: IdHash,
    pub conversation: IdHash,
}

impl MessageIds {
    pub fn is_empty(&self) -> bool {
        self.message_id.is_empty() && self.conversation.is_empty()
    }
}

/// A record's extras: a header word, then its property words, then its
/// message ids (two words each, present ones only). The header holds the
/// number of property words and a bit per id.
#[derive(Debug, Clone, Copy)]
struct Header(u32);

impl Header {
    const MESSAGE_ID: u32 = 1 << 31;
    const CONVERSATION: u32 = 1 << 30;
    const PROP_WORDS: u32 = Self::CONVERSATION - 1;

    fn prop_words(self) -> usize {
        (self.0 & Self::PROP_WORDS) as usize
    }
}

/// [`Activity::extras`] of a row with no kept property and no message id.
const NO_EXTRAS: u32 = u32::MAX;

/// What records point into: interned strings, and each record's extras
/// (kept properties and message ids) as `u32` words, so that a row pays
/// only for what it has. One set per run; parallel batches and inputs are
/// merged into it.
#[derive(Debug, Default)]
pub struct Arenas {
    pub strings: Strings,
    extras: Vec<u32>,
    /// The properties of the row being read: deduplicated here, then
    /// encoded by [`Arenas::finish_row`].
    pending: Vec<Prop>,
}

impl Arenas {
    /// Empty arenas that take over `spent`'s allocations (emptied by
    /// [`append_records`]): refilling memory already paged in costs less
    /// than faulting in new.
    pub fn reusing(spent: Arenas) -> Arenas {
        let Arenas {
            mut extras,
            mut pending,
            ..
        } = spent;
        extras.clear();
        pending.clear();
        Arenas {
            strings: Strings::default(),
            extras,
            pending,
        }
    }

    /// Words of extras held.
    pub fn extras_len(&self) -> usize {
        self.extras.len()
    }

    pub fn reserve_extras(&mut self, words: usize) {
        self.extras.reserve(words);
    }

    /// Starts a row's properties (drops any left by an abandoned one).
    pub fn begin_row(&mut self) {
        self.pending.clear();
    }

    /// Keeps one property of the row being read; a repeated key takes the
    /// last value in the first position, as Python's dict did.
    pub fn keep_prop(&mut self, prop: Prop) {
        match self.pending.iter_mut().find(|p| p.same_key(&prop)) {
            Some(existing) => existing.value = prop.value,
            None => self.pending.push(prop),
        }
    }

    /// Writes the row's properties and `ids`; returns where they start, for
    /// [`Activity::set_extras`].
    pub fn finish_row(&mut self, ids: MessageIds) -> Result<u32, Capacity> {
        if self.pending.is_empty() && ids.is_empty() {
            return Ok(NO_EXTRAS);
        }
        let start = write_extras(&mut self.extras, self.pending.iter().copied(), ids)?;
        self.pending.clear();
        Ok(start)
    }
}

/// Appends one record's extras (header, property words, id words) and
/// returns where they start.
fn write_extras(
    extras: &mut Vec<u32>,
    props: impl Iterator<Item = Prop>,
    ids: MessageIds,
) -> Result<u32, Capacity> {
    let start = u32::try_from(extras.len())
        .ok()
        .filter(|&at| at != NO_EXTRAS)
        .ok_or(Capacity::Properties)?;
    extras.push(0);
    for p in props {
        p.encode(extras);
    }
    let prop_words = (extras.len() - start as usize - 1).min(Header::PROP_WORDS as usize);
    let mut header = prop_words as u32;
    for (id, bit) in [
        (ids.message_id, Header::MESSAGE_ID),
        (ids.conversation, Header::CONVERSATION),
    ] {
        if !id.is_empty() {
            header |= bit;
            extras.extend([id.0 as u32, (id.0 >> 32) as u32]);
        }
    }
    extras[start as usize] = header;
    Ok(start)
}

/// One record's extras, read from the arena.
#[derive(Clone, Copy)]
struct Extras<'a> {
    header: Header,
    /// Property words, then message id words (and later records' words).
    words: &'a [u32],
}

impl<'a> Extras<'a> {
    const NONE: Extras<'static> = Extras {
        header: Header(0),
        words: &[],
    };

    fn at(extras: &'a [u32], start: u32) -> Extras<'a> {
        match extras.get(start as usize..) {
            Some([header, words @ ..]) if start != NO_EXTRAS => Extras {
                header: Header(*header),
                words,
            },
            _ => Extras::NONE,
        }
    }

    /// The record's own words (property and id words), without the
    /// records after it.
    fn own_words(self) -> &'a [u32] {
        let ids = [Header::MESSAGE_ID, Header::CONVERSATION]
            .iter()
            .filter(|&&bit| self.header.0 & bit != 0)
            .count();
        let len = self.header.prop_words() + 2 * ids;
        self.words.get(..len).unwrap_or(self.words)
    }

    fn props(self) -> PropWords<'a> {
        PropWords(self.words.get(..self.header.prop_words()).unwrap_or(&[]))
    }

    fn ids(self) -> MessageIds {
        let mut rest = self.words.get(self.header.prop_words()..).unwrap_or(&[]);
        let mut take = |bit: u32| match rest {
            [low, high, tail @ ..] if self.header.0 & bit != 0 => {
                rest = tail;
                IdHash(u64::from(*high) << 32 | u64::from(*low))
            }
            _ => IdHash::default(),
        };
        MessageIds {
            message_id: take(Header::MESSAGE_ID),
            conversation: take(Header::CONVERSATION),
        }
    }
}

/// One normalised record, compact: 48 bytes plus its extras, where it has
/// any. Where it came from is packed (see [`Activity::source`] and
/// [`Activity::raw`]).
#[derive(Debug, Clone)]
pub struct Activity {
    pub time: DateTime<Utc>,
    pub item: IdHash,
    pub session: Sym,
    pub app: App,
    pub kind: Kind,
    line: u32,
    /// The input's index: a run takes at most [`MAX_INPUTS`] inputs.
    file: u16,
    /// Bits 32–45 of the raw offset, and two flags: [`Self::FROM_CREATION`]
    /// and [`Self::SALVAGED`].
    raw_high_and_flags: u16,
    raw_low: u32,
    /// Where its extras start in the arena, or [`NO_EXTRAS`].
    extras: u32,
}

// A million-row mailbox holds a million of these: keep growth deliberate.
const _: () = assert!(std::mem::size_of::<Activity>() == 48);

/// A table of the run is full: the row cannot be stored (no real export
/// comes near either bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Capacity {
    #[error("too many properties in one run")]
    Properties,
    #[error("row starts past byte {MAX_RAW}: split the file")]
    Offset,
}

/// Inputs one run can read (an input's index is stored in 16 bits).
pub const MAX_INPUTS: usize = 1 << 16;

/// Raw offsets a record can hold: 64 TiB, far past any export.
const MAX_RAW: u64 = 1 << 46;

impl Activity {
    const FROM_CREATION: u16 = 1 << 14;
    const SALVAGED: u16 = 1 << 15;

    /// A record without properties, raw offset 0, item, session or client
    /// type; the parser fills those in.
    pub fn new(
        time: DateTime<Utc>,
        time_source: TimeSource,
        source: Source,
        kind: Kind,
    ) -> Activity {
        let flags = match time_source {
            TimeSource::TimeStamp => 0,
            TimeSource::CreationTime => Self::FROM_CREATION,
        };
        Activity {
            time,
            item: IdHash::default(),
            session: Sym::EMPTY,
            app: App::Other,
            kind,
            line: source.line,
            // Within range: inputs past MAX_INPUTS are refused at the start.
            file: u16::try_from(source.file).unwrap_or(u16::MAX),
            raw_high_and_flags: flags,
            raw_low: 0,
            extras: NO_EXTRAS,
        }
    }

    /// Input and line the record was read from.
    pub fn source(&self) -> Source {
        Source {
            file: u32::from(self.file),
            line: self.line,
        }
    }

    /// Renumbers the record's input (one account of a pasted file becomes
    /// an input of its own: `input/accounts.rs`).
    pub fn set_file(&mut self, file: u32) {
        self.file = u16::try_from(file).unwrap_or(u16::MAX);
    }

    /// Where the raw row starts in its input's raw store (for exports).
    pub fn raw(&self) -> u64 {
        u64::from(self.raw_high_and_flags & (Self::FROM_CREATION - 1)) << 32
            | u64::from(self.raw_low)
    }

    /// Sets the raw offset; one past 64 TiB is an error.
    pub fn set_raw(&mut self, offset: u64) -> Result<(), Capacity> {
        if offset >= MAX_RAW {
            return Err(Capacity::Offset);
        }
        let flags = self.raw_high_and_flags & !(Self::FROM_CREATION - 1);
        self.raw_high_and_flags = flags | (offset >> 32) as u16;
        self.raw_low = offset as u32;
        Ok(())
    }

    /// Where the time came from.
    pub fn time_source(&self) -> TimeSource {
        if self.raw_high_and_flags & Self::FROM_CREATION != 0 {
            TimeSource::CreationTime
        } else {
            TimeSource::TimeStamp
        }
    }

    /// `CustomProperties` was not a valid literal: pairs were salvaged.
    pub fn salvaged(&self) -> bool {
        self.raw_high_and_flags & Self::SALVAGED != 0
    }

    pub fn set_salvaged(&mut self) {
        self.raw_high_and_flags |= Self::SALVAGED;
    }

    /// Points the record at its extras ([`Arenas::finish_row`]).
    pub fn set_extras(&mut self, start: u32) {
        self.extras = start;
    }

    /// A time no export can hold (before 2000 or after 2099): kept, but
    /// reported, since it bends the span and sort order.
    pub fn implausible_time(&self) -> bool {
        use chrono::Datelike;
        !(2000..2100).contains(&self.time.year())
    }
}

/// Moves records, whose symbols and extras refer to `their` arenas, into
/// `our` arenas and records: symbols are re-interned and extras re-encoded.
/// Used to merge parallel batches and inputs. `their` tables are left
/// empty, their allocations kept for reuse.
pub fn append_records(
    our: (&mut Arenas, &mut Vec<Activity>),
    their: (&mut Arenas, &mut Vec<Activity>),
) {
    let ((arenas, activities), (theirs, their_activities)) = (our, their);
    let remap = arenas.strings.absorb(std::mem::take(&mut theirs.strings));
    activities.reserve(their_activities.len());
    arenas.extras.reserve(theirs.extras.len());
    for mut a in their_activities.drain(..) {
        a.kind = a.kind.remap(&remap);
        a.app = a.app.remap(&remap);
        a.session = remap.get(a.session.index()).copied().unwrap_or(a.session);
        if a.extras != NO_EXTRAS {
            let extras = Extras::at(&theirs.extras, a.extras);
            let props = extras.props().map(|p| p.remap(&remap));
            // Fails only past 2^32 words of extras in one run (some 700
            // million rows), which the inputs' own arenas would hit first.
            a.extras = write_extras(&mut arenas.extras, props, extras.ids()).unwrap_or(NO_EXTRAS);
        }
        activities.push(a);
    }
    theirs.extras.clear();
}

/// A record with the tables that give its symbols meaning: what rules and
/// reports read. Derefs to [`Activity`] for the plain fields.
#[derive(Clone, Copy)]
pub struct Rec<'a> {
    activity: &'a Activity,
    strings: &'a Strings,
    extras: Extras<'a>,
}

impl std::ops::Deref for Rec<'_> {
    type Target = Activity;
    fn deref(&self) -> &Activity {
        self.activity
    }
}

impl<'a> Rec<'a> {
    pub fn new(activity: &'a Activity, arenas: &'a Arenas) -> Rec<'a> {
        Rec {
            activity,
            strings: &arenas.strings,
            extras: Extras::at(&arenas.extras, activity.extras),
        }
    }

    fn prop_words(&self) -> PropWords<'a> {
        self.extras.props()
    }

    fn message_ids(&self) -> MessageIds {
        self.extras.ids()
    }

    /// A digest of everything the record holds except where it sits in
    /// the file: records of byte-identical rows have equal fingerprints, so
    /// rows whose fingerprints differ need not be read again to tell them
    /// apart.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let a = self.activity;
        let mut h = rustc_hash::FxHasher::default();
        let flags = a.raw_high_and_flags & (Activity::FROM_CREATION | Activity::SALVAGED);
        (a.time, a.item, a.session, a.app, a.kind, flags).hash(&mut h);
        (self.extras.header.0, self.extras.own_words()).hash(&mut h);
        h.finish()
    }

    /// `InternetMessageId`, hashed (empty when the row has none).
    pub fn message_id(&self) -> IdHash {
        self.message_ids().message_id
    }

    /// `ConversationId`, hashed (empty when the row has none).
    pub fn conversation(&self) -> IdHash {
        self.message_ids().conversation
    }

    pub fn kind_name(&self) -> &'a str {
        self.activity.kind.name(self.strings)
    }

    pub fn app_name(&self) -> &'a str {
        self.activity.app.name(self.strings)
    }

    pub fn session_id(&self) -> &'a str {
        self.strings.get(self.activity.session)
    }

    /// The kept properties, key and value, in the file's order.
    pub fn props(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let strings = self.strings;
        self.prop_words()
            .map(move |p| (p.key_name(strings), strings.get(p.value)))
    }

    /// A property as text, `None` when absent, `None` or empty.
    pub fn prop(&self, key: &str) -> Option<Cow<'a, str>> {
        let p = match PropKey::from_name(key) {
            Some(k) => return self.get(k).map(Cow::Borrowed),
            None => self
                .prop_words()
                .find(|p| p.known_key().is_none() && p.key_name(self.strings) == key)?,
        };
        let text = self.strings.get(p.value);
        (!text.is_empty()).then_some(Cow::Borrowed(text))
    }

    /// A kept property by key, `None` when absent or empty.
    pub fn get(&self, key: PropKey) -> Option<&'a str> {
        self.non_empty(key).map(|p| self.strings.get(p.value))
    }

    /// The property `key`, when present and not empty.
    fn non_empty(&self, key: PropKey) -> Option<Prop> {
        let p = self.prop_words().find(|p| p.key == key as u32)?;
        (!self.strings.get(p.value).is_empty()).then_some(p)
    }

    /// A boolean property in any of its spellings (`True`, `1`, `true`).
    pub fn flag(&self, key: &str) -> Option<bool> {
        let text = self.prop(key)?;
        let text = text.trim();
        let any = |words: &[&str]| words.iter().any(|w| text.eq_ignore_ascii_case(w));
        if any(&["true", "1", "yes"]) {
            Some(true)
        } else if any(&["false", "0", "no"]) {
            Some(false)
        } else {
            None
        }
    }

    fn first_prop(&self, keys: &[PropKey]) -> Option<Cow<'a, str>> {
        keys.iter().find_map(|&k| self.get(k)).map(Cow::Borrowed)
    }

    /// Client IP of a logon row (`ServerLogon.ClientIP`, `Logon.IPAddress`).
    pub fn client_ip(&self) -> Option<Cow<'a, str>> {
        self.first_prop(&[PropKey::ClientIP, PropKey::IPAddress])
    }

    /// Client software of a logon row (`UserAgent`, `Browser`).
    pub fn user_agent(&self) -> Option<Cow<'a, str>> {
        self.first_prop(&[PropKey::UserAgent, PropKey::Browser])
    }

    pub fn user_name(&self) -> Option<Cow<'a, str>> {
        self.get(PropKey::UserName).map(Cow::Borrowed)
    }

    pub fn subject(&self) -> Option<Cow<'a, str>> {
        self.get(PropKey::Subject).map(Cow::Borrowed)
    }

    pub fn sender(&self) -> Option<Cow<'a, str>> {
        self.first_prop(SENDER_KEYS)
    }

    /// The interned symbol of [`Rec::sender`]: equal symbols are equal
    /// texts, so a rule can key a map by it without hashing the text.
    pub fn sender_sym(&self) -> Option<Sym> {
        SENDER_KEYS
            .iter()
            .find_map(|&k| self.non_empty(k))
            .map(|p| p.value)
    }

    pub fn logon_result(&self) -> Option<Cow<'a, str>> {
        self.get(PropKey::Result).map(Cow::Borrowed)
    }

    /// The search text as exported (`Query`, else a keystroke row's
    /// `SuggestionStimulus`), verbatim: what reports quote.
    pub fn search_text(&self) -> Option<&'a str> {
        [PropKey::Query, PropKey::SuggestionStimulus]
            .iter()
            .find_map(|&k| self.get(k))
            .filter(|t| !t.trim().is_empty())
    }

    /// The search text of a `SearchResult` (`Query`, XML-ish tags stripped,
    /// lower-cased, whitespace collapsed) or a keystroke row's stimulus.
    pub fn search_term(&self) -> Option<String> {
        let raw = self.first_prop(&[PropKey::Query, PropKey::SuggestionStimulus])?;
        let term = normalise_term(&raw);
        (!term.is_empty()).then_some(term)
    }

    /// The folder the row is about, by name where the export gives a code:
    /// delivery folder, move target, or the folder the client had open.
    pub fn folder(&self) -> Option<Cow<'a, str>> {
        if let Some(code) = self.get(PropKey::DeliveredFolderType).map(Cow::Borrowed) {
            return Some(match folder_type_name(&code) {
                Some(name) => Cow::Borrowed(name),
                None => code,
            });
        }
        self.first_prop(&[
            PropKey::TargetFolder,
            PropKey::DestinationFolder,
            PropKey::SelectedFolderName,
            PropKey::SourceFolder,
            PropKey::SourceDefaultFolderType,
        ])
    }
}

/// Where a row names its sender, in order of preference.
const SENDER_KEYS: &[PropKey] = &[
    PropKey::SenderSmtpAddress,
    PropKey::SenderAddress,
    PropKey::From,
];

/// Strips `<tags>`, lower-cases and collapses whitespace (`docs/rules.md` §2.3).
pub fn normalise_term(raw: &str) -> String {
    let mut text = String::with_capacity(raw.len());
    let mut in_tag = false;
    for c in raw.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.extend(c.to_lowercase()),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Exchange `DefaultFolderType` codes seen in `DeliveredFolderType`
/// (`docs/rules.md` §1.2).
pub fn folder_type_name(code: &str) -> Option<&'static str> {
    Some(match code.trim() {
        "0" => "Custom",
        "1" => "Calendar",
        "3" => "DeletedItems",
        "4" => "Drafts",
        "5" => "Inbox",
        "6" => "JunkEmail",
        "9" => "Outbox",
        "10" => "SentItems",
        "17" => "RssSubscription",
        "21" => "CommunicatorHistory",
        "40" => "RecoverableItemsDeletions",
        "41" => "RecoverableItemsPurges",
        "68" => "Clutter",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_pass_through() {
        let mut strings = Strings::default();
        assert_eq!(
            Kind::parse("SearchResult", &mut strings),
            Kind::SearchResult
        );
        let odd = Kind::parse("NewInboxRule", &mut strings);
        assert_eq!(odd.name(&strings), "NewInboxRule");
        assert!(!odd.is_known());
        assert_eq!(App::parse("POP3", &mut strings), App::Pop3);
    }

    /// A bare record read from `source`.
    fn record(source: Source, kind: Kind, time_source: TimeSource) -> Activity {
        Activity::new(DateTime::default(), time_source, source, kind)
    }

    /// A delivery with three properties (one repeated) and a message id.
    fn delivery(arenas: &mut Arenas) -> Activity {
        arenas.begin_row();
        let strings = &mut arenas.strings;
        let props = [
            Prop::known(PropKey::Subject, strings.intern("Draft")),
            Prop::other(strings.intern("Odd"), strings.intern("x")),
            Prop::known(PropKey::DeliveredToInbox, strings.intern("False")),
            Prop::known(PropKey::Subject, strings.intern("Invoice")),
        ];
        for p in props {
            arenas.keep_prop(p);
        }
        let ids = MessageIds {
            message_id: IdHash::of("<1@x>"),
            conversation: IdHash::default(),
        };
        let source = Source { file: 0, line: 2 };
        let mut a = record(source, Kind::MessageDelivered, TimeSource::TimeStamp);
        a.item = IdHash::of("AAMk");
        a.set_extras(arenas.finish_row(ids).unwrap());
        a
    }

    #[test]
    fn props_by_key_and_ids_by_hash() {
        let mut arenas = Arenas::default();
        let a = delivery(&mut arenas);
        let r = Rec::new(&a, &arenas);
        assert_eq!(r.message_id(), IdHash::of("<1@x>"));
        assert!(r.conversation().is_empty());
        assert_eq!(r.subject().unwrap(), "Invoice");
        assert_eq!(r.prop("Odd").unwrap(), "x");
        assert_eq!(r.flag("DeliveredToInbox"), Some(false));
        assert!(r.prop("Query").is_none());
        assert_eq!(
            r.props().collect::<Vec<_>>(),
            [
                ("Subject", "Invoice"),
                ("Odd", "x"),
                ("DeliveredToInbox", "False")
            ]
        );
        assert!(IdHash::of("  ").is_empty());
        assert_eq!(IdHash::of("AAMk"), a.item);
    }

    #[test]
    fn merged_records_keep_their_properties_and_ids() {
        let mut ours = Arenas::default();
        ours.strings.intern("taken first");
        let mut ours_records = vec![delivery(&mut ours)];
        let mut theirs = Arenas::default();
        let source = Source { file: 0, line: 9 };
        let mut bare = record(source, Kind::Move, TimeSource::TimeStamp);
        bare.set_extras(theirs.finish_row(MessageIds::default()).unwrap());
        let their_records = vec![bare, delivery(&mut theirs)];
        let mut their_records = their_records;
        append_records(
            (&mut ours, &mut ours_records),
            (&mut theirs, &mut their_records),
        );
        assert!(their_records.is_empty() && theirs.extras_len() == 0);
        let merged = Rec::new(&ours_records[2], &ours);
        assert_eq!(merged.subject().unwrap(), "Invoice");
        assert_eq!(merged.prop("Odd").unwrap(), "x");
        assert_eq!(merged.message_id(), IdHash::of("<1@x>"));
        let bare = Rec::new(&ours_records[1], &ours);
        assert_eq!(bare.props().count(), 0);
        assert!(bare.message_id().is_empty());
    }

    #[test]
    fn raw_offset_and_flags_share_their_bits() {
        let source = Source { file: 7, line: 3 };
        let mut a = record(source, Kind::Move, TimeSource::CreationTime);
        a.set_salvaged();
        let far = (1 << 45) + (1 << 33) + 5;
        a.set_raw(far).unwrap();
        assert_eq!(a.raw(), far);
        assert_eq!(a.time_source(), TimeSource::CreationTime);
        assert!(a.salvaged());
        assert_eq!(a.source(), source);
        assert!(a.set_raw(MAX_RAW).is_err());
        assert_eq!(a.raw(), far);
    }

    #[test]
    fn terms_are_normalised() {
        assert_eq!(normalise_term("<q>Wire   Transfer</q>"), "wire transfer");
        assert_eq!(normalise_term("  BACS "), "bacs");
    }
}
