//! Precision and recall on the realistic corpora (`fixtures/corpus/`): busy
//! benign mailboxes, shared mailboxes, pasted accounts and several attack
//! styles, written by three generators (see [`GENERATORS`]) for seeds 1–3,
//! each with a truth file naming every behaviour's lines. Scored here
//! against that truth:
//!
//! - every benign mailbox: no high or critical finding, at most 5 medium+
//!   per mailbox-month;
//! - every attack behaviour of the truth file is cited by a finding of at
//!   least low level, and every attack file has a `bec-chain` starting
//!   within 1 h of the intruder's first row whose actor holds an intruder
//!   IP (asserted for the generators whose recall is enforced, printed for
//!   all);
//! - no activity rule reports one continuous episode as more than three
//!   findings;
//! - every data row is read; pasted accounts come out as their own
//!   mailboxes.
//!
//! The table it prints (`cargo test --release --test corpus -- --nocapture`)
//! is the README's precision and recall table. Needs `python3`; skipped
//! without it unless O365SCAN_REQUIRE_PYTHON is set (as `.ci/run` does).

use chrono::{DateTime, Duration, Utc};
use o365scan::Analysis;
use o365scan::finding::{Finding, Level};
use o365scan::input::{self, ReadOptions};
use o365scan::rules::Settings;
use o365scan::timeline::Timeline;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const SEEDS: [u64; 3] = [1, 2, 3];

/// A corpus generator: its name in the table, its script, and whether its
/// attacks must all be found (else they are only reported).
struct Generator {
    name: &'static str,
    script: &'static str,
    recall_enforced: bool,
}

/// Ours; one written independently of the rules
/// (`fixtures/corpus/independent/README.md` says from what); and a held-out
/// one, written the same way and scored before any change it prompted
/// (`fixtures/corpus/heldout/README.md`). The held-out attacks include
/// intruders this log cannot tell from the owner, so its recall is shown
/// in the table, not asserted; its benign mailboxes are held to the same
/// precision as the others.
const GENERATORS: [Generator; 3] = [
    Generator {
        name: "own",
        script: "fixtures/corpus/make_corpus.py",
        recall_enforced: true,
    },
    Generator {
        name: "independent",
        script: "fixtures/corpus/independent/make_corpus.py",
        recall_enforced: true,
    },
    Generator {
        name: "held-out",
        script: "fixtures/corpus/heldout/run.py",
        recall_enforced: false,
    },
];

/// Writes seed `seed`'s corpus by `script`, or `None` when python3 is missing.
fn corpus(name: &str, script: &str, seed: u64) -> Option<PathBuf> {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("corpus/{name}/seed{seed}"));
    let status = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(script))
        .args(["--seed", &seed.to_string(), "--out"])
        .arg(&out)
        .status();
    match status {
        Ok(s) => {
            assert!(s.success(), "{script} --seed {seed} failed: {s}");
            Some(out)
        }
        Err(e) => {
            assert!(
                std::env::var_os("O365SCAN_REQUIRE_PYTHON").is_none(),
                "O365SCAN_REQUIRE_PYTHON is set but python3 did not run: {e}"
            );
            eprintln!("corpus tests skipped: python3 did not run ({e})");
            None
        }
    }
}

struct Scan {
    timeline: Timeline,
    findings: Vec<Finding>,
}

fn scan(path: &Path) -> Scan {
    let path = path.to_str().unwrap();
    let parsed = input::read_path(path.as_ref(), 0, ReadOptions::default())
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let Analysis {
        timeline, findings, ..
    } = Analysis::of(vec![parsed], &Settings::defaults());
    Scan { timeline, findings }
}

impl Scan {
    fn lines(&self, f: &Finding) -> HashSet<u64> {
        f.evidence
            .iter()
            .map(|e| u64::from(self.timeline.activity(e.record).source().line))
            .collect()
    }
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("not a time: {v}"))
}

/// Rules about what a client does, whose findings are episodes of
/// activity (the rule-effect rules cut by pattern instead: one finding per
/// sender and folder, several of which may run side by side).
const ACTIVITY_RULES: &[&str] = &[
    "logon-",
    "session-",
    "search-",
    "read-",
    "attachment-",
    "delete-",
    "send-",
    "forward-",
];

/// Findings gaps under this apart are one continuous episode.
const EPISODE_GAP_MINUTES: i64 = 10;

/// More than three findings of one activity rule and actor over one
/// continuous episode (each starting within [`EPISODE_GAP_MINUTES`] of the
/// previous one's end): one episode reported as many.
fn split_episodes(findings: &[Finding]) -> Vec<String> {
    let mut by_rule_actor: std::collections::BTreeMap<(&str, String), Vec<&Finding>> =
        std::collections::BTreeMap::new();
    for f in findings {
        if ACTIVITY_RULES.iter().any(|p| f.rule.starts_with(p)) {
            let actor = f.actor.as_ref().map(|a| a.id.clone()).unwrap_or_default();
            by_rule_actor.entry((f.rule, actor)).or_default().push(f);
        }
    }
    let mut problems = Vec::new();
    for ((rule, actor), mut group) in by_rule_actor {
        group.sort_by_key(|f| f.first);
        let mut run = 1;
        let mut end = group[0].last;
        for f in &group[1..] {
            if f.first - end <= Duration::minutes(EPISODE_GAP_MINUTES) {
                run += 1;
                if run == 4 {
                    problems.push(format!(
                        "{rule} (actor {actor:?}): more than 3 findings for one episode around {}",
                        f.first
                    ));
                }
            } else {
                run = 1;
            }
            end = end.max(f.last);
        }
    }
    problems
}

/// One file's score.
#[derive(Default)]
struct Score {
    file: String,
    kind: String,
    months: f64,
    medium_plus: usize,
    high_plus: usize,
    attack_behaviours: usize,
    found: usize,
    missed: Vec<String>,
    chain: Option<String>,
    /// Why no chain was accepted, for an attack file.
    chain_missing: Option<String>,
    problems: Vec<String>,
}

fn score_file(dir: &Path, entry: &Value) -> Score {
    let file = entry["file"].as_str().unwrap();
    let kind = entry["kind"].as_str().unwrap_or("benign").to_string();
    let s = scan(&dir.join(file));
    let days = entry["days"].as_f64().unwrap_or(30.0);
    let mut score = Score {
        file: file.to_string(),
        kind: kind.clone(),
        months: days / 30.0,
        ..Score::default()
    };
    // Row accounting: every data row the truth file wrote is a record, a
    // rejection or a counted duplicate.
    let rows: u64 = s.timeline.inputs().iter().map(|i| i.rows).sum();
    if let Some(expected) = entry["rows"].as_u64()
        && rows != expected
    {
        score
            .problems
            .push(format!("{rows} rows read, truth says {expected}"));
    }
    let intruder_lines: HashSet<u64> = entry["behaviours"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["attack"] == true)
        .flat_map(|b| b["lines"].as_array().into_iter().flatten())
        .filter_map(Value::as_u64)
        .collect();
    // Benign precision: findings that cite no attack row are about the
    // owner's (or Exchange's) normal activity.
    for f in &s.findings {
        if f.level < Level::Medium || s.lines(f).iter().any(|l| intruder_lines.contains(l)) {
            continue;
        }
        score.medium_plus += 1;
        if f.level >= Level::High {
            score.high_plus += 1;
            score.problems.push(format!(
                "benign {} {}: {}",
                f.level.as_str(),
                f.rule,
                f.summary
            ));
        }
    }
    score.problems.extend(split_episodes(&s.findings));
    for b in entry["behaviours"].as_array().into_iter().flatten() {
        if b["attack"] != true {
            continue;
        }
        score.attack_behaviours += 1;
        let lines: HashSet<u64> = b["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect();
        let hit = s.findings.iter().any(|f| {
            f.rule != "bec-chain"
                && f.level >= Level::Low
                && s.lines(f).iter().any(|l| lines.contains(l))
        });
        if hit {
            score.found += 1;
        } else {
            score
                .missed
                .push(b["id"].as_str().unwrap_or("?").to_string());
        }
    }
    if let Some(intruder) = entry["intruder"].as_object() {
        let first = time(&intruder["first"]);
        let ips: HashSet<&str> = intruder["ips"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let chain = s.findings.iter().find(|f| {
            f.rule == "bec-chain"
                && (f.first - first).abs() <= Duration::hours(1)
                && f.actor
                    .as_ref()
                    .is_some_and(|a| a.ips.iter().any(|ip| ips.contains(ip.as_str())))
        });
        match chain {
            Some(f) => {
                score.chain = Some(format!("{:+} min", (f.first - first).num_minutes()));
            }
            None => {
                let chains: Vec<String> = s
                    .findings
                    .iter()
                    .filter(|f| f.rule == "bec-chain")
                    .map(|f| format!("{} {}", f.first, f.summary))
                    .collect();
                score.chain_missing = Some(format!(
                    "no bec-chain within 1 h of the intruder's first row {first} naming its IPs (chains: {chains:?})"
                ));
            }
        }
    }
    if kind == "pasted" {
        let want: Vec<String> = entry["accounts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect();
        let got: Vec<String> = s
            .timeline
            .inputs()
            .iter()
            .map(|i| i.mailbox.to_lowercase())
            .collect();
        if got != want {
            score
                .problems
                .push(format!("accounts {got:?}, truth says {want:?}"));
        }
    }
    score
}

#[test]
fn corpus_precision_and_recall() {
    let mut all = Vec::new();
    for generator in &GENERATORS {
        let name = generator.name;
        for seed in SEEDS {
            let Some(dir) = corpus(name, generator.script, seed) else {
                return;
            };
            let truth: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap())
                    .unwrap();
            for entry in truth["files"].as_array().unwrap() {
                all.push((
                    format!("{name} {seed}"),
                    generator.recall_enforced,
                    score_file(&dir, entry),
                ));
            }
        }
    }
    println!(
        "| corpus seed | file | kind | medium+ / month | high+ | attack behaviours found | chain start |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (seed, _, s) in &all {
        println!(
            "| {seed} | {} | {} | {:.1} | {} | {} | {} |",
            s.file,
            s.kind,
            s.medium_plus as f64 / s.months.max(1.0 / 30.0),
            s.high_plus,
            if s.attack_behaviours == 0 {
                "—".to_string()
            } else {
                format!("{}/{}", s.found, s.attack_behaviours)
            },
            match (&s.chain, s.kind.as_str()) {
                (Some(chain), _) => chain.as_str(),
                (None, "attack") => "none",
                (None, _) => "—",
            },
        );
    }
    let mut failures = Vec::new();
    for (seed, recall_enforced, s) in &all {
        let per_month = s.medium_plus as f64 / s.months.max(1.0 / 30.0);
        if s.kind != "attack" && per_month > 5.0 {
            failures.push(format!(
                "{seed} {}: {per_month:.1} medium+ per month",
                s.file
            ));
        }
        if *recall_enforced && !s.missed.is_empty() {
            failures.push(format!("{seed} {}: missed {:?}", s.file, s.missed));
        }
        if *recall_enforced && let Some(why) = &s.chain_missing {
            failures.push(format!("{seed} {}: {why}", s.file));
        }
        for p in &s.problems {
            failures.push(format!("{seed} {}: {p}", s.file));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The intrusion scope of every attack mailbox of our generator, with the
/// default selection (the actors findings name), equals what the truth file
/// counts from the intruder's own rows: distinct messages touched,
/// previewed, sent, forwarded, deleted (purges included) and purged, and
/// searches. The scoped actors holding an intruder IP are summed (an
/// intruder may come out as more than one actor).
#[test]
fn scope_counts_equal_the_truth() {
    use o365scan::report::Window;
    use o365scan::scope::{Access, Selection, Who};
    for seed in SEEDS {
        // Its own directory: the precision test writes the same seeds at
        // the same time.
        let Some(dir) = corpus("own-scope", GENERATORS[0].script, seed) else {
            return;
        };
        let truth: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap())
                .unwrap();
        for entry in truth["files"].as_array().unwrap() {
            let Some(want) = entry["intruder"].get("scope") else {
                continue;
            };
            let ips: HashSet<&str> = entry["intruder"]["ips"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let path = dir.join(entry["file"].as_str().unwrap());
            let parsed = input::read_path(&path, 0, ReadOptions::default()).unwrap();
            let analysis = Analysis::of(vec![parsed], &Settings::defaults());
            let scope = analysis.scope(&Selection::Suspect, Window::default());
            let mut got = std::collections::BTreeMap::new();
            for a in &scope.actors {
                let Who::Actor(actor) = &a.who else { continue };
                if !actor.ips.iter().any(|ip| ips.contains(ip.as_str())) {
                    continue;
                }
                let c = &a.counts;
                for (key, n) in [
                    ("items", c.items),
                    ("previewed", c.of(Access::Preview)),
                    ("sent", c.of(Access::Sent)),
                    ("forwarded", c.of(Access::Forwarded)),
                    ("deleted", c.deleted_any),
                    ("purged", c.of(Access::Purged)),
                    ("searches", c.searches),
                ] {
                    *got.entry(key.to_string()).or_insert(0) += n as u64;
                }
            }
            let want: std::collections::BTreeMap<String, u64> = want
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
                .collect();
            assert_eq!(got, want, "seed {seed} {}", entry["file"]);
        }
    }
}
