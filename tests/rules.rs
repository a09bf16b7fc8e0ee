//! Every rule against its fixtures: `fixtures/rules/<id>/hit.csv` must fire
//! it with the level, count and evidence lines of `expect.json`;
//! `miss.csv` looks similar and must not fire it.

mod common;

use assert_cmd::cargo::cargo_bin_cmd;
use common::findings_of;
use o365scan::rules::RULES;
use serde_json::Value;
use std::fs;
use std::path::Path;

/// The JSON report on `path`, with the extra arguments its rule's
/// `expect.json` names (`ioc-match` needs its `--ioc` file).
fn report(path: &Path, args: &[String]) -> Value {
    let out = cargo_bin_cmd!("o365scan")
        .args(["--format", "json", "--color", "never"])
        .args(args)
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_rule_fires_on_its_hit_and_not_on_its_miss() {
    let mut failures = Vec::new();
    for rule in RULES {
        let id = rule.id();
        let dir = Path::new("fixtures/rules").join(id);
        let expect: Value = match fs::read_to_string(dir.join("expect.json")) {
            Ok(text) => serde_json::from_str(&text).unwrap(),
            Err(_) => {
                failures.push(format!("{id}: no fixtures/rules/{id}/expect.json"));
                continue;
            }
        };
        let args: Vec<String> = expect["args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        let hit = report(&dir.join("hit.csv"), &args);
        let found = findings_of(&hit, id);
        if found.len() != 1 {
            failures.push(format!(
                "{id}: hit.csv gave {} findings, expected 1: {found:?}",
                found.len()
            ));
        } else {
            let f = found[0];
            let mut lines: Vec<u64> = f["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["line"].as_u64().unwrap())
                .collect();
            lines.sort_unstable();
            let mut want: Vec<u64> = expect["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_u64().unwrap())
                .collect();
            want.sort_unstable();
            let got = (f["level"].clone(), f["count"].clone(), lines);
            let wanted = (expect["level"].clone(), expect["count"].clone(), want);
            if got != wanted {
                failures.push(format!(
                    "{id}: got (level, count, lines) {got:?}, expected {wanted:?}; summary: {}",
                    f["summary"]
                ));
            }
        }
        let miss = report(&dir.join("miss.csv"), &args);
        let wrong = findings_of(&miss, id);
        if !wrong.is_empty() {
            failures.push(format!("{id}: miss.csv fired: {}", wrong[0]["summary"]));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_rule_is_listed_in_the_readme() {
    let readme = fs::read_to_string("README.md").unwrap();
    for rule in RULES {
        assert!(
            readme.contains(&format!("`{}`", rule.id())),
            "README lacks `{}`",
            rule.id()
        );
    }
    for step in o365scan::rules::SEVERITY_STEPS {
        assert!(
            readme.contains(step),
            "README lacks the severity step {step:?}"
        );
    }
}
