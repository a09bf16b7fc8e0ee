//! `--ioc`: a sweep of every mailbox for known indicators
//! (`docs/rules.md` §2.10).

mod common;

use common::{findings_of, o365scan, write_export};
use std::fs;
use std::path::{Path, PathBuf};

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/66.0.3359.181 Safari/537.36";

/// Two mailboxes: Alice's with the intruder's VPS and the look-alike
/// vendor's mail; Bob's with a script from the hosting block; and near
/// misses in both.
fn case(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let alice = dir.join("alice.csv");
    let alice_logon = common::logon_props("203.0.113.7", CHROME, "alice@contoso.example");
    let alice_near = common::logon_props("203.0.113.8", CHROME, "alice@contoso.example");
    write_export(
        &alice,
        &[
            (
                "2018-06-20T08:00:00.000Z",
                "Web",
                "ServerLogon",
                "",
                "s-a1",
                &alice_near,
            ),
            (
                "2018-06-20T09:00:00.000Z",
                "Web",
                "ServerLogon",
                "",
                "s-a2",
                &alice_logon,
            ),
            (
                "2018-06-20T09:05:00.000Z",
                "Exchange",
                "MessageDelivered",
                "AAMkA1=",
                "x",
                &[
                    ("SenderSmtpAddress", "Billing@Vendor-Pay.example"),
                    ("Subject", "Updated bank details"),
                ],
            ),
            (
                "2018-06-20T09:06:00.000Z",
                "Exchange",
                "MessageDelivered",
                "AAMkA2=",
                "x",
                &[
                    ("SenderSmtpAddress", "ap@notvendor-pay.example"),
                    ("Subject", "Lunch"),
                ],
            ),
        ],
    );
    let bob = dir.join("bob.csv");
    let bob_script = common::logon_props(
        "198.51.100.23",
        "python-requests/2.18.4",
        "bob@contoso.example",
    );
    let bob_home = common::logon_props("198.51.101.23", CHROME, "bob@contoso.example");
    write_export(
        &bob,
        &[
            (
                "2018-06-20T07:00:00.000Z",
                "Web",
                "ServerLogon",
                "",
                "s-b1",
                &bob_home,
            ),
            (
                "2018-06-20T10:00:00.000Z",
                "Web",
                "ServerLogon",
                "",
                "s-b2",
                &bob_script,
            ),
        ],
    );
    let iocs = dir.join("iocs.txt");
    fs::write(
        &iocs,
        "# case 42\n203.0.113.7\tStorm VPS\n198.51.100.0/24\thosting block\nua:python-requests\tthe script\n\
         domain:vendor-pay.example\tlook-alike vendor\nsubject:never sent\n",
    )
    .unwrap();
    (alice, bob, iocs)
}

fn scratch(name: &str) -> PathBuf {
    common::scratch_dir(&format!("ioc-{name}"))
}

#[test]
fn each_indicator_is_found_in_its_mailbox() {
    let dir = scratch("sweep");
    let (alice, bob, iocs) = case(&dir);
    let out = o365scan()
        .args(["-q", "--format", "json", "--ioc"])
        .arg(&iocs)
        .arg(&alice)
        .arg(&bob)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: Vec<(String, String, u64)> = findings_of(&report, "ioc-match")
        .iter()
        .map(|f| {
            (
                f["mailbox"].as_str().unwrap().to_string(),
                f["summary"].as_str().unwrap().to_string(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let has = |mailbox: &str, label: &str| {
        found
            .iter()
            .any(|(m, s, n)| m == mailbox && s.contains(label) && *n == 1)
    };
    assert!(
        has("alice@contoso.example", "'Storm VPS' (ip 203.0.113.7)"),
        "{found:?}"
    );
    assert!(
        has(
            "alice@contoso.example",
            "'look-alike vendor' (domain vendor-pay.example)"
        ),
        "{found:?}"
    );
    assert!(
        has(
            "bob@contoso.example",
            "'hosting block' (cidr 198.51.100.0/24)"
        ),
        "{found:?}"
    );
    assert!(
        has("bob@contoso.example", "'the script' (ua python-requests)"),
        "{found:?}"
    );
    assert_eq!(found.len(), 4, "nothing else: {found:?}");
    for f in findings_of(&report, "ioc-match") {
        assert_eq!(f["level"], "high");
    }
}

#[test]
fn without_ioc_nothing_is_swept() {
    let dir = scratch("none");
    let (alice, bob, _) = case(&dir);
    let out = o365scan()
        .args(["-q", "--format", "json"])
        .arg(&alice)
        .arg(&bob)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(findings_of(&report, "ioc-match").is_empty());
}

#[test]
fn malformed_lines_are_named_and_skipped_or_fatal_under_strict() {
    let dir = scratch("bad");
    let (alice, _, _) = case(&dir);
    let iocs = dir.join("bad.txt");
    fs::write(&iocs, "203.0.113.7\nsome words\nip:300.1.2.3\n").unwrap();
    let out = o365scan()
        .args(["--format", "json", "--ioc"])
        .arg(&iocs)
        .arg(&alice)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.txt:2:") && stderr.contains("bad.txt:3:"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        findings_of(&report, "ioc-match").len(),
        1,
        "the good line still counts"
    );
    o365scan()
        .args(["--strict", "--ioc"])
        .arg(&iocs)
        .arg(&alice)
        .assert()
        .code(65)
        .stderr(predicates::str::contains("bad.txt:2"));
    o365scan()
        .args(["--ioc"])
        .arg(dir.join("missing.txt"))
        .arg(&alice)
        .assert()
        .code(66)
        .stderr(predicates::str::contains("missing.txt"));
}
