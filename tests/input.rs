//! Parsed values of specific rows of every producer variant (`docs/format.md` §1.2, §12).

mod common;

use common::{assert_conserved, at_line, full_prop, parse, prop, timeline};
use o365scan::activity::{Kind, TimeSource};
use o365scan::attribution::{IpAttribution, Via};
use o365scan::clock;
use o365scan::evidence::Encoding;
use o365scan::evidence::RowSource;
use o365scan::input::pylit::PyValue;

const ALL: &[&str] = &[
    "fixtures/sample/activities.csv",
    "fixtures/variants/v1_bom.csv",
    "fixtures/variants/v0_cp1252_crlf.csv",
    "fixtures/variants/py27.csv",
    "fixtures/variants/utf16.csv",
    "fixtures/variants/merged.csv",
    "fixtures/variants/unsorted.csv",
    "fixtures/malformed/bad_rows.csv",
];

#[test]
fn every_fixture_accounts_for_every_row() {
    for path in ALL {
        assert_conserved(&parse(path));
    }
}

#[test]
fn v1_bom_apostrophe_subject_and_escaped_crlf() {
    let p = parse("fixtures/variants/v1_bom.csv");
    assert_eq!(p.summary.encoding, Encoding::Utf8Bom);
    assert_eq!(p.summary.rows, 18);
    // Row 3 (line 4): repr switched to double quotes for the apostrophe.
    let delivery = at_line(&p, 4);
    assert_eq!(delivery.kind, Kind::MessageDelivered);
    assert_eq!(
        prop(delivery, "Subject"),
        "Re: O'Neill invoice, payment due"
    );
    assert_eq!(delivery.folder().unwrap(), "Inbox");
    // Row 2: a comma inside Flights stays inside the value.
    assert_eq!(
        full_prop(&p, 3, "Flights"),
        "OwaFlight1,OwaFlight2,OwaFlight3"
    );
    // Row 8: the unquoted single-key cell.
    assert_eq!(full_prop(&p, 9, "ItemSchemaType"), "Message");
    // Row 10: empty CustomProperties = no properties.
    let empty = at_line(&p, 11);
    assert!(!empty.salvaged());
    assert_eq!(empty.props().count(), 0);
    // Row 18: ExceptionInfo holds an apostrophe and an escaped \r\n.
    let failed = at_line(&p, 19);
    assert_eq!(
        prop(failed, "ExceptionInfo"),
        "AuthenticationException: The user's password is incorrect.\r\n   at Logon()"
    );
    assert_eq!(failed.logon_result().unwrap(), "Failure");
}

#[test]
fn python27_prefixes_escapes_and_none() {
    let p = parse("fixtures/variants/py27.csv");
    let search = at_line(&p, 2);
    assert_eq!(search.search_term().unwrap(), "wire transfer");
    let delivery = at_line(&p, 3);
    assert_eq!(prop(delivery, "Subject"), "Café – O'Neill");
    let full = p.raw.reader().unwrap().row(&delivery).unwrap().properties;
    assert_eq!(full["Note"], PyValue::None);
    assert!(delivery.prop("Note").is_none());
    assert_eq!(prop(at_line(&p, 5), "Subject"), "nbsp\u{a0}here");
    assert_eq!(at_line(&p, 4).client_ip().unwrap(), "175.45.176.123");
}

#[test]
fn cp1252_crlf_without_bom() {
    let p = parse("fixtures/variants/v0_cp1252_crlf.csv");
    assert_eq!(p.summary.encoding, Encoding::Cp1252);
    assert_eq!(prop(at_line(&p, 4), "Subject"), "Café – O'Neill €5");
    assert!(!p.summary.missing_final_newline);
}

#[test]
fn utf16_resave() {
    let p = parse("fixtures/variants/utf16.csv");
    assert_eq!(p.summary.encoding, Encoding::Utf16Le);
    assert_eq!(p.summary.records, 4);
    assert_eq!(at_line(&p, 2).kind, Kind::ServerLogon);
    assert_eq!(
        prop(at_line(&p, 4), "Subject"),
        "Re: O'Neill invoice, payment due"
    );
}

#[test]
fn merged_file_skips_its_second_header() {
    let p = parse("fixtures/variants/merged.csv");
    assert_eq!(p.summary.repeated_headers, 1);
    assert_eq!((p.summary.rows, p.summary.records), (18, 18));
    // Line 11 is the mid-file BOM + header; line 12 the first row after it.
    assert_eq!(at_line(&p, 12).kind, Kind::DeleteFromInbox);
}

#[test]
fn pasted_accounts_become_mailboxes_and_one_accounts_parts_stay_one() {
    // Line 11 is the second export's BOM + header; its ServerLogon names
    // finance@, the first part's test@.
    let tl = timeline(&["fixtures/variants/pasted.csv"]);
    let accounts: Vec<_> = tl
        .inputs()
        .iter()
        .map(|s| {
            (
                s.mailbox.as_str(),
                s.rows,
                s.records,
                s.account
                    .map(|a| (a.index, a.of, a.first_line, a.last_line)),
            )
        })
        .collect();
    assert_eq!(
        accounts,
        vec![
            ("test@address.com", 9, 9, Some((1, 2, 1, 10))),
            ("finance@address.com", 9, 9, Some((2, 2, 11, 20))),
        ]
    );
    for s in tl.inputs() {
        assert_eq!(
            s.rows,
            s.records + s.rejected + s.duplicates,
            "{}",
            s.mailbox
        );
        assert_eq!(s.path, "fixtures/variants/pasted.csv");
    }
    // Records keep their physical lines and belong to their account.
    for i in 0..tl.len() {
        let src = tl.activity(i).source();
        assert_eq!(src.file, u32::from(src.line > 11), "line {}", src.line);
    }
    assert_eq!(tl.mailboxes().iter().map(|r| r.len()).sum::<usize>(), 18);
    // The same account exported twice and merged stays one mailbox.
    let merged = timeline(&["fixtures/variants/merged.csv"]);
    assert_eq!(merged.inputs().len(), 1);
    assert!(merged.inputs()[0].account.is_none());
}

#[test]
fn exact_duplicates_dropped_once_multi_select_kept() {
    let tl = timeline(&["fixtures/variants/unsorted.csv"]);
    let s = &tl.inputs()[0];
    assert_eq!((s.rows, s.records, s.duplicates), (9, 8, 1));
    assert_eq!(s.duplicate_lines, vec![(9, 4)]);
    // The emptying Delete's twin differs only in ActivityItemId: both are records.
    let emptied = (0..tl.len())
        .filter(|&i| tl.rec(i).flag("DeletedByEmptyFolder") == Some(true))
        .count();
    assert_eq!(emptied, 2);
}

#[test]
fn rows_alike_once_parsed_are_told_apart_by_their_bytes() {
    // Same instant and the same kept fields; line 3 differs from line 2
    // only in a property no rule keeps (IsClutter) and its creation time.
    // Line 4 is an exact copy of line 2: the only duplicate.
    let head = "TimeStamp,AppIdType,ActivityIdType,ActivityItemId,ActivityCreationTime,ClientSessionId,CustomProperties";
    let row = |created: &str, clutter: &str| {
        format!(
            "2018-06-20T09:00:00.000Z,Web,MarkAsRead,AAMk1,{created},s1,\"{{'IsClutter': '{clutter}', 'SelectedFolderName': 'Inbox'}}\""
        )
    };
    let text = [
        head.to_string(),
        row("2018-06-20T09:00:00.002Z", "False"),
        row("2018-06-20T09:00:00.009Z", "True"),
        row("2018-06-20T09:00:00.002Z", "False"),
    ]
    .join("\n");
    let dir = std::env::temp_dir().join(format!("o365scan-twins-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("twins.csv");
    std::fs::write(&path, text).unwrap();
    let tl = timeline(&[path.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    let s = &tl.inputs()[0];
    assert_eq!((s.rows, s.records, s.duplicates), (3, 2, 1));
    assert_eq!(s.duplicate_lines, vec![(4, 2)]);
}

#[test]
fn inputs_are_stored_one_by_one_and_merged_in_time_order() {
    // Two exports of the same morning: their records interleave in time.
    let tl = timeline(&[
        "fixtures/variants/merged.csv",
        "fixtures/variants/unsorted.csv",
    ]);
    let key = |i: usize| {
        let a = &tl.activity(i);
        (a.time, a.source().file, a.source().line)
    };
    let n = tl.len();
    // Storage: input by input, each in time order.
    let stored: Vec<_> = (0..n).map(|i| (key(i).1, key(i).0, key(i).2)).collect();
    assert!(stored.windows(2).all(|w| w[0] < w[1]));
    // Timeline order: every record once, by (time, input, line), and the
    // inputs do interleave.
    let order: Vec<usize> = tl.in_time_order().collect();
    let mut seen = order.clone();
    seen.sort_unstable();
    assert_eq!(seen, (0..n).collect::<Vec<_>>());
    assert!(order.windows(2).all(|w| key(w[0]) < key(w[1])));
    assert!(
        order
            .windows(2)
            .filter(|w| key(w[0]).1 != key(w[1]).1)
            .count()
            > 1
    );
    assert_eq!(tl.first(), (0..n).map(|i| key(i).0).min());
    assert_eq!(tl.last(), (0..n).map(|i| key(i).0).max());
}

#[test]
fn timeline_is_sorted_by_time_then_line() {
    let tl = timeline(&["fixtures/variants/unsorted.csv"]);
    let keys: Vec<_> = tl
        .activities()
        .iter()
        .map(|a| (a.time, a.source().line))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(
        clock::format(tl.activity(0).time),
        "2018-06-20T08:41:07.512000Z"
    );
}

#[test]
fn sentinel_time_falls_back_to_creation_time() {
    let p = parse("fixtures/malformed/bad_rows.csv");
    let a = at_line(&p, 4);
    assert_eq!(a.time_source(), TimeSource::CreationTime);
    assert_eq!(clock::format(a.time), "2018-06-20T08:53:00.000000Z");
    let reasons: Vec<_> = p
        .rejections
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                3,
                "TimeStamp: expected an RFC 3339 time, found \"20/06/2018 08:52\""
            ),
            (5, "expected 7 fields, found 4")
        ]
    );
    // A cut-off cell is kept, salvaged and marked.
    let cut = at_line(&p, 6);
    assert!(cut.salvaged());
    assert_eq!(cut.search_term().unwrap(), "wire transfer");
    // Extra fields rejoined into CustomProperties, marked.
    assert!(at_line(&p, 7).salvaged());
}

#[test]
fn ip_attribution_of_specific_rows() {
    let tl = timeline(&["fixtures/sample/activities.csv"]);
    let find = |line: u64| {
        tl.activities()
            .iter()
            .position(|a| u64::from(a.source().line) == line)
            .unwrap()
    };
    let ips = IpAttribution::of(&tl);
    let via = |i: usize| (ips.ip(i), ips.get(i).via());
    let search = tl
        .activities()
        .iter()
        .position(|a| a.kind == Kind::SearchResult)
        .unwrap();
    assert_eq!(
        via(search),
        (Some("175.45.176.123"), Via::PriorLogonSameApp)
    );
    let delivery = tl
        .activities()
        .iter()
        .position(|a| a.kind == Kind::MessageDelivered)
        .unwrap();
    assert_eq!(via(delivery), (None, Via::None));
    let read = tl
        .activities()
        .iter()
        .position(|a| a.kind == Kind::ReadingPaneDisplayStart)
        .unwrap();
    assert_eq!(via(read), (Some("175.45.176.123"), Via::SameSession));
    let first_logon = find(27);
    assert_eq!(tl.activity(first_logon).kind, Kind::ServerLogon);
    assert_eq!(via(first_logon), (Some("175.45.176.123"), Via::Logon));
}

#[test]
fn sample_mailbox_is_named_from_server_logon() {
    let p = parse("fixtures/sample/activities.csv");
    assert_eq!(p.summary.mailbox, "test@address.com");
    assert_eq!(p.summary.repeated_headers, 1);
    assert_eq!((p.summary.rows, p.summary.records), (29, 29));
}
