//! One pipeline stage over one export, for `scripts/bench.sh`:
//! `floor` (iterate csv::ByteRecord only; several files one after the
//! other), `parse` (o365scan's reader), `timeline` (reader + timeline + IP attribution),
//! `rules` (reader + timeline + every rule), `rules-only FILE [RUNS]`
//! (the median of RUNS runs of every rule over one timeline).
//! Prints the stage's wall time in seconds on stdout.

use o365scan::Analysis;
use o365scan::attribution::IpAttribution;
use o365scan::input::{self, ReadOptions};
use o365scan::rules::{self, Settings};
use o365scan::timeline::Timeline;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(stage), Some(path)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: stages floor FILE... | stages parse|timeline|rules FILE | stages rules-only FILE [RUNS]"
        );
        std::process::exit(2);
    };
    let start = Instant::now();
    let rows = match stage.as_str() {
        "floor" => floor(&path) + args.map(|more| floor(&more)).sum::<u64>(),
        "parse" => parse(&path).summary.rows,
        "timeline" => {
            // With the IP attribution beside the indexes, as a run does it
            // (`Analysis::of`): the stage's figures stay comparable.
            let (tl, ips) = Timeline::build_beside(vec![parse(&path)], IpAttribution::of_records);
            std::hint::black_box(ips);
            tl.len() as u64
        }
        "rules" => {
            let analysis = Analysis::of(vec![parse(&path)], &Settings::defaults());
            std::hint::black_box(analysis.findings.len());
            analysis.timeline.len() as u64
        }
        "rules-only" => {
            // The rules alone, run RUNS times over one timeline (default
            // 7): prints their median, as the difference of two whole
            // runs is within the noise of reading the file.
            let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(7);
            let tl = Timeline::build(vec![parse(&path)]);
            let ips = IpAttribution::of(&tl);
            let mut times: Vec<f64> = (0..runs.max(1))
                .map(|_| {
                    let start = Instant::now();
                    let findings = rules::run_all(&tl, &ips, &Settings::defaults());
                    std::hint::black_box(findings.len());
                    start.elapsed().as_secs_f64()
                })
                .collect();
            times.sort_by(f64::total_cmp);
            println!("{:.4} {}", times[times.len() / 2], tl.len());
            return;
        }
        other => {
            eprintln!("unknown stage {other}");
            std::process::exit(2);
        }
    };
    println!("{:.3} {rows}", start.elapsed().as_secs_f64());
}

/// The floor: a streaming pass with the csv crate, nothing else.
fn floor(path: &str) -> u64 {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .expect("open");
    let mut record = csv::ByteRecord::new();
    let mut n = 0;
    while reader.read_byte_record(&mut record).expect("read") {
        n += 1;
    }
    n
}

fn parse(path: &str) -> input::Parsed {
    input::read_path(path.as_ref(), 0, ReadOptions::default()).expect("parse")
}
