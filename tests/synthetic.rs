//! Whole-mailbox behaviour on generated exports (`o365scan_synth`): a clean
//! six-month mailbox raises nothing high, and an injected intrusion is found
//! rule by rule at the time it happened.

use chrono::{TimeZone, Utc};
use o365scan::Analysis;
use o365scan::finding::{Finding, Level};
use o365scan::input::{self, ReadOptions};
use o365scan::rules::Settings;
use o365scan::timeline::Timeline;
use o365scan_synth::{self as synth, Options};
use std::io::Cursor;

fn findings(rows: usize, seed: u64, intrusion: bool) -> Vec<Finding> {
    let csv = generated(rows, seed, intrusion);
    let parsed = input::read(Cursor::new(csv), "synthetic.csv", 0, ReadOptions::default()).unwrap();
    assert_eq!(parsed.summary.rows, rows as u64);
    assert_eq!(parsed.summary.records, rows as u64);
    Analysis::of(vec![parsed], &Settings::defaults()).findings
}

fn generated(rows: usize, seed: u64, intrusion: bool) -> Vec<u8> {
    let mut csv = Vec::new();
    synth::write_export(
        &mut csv,
        &Options {
            rows,
            seed,
            intrusion,
        },
    )
    .unwrap();
    csv
}

/// `text` read from a file (in parallel batches) and from memory (in one
/// pass).
fn read_both_ways(text: String, tag: &str) -> (input::Parsed, input::Parsed) {
    let dir = std::env::temp_dir().join(format!("o365scan-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("export.csv");
    std::fs::write(&path, &text).unwrap();
    let batched = input::read_path(&path, 0, ReadOptions::default()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let one_pass = input::read(
        Cursor::new(text.into_bytes()),
        "export.csv",
        0,
        ReadOptions::default(),
    )
    .unwrap();
    (batched, one_pass)
}

#[test]
fn clean_mailbox_raises_nothing_high() {
    for seed in [1, 2] {
        let loud: Vec<String> = findings(30_000, seed, false)
            .iter()
            .filter(|f| f.level >= Level::High)
            .map(|f| format!("{} {} {}", f.rule, f.first, f.summary))
            .collect();
        assert!(
            loud.is_empty(),
            "seed {seed}: false positives:\n{}",
            loud.join("\n")
        );
    }
}

#[test]
fn injected_intrusion_is_found_at_the_right_time() {
    let all = findings(30_000, 3, true);
    let start = Utc.with_ymd_and_hms(2018, 6, 7, 2, 10, 0).unwrap();
    let end = Utc.with_ymd_and_hms(2018, 6, 7, 3, 30, 0).unwrap();
    let expected = [
        ("logon-new-ip", Level::Medium),
        ("logon-suspicious-agent", Level::High),
        ("logon-timezone-mismatch", Level::Medium),
        ("search-financial", Level::High),
        ("search-then-read", Level::Medium),
        ("delete-mass", Level::High),
        ("delete-empty-deleted-items", Level::High),
        ("rule-hidden-delivery", Level::High),
        ("delete-security-notice", Level::High),
        ("forward-burst", Level::High),
        ("bec-chain", Level::Critical),
    ];
    for (rule, level) in expected {
        let hit = all
            .iter()
            .find(|f| f.rule == rule && f.first >= start && f.first <= end);
        let hit = hit.unwrap_or_else(|| panic!("{rule} not found between {start} and {end}"));
        assert_eq!(hit.level, level, "{rule}: {}", hit.summary);
    }
    // Nothing high outside the intrusion window: the rest is the clean mailbox.
    let stray: Vec<_> = all
        .iter()
        .filter(|f| f.level >= Level::High && (f.first < start || f.first > end))
        .map(|f| f.rule)
        .collect();
    assert!(
        stray.is_empty(),
        "high findings outside the intrusion: {stray:?}"
    );
}

#[test]
fn search_financial_names_the_attackers_terms() {
    let all = findings(30_000, 3, true);
    let f = all.iter().find(|f| f.rule == "search-financial").unwrap();
    assert_eq!(
        f.summary,
        "3 searches for financial terms from 185.220.101.7: 'wire transfer', 'invoice', 'bank details'"
    );
    assert_eq!(f.count, 3);
}

#[test]
fn parallel_batches_read_exactly_like_one_pass() {
    // A plain file is parsed in parallel batches; a byte source in one
    // pass. Both must give the same records, strings and counts.
    // A damaged row and a stray quote deep inside, across batch boundaries.
    let text = String::from_utf8(generated(40_000, 5, true))
        .unwrap()
        .replacen("'DeleteType': 'SoftDelete'", "'DeleteType': 'Soft", 1);
    let (batched, one_pass) = read_both_ways(text, "par");
    let view = |p: &input::Parsed| -> Vec<String> {
        (0..p.activities.len())
            .map(|i| {
                let r = p.rec(i);
                let props: Vec<String> = r.props().map(|(k, v)| format!("{k}={v}")).collect();
                // Id hashes are keyed per run: equal within this process.
                let ids = (r.item, r.message_id(), r.conversation());
                format!(
                    "{} {} {} {} {} {} {ids:?}",
                    r.source().line,
                    r.time,
                    r.kind_name(),
                    r.app_name(),
                    r.session_id(),
                    props.join(";")
                )
            })
            .collect()
    };
    assert_eq!(view(&batched), view(&one_pass));
    let (a, b) = (&batched.summary, &one_pass.summary);
    assert_eq!(
        (
            a.rows,
            a.records,
            a.rejected,
            a.salvaged_properties,
            &a.mailbox
        ),
        (
            b.rows,
            b.records,
            b.rejected,
            b.salvaged_properties,
            &b.mailbox
        )
    );
    assert_eq!(a.salvaged_properties, 1);
}

/// The records' times in the order their rows are in the file (the reader
/// hands records over sorted by time).
fn in_file_order(parsed: &input::Parsed) -> Vec<chrono::DateTime<chrono::Utc>> {
    let mut rows: Vec<_> = parsed
        .activities
        .iter()
        .map(|a| (a.source().line, a.time))
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, t)| t).collect()
}

#[test]
fn out_of_order_rows_are_counted_across_batches_and_sorted() {
    // Newest first, with a few rows swapped back: the reader counts the
    // descents batch by batch and across the seams, and the timeline
    // sorts on that count alone.
    let text = String::from_utf8(generated(20_000, 6, false)).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1..].reverse();
    lines.swap(5000, 5001);
    lines.swap(12_288, 12_289);
    let (batched, one_pass) = read_both_ways(lines.join("\n") + "\n", "desc");
    let times = in_file_order(&one_pass);
    let expected = times.windows(2).filter(|w| w[1] < w[0]).count() as u64;
    assert!(expected > 19_000, "{expected}");
    assert_eq!(one_pass.descents, expected);
    assert_eq!(batched.descents, expected);

    let tl = Timeline::build(vec![batched]);
    let keys: Vec<_> = tl
        .activities()
        .iter()
        .map(|a| (a.time, a.source().line))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(keys.len(), 20_000);
}

#[test]
fn a_few_out_of_order_blocks_are_merged_into_place() {
    // Blocks of rows written late (a paging retry, a merged export): a few
    // descents, whose positions the reader keeps, across batch seams.
    let csv = generated(20_000, 8, true);
    let text = String::from_utf8(csv.clone()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let late: Vec<&str> = lines.drain(4000..4300).collect();
    lines.splice(12_000..12_000, late);
    let early: Vec<&str> = lines.drain(19_000..19_050).collect();
    lines.splice(100..100, early);
    lines.swap(8191, 8192);
    // Old rows last: a short run merged from the back.
    let old: Vec<&str> = lines.drain(2000..2020).collect();
    lines.extend(old);
    let (batched, one_pass) = read_both_ways(lines.join("\n") + "\n", "runs");
    let times = in_file_order(&one_pass);
    let expected: Vec<usize> = (1..times.len())
        .filter(|&i| times[i] < times[i - 1])
        .collect();
    assert!((2..=input::KEPT_DESCENTS as usize).contains(&expected.len()));
    assert_eq!(one_pass.descents_at, expected);
    assert_eq!(batched.descents_at, expected);

    let mut want: Vec<_> = one_pass
        .activities
        .iter()
        .map(|a| (a.time, a.source().line))
        .collect();
    want.sort();
    // Before a second input: the last run ends where its input does.
    let second = input::read(Cursor::new(csv), "second.csv", 1, ReadOptions::default()).unwrap();
    let mut want: Vec<_> = want.into_iter().map(|(t, l)| (0, t, l)).collect();
    want.extend(
        second
            .activities
            .iter()
            .map(|a| (1, a.time, a.source().line)),
    );
    want.sort();
    let tl = Timeline::build(vec![batched, second]);
    let got: Vec<_> = tl
        .activities()
        .iter()
        .map(|a| (a.source().file, a.time, a.source().line))
        .collect();
    assert_eq!(got, want);
}
