//! The binary as a user runs it: exit codes, streams, formats, golden JSON.

mod common;

use assert_cmd::cargo::cargo_bin_cmd;
use common::{findings_of, o365scan};
use predicates::prelude::*;
use std::fs;

const SAMPLE: &str = "fixtures/sample/activities.csv";
const GOLDEN: &str = "fixtures/sample/activities.expected.json";

/// The replica's JSON report must equal its golden file byte for byte.
/// After an intended change: `UPDATE_GOLDEN=1 cargo test --test cli`, then
/// review `git diff fixtures/`.
#[test]
fn sample_json_matches_golden() {
    let out = o365scan()
        .args(["--format", "json", SAMPLE])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let actual = String::from_utf8(out.stdout).unwrap();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(GOLDEN, &actual).unwrap();
    }
    let expected = fs::read_to_string(GOLDEN).unwrap();
    assert!(
        actual == expected,
        "JSON differs from {GOLDEN}; rerun with UPDATE_GOLDEN=1 and review the diff"
    );
}

/// The replica's intrusion scope with `--actor all` (`docs/scope.md`):
/// the message previewed at 07:39:40 (no row of the export describes it),
/// the message sent at 07:41:07 with its deletion from Sent Items and its
/// purge under the id the move gave it, the other purged items, and the
/// three searches verbatim. Equal to its golden file byte for byte.
#[test]
fn sample_scope_matches_golden() {
    const SCOPE_GOLDEN: &str = "fixtures/sample/activities.scope.csv";
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sample-scope.csv");
    let _ = fs::remove_file(&path);
    o365scan()
        .args(["-q", "--actor", "all", "--scope"])
        .arg(&path)
        .arg(SAMPLE)
        .assert()
        .code(0);
    let actual = fs::read_to_string(&path).unwrap();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(SCOPE_GOLDEN, &actual).unwrap();
    }
    let expected = fs::read_to_string(SCOPE_GOLDEN).unwrap();
    assert!(
        actual == expected,
        "scope differs from {SCOPE_GOLDEN}; rerun with UPDATE_GOLDEN=1 and review the diff"
    );
    let rows: Vec<&str> = actual.lines().collect();
    let viewed = rows
        .iter()
        .find(|r| r.contains("2018-06-20T07:39:40.216000Z"))
        .unwrap();
    assert!(viewed.contains("preview=2") && viewed.contains(",unresolved,"));
    let sent = rows
        .iter()
        .find(|r| r.contains("2018-06-20T07:41:07.455000Z"))
        .unwrap();
    assert!(
        sent.contains("deleted=2;purged=1;sent=1") || sent.contains("sent=1;deleted=2;purged=1"),
        "{sent}"
    );
    for query in [",wire transfer,", ",banking,", ",bacs,"] {
        assert!(
            rows.iter()
                .any(|r| r.starts_with("search,") && r.contains(query)),
            "{query}"
        );
    }
    let purged = rows.iter().filter(|r| r.contains("purged=")).count();
    assert_eq!(
        purged, 3,
        "the sent message and the two other items emptied"
    );
}

#[test]
fn sample_json_is_deterministic() {
    let a = o365scan()
        .args(["--format", "json", SAMPLE])
        .output()
        .unwrap()
        .stdout;
    let b = o365scan()
        .args(["--format", "json", SAMPLE])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(a, b);
}

#[test]
fn sample_holds_every_published_action() {
    let out = o365scan()
        .args(["--format", "json", SAMPLE])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let counts = &report["counts"]["activity"];
    for (kind, n) in [
        ("ServerLogon", 4),
        ("Logon", 3),
        ("ReadingPaneDisplayStart", 4),
        ("MessageSent", 1),
        ("Delete", 4),
        ("SearchResult", 3),
    ] {
        assert_eq!(counts[kind], n, "{kind}");
    }
    assert_eq!(report["inputs"][0]["rows"], 29);
    assert_eq!(report["records"], 29);
    assert_eq!(report["first"], "2018-06-20T07:36:02.114000Z");
    assert_eq!(report["last"], "2018-06-20T08:44:26.412000Z");
}

#[test]
fn table_report_names_counts_and_ips() {
    o365scan()
        .arg(SAMPLE)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "29 rows = 29 records + 0 rejected + 0 duplicates",
        ))
        .stdout(predicate::str::contains(
            "7 – 175.45.176.123 (2018-06-20 07:36:02 ~ 2018-06-20 08:44:16)",
        ))
        .stdout(predicate::str::contains("mailbox test@address.com"));
}

#[test]
fn table_fits_80_columns() {
    let out = o365scan().arg(SAMPLE).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // The evidence hashes are `sha256sum` lines (64 hex digits, two
    // spaces, the path) so they can be checked with `sha256sum -c`:
    // wrapping them would break that.
    let is_hash_line =
        |l: &str| l.len() > 66 && l.as_bytes()[..64].iter().all(u8::is_ascii_hexdigit);
    for line in text.lines().filter(|l| !is_hash_line(l)) {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
}

/// The table's evidence lines are what `sha256sum` prints for the files,
/// and the JSON report carries the same hash and the file's size.
#[test]
fn evidence_hashes_equal_sha256sum() {
    use sha2::{Digest, Sha256};
    let bytes = fs::read(SAMPLE).unwrap();
    let hex: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let table = o365scan().arg(SAMPLE).output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains(&format!("{hex}  {SAMPLE}\n")), "{table}");
    let json = o365scan()
        .args(["--format", "json", SAMPLE])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["inputs"][0]["sha256"], hex.as_str());
    assert_eq!(doc["inputs"][0]["bytes"], bytes.len() as u64);
    // The same through standard input and through a UTF-16 file, which
    // are read differently: the hash is of the bytes, not of the text.
    let mut utf16 = vec![0xFF, 0xFE];
    for u in String::from_utf8(bytes.clone()).unwrap().encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let dir = std::env::temp_dir().join(format!("o365scan-custody-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let wide = dir.join("utf16.csv");
    fs::write(&wide, &utf16).unwrap();
    let json = o365scan()
        .args(["--format", "json"])
        .arg(&wide)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let wide_hex: String = Sha256::digest(&utf16)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(doc["inputs"][0]["sha256"], wide_hex.as_str());
    assert_eq!(doc["inputs"][0]["bytes"], utf16.len() as u64);
    let json = o365scan()
        .args(["--format", "json", "-"])
        .write_stdin(bytes.clone())
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["inputs"][0]["sha256"], hex.as_str());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn table_sums_up_many_findings_of_one_rule() {
    // Twelve separate mass deletes, an hour apart: twelve `delete-mass`
    // findings at one level. The table shows ten and one row for the rest;
    // the JSON report keeps all twelve.
    let mut csv = String::from(
        "TimeStamp,AppIdType,ActivityIdType,ActivityItemId,ActivityCreationTime,ClientSessionId,CustomProperties\n",
    );
    for burst in 0..12 {
        for n in 0..30 {
            let time = format!(
                "2018-03-01T{:02}:{:02}:{:02}.000Z",
                8 + burst,
                n / 6,
                n % 6 * 10
            );
            csv.push_str(&format!(
                "{time},Web,Delete,AAMk{burst:02}{n:02}=,{time},s1,\"{{'DeleteType': 'MoveToDeletedItems'}}\"\n"
            ));
        }
    }
    let table = o365scan()
        .arg("-")
        .write_stdin(csv.clone())
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert_eq!(
        table.matches("distinct items deleted").count(),
        10,
        "{table}"
    );
    assert!(
        table.contains("2 more of this rule at this level"),
        "{table}"
    );
    let json = o365scan()
        .args(["--format", "json", "-"])
        .write_stdin(csv)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(findings_of(&report, "delete-mass").len(), 12);
}

#[test]
fn stdin_is_read_with_dash() {
    o365scan()
        .args(["--format", "json", "-"])
        .write_stdin(fs::read(SAMPLE).unwrap())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"path\": \"-\""))
        .stdout(predicate::str::contains("\"records\": 29"));
}

#[test]
fn two_files_merge_into_one_timeline() {
    let out = o365scan()
        .args(["--format", "json", SAMPLE, "fixtures/variants/v1_bom.csv"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(report["records"], 29 + 18);
    assert_eq!(report["inputs"][1]["encoding"], "utf-8-bom");
}

#[test]
fn missing_file_exits_66() {
    o365scan()
        .arg("fixtures/does-not-exist.csv")
        .assert()
        .code(66)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "o365scan: error: fixtures/does-not-exist.csv: cannot open: ",
        ));
}

/// A folder is a case folder (docs/inputs.md): one with no export in it
/// is exit 66.
#[test]
fn folder_without_exports_exits_66() {
    o365scan()
        .arg("src")
        .assert()
        .code(66)
        .stderr(predicate::str::contains("src: no Activities export"));
}

#[test]
fn unified_audit_log_exits_65_and_says_so() {
    o365scan()
        .arg("fixtures/malformed/unified_audit_log.csv")
        .assert()
        .code(65)
        .stdout("")
        .stderr(
            predicate::str::contains("unified_audit_log.csv: not an Activities export")
                .and(predicate::str::contains("a Unified Audit Log export")),
        );
}

#[test]
fn empty_binary_and_header_only_exit_65() {
    for (file, says) in [
        ("empty.csv", "an empty file"),
        ("random.bin", "binary data"),
        ("header_only.csv", "header but no data rows"),
    ] {
        o365scan()
            .arg(format!("fixtures/malformed/{file}"))
            .assert()
            .code(65)
            .stderr(predicate::str::contains(says));
    }
}

#[test]
fn bad_rows_warn_with_file_and_line_and_exit_0() {
    o365scan()
        .arg("fixtures/malformed/bad_rows.csv")
        .assert()
        .code(0)
        .stderr(predicate::str::contains("o365scan: warning: fixtures/malformed/bad_rows.csv:3: TimeStamp: expected an RFC 3339 time, found \"20/06/2018 08:52\""))
        .stderr(predicate::str::contains("bad_rows.csv:5: expected 7 fields, found 4"));
}

#[test]
fn quiet_silences_warnings() {
    o365scan()
        .args(["-q", "fixtures/malformed/bad_rows.csv"])
        .assert()
        .code(0)
        .stderr("");
}

#[test]
fn strict_makes_the_first_bad_row_fatal() {
    o365scan()
        .args(["--strict", "fixtures/malformed/bad_rows.csv"])
        .assert()
        .code(65)
        .stdout("")
        .stderr(predicate::str::contains(
            "bad_rows.csv:3: TimeStamp: expected",
        ));
}

#[test]
fn usage_errors_exit_2() {
    o365scan().assert().code(2);
    o365scan()
        .args(["--format", "xml", SAMPLE])
        .assert()
        .code(2);
}

#[test]
fn more_inputs_than_a_run_holds_is_a_usage_error() {
    // Refused before any file is opened: the names need not exist.
    let names = vec!["x.csv"; o365scan::activity::MAX_INPUTS + 1];
    o365scan()
        .args(&names)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "65537 input files; a run reads at most 65536",
        ));
}

#[test]
fn help_has_examples_and_exit_codes() {
    o365scan()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Examples:").and(predicate::str::contains("65 bad data")));
    o365scan()
        .arg("--version")
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("o365scan "));
}

#[test]
fn list_rules_needs_no_input() {
    o365scan().arg("--list-rules").assert().code(0).stdout(
        predicate::str::contains("search-financial").and(predicate::str::contains("T1114.002")),
    );
    let out = o365scan()
        .args(["--list-rules", "--format", "json"])
        .output()
        .unwrap();
    let rules: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rules[0]["rule"], "logon-new-ip");
    assert_eq!(
        rules.as_array().unwrap().len(),
        o365scan::rules::RULES.len()
    );
}

fn rule_ids(args: &[&str]) -> Vec<String> {
    let out = o365scan()
        .args(["--format", "json"])
        .args(args)
        .arg(SAMPLE)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn sample_findings_are_the_published_actions() {
    // Sent mail deleted then Deleted Items emptied (07:41-07:43), the alert
    // raised by the rule the researcher created (07:50), the three searches
    // of account 2 (08:44), and the merged file's second header.
    let expected = [
        "data-unparsed",
        "delete-sent-items",
        "delete-empty-deleted-items",
        "rule-alert-notice",
        "search-financial",
    ];
    assert_eq!(rule_ids(&[]), expected);
}

#[test]
fn rule_selection_and_min_level_filter_the_report() {
    assert_eq!(
        rule_ids(&["--rules", "search-financial"]),
        ["search-financial"]
    );
    let high = [
        "delete-sent-items",
        "delete-empty-deleted-items",
        "rule-alert-notice",
    ];
    assert_eq!(
        rule_ids(&["--exclude-rules", "data-unparsed,search-financial"]),
        high
    );
    assert_eq!(rule_ids(&["--min-level", "high"]), high);
}

#[test]
fn unknown_rule_is_a_usage_error_listing_valid_ones() {
    o365scan()
        .args(["--rules", "search-finance", SAMPLE])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "unknown rule 'search-finance'; valid rules: logon-new-ip,",
        ));
}

#[test]
fn config_file_tunes_rules() {
    let dir = std::env::temp_dir().join(format!("o365scan-cfg-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("tuning.toml");
    // Replace the financial list: only 'bacs' counts now.
    fs::write(&cfg, "[search-financial]\nkeywords = [\"bacs\"]\n").unwrap();
    let out = o365scan()
        .args([
            "--format",
            "json",
            "--rules",
            "search-financial",
            "--config",
        ])
        .arg(&cfg)
        .arg(SAMPLE)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["findings"][0]["count"], 1);
    assert_eq!(
        report["findings"][0]["summary"],
        "1 search for financial terms from 175.45.176.123: 'bacs'"
    );
    fs::write(&cfg, "[search-financial]\nkeyword = [\"bacs\"]\n").unwrap();
    o365scan()
        .arg("--config")
        .arg(&cfg)
        .arg(SAMPLE)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown setting 'keyword' for rule 'search-financial'; valid: keywords, cluster_minutes"));
}

#[test]
fn fail_on_sets_exit_1_only_at_or_above_the_level() {
    o365scan()
        .args(["--fail-on", "high", SAMPLE])
        .assert()
        .code(1);
    o365scan()
        .args(["--fail-on", "critical", SAMPLE])
        .assert()
        .code(0);
}

#[test]
fn colour_follows_the_flag() {
    let coloured = o365scan()
        .args(["--color", "always", SAMPLE])
        .output()
        .unwrap()
        .stdout;
    assert!(
        coloured.contains(&0x1b),
        "--color always must colour levels"
    );
    let plain = o365scan().arg(SAMPLE).output().unwrap().stdout;
    assert!(!plain.contains(&0x1b));
    // auto: stdout is a pipe here, so no colour even without NO_COLOR.
    let auto = cargo_bin_cmd!("o365scan")
        .args(["--color", "auto", SAMPLE])
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
        .stdout;
    assert!(!auto.contains(&0x1b));
}

#[test]
fn jsonl_prints_one_finding_per_line() {
    let out = o365scan()
        .args(["--format", "jsonl", SAMPLE])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let rules: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["rule"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(rules, rule_ids(&[]));
}

/// `--case` and `--examiner` reach the table, JSON and HTML reports; the
/// HTML says when it was made, and `SOURCE_DATE_EPOCH` fixes that time so
/// two runs give the same bytes.
#[test]
fn case_and_examiner_in_every_report_and_reproducible_html() {
    let dir = std::env::temp_dir().join(format!("o365scan-case-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let case = ["--case", "BEC-2026-041 <acme>", "--examiner", "J. Doe"];
    let table = o365scan().args(case).arg(SAMPLE).output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.contains("BEC-2026-041 <acme>") && table.contains("J. Doe"));
    let json = o365scan()
        .args(case)
        .args(["--format", "json", SAMPLE])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["case"]["reference"], "BEC-2026-041 <acme>");
    assert_eq!(doc["case"]["examiner"], "J. Doe");
    let html = |name: &str, epoch: &str| {
        let path = dir.join(name);
        o365scan()
            .env("SOURCE_DATE_EPOCH", epoch)
            .args(case)
            .args(["-q", "--force", "--html"])
            .arg(&path)
            .arg(SAMPLE)
            .assert()
            .code(0);
        fs::read(path).unwrap()
    };
    let first = html("a.html", "1780000000");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = html("b.html", "1780000000");
    assert!(first == second, "SOURCE_DATE_EPOCH runs differ");
    let page = String::from_utf8(first).unwrap();
    assert!(page.contains("BEC-2026-041 &lt;acme&gt;"));
    assert!(page.contains("2026-05-28 20:26:40 UTC by o365scan"));
    let other = String::from_utf8(html("c.html", "1780000060")).unwrap();
    assert!(other.contains("2026-05-28 20:27:40 UTC"));
    o365scan()
        .env("SOURCE_DATE_EPOCH", "yesterday")
        .arg(SAMPLE)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("SOURCE_DATE_EPOCH"));
    let _ = fs::remove_dir_all(&dir);
}

/// Each finding's level as a number (0–4) for `jq 'select(.severity >= 3)'`.
#[test]
fn json_findings_carry_numeric_severity() {
    let json = o365scan()
        .args(["--format", "json", SAMPLE])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let levels = ["informational", "low", "medium", "high", "critical"];
    for f in doc["findings"].as_array().unwrap() {
        let n = f["severity"].as_u64().unwrap() as usize;
        assert_eq!(levels[n], f["level"]);
    }
}
