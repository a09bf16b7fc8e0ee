#![no_main]
//! The whole pipeline on valid-looking exports built from arbitrary values:
//! any activity type and client, times in any order (and the sentinel),
//! properties with any keys and values, repeated item ids, sessions and
//! whole rows. Byte-level targets (`reader`, `pylit`) rarely get past the
//! reader; this one feeds every rule and every report. It asserts no
//! panic, that every row is a record, a rejection or a duplicate, and that
//! the JSON report parses.

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use o365scan::input::{self, ReadOptions};
use o365scan::report::{self, Format, Style, TimelineFormat, TimelineOptions};
use o365scan::rules::Settings;
use o365scan::Analysis;
use o365scan::report::Window;
use o365scan::activity::Kind;
use o365scan::scope::{access_of, Selection};

const HEADER: &str = "TimeStamp,AppIdType,ActivityIdType,ActivityItemId,ActivityCreationTime,ClientSessionId,CustomProperties";

const KINDS: &[&str] = &[
    "ServerLogon", "Logon", "MessageDelivered", "ReadingPaneDisplayStart", "ReadingPaneDisplayEnd",
    "OpenedAnItem", "MarkAsRead", "MarkAsUnread", "Move", "Delete", "SoftDelete", "HardDelete",
    "SearchResult", "Search", "MessageSent", "Forward", "Reply", "ReplyAll", "LinkClicked",
    "AttachmentDownload", "Attach", "Unknown", "Extra",
];
const APPS: &[&str] = &["Web", "Exchange", "Outlook", "OutlookMobile", "Hub", "Unknown", "REST"];
const KEYS: &[&str] = &[
    "ClientIP", "UserAgent", "UserName", "Subject", "SenderSMTPAddress", "FolderName",
    "DeliveredFolderId", "TargetFolder", "SourceFolder", "InternetMessageId", "ConversationId",
    "SearchString", "QueryText", "Recipients", "RuleName", "ForwardTo", "Custom",
];
const VALUES: &[&str] = &[
    "", "10.0.0.1", "203.0.113.9", "2001:db8::1", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    "Outlook-iOS/2.0", "Microsoft Office/16.0", "wire transfer", "invoice", "Inbox", "DeletedItems",
    "RSS Feeds", "Conversation History", "alice@contoso.example", "bob@fabrikam.example",
    "<id@contoso.example>", "conv-1", "=cmd|' /C calc'!A0", "\u{1b}[31m", "<script>x</script>",
];

#[derive(Debug, Arbitrary)]
struct Row {
    /// Minutes from the start; `None` is the 0001-01-01 sentinel.
    minute: Option<u16>,
    millis: u16,
    kind: u8,
    app: u8,
    item: u8,
    session: u8,
    created: Option<u16>,
    props: Vec<(u8, Prop)>,
    /// Write this row twice (a paging overlap).
    twice: bool,
}

#[derive(Debug, Arbitrary)]
enum Prop {
    Known(u8),
    Text(String),
    Int(i64),
    Flag(bool),
    List(Vec<u8>),
    Nothing,
}

#[derive(Debug, Arbitrary)]
struct Export {
    rows: Vec<Row>,
    /// A second account's header and logons pasted in after this row.
    paste_at: Option<u8>,
}

fn pick<'a>(list: &[&'a str], n: u8) -> &'a str {
    list[n as usize % list.len()]
}

fn time(minute: Option<u16>, millis: u16) -> String {
    match minute {
        None => "0001-01-01T00:00:00Z".into(),
        Some(m) => {
            let t = chrono::DateTime::from_timestamp(1_528_000_000 + i64::from(m) * 60, 0).unwrap();
            format!("{}.{:03}Z", t.format("%Y-%m-%dT%H:%M:%S"), millis % 1000)
        }
    }
}

/// `repr` of a string, as Python writes it.
fn py_str(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn props(props: &[(u8, Prop)]) -> String {
    let pairs: Vec<String> = props
        .iter()
        .take(12)
        .map(|(k, v)| {
            let value = match v {
                Prop::Known(n) => py_str(pick(VALUES, *n)),
                Prop::Text(s) => py_str(s),
                Prop::Int(i) => i.to_string(),
                Prop::Flag(b) => if *b { "True".into() } else { "False".into() },
                Prop::List(items) => format!(
                    "[{}]",
                    items.iter().take(4).map(|n| py_str(pick(VALUES, *n))).collect::<Vec<_>>().join(", ")
                ),
                Prop::Nothing => "None".into(),
            };
            format!("{}: {}", py_str(pick(KEYS, *k)), value)
        })
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

fn csv_cell(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn export(e: &Export) -> Vec<u8> {
    let mut out = format!("{HEADER}\n");
    for (n, r) in e.rows.iter().take(400).enumerate() {
        if e.paste_at.is_some_and(|p| p as usize == n) {
            out.push_str(HEADER);
            out.push('\n');
            out.push_str("2018-06-01T00:00:00Z,Exchange,ServerLogon,,2018-06-01T00:00:00Z,s,\"{'UserName': 'other@contoso.example', 'ClientIP': '198.51.100.7'}\"\n");
        }
        let line = format!(
            "{},{},{},item-{},{},session-{},{}\n",
            time(r.minute, r.millis),
            pick(APPS, r.app),
            pick(KINDS, r.kind),
            r.item % 16,
            time(r.created, 0),
            r.session % 8,
            csv_cell(&props(&r.props)),
        );
        out.push_str(&line);
        if r.twice {
            out.push_str(&line);
        }
    }
    out.into_bytes()
}

fuzz_target!(|e: Export| {
    let bytes = export(&e);
    let Ok(parsed) = input::read(std::io::Cursor::new(bytes), "fuzz.csv", 0, ReadOptions::default()) else {
        return;
    };
    let analysis = Analysis::of(vec![parsed], &Settings::defaults());
    for s in analysis.timeline.inputs() {
        assert_eq!(s.rows, s.records + s.rejected + s.duplicates, "{s:?}");
    }
    // With everyone scoped, every item access is in exactly one scope row.
    let all = analysis.scope(&Selection::All, Window::default());
    let tl = &analysis.timeline;
    let accesses = (0..tl.len())
        .filter(|&i| tl.activity(i).kind != Kind::MessageDelivered)
        .filter(|&i| access_of(&tl.rec(i)).is_some() && analysis.items.resolve(tl, i).is_some())
        .count();
    let scoped: usize = all.items.iter().map(|it| all.records_of(it).len()).sum();
    assert_eq!(scoped, accesses);
    let suspects = analysis.scope(&Selection::Suspect, Window::default());
    let report = analysis.report(Window::default()).with_scope(&all);
    let style = Style::plain();
    let mut json = Vec::new();
    report::write(&mut json, &report, Format::Json, &style).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json).expect("the JSON report parses");
    assert_eq!(doc["findings"].as_array().map(Vec::len), Some(report.findings.len()));
    for format in [Format::Table, Format::Jsonl] {
        report::write(&mut Vec::new(), &report, format, &style).unwrap();
    }
    report::html::write(&mut Vec::new(), &report).unwrap();
    for format in [TimelineFormat::Csv, TimelineFormat::Jsonl] {
        report::scope_out::write(&mut Vec::new(), &report, format).unwrap();
        let with_suspects = analysis.report(Window::default()).with_scope(&suspects);
        report::scope_out::write(&mut Vec::new(), &with_suspects, format).unwrap();
    }
    for format in [TimelineFormat::Csv, TimelineFormat::Jsonl] {
        let opts = TimelineOptions { format, timesketch: format == TimelineFormat::Jsonl };
        let mut out = Vec::new();
        report::timeline_out::write(&mut out, &report, &opts, &style).unwrap();
        if format == TimelineFormat::Jsonl {
            for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                serde_json::from_slice::<serde_json::Value>(line).expect("a timeline line parses");
            }
        }
    }
});
