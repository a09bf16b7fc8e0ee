//! o365scan: offline triage of Office 365 Outlook Activities API exports for
//! Business Email Compromise.
//!
//! Data flows one way: [`input`] (CSV, encodings, Python literals) →
//! [`activity::Activity`] → [`timeline::Timeline`] → [`rules`] →
//! [`finding::Finding`] → [`report`]. Only [`run`] sees the whole pipeline.
#![forbid(unsafe_code)]

pub mod activity;
pub mod cli;
pub mod config;
pub mod error;
pub mod escape;
pub mod finding;
pub mod input;
pub mod report;
pub mod rules;
pub mod synth;
pub mod timeline;

use anyhow::Context;
use config::Config;
use std::io::{self, Write};
use std::process::ExitCode;

/// At most this many rejected rows are named on stderr; the JSON report
/// keeps them all.
const MAX_WARNINGS: usize = 20;

/// Runs one invocation; the error's chain decides the exit code.
pub fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    let config = Config::from_cli(&cli)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    if config.list_rules {
        report::list_rules(&mut out, config.format, &config.style)?;

        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let parsed = read_inputs(&config)?;
    let timeline = timeline::Timeline::build(parsed);
    if !config.quiet {
        warn_rejections(&timeline);
    }
    // Every rule runs (correlation needs the others); selection filters output.
    let mut findings = rules::run_all(&timeline, &config.settings);
    findings.retain(|f| config.min_level.is_none_or(|min| f.level >= min));
    findings.retain(|f| {
        config
            .only_rules
            .as_ref()
            .is_none_or(|only| only.iter().any(|r| r == f.rule))
    });
    findings.retain(|f| !config.exclude_rules.iter().any(|r| r == f.rule));

    let report = report::Report::new(&timeline, &findings);
    report::write(&mut out, &report, config.format, &config.style).context("writing the report")?;
    out.flush().context("writing the report")?;
    let failed = config
        .fail_on
        .is_some_and(|level| findings.iter().any(|f| f.level >= level));
    Ok(ExitCode::from(if failed {
        error::exit::FINDINGS
    } else {
        error::exit::OK
    }))
}

fn read_inputs(config: &Config) -> anyhow::Result<Vec<input::Parsed>> {
    let mut parsed = Vec::with_capacity(config.files.len());
    for (i, path) in config.files.iter().enumerate() {
        let file = u32::try_from(i).context("too many input files")?;
        parsed.push(input::read_path(path, file, config.read)?);
    }
    Ok(parsed)
}

/// Names the first rejected rows on stderr, then one summary line.
fn warn_rejections(timeline: &timeline::Timeline) {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for r in timeline.rejections.iter().take(MAX_WARNINGS) {
        let path = timeline
            .inputs
            .get(r.file as usize)
            .map_or("", |s| s.path.as_str());
        let _ = writeln!(
            err,
            "o365scan: warning: {}:{}: {}",
            escape::for_terminal(path),
            r.line,
            escape::for_terminal(&r.reason)
        );
    }
    if timeline.rejections.len() > MAX_WARNINGS {
        let _ = writeln!(
            err,
            "o365scan: warning: and {} more rejected rows (all listed in --format json)",
            timeline.rejections.len() - MAX_WARNINGS
        );
    }
    for s in &timeline.inputs {
        if s.missing_final_newline {
            let _ = writeln!(
                err,
                "o365scan: warning: {}: last line has no line ending; the export may be cut short",
                escape::for_terminal(&s.path)
            );
        }
    }
}
