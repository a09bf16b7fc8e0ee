//! The executive summary (`src/report/summary.rs`, docs/reports.md §1)
//! against the findings it speaks for, on the HTML report where each claim
//! links to its findings: every claim names findings that exist, with the
//! rules it says; every finding at medium or above (data-quality findings
//! aside) is spoken for exactly once; a clause names its finding's time.
//! Checked on the published sample, every rule's hit fixture and the
//! generated attack corpus.

mod common;

use assert_cmd::cargo::cargo_bin_cmd;
use regex::Regex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

struct Claim {
    text: String,
    findings: Vec<String>,
    rules: Vec<String>,
}

struct Shown {
    rule: String,
    level: u8,
    first: String,
}

fn html_of(input: &Path) -> String {
    let out = std::env::temp_dir().join(format!(
        "o365scan-summary-{}-{}.html",
        std::process::id(),
        input.display().to_string().replace(['/', '.'], "_")
    ));
    cargo_bin_cmd!("o365scan")
        .args(["-q", "--force", "--html"])
        .arg(&out)
        .arg(input)
        .assert()
        .success();
    let page = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    page
}

fn claims(page: &str) -> Vec<Claim> {
    let summary = &page[page.find("<section id=\"summary\">").unwrap()..];
    let summary = &summary[..summary.find("</section>").unwrap()];
    let re = Regex::new(
        r##"<a class="claim" href="#(f\d+)" data-findings="([^"]*)" data-rules="([^"]*)">([^<]*)</a>"##,
    )
    .unwrap();
    re.captures_iter(summary)
        .map(|c| {
            let findings: Vec<String> = c[2].split(' ').map(String::from).collect();
            assert_eq!(findings[0], &c[1], "a claim links its first finding");
            Claim {
                text: c[4].to_string(),
                findings,
                rules: c[3].split(' ').map(String::from).collect(),
            }
        })
        .collect()
}

fn findings(page: &str) -> HashMap<String, Shown> {
    let re = Regex::new(
        r#"<div class="finding l(\d)" id="(f\d+)" data-rule="([^"]+)">.*?<p class="meta">[^·]*· (\d{4}-\d\d-\d\d \d\d:\d\d):\d\d – "#,
    )
    .unwrap();
    re.captures_iter(page)
        .map(|c| {
            (
                c[2].to_string(),
                Shown {
                    level: c[1].parse().unwrap(),
                    rule: c[3].to_string(),
                    first: c[4].to_string(),
                },
            )
        })
        .collect()
}

/// Returns how many claims the page's summary made.
fn check(input: &Path) -> usize {
    let page = html_of(input);
    let shown = findings(&page);
    assert_eq!(
        shown.len(),
        page.matches("<div class=\"finding l").count(),
        "{}: every finding parsed",
        input.display()
    );
    let claims = claims(&page);
    let mut spoken: HashMap<&str, usize> = HashMap::new();
    for claim in &claims {
        let mut rules: Vec<&str> = Vec::new();
        for id in &claim.findings {
            let f = shown.get(id).unwrap_or_else(|| {
                panic!(
                    "{}: claim '{}' links {id}, no such finding",
                    input.display(),
                    claim.text
                )
            });
            *spoken.entry(id).or_default() += 1;
            if !rules.contains(&f.rule.as_str()) {
                rules.push(&f.rule);
            }
        }
        assert_eq!(rules, claim.rules, "{}: '{}'", input.display(), claim.text);
        // A clause about one episode names its time (the opening names the
        // actor's first activity, which its access findings share).
        let first = &shown[&claim.findings[0]];
        let hhmm = &first.first[11..];
        if !claim.text.starts_with("The activity") && first.rule != "bec-chain" {
            let access = claim.text.contains(" was first seen")
                || claim.text.contains(" was active")
                || claim.text.contains("tried and failed");
            assert!(
                access || claim.text.contains(hhmm),
                "{}: '{}' does not name {hhmm}",
                input.display(),
                claim.text
            );
        }
    }
    let more = page.contains("more findings below") || page.contains("further findings");
    for (id, f) in &shown {
        let told = f.level >= 2 && !f.rule.starts_with("data-");
        let n = spoken.get(id.as_str()).copied().unwrap_or(0);
        if told {
            assert!(
                n == 1 || (n == 0 && more),
                "{}: finding {id} ({}) spoken for {n} times",
                input.display(),
                f.rule
            );
        } else {
            assert_eq!(
                n,
                0,
                "{}: {id} ({}) is below medium",
                input.display(),
                f.rule
            );
        }
    }
    if !shown
        .values()
        .any(|f| f.level >= 2 && !f.rule.starts_with("data-"))
    {
        assert!(
            page.contains(
                "No activity in the export matched a detection rule at medium level or above."
            ),
            "{}: a quiet report says so",
            input.display()
        );
    }
    claims.len()
}

#[test]
fn summary_of_the_sample_speaks_for_its_findings() {
    assert!(check(Path::new("fixtures/sample/activities.csv")) >= 4);
}

#[test]
fn summary_of_every_rule_fixture_speaks_for_its_findings() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("fixtures/rules")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    let mut claims = 0;
    for dir in dirs {
        for name in ["hit.csv", "miss.csv"] {
            let path = dir.join(name);
            if path.exists() {
                claims += check(&path);
            }
        }
    }
    assert!(claims > 20, "the hit fixtures raise claims: {claims}");
}

/// The same on the generated corpus (seed 1), when Python is there.
#[test]
fn summary_of_the_corpus_speaks_for_its_findings() {
    let dir = std::env::temp_dir().join(format!("o365scan-summary-corpus-{}", std::process::id()));
    let made = std::process::Command::new("python3")
        .args(["fixtures/corpus/make_corpus.py", "--seed", "1", "--out"])
        .arg(&dir)
        .output();
    let Some(made) = made.ok().filter(|o| o.status.success()) else {
        assert!(
            std::env::var_os("O365SCAN_REQUIRE_PYTHON").is_none(),
            "O365SCAN_REQUIRE_PYTHON is set but the corpus generator did not run"
        );
        eprintln!("corpus summary test skipped: no python3");
        return;
    };
    drop(made);
    for name in [
        "attack-quiet.csv",
        "attack-loud.csv",
        "attack-mobile.csv",
        "benign-exec.csv",
    ] {
        check(&dir.join(name));
    }
    let quiet = html_of(&dir.join("attack-quiet.csv"));
    assert!(quiet.contains("follows the pattern of a business email compromise"));
    assert!(quiet.contains("searched the mailbox for &#39;wire transfer&#39;"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sections with nothing to show say why, in the table and in the HTML: an
/// export of one delivery has no logons, no findings and no scoped actor.
#[test]
fn empty_sections_say_why() {
    let dir = common::scratch_dir("summary-empty-sections");
    let csv = dir.join("one-delivery.csv");
    common::write_export(
        &csv,
        &[(
            "2018-06-20T08:00:00.000Z",
            "Exchange",
            "MessageDelivered",
            "AAMkAD1=",
            "c4",
            &[
                ("SenderSmtpAddress", "ap@vendor.example"),
                ("Subject", "Invoice"),
                ("DeliveredFolderType", "5"),
            ],
        )],
    );
    let table = cargo_bin_cmd!("o365scan").arg(&csv).output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    for why in [
        "No findings: no rule matched the 1 record examined.",
        "No logon rows (ServerLogon or Logon with a client IP) in this export",
        "nothing scoped: no finding at medium or above names an actor",
        "No activity in the export matched a detection rule at medium level or above.",
    ] {
        assert!(table.contains(why), "table lacks '{why}':\n{table}");
    }
    let page = html_of(&csv);
    for why in [
        "No findings: no rule matched the 1 record examined.",
        "No logon rows (ServerLogon or Logon with a client IP) in this export",
        "No actor is scoped: no finding at medium or above names an actor.",
    ] {
        assert!(page.contains(why), "HTML lacks '{why}'");
    }
}
