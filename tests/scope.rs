//! The intrusion scope (`docs/scope.md`): every access kind, items moved
//! between folders, unresolvable items, two actors in one mailbox, and
//! exported text kept verbatim in every format.

mod common;

use common::o365scan;
use o365scan_synth::py_dict;
use std::fs;
use std::path::{Path, PathBuf};

const OWNER_IP: &str = "81.2.69.160";
const INTRUDER_IP: &str = "45.77.12.34";
const OWNER: &str = "11111111-1111-4111-8111-111111111111";
const INTRUDER: &str = "22222222-2222-4222-8222-222222222222";
const EXCHANGE: &str = "00000000-0000-0000-0000-000000000000";
/// The session Exchange's server-side rows of an OWA action carry.
const SERVER_SIDE: &str = "33333333-3333-4333-8333-333333333333";
const OUTLOOK_UA: &str =
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.9126; Pro)";
const FIREFOX_UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:60.0) Gecko/20100101 Firefox/60.0";

/// Text that must survive every format unchanged: case, accents, both
/// quotes, a dash and an emoji.
const SUBJECT: &str = "Überweisung IBAN \"Q2\" — O'Neill 💸";
const QUERY: &str = "IBAN Überweisung 'O’Neill' 💸";
const FOLDER: &str = "Boîte de réception \"Ω\" 📥";

fn id(n: u32) -> String {
    format!("AAMkADQ2NjE{n:08}AAA=")
}

/// An export written as retriever.py writes one.
struct Export {
    rows: Vec<[String; 7]>,
    minute: u32,
}

impl Export {
    fn new() -> Export {
        Export {
            rows: Vec::new(),
            minute: 0,
        }
    }

    /// A row one second after the last; `same_instant` keeps the time
    /// (a multi-select, or a server's pair of rows).
    fn add(&mut self, app: &str, kind: &str, item: &str, session: &str, props: &[(&str, &str)]) {
        self.minute += 1;
        self.push(app, kind, item, session, props);
    }

    fn push(&mut self, app: &str, kind: &str, item: &str, session: &str, props: &[(&str, &str)]) {
        let t = format!(
            "2018-06-20T{:02}:{:02}:{:02}.{:03}Z",
            9 + self.minute / 3600,
            self.minute / 60 % 60,
            self.minute % 60,
            self.rows.len() % 1000
        );
        let props: Vec<(&str, String)> = props.iter().map(|&(k, v)| (k, v.to_string())).collect();
        self.rows.push([
            t.clone(),
            app.into(),
            kind.into(),
            item.into(),
            t,
            session.into(),
            py_dict(&props),
        ]);
    }

    fn delivery(&mut self, item: &str, message_id: &str, conversation: &str, subject: &str) {
        self.add(
            "Exchange",
            "MessageDelivered",
            item,
            EXCHANGE,
            &[
                ("DeliveredToInbox", "True"),
                ("InternetMessageId", message_id),
                ("ConversationId", conversation),
                ("SenderSmtpAddress", "ap@vendor.example"),
                ("DeliveredFolderType", "5"),
                ("Subject", subject),
                ("ItemClass", "IPM.Note"),
            ],
        );
    }

    fn write(&self, path: &Path) {
        common::write_rows(path, self.rows.iter().cloned());
    }
}

/// The mailbox of these tests: the owner in Outlook at the office, an
/// intruder in a browser from a VPS, doing one of everything.
fn mailbox() -> Export {
    let mut ex = Export::new();
    let logon = |ex: &mut Export, ip: &str, ua: &str, app: &str, s: &str| {
        ex.add(
            app,
            "ServerLogon",
            "",
            s,
            &[
                ("Result", "Success"),
                ("UserName", "cfo@contoso.example"),
                ("ClientIP", ip),
                ("UserAgent", ua),
            ],
        );
    };
    logon(&mut ex, OWNER_IP, OUTLOOK_UA, "Outlook", OWNER);
    ex.delivery(
        &id(1),
        "<m1@vendor.example>",
        "C0000000000000000000000000000001",
        SUBJECT,
    );
    ex.delivery(
        &id(2),
        "<m2@vendor.example>",
        "C0000000000000000000000000000002",
        "Statement",
    );
    ex.delivery(
        &id(3),
        "<m3@vendor.example>",
        "C0000000000000000000000000000003",
        "Remittance",
    );
    ex.delivery(
        &id(5),
        "<m5@vendor.example>",
        "C0000000000000000000000000000005",
        "Invoice 5",
    );
    ex.delivery(
        &id(4),
        "<m4@vendor.example>",
        "C0000000000000000000000000000004",
        "Payroll",
    );
    // The owner previews message 1 as well, and opens message 3's
    // attachment.
    ex.add("Outlook", "ReadingPaneDisplayStart", &id(1), OWNER, &[]);
    ex.add("Outlook", "OpenedAnAttachment", &id(3), OWNER, &[]);
    logon(&mut ex, INTRUDER_IP, FIREFOX_UA, "Web", INTRUDER);
    let web = |ex: &mut Export, kind: &str, item: &str, props: &[(&str, &str)]| {
        ex.add("Web", kind, item, INTRUDER, props)
    };
    web(
        &mut ex,
        "SearchResult",
        "",
        &[("Sid", "s-1"), ("Query", QUERY), ("ResIds", "00A1,00A2")],
    );
    let pane = [("SelectedFolderName", FOLDER), ("IsConversation", "0")];
    web(&mut ex, "ReadingPaneDisplayStart", &id(1), &pane);
    web(&mut ex, "MarkAsRead", &id(1), &pane);
    web(&mut ex, "LinkClicked", &id(1), &[]);
    web(
        &mut ex,
        "OpenedAnAttachment",
        &id(1),
        &[("AttachmentAction", "Open")],
    );
    web(&mut ex, "InspectorDisplayStart", &id(1), &[]);
    web(&mut ex, "ReadingPaneDisplayEnd", &id(1), &[]);
    web(&mut ex, "Reply", &id(1), &[]);
    web(&mut ex, "Forward", &id(1), &[]);
    web(
        &mut ex,
        "MessageSent",
        &id(50),
        &[("ItemSchemaType", "Message")],
    );
    // Message 1 deleted: the Delete names its id, the server's Move its new
    // one (101); the purge acts on the new id.
    let delete = [
        ("DeleteType", "MoveToDeletedItems"),
        ("DeletedByEmptyFolder", "False"),
        ("SourceDefaultFolderType", "Inbox"),
    ];
    web(&mut ex, "Delete", &id(1), &delete);
    ex.push(
        "Web",
        "Move",
        &id(101),
        INTRUDER,
        &[
            ("MoveType", "Delete"),
            ("SourceFolder", "Inbox"),
            ("TargetFolder", "DeletedItems"),
        ],
    );
    let purge = [
        ("DeleteType", "SoftDelete"),
        ("DeletedByEmptyFolder", "True"),
        ("SourceDefaultFolderType", "DeletedItems"),
    ];
    web(&mut ex, "Delete", &id(101), &purge);
    // Message 2 moved to a folder: the client's Move, then the server's.
    web(
        &mut ex,
        "Move",
        &id(2),
        &[("DestinationFolder", "LgAAAAFolder")],
    );
    ex.push(
        "Web",
        "Move",
        &id(102),
        INTRUDER,
        &[
            ("MoveType", "Move"),
            ("SourceFolder", "Inbox"),
            ("TargetFolder", "LgAAAAFolder"),
        ],
    );
    // Message 4 moved in OWA: the browser's datapoint in its session, the
    // server's Move in the server's.
    web(
        &mut ex,
        "Move",
        &id(4),
        &[("DestinationFolder", "LgAAAAFolder")],
    );
    ex.push(
        "Web",
        "Move",
        &id(104),
        SERVER_SIDE,
        &[
            ("MoveType", "Move"),
            ("SourceFolder", "Inbox"),
            ("TargetFolder", "LgAAAAFolder"),
        ],
    );
    // A message delivered before the export, read on the phone, whose row
    // names its sender.
    ex.add(
        "Mobile",
        "MarkAsRead",
        &id(10),
        INTRUDER,
        &[
            ("SenderAddress", "ceo@contoso.example"),
            ("SourceFolder", "Inbox"),
        ],
    );
    // Message 5 read on the phone under another id, which a later row
    // without the message id deletes.
    ex.add(
        "Mobile",
        "MarkAsRead",
        &id(505),
        INTRUDER,
        &[("InternetMessageId", "<m5@vendor.example>")],
    );
    ex.add(
        "Mobile",
        "Delete",
        &id(505),
        INTRUDER,
        &[
            ("DeleteType", "SoftDelete"),
            ("SourceDefaultFolderType", "Inbox"),
        ],
    );
    // Message 3 read on the phone: another id, the same InternetMessageId.
    ex.add(
        "Mobile",
        "MarkAsRead",
        &id(303),
        INTRUDER,
        &[
            ("InternetMessageId", "<m3@vendor.example>"),
            ("SourceFolder", "Inbox"),
        ],
    );
    // An item no row describes; one only its thread describes.
    web(&mut ex, "ReadingPaneDisplayStart", &id(9), &[]);
    web(
        &mut ex,
        "ReadingPaneDisplayStart",
        &id(8),
        &[
            ("IsConversation", "1"),
            ("ConversationId", "C0000000000000000000000000000002"),
        ],
    );
    // A multi-select: two old ids waiting, then two moves: not linked.
    web(&mut ex, "Delete", &id(6), &delete);
    ex.push("Web", "Delete", &id(7), INTRUDER, &delete);
    ex.push(
        "Web",
        "Move",
        &id(106),
        INTRUDER,
        &[
            ("MoveType", "Delete"),
            ("SourceFolder", "Inbox"),
            ("TargetFolder", "DeletedItems"),
        ],
    );
    ex.push(
        "Web",
        "Move",
        &id(107),
        INTRUDER,
        &[
            ("MoveType", "Delete"),
            ("SourceFolder", "Inbox"),
            ("TargetFolder", "DeletedItems"),
        ],
    );
    ex
}

fn scratch(name: &str) -> PathBuf {
    common::scratch_dir(&format!("scope-{name}"))
}

/// Runs o365scan on the test mailbox with `args`; returns the directory.
fn run(name: &str, args: &[&str]) -> PathBuf {
    let dir = scratch(name);
    mailbox().write(&dir.join("mailbox.csv"));
    o365scan()
        .current_dir(&dir)
        .args(["-q", "--format", "json", "-o", "report.json"])
        .args(args)
        .arg("mailbox.csv")
        .assert()
        .code(0);
    dir
}

fn jsonl(path: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The scope row of `actor` about the item first seen as `item`.
fn item_at<'a>(rows: &'a [serde_json::Value], actor: &str, item: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["row"] == "item" && r["actor"] == actor && r["item_id"] == item)
        .unwrap_or_else(|| panic!("no item row of {actor} first seen as {item}"))
}

/// Line of the first row of `kind` on `item` in the test mailbox.
fn line_of(kind: &str, item: &str) -> u64 {
    let ex = mailbox();
    let n = ex
        .rows
        .iter()
        .position(|r| r[2] == kind && r[3] == item)
        .unwrap_or_else(|| panic!("no {kind} on {item}"));
    n as u64 + 2
}

#[test]
fn every_access_kind_of_one_message_is_one_row() {
    let dir = run("kinds", &["--actor", INTRUDER_IP, "--scope", "scope.jsonl"]);
    let rows = jsonl(&dir.join("scope.jsonl"));
    let m1 = item_at(&rows, "IP 45.77.12.34", &id(1));
    // In the order reports list them; the display's start and end are
    // two preview rows; the Delete and the server's Move two deleted rows.
    let text = fs::read_to_string(dir.join("scope.jsonl")).unwrap();
    assert!(text.contains(r#""access":{"preview":2,"open":1,"attachment-opened":1,"link-clicked":1,"marked-read":1,"replied":1,"forwarded":1,"deleted":2,"purged":1}"#), "{m1}");
    assert_eq!(m1["resolved"], "item-id");
    assert_eq!(m1["subject"], SUBJECT);
    assert_eq!(m1["sender"], "ap@vendor.example");
    assert_eq!(m1["folder"], "Inbox");
    assert_eq!(m1["item_id"], id(1));
    assert_eq!(m1["resolved_line"], line_of("MessageDelivered", &id(1)));
    // The purge acted on the id the move gave it: the same message.
    assert!(
        m1["lines"]
            .as_array()
            .unwrap()
            .contains(&line_of("Delete", &id(101)).into())
    );
    let sent = rows
        .iter()
        .find(|r| r["access"].get("sent").is_some())
        .unwrap();
    assert_eq!(sent["resolved"], "sent");
    assert_eq!(sent["folder"], "SentItems");
}

#[test]
fn an_item_moved_between_folders_keeps_one_identity() {
    let dir = run(
        "moved",
        &[
            "--actor",
            INTRUDER,
            "--scope",
            "scope.jsonl",
            "--timeline",
            "tl.jsonl",
        ],
    );
    let rows = jsonl(&dir.join("scope.jsonl"));
    let actor = format!("session {INTRUDER}");
    let m2 = item_at(&rows, &actor, &id(2));
    assert_eq!(
        m2["access"]["moved"], 2,
        "the client's Move and the server's"
    );
    assert_eq!(m2["subject"], "Statement");
    // The new id's row says how it was resolved.
    let timeline = jsonl(&dir.join("tl.jsonl"));
    let server_move = timeline.iter().find(|r| r["item_id"] == id(102)).unwrap();
    assert_eq!(server_move["item_resolved"], "moved-item-id");
    assert_eq!(server_move["item_subject"], "Statement");
    // An OWA move: the browser's row and the server's are in two sessions.
    let owa_move = timeline.iter().find(|r| r["item_id"] == id(104)).unwrap();
    assert_eq!(owa_move["item_resolved"], "moved-item-id");
    assert_eq!(owa_move["item_subject"], "Payroll");
    let purge = timeline.iter().find(|r| r["item_id"] == id(101)).unwrap();
    assert_eq!(purge["item_subject"], SUBJECT);
    assert_eq!(purge["item_line"], line_of("MessageDelivered", &id(1)));
}

#[test]
fn moves_of_a_multi_select_are_not_guessed() {
    let dir = run(
        "multi",
        &[
            "--actor",
            "all",
            "--timeline",
            "tl.jsonl",
            "--scope",
            "scope.jsonl",
        ],
    );
    let timeline = jsonl(&dir.join("tl.jsonl"));
    for new in [id(106), id(107)] {
        let row = timeline.iter().find(|r| r["item_id"] == new).unwrap();
        assert_eq!(row["item_resolved"], "unresolved", "{new}");
    }
    let rows = jsonl(&dir.join("scope.jsonl"));
    let deleted_alone = rows
        .iter()
        .filter(|r| r["row"] == "item" && r["count"] == 1 && r["access"].get("deleted").is_some())
        .count();
    assert_eq!(deleted_alone, 4, "ids 6, 7, 106 and 107, each its own item");
    for new in [id(106), id(107)] {
        let row = rows.iter().find(|r| r["item_id"] == new).unwrap();
        assert!(
            row["note"]
                .as_str()
                .unwrap()
                .contains("several items were moved at once"),
            "{row}"
        );
    }
}

#[test]
fn unresolvable_and_thread_only_items_say_so() {
    let dir = run(
        "unresolved",
        &["--actor", INTRUDER_IP, "--scope", "scope.csv"],
    );
    let mut r = csv::Reader::from_path(dir.join("scope.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let of = |item: &str| {
        rows.iter()
            .find(|row| &row[col("item_id")] == item)
            .unwrap_or_else(|| panic!("no row for {item}"))
    };
    let unknown = of(&id(9));
    assert_eq!(&unknown[col("resolved")], "unresolved");
    assert_eq!(&unknown[col("subject")], "");
    assert!(unknown[col("note")].contains("may predate the export's first row"));
    let thread = of(&id(8));
    assert_eq!(&thread[col("resolved")], "conversation");
    assert_eq!(&thread[col("subject")], "Statement");
    assert_eq!(&thread[col("sender")], "", "a thread has many senders");
    let named = of(&id(10));
    assert_eq!(&named[col("resolved")], "own-row");
    assert_eq!(&named[col("sender")], "ceo@contoso.example");
    assert_eq!(&named[col("received")], "", "the row does not say when");
    // One message, though only one of its rows names its message id.
    let m5: Vec<&csv::StringRecord> = rows
        .iter()
        .filter(|r| r[col("item_id")] == id(505))
        .collect();
    assert_eq!(m5.len(), 1, "one row for both ids' rows");
    assert_eq!(&m5[0][col("subject")], "Invoice 5");
    assert_eq!(&m5[0][col("access")], "marked-read=1;purged=1");
    let phone = of(&id(303));
    assert_eq!(&phone[col("resolved")], "internet-message-id");
    // It has an attachment: the owner opened it.
    assert_eq!(
        phone[col("attachment_opened_line")].parse::<u64>().unwrap(),
        line_of("OpenedAnAttachment", &id(3))
    );
    assert_eq!(&unknown[col("attachment_opened_line")], "", "not known");
    assert_eq!(&phone[col("subject")], "Remittance");
}

#[test]
fn two_actors_in_one_mailbox_are_scoped_apart() {
    let dir = run("two", &["--actor", "all", "--scope", "scope.jsonl"]);
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let actors = report["scope"]["actors"].as_array().unwrap();
    let ids: Vec<&str> = actors
        .iter()
        .map(|a| a["actor"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["A1", "A2"], "owner first, then the intruder");
    assert_eq!(actors[0]["previewed"], 1);
    assert_eq!(actors[0]["searches"], 0);
    assert_eq!(actors[1]["searches"], 1);
    assert_eq!(actors[1]["sent"], 1);
    assert_eq!(actors[1]["forwarded"], 1);
    assert_eq!(actors[1]["attachments_opened"], 1);
    let rows = jsonl(&dir.join("scope.jsonl"));
    let on_m1: Vec<&str> = rows
        .iter()
        .filter(|r| r["item_id"] == id(1))
        .map(|r| r["actor"].as_str().unwrap())
        .collect();
    assert_eq!(on_m1, ["A1", "A2"], "one row per actor on the same message");
}

#[test]
fn an_actor_that_touched_nothing_in_scope_has_no_rows() {
    let dir = run(
        "none",
        &["--actor", "198.51.100.0/24", "--scope", "scope.csv"],
    );
    let text = fs::read_to_string(dir.join("scope.csv")).unwrap();
    assert_eq!(text.lines().count(), 1, "header only");
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["scope"]["actors"], serde_json::json!([]));
}

#[test]
fn exported_text_survives_every_format_verbatim() {
    let dir = run(
        "verbatim",
        &[
            "--actor",
            INTRUDER_IP,
            "--scope",
            "scope.csv",
            "--timeline",
            "tl.csv",
            "--html",
            "r.html",
        ],
    );
    o365scan()
        .current_dir(&dir)
        .args([
            "-q",
            "--actor",
            INTRUDER_IP,
            "--scope",
            "scope.jsonl",
            "--timeline",
            "tl.jsonl",
        ])
        .arg("mailbox.csv")
        .assert()
        .code(0);
    let cells = |file: &str| -> Vec<String> {
        let mut r = csv::Reader::from_path(dir.join(file)).unwrap();
        r.records()
            .flat_map(|row| row.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
            .collect()
    };
    let json_strings = |file: &str| fs::read_to_string(dir.join(file)).unwrap();
    for text in [SUBJECT, QUERY, FOLDER] {
        assert!(cells("tl.csv").iter().any(|c| c == text), "tl.csv: {text}");
        // `seen_in` lists folders separated by ';'.
        let in_scope = cells("scope.csv");
        assert!(
            in_scope
                .iter()
                .any(|c| c.split(';').any(|part| part == text)),
            "scope.csv: {text}"
        );
        for file in ["scope.jsonl", "tl.jsonl"] {
            let quoted = serde_json::to_string(text).unwrap();
            assert!(json_strings(file).contains(&quoted), "{file}: {text}");
        }
        let html = json_strings("r.html");
        let escaped = text
            .replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        assert!(html.contains(&escaped), "r.html: {text}");
    }
    // The table (wrapped at 80 columns, so in pieces) keeps case, accents,
    // quotes and emoji.
    let table = o365scan()
        .current_dir(&dir)
        .args(["--actor", INTRUDER_IP, "mailbox.csv"])
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    for piece in ["'IBAN", "Überweisung", "'O’Neill'", "💸"] {
        assert!(table.contains(piece), "table: {piece}");
    }
    // The finding quotes the search as it was typed, not lower-cased.
    let report = json_strings("report.json");
    let quoted_query = serde_json::to_string(&format!("'{QUERY}'")).unwrap();
    let inner = &quoted_query[1..quoted_query.len() - 1];
    assert!(report.contains(inner), "report.json quotes {QUERY}");
    assert!(!report.contains("iban überweisung"), "no lower-cased form");
}

#[test]
fn a_mistyped_address_is_a_usage_error_not_a_session() {
    let dir = scratch("bad-ip");
    mailbox().write(&dir.join("mailbox.csv"));
    for bad in ["203.0.113.256", "2001:db8::zz", "10.0.0.0/33"] {
        o365scan()
            .current_dir(&dir)
            .args(["--actor", bad, "mailbox.csv"])
            .assert()
            .code(2)
            .stderr(predicates::str::contains(bad));
    }
}
