//! Exports and interop: timeline CSV/JSONL, the Timesketch profile, time
//! filters, output files, and neutralising attacker-chosen text.

mod common;

use assert_cmd::cargo::cargo_bin_cmd;
use common::o365scan;
use predicates::prelude::*;
use std::fs;
use std::path::PathBuf;

const SAMPLE: &str = "fixtures/sample/activities.csv";
const HOSTILE: &str = "fixtures/hostile/injection.csv";

/// A fresh scratch directory per test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("o365scan-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the sample's timeline to `file` in `dir` and returns its text.
fn timeline(dir: &std::path::Path, file: &str, extra: &[&str]) -> String {
    let path = dir.join(file);
    o365scan()
        .args(["-q", "--timeline"])
        .arg(&path)
        .args(extra)
        .arg(SAMPLE)
        .assert()
        .code(0);
    fs::read_to_string(path).unwrap()
}

const BACS_PROPERTIES_CSV: &str = r#""{""Ver"":""2"",""App"":""OWA"",""Sid"":""0b6f1e2d-3c4a-4b5c-9d6e-7f8091a2b3c4"",""Rid"":""1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c02"",""Query"":""bacs"",""Folders"":""LgAAAAC3HcBsw9HdTJn3mWBmGvcBAQBxq7UoN0ZnR4nT1XqC2kTfAAAAAAEMAAAB"",""MaxRes"":""25"",""Pos"":""0"",""Item"":""0"",""Trunc"":""False"",""ResIds"":""0000000000A1B2C5""}""#;
const BACS_PROPERTIES_JSON: &str = r#"{"Ver":"2","App":"OWA","Sid":"0b6f1e2d-3c4a-4b5c-9d6e-7f8091a2b3c4","Rid":"1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c02","Query":"bacs","Folders":"LgAAAAC3HcBsw9HdTJn3mWBmGvcBAQBxq7UoN0ZnR4nT1XqC2kTfAAAAAAEMAAAB","MaxRes":"25","Pos":"0","Item":"0","Trunc":"False","ResIds":"0000000000A1B2C5"}"#;

#[test]
fn csv_timeline_header_and_row() {
    let text = timeline(&scratch("csv"), "tl.csv", &[]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 30, "header + 29 records");
    assert_eq!(
        lines[0],
        "time,created,mailbox,app,activity,item_id,session,ip,ip_via,user_agent,sender,subject,folder,folder_name,query,internet_message_id,conversation_id,item_subject,item_sender,item_received,item_resolved,item_line,level,findings,path,line,properties"
    );
    assert_eq!(
        lines[29],
        format!(
            "2018-06-20T08:44:26.412000Z,2018-06-20T08:44:26.414000Z,test@address.com,Web,SearchResult,,2f7a9c3e-1b5d-4f80-a6e2-c9d4b1f8e073,175.45.176.123,prior-logon-same-app,,,,,,bacs,,,,,,,,medium,search-financial,fixtures/sample/activities.csv,31,{BACS_PROPERTIES_CSV}"
        )
    );
}

#[test]
fn jsonl_timeline_row() {
    let text = timeline(&scratch("jsonl"), "tl.jsonl", &[]);
    let last = text.lines().last().unwrap();
    assert_eq!(
        last,
        format!(
            r#"{{"time":"2018-06-20T08:44:26.412000Z","created":"2018-06-20T08:44:26.414000Z","mailbox":"test@address.com","app":"Web","activity":"SearchResult","item_id":"","session":"2f7a9c3e-1b5d-4f80-a6e2-c9d4b1f8e073","ip":"175.45.176.123","ip_via":"prior-logon-same-app","user_agent":null,"sender":null,"subject":null,"folder":null,"folder_name":null,"query":"bacs","internet_message_id":null,"conversation_id":null,"item_subject":null,"item_sender":null,"item_received":null,"item_resolved":null,"item_line":null,"level":"medium","findings":["search-financial"],"path":"fixtures/sample/activities.csv","line":31,"properties":{BACS_PROPERTIES_JSON}}}"#
        )
    );
}

#[test]
fn timesketch_profile_has_the_mandatory_fields() {
    let dir = scratch("ts");
    let csv = timeline(&dir, "ts.csv", &["--timesketch"]);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("message,datetime,timestamp,timestamp_desc,time,")
    );
    assert!(csv.lines().next().unwrap().ends_with(",properties,tag"));
    assert_eq!(
        csv.lines().last().unwrap(),
        format!(
            "SearchResult by Web from 175.45.176.123: query 'bacs',2018-06-20T08:44:26.412000Z,1529484266412000,Activity Time,2018-06-20T08:44:26.412000Z,2018-06-20T08:44:26.414000Z,test@address.com,Web,SearchResult,,2f7a9c3e-1b5d-4f80-a6e2-c9d4b1f8e073,175.45.176.123,prior-logon-same-app,,,,,,bacs,,,,,,,,medium,search-financial,fixtures/sample/activities.csv,31,{BACS_PROPERTIES_CSV},\"[\"\"search-financial\"\"]\""
        )
    );
    let jsonl = timeline(&dir, "ts.jsonl", &["--timesketch"]);
    for line in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(v["datetime"].as_str().unwrap().ends_with('Z'));
        assert!(
            v["timestamp"].as_i64().unwrap() > 1_500_000_000_000_000,
            "microseconds"
        );
        assert_eq!(v["timestamp_desc"], "Activity Time");
        assert!(v["tag"].is_array());
    }
    let last: serde_json::Value = serde_json::from_str(jsonl.lines().last().unwrap()).unwrap();
    assert_eq!(last["timestamp"], 1_529_484_266_412_000_i64);
    assert_eq!(last["tag"], serde_json::json!(["search-financial"]));
}

#[test]
fn timeline_to_stdout_needs_a_format_and_takes_stdout() {
    o365scan()
        .args(["--timeline", "-", SAMPLE])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--timeline-format"));
    let out = o365scan()
        .args([
            "-q",
            "--timeline",
            "-",
            "--timeline-format",
            "jsonl",
            SAMPLE,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 29, "only the timeline on stdout");
    assert!(text.lines().all(|l| l.starts_with("{\"time\":")));
}

#[test]
fn filters_restrict_timeline_and_findings_and_say_how_much() {
    let out = o365scan()
        .args(["--format", "json", "--from", "2018-06-20T08:00:00Z", SAMPLE])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["filter"],
        serde_json::json!({"from": "2018-06-20T08:00:00.000000Z", "to": null, "excluded_records": 24, "excluded_findings": 3})
    );
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    // data-unparsed spans the whole mailbox (the merged file's second header).
    assert_eq!(rules, ["data-unparsed", "search-financial"]);
    assert_eq!(
        report["records"], 29,
        "inputs stay whole: rows = records + rejected + duplicates"
    );
    let counted: u64 = report["counts"]["activity"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counted, 5);
    let text = timeline(
        &scratch("filter"),
        "tl.csv",
        &["--to", "2018-06-20T07:37:00Z"],
    );
    assert_eq!(
        text.lines().count(),
        3,
        "header + the two records up to 07:37"
    );
    // A date alone covers the whole day.
    let out = o365scan()
        .args([
            "--format",
            "json",
            "--from",
            "2018-06-20",
            "--to",
            "2018-06-20",
            SAMPLE,
        ])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["filter"]["excluded_records"], 0);
    o365scan()
        .args(["--from", "2018-06-21", "--to", "2018-06-20", SAMPLE])
        .assert()
        .code(2);
    o365scan()
        .args(["--from", "20/06/2018", SAMPLE])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "expected an RFC 3339 time or a date",
        ));
}

#[test]
fn tz_changes_table_times_only() {
    o365scan()
        .args(["--tz", "Europe/London", SAMPLE])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("First (Europe/London)")
                .and(predicate::str::contains("2018-06-20 09:44:25")),
        );
    o365scan()
        .args(["--tz", "+05:30", "--format", "json", SAMPLE])
        .assert()
        .stdout(predicate::str::contains(
            "\"first\": \"2018-06-20T07:36:02.114000Z\"",
        ));
    o365scan()
        .args(["--tz", "Mars/Olympus", SAMPLE])
        .assert()
        .code(2);
}

#[test]
fn output_file_refuses_to_overwrite_without_force() {
    let dir = scratch("output");
    let report = dir.join("r.json");
    o365scan()
        .args(["--format", "json", "-o"])
        .arg(&report)
        .arg(SAMPLE)
        .assert()
        .code(0)
        .stdout("");
    assert!(
        fs::read_to_string(&report)
            .unwrap()
            .starts_with("{\n  \"schema\": \"o365scan.report/1\"")
    );
    o365scan()
        .args(["--format", "json", "-o"])
        .arg(&report)
        .arg(SAMPLE)
        .assert()
        .code(73)
        .stderr(predicate::str::contains("exists; use --force to overwrite"));
    o365scan()
        .args(["--format", "json", "--force", "-o"])
        .arg(&report)
        .arg(SAMPLE)
        .assert()
        .code(0);
}

#[test]
fn twice_gives_identical_bytes() {
    let dir = scratch("twice");
    for n in ["a", "b"] {
        o365scan()
            .args(["-q", "--format", "json", "-o"])
            .arg(dir.join(format!("{n}.json")))
            .arg("--timeline")
            .arg(dir.join(format!("{n}.csv")))
            .arg(SAMPLE)
            .assert()
            .code(0);
    }
    assert_eq!(
        fs::read(dir.join("a.json")).unwrap(),
        fs::read(dir.join("b.json")).unwrap()
    );
    assert_eq!(
        fs::read(dir.join("a.csv")).unwrap(),
        fs::read(dir.join("b.csv")).unwrap()
    );
}

#[test]
fn csv_export_neutralises_formulas() {
    let dir = scratch("formulas");
    let path = dir.join("tl.csv");
    o365scan()
        .args(["-q", "--timeline"])
        .arg(&path)
        .arg(HOSTILE)
        .assert()
        .code(0);
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let subjects: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[11].to_string())
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(
        subjects[..4],
        [
            "'=HYPERLINK(\"http://evil.example\",\"click\")".to_string(),
            "'+cmd|' /C calc'!A0".to_string(),
            "'-2+3".to_string(),
            "'@SUM(1+1)*cmd|' /C calc'!A0".to_string(),
        ]
    );
}

/// Timesketch is not a spreadsheet: its profile keeps the exported text,
/// with no apostrophe in front (the plain timeline has it, above).
#[test]
fn timesketch_csv_keeps_the_text_as_exported() {
    let dir = scratch("sketch-formulas");
    let path = dir.join("ts.csv");
    o365scan()
        .args(["-q", "--timesketch", "--timeline"])
        .arg(&path)
        .arg(HOSTILE)
        .assert()
        .code(0);
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let subject = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "subject")
        .unwrap();
    let subjects: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[subject].to_string())
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(subjects[0], "=HYPERLINK(\"http://evil.example\",\"click\")");
    assert_eq!(subjects[2], "-2+3");
}

#[test]
fn terminal_escapes_never_reach_the_table() {
    let out = o365scan().arg(HOSTILE).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.bytes().any(|b| b == 0x1b || b == 0x07),
        "raw control byte in the table"
    );
    assert!(!text.contains('\u{202e}'), "raw bidi override in the table");
    assert!(
        text.contains(r"\u{1b}[2J\u{1b}]0;pwned\u{7}"),
        "the escape is shown, visibly"
    );
    assert!(
        text.contains(r"eve\u{1b}[31m@evil.example"),
        "hostile mailbox name escaped"
    );
}

#[test]
fn json_escapes_control_characters() {
    let out = o365scan()
        .args(["--format", "json", HOSTILE])
        .output()
        .unwrap();
    assert!(!out.stdout.contains(&0x1b));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(r"\u001b[2J\u001b]0;pwned\u0007"));
}

#[test]
fn completions_and_man_page() {
    cargo_bin_cmd!("o365scan")
        .args(["completions", "bash"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("_o365scan()"));
    cargo_bin_cmd!("o365scan")
        .arg("man")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(".TH o365scan 1"));
}

/// Bidi overrides and zero-width characters are shown in the HTML report as
/// the terminal shows them, so they cannot reorder or hide evidence.
#[test]
fn html_shows_invisible_characters_visibly() {
    let dir = scratch("html-bidi");
    let path = dir.join("r.html");
    o365scan()
        .args(["-q", "--html"])
        .arg(&path)
        .arg(HOSTILE)
        .assert()
        .code(0);
    let html = fs::read_to_string(&path).unwrap();
    assert!(!html.contains('\u{202e}'), "raw right-to-left override");
    assert!(html.contains(r"\u{202e}"), "shown visibly");
}

/// One notation for control characters in every human-facing output: the
/// table, the Timesketch `message` and the HTML report show the hostile
/// query's escape sequence the same way.
#[test]
fn control_characters_have_one_notation_everywhere() {
    let shown = r"wire transfer\u{1b}[2J\u{1b}]0;pwned\u{7}";
    let table = o365scan().arg(HOSTILE).output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    let flat: String = table.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(shown), "table");
    let dir = scratch("one-notation");
    let sketch = dir.join("ts.jsonl");
    let html = dir.join("r.html");
    o365scan()
        .args(["-q", "--timesketch", "--timeline"])
        .arg(&sketch)
        .arg("--html")
        .arg(&html)
        .arg(HOSTILE)
        .assert()
        .code(0);
    let messages: Vec<String> = fs::read_to_string(&sketch)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["message"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        messages.iter().any(|m| m.contains(shown)),
        "Timesketch message"
    );
    assert!(fs::read_to_string(&html).unwrap().contains(shown), "HTML");
}
