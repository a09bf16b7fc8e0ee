//! The normalised activity: one export row after parsing, whatever the
//! producer variant. Rules and reports see only this type.

use crate::input::pylit::{Props, PyValue};
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// Declares an open enum of known names plus `Unknown(String)`, so unknown
/// values pass through verbatim (spec §5, §6: both sets are open).
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value outside the catalogue, kept as written.
            Unknown(Box<str>),
        }

        impl $name {
            pub fn parse(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)+
                    other => $name::Unknown(other.into()),
                }
            }

            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown(s) => s,
                }
            }

            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }
    };
}

open_enum! {
    /// `AppIdType`: the client class (spec §5).
    App {
        Web = "Web", Exchange = "Exchange", Outlook = "Outlook", Mobile = "Mobile",
        MacOutlook = "MacOutlook", MacMail = "MacMail", Pop3 = "POP3", Imap4 = "IMAP4",
        Imap = "IMAP", Lync = "Lync", Other = "Other", Tablet = "Tablet", Desktop = "Desktop",
    }
}

open_enum! {
    /// `ActivityIdType` (spec §6 A–C; `detections.md` §2.9 catalogue).
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
    /// Both spellings of the search-keystroke type (spec §6 B).
    pub fn is_search_suggestion(&self) -> bool {
        matches!(
            self,
            Kind::SearchSuggestionsDisplay | Kind::SearchSuggestionDisplay
        )
    }

    pub fn is_logon(&self) -> bool {
        matches!(self, Kind::ServerLogon | Kind::Logon)
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

/// How far the `CustomProperties` cell could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropsStatus {
    /// Empty cell: no properties (normal).
    Empty,
    Parsed,
    /// Not a valid literal: pairs were salvaged; the raw text is kept.
    Salvaged {
        error: String,
        raw: Box<str>,
    },
}

/// Where a record came from: input index (into the report's inputs) and the
/// 1-based physical line where the row starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source {
    pub file: u32,
    pub line: u64,
}

/// One normalised record.
#[derive(Debug, Clone)]
pub struct Activity {
    pub time: DateTime<Utc>,
    pub created: Option<DateTime<Utc>>,
    pub time_source: TimeSource,
    pub app: App,
    pub kind: Kind,
    pub item_id: Box<str>,
    pub session: Box<str>,
    pub props: Props,
    pub props_status: PropsStatus,
    pub source: Source,
}

impl Activity {
    /// A time no export can hold (before 2000 or after 2099): kept, but
    /// reported, since it bends the span and sort order.
    pub fn implausible_time(&self) -> bool {
        use chrono::Datelike;
        !(2000..2100).contains(&self.time.year())
    }

    /// A property as text, `None` when absent, `None` or empty.
    pub fn prop(&self, key: &str) -> Option<Cow<'_, str>> {
        self.props
            .get(key)
            .and_then(PyValue::as_text)
            .filter(|t| !t.is_empty())
    }

    /// A boolean property in any of its spellings (`True`, `1`, `true`).
    pub fn flag(&self, key: &str) -> Option<bool> {
        let text = self.prop(key)?;
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        }
    }

    fn first_prop(&self, keys: &[&str]) -> Option<Cow<'_, str>> {
        keys.iter().find_map(|k| self.prop(k))
    }

    /// Client IP of a logon row (`ServerLogon.ClientIP`, `Logon.IPAddress`).
    pub fn client_ip(&self) -> Option<Cow<'_, str>> {
        self.first_prop(&["ClientIP", "IPAddress"])
    }

    /// Client software of a logon row (`UserAgent`, `Browser`).
    pub fn user_agent(&self) -> Option<Cow<'_, str>> {
        self.first_prop(&["UserAgent", "Browser"])
    }

    pub fn user_name(&self) -> Option<Cow<'_, str>> {
        self.prop("UserName")
    }

    pub fn subject(&self) -> Option<Cow<'_, str>> {
        self.prop("Subject")
    }

    pub fn sender(&self) -> Option<Cow<'_, str>> {
        self.first_prop(&["SenderSmtpAddress", "SenderAddress", "From"])
    }

    pub fn logon_result(&self) -> Option<Cow<'_, str>> {
        self.prop("Result")
    }

    pub fn internet_message_id(&self) -> Option<Cow<'_, str>> {
        self.prop("InternetMessageId")
    }

    pub fn conversation_id(&self) -> Option<Cow<'_, str>> {
        self.prop("ConversationId")
    }

    /// The search text of a `SearchResult` (`Query`, XML-ish tags stripped,
    /// lower-cased, whitespace collapsed) or a keystroke row's stimulus.
    pub fn search_term(&self) -> Option<String> {
        let raw = self.first_prop(&["Query", "SuggestionStimulus"])?;
        let term = normalise_term(&raw);
        (!term.is_empty()).then_some(term)
    }

    /// The folder the row is about, by name where the export gives a code:
    /// delivery folder, move target, or the folder the client had open.
    pub fn folder(&self) -> Option<Cow<'_, str>> {
        if let Some(code) = self.prop("DeliveredFolderType") {
            return Some(match folder_type_name(&code) {
                Some(name) => Cow::Borrowed(name),
                None => code,
            });
        }
        self.first_prop(&[
            "TargetFolder",
            "DestinationFolder",
            "SelectedFolderName",
            "SourceFolder",
            "SourceDefaultFolderType",
        ])
    }
}

/// Strips `<tags>`, lower-cases and collapses whitespace (`detections.md` §2.3).
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
/// (`detections.md` §1.2).
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
        assert_eq!(Kind::parse("SearchResult"), Kind::SearchResult);
        let odd = Kind::parse("NewInboxRule");
        assert_eq!(odd.as_str(), "NewInboxRule");
        assert!(!odd.is_known());
        assert_eq!(App::parse("POP3"), App::Pop3);
    }

    #[test]
    fn terms_are_normalised() {
        assert_eq!(normalise_term("<q>Wire   Transfer</q>"), "wire transfer");
        assert_eq!(normalise_term("  BACS "), "bacs");
    }
}
