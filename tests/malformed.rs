//! The malformed-input corpus (`fixtures/malformed/`, written by
//! `fixtures/make_malformed.py`): each file's exact outcome. Nothing panics,
//! nothing is lost silently: rows = records + rejected + duplicates.
mod common;

use common::{findings_of, o365scan};

use predicates::prelude::*;
use serde_json::Value;
use std::fs;

fn report(file: &str) -> Value {
    let out = o365scan()
        .args(["-q", "--format", "json"])
        .arg(format!("fixtures/malformed/{file}"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let i = &v["inputs"][0];
    let n = |k: &str| i[k].as_u64().unwrap();
    assert_eq!(
        n("rows"),
        n("records") + n("rejected") + n("duplicates"),
        "{file}: conservation"
    );
    v
}

/// (encoding, rows, records, rejected, duplicates) of the one input.
fn accounting(v: &Value) -> (String, u64, u64, u64, u64) {
    let i = &v["inputs"][0];
    let n = |k: &str| i[k].as_u64().unwrap();
    (
        i["encoding"].as_str().unwrap().to_string(),
        n("rows"),
        n("records"),
        n("rejected"),
        n("duplicates"),
    )
}

fn rejections(v: &Value) -> Vec<(u64, String)> {
    v["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn rules(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn acc(
    enc: &str,
    rows: u64,
    records: u64,
    rejected: u64,
    duplicates: u64,
) -> (String, u64, u64, u64, u64) {
    (enc.to_string(), rows, records, rejected, duplicates)
}

#[test]
fn files_that_are_not_exports_exit_65_and_say_what_they_are() {
    for (file, found) in [
        ("empty.csv", "found an empty file"),
        ("header_only.csv", "header but no data rows"),
        (
            "unified_audit_log.csv",
            "found a Unified Audit Log export (\"CreationDate,UserIds,Operations,AuditData\")",
        ),
        ("not_an_export.csv", "found \"name,email\""),
        ("json.csv", "found JSON"),
        ("random.bin", "found binary data"),
    ] {
        o365scan()
            .arg(format!("fixtures/malformed/{file}"))
            .assert()
            .code(65)
            .stdout("")
            .stderr(
                predicate::str::starts_with(format!(
                    "o365scan: error: fixtures/malformed/{file}: "
                ))
                .and(predicate::str::contains(found)),
            );
    }
}

#[test]
fn utf16_with_and_without_bom() {
    assert_eq!(
        accounting(&report("utf16le_bom.csv")),
        acc("utf-16le", 3, 3, 0, 0)
    );
    assert_eq!(
        accounting(&report("utf16le_nobom.csv")),
        acc("utf-16le", 3, 3, 0, 0)
    );
    assert_eq!(
        accounting(&report("utf16be_bom.csv")),
        acc("utf-16be", 3, 3, 0, 0)
    );
}

#[test]
fn invalid_utf8_in_one_field_falls_back_to_cp1252() {
    let v = report("invalid_utf8_field.csv");
    assert_eq!(accounting(&v), acc("cp1252", 3, 3, 0, 0));
    let out = o365scan()
        .args([
            "-q",
            "--timeline",
            "-",
            "--timeline-format",
            "jsonl",
            "fixtures/malformed/invalid_utf8_field.csv",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("\"subject\":\"Café\"")
    );
}

#[test]
fn truncated_last_line_is_rejected_and_reported() {
    let v = report("truncated_last_line.csv");
    assert_eq!(accounting(&v), acc("utf-8", 4, 3, 1, 0));
    assert_eq!(
        rejections(&v),
        [(5, "expected 7 fields, found 3".to_string())]
    );
    let gaps = findings_of(&v, "data-gaps")[0];
    assert!(
        gaps["summary"]
            .as_str()
            .unwrap()
            .contains("the last line has no line ending")
    );
    o365scan()
        .arg("fixtures/malformed/truncated_last_line.csv")
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "truncated_last_line.csv: last line has no line ending",
        ));
}

#[test]
fn too_few_fields_rejected_too_many_rejoined_and_marked() {
    let v = report("field_counts.csv");
    assert_eq!(accounting(&v), acc("utf-8", 5, 4, 1, 0));
    assert_eq!(
        rejections(&v),
        [(3, "expected 7 fields, found 3".to_string())]
    );
    let unparsed = findings_of(&v, "data-unparsed")[0];
    let lines: Vec<u64> = unparsed["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [4, 5]);
}

#[test]
fn unterminated_quote_costs_one_line() {
    let v = report("unterminated_quote.csv");
    assert_eq!(accounting(&v), acc("utf-8", 7, 6, 1, 0));
    assert_eq!(
        rejections(&v),
        [(
            3,
            "unterminated quote: no closing '\"' within 100 lines".to_string()
        )]
    );
}

#[test]
fn damaged_custom_properties_are_kept_and_marked() {
    let v = report("bad_custom_properties.csv");
    assert_eq!(accounting(&v), acc("utf-8", 5, 5, 0, 0));
    // The salvaged 'invoice' query still counts as a financial search.
    assert!(rules(&v).contains(&"search-financial".to_string()));
    let unparsed = findings_of(&v, "data-unparsed")[0];
    let details: Vec<&str> = unparsed["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        details.len(),
        4,
        "the nested-literal row parses; the other four are salvaged: {details:?}"
    );
    assert!(
        details
            .iter()
            .any(|d| d.contains("nesting no deeper than 64 levels"))
    );
}

#[test]
fn five_megabyte_field_is_read_whole() {
    let v = report("big_field.csv");
    assert_eq!(accounting(&v), acc("utf-8", 3, 3, 0, 0));
}

#[test]
fn bad_sentinel_and_far_future_times() {
    let v = report("bad_times.csv");
    assert_eq!(accounting(&v), acc("utf-8", 5, 4, 1, 0));
    assert_eq!(
        rejections(&v),
        [(5, "TimeStamp: unknown (0001-01-01) and ActivityCreationTime: expected an RFC 3339 time, found \"0001-01-01T00:00:00Z\"".to_string())]
    );
    let unparsed = findings_of(&v, "data-unparsed")[0];
    assert!(
        unparsed["summary"]
            .as_str()
            .unwrap()
            .contains("2 rows timed by ActivityCreationTime, 1 row with an implausible time")
    );
    assert_eq!(v["last"], "9999-12-31T23:59:59.000000Z");
}

#[test]
fn thousands_of_identical_rows_are_one_record() {
    let v = report("duplicates.csv");
    assert_eq!(accounting(&v), acc("utf-8", 3002, 3, 0, 2999));
}

#[test]
fn unknown_types_pass_through_and_are_counted() {
    let v = report("unknown_types.csv");
    assert_eq!(v["counts"]["app"]["HoloLens"], 1);
    assert_eq!(v["counts"]["activity"]["TeleportMessage"], 1);
    let unknown: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "data-unknown-activity")
        .map(|f| f["summary"].as_str().unwrap())
        .collect();
    assert_eq!(
        unknown,
        [
            "1 row with unknown AppIdType 'HoloLens'",
            "1 row with unknown ActivityIdType 'TeleportMessage'"
        ]
    );
}

#[test]
fn control_bytes_in_fields_never_reach_the_terminal() {
    let out = o365scan()
        .args([
            "--timeline",
            "-",
            "--timeline-format",
            "csv",
            "fixtures/malformed/control_bytes.csv",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let table = o365scan()
        .arg("fixtures/malformed/control_bytes.csv")
        .output()
        .unwrap()
        .stdout;
    assert!(!table.iter().any(|&b| b == 0x1b || b == 0));
}

#[test]
fn line_over_the_limit_is_skipped_and_the_rest_read() {
    let dir = std::env::temp_dir().join(format!("o365scan-huge-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huge.csv");
    let mut data = b"TimeStamp,AppIdType,ActivityIdType,ActivityItemId,ActivityCreationTime,ClientSessionId,CustomProperties\n".to_vec();
    data.extend_from_slice(
        b"2018-06-20T09:00:00Z,Web,Logon,,2018-06-20T09:00:00Z,s,\"{'Flights': '",
    );
    data.extend(std::iter::repeat_n(b'x', 65 << 20));
    data.extend_from_slice(
        b"'}\"\n2018-06-20T09:01:00Z,Web,MarkAsRead,A,2018-06-20T09:01:00Z,s,\n",
    );
    fs::write(&path, data).unwrap();
    let out = o365scan()
        .args(["-q", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    fs::remove_dir_all(&dir).unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(accounting(&v), acc("utf-8", 2, 1, 1, 0));
    assert!(rejections(&v)[0].1.contains("exceeds the 64 MiB limit"));
}

#[test]
fn strict_stops_at_the_first_rejected_row() {
    o365scan()
        .args(["--strict", "fixtures/malformed/unterminated_quote.csv"])
        .assert()
        .code(65)
        .stdout("")
        .stderr(predicate::str::contains(
            "unterminated_quote.csv:3: unterminated quote",
        ));
}

#[test]
fn no_corpus_file_panics() {
    let dirs = [
        "fixtures/malformed",
        "fixtures/hostile",
        "fixtures/variants",
        "fixtures/sample",
    ];
    for dir in dirs {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            for format in ["table", "json"] {
                let code = o365scan()
                    .args(["-q", "--format", format])
                    .arg(&path)
                    .output()
                    .unwrap()
                    .status
                    .code();
                assert!(
                    matches!(code, Some(0 | 65)),
                    "{}: exit {code:?}",
                    path.display()
                );
            }
        }
    }
}
