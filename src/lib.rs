//! o365scan: offline triage of Office 365 Outlook Activities API exports for
//! Business Email Compromise.
//!
//! Data flows one way: [`input`] (CSV, encodings, Python literals) →
//! [`activity::Activity`] → [`timeline::Timeline`] → [`rules`] →
//! [`finding::Finding`] → [`report`]. Only [`run`] sees the whole pipeline;
//! `ARCHITECTURE.md` has the modules, their dependencies and invariants.
#![forbid(unsafe_code)]

pub mod activity;
mod actors;
pub mod attribution;
pub mod cli;
pub mod clock;
mod config;
pub mod error;
mod escape;
pub mod evidence;
pub mod finding;
pub mod geoip;
pub mod indicators;
pub mod input;
mod intern;
pub mod items;
mod net;
mod parallel;
pub mod report;
pub mod rules;
pub mod scope;
pub mod timeline;

use anyhow::Context;
use clap::CommandFactory;
use config::Config;
use error::OutputError;
use finding::Finding;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

/// At most this many rejected rows are named on stderr; the JSON report
/// keeps them all.
const MAX_WARNINGS: usize = 20;

/// Runs one invocation; the error's chain decides the exit code.
pub fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    if let Some(command) = &cli.command {
        return shell_support(command);
    }
    rules::check_catalogue().map_err(error::CatalogueError)?;
    let mut config = Config::from_cli(&cli)?;
    if !config.ioc_files.is_empty() {
        let indicators = read_indicators(&config)?;
        config.settings.set_indicators(indicators);
    }
    if config.list_rules {
        let mut out = stdout();
        report::list_rules(&mut out, config.format, &config.style)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    // Databases are opened before any export is read: a wrong path fails
    // at once.
    let geoip = (!config.geoip_files.is_empty())
        .then(|| geoip::GeoIp::open(&config.geoip_files))
        .transpose()?;
    expand_folders(&mut config)?;
    let parsed = read_inputs(&config)?;
    let mut analysis = Analysis::with_geoip(parsed, &config.settings, geoip);
    if let Some(g) = &analysis.geoip {
        let asn = config.settings.indicators().need_asn();
        let any_asn = g.databases.iter().any(|d| d.provides.contains(&"asn"));
        if asn > 0 && !any_asn && !config.quiet {
            eprintln!(
                "o365scan: warning: {asn} ASN indicator(s), but no --geoip database gave an AS number for this run's IPs: they match nothing"
            );
        }
    }
    if !config.quiet {
        warn_rejections(&analysis.timeline);
    }
    // Who is suspect is the rules' judgement, before --min-level and
    // --rules choose what is shown.
    let scope = analysis.scope(&config.selection, config.window);
    select(&mut analysis.findings, &config);
    let report = analysis
        .report(config.window)
        .with_scope(&scope)
        .with_case(&config.case);
    write_outputs(&report, &config)?;
    if !config.quiet && config.format != report::Format::Table {
        eprintln!(
            "o365scan: {} records, {} rejected, {} duplicates; {} findings",
            report.records(),
            report.rejected(),
            report.duplicates(),
            report.findings.len()
        );
    }
    let failed = config
        .fail_on
        .is_some_and(|level| report.findings.iter().any(|f| f.level >= level));
    drop(report);
    // Freeing a million-row timeline takes longer than some reports take
    // to write: done beside the exit, which does not wait for it.
    std::thread::spawn(move || drop(analysis));
    Ok(ExitCode::from(if failed {
        error::exit::FINDINGS
    } else {
        error::exit::OK
    }))
}

/// `completions SHELL` and `man`: generated from the clap definition.
fn shell_support(command: &cli::Command) -> anyhow::Result<ExitCode> {
    let mut out = stdout();
    match command {
        cli::Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut cli::Cli::command(), "o365scan", &mut out)
        }
        cli::Command::Man => clap_mangen::Man::new(cli::Cli::command()).render(&mut out)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Standard output, buffered in 64 KiB writes (a report can run to tens of
/// megabytes).
fn stdout() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::with_capacity(1 << 16, io::stdout().lock())
}

/// The pipeline after reading, in its one direction: the inputs become one
/// timeline, each record is given the network it came from, and every rule
/// runs. What [`run`] reports on, and what tests, examples and fuzz
/// targets analyse.
#[derive(Debug)]
pub struct Analysis {
    pub timeline: timeline::Timeline,
    pub ips: attribution::IpAttribution,
    /// Every rule's findings, in the order the rules ran.
    pub findings: Vec<Finding>,
    /// Which message each record acts on (`items.rs`).
    pub items: items::Catalogue,
    /// `--geoip`: what the databases say of each attributed IP.
    pub geoip: Option<geoip::GeoIp>,
    /// Who acted, as the rules judged it (`actors.rs`).
    actors: actors::Actors,
}

impl Analysis {
    pub fn of(parsed: Vec<input::Parsed>, settings: &rules::Settings) -> Analysis {
        Analysis::with_geoip(parsed, settings, None)
    }

    /// [`Analysis::of`] with IP databases: each attributed IP is looked up
    /// once, after attribution and before the rules, which read it.
    pub fn with_geoip(
        parsed: Vec<input::Parsed>,
        settings: &rules::Settings,
        geoip: Option<geoip::GeoIp>,
    ) -> Analysis {
        // Attribution reads only the records: beside the indexes.
        let (timeline, ips) =
            timeline::Timeline::build_beside(parsed, attribution::IpAttribution::of_records);
        let geoip = geoip.map(|mut g| {
            g.enrich(&ips);
            g
        });
        let items = items::Catalogue::new(&timeline);
        let (findings, actors) = rules::run(&timeline, &ips, &items, geoip.as_ref(), settings);
        Analysis {
            timeline,
            ips,
            findings,
            items,
            geoip,
            actors,
        }
    }

    /// What the actors of `selection` touched inside `window`
    /// (`scope.rs`): the step after the rules, reading their findings.
    pub fn scope(&self, selection: &scope::Selection, window: report::Window) -> scope::Scope {
        let sources = scope::Sources {
            timeline: &self.timeline,
            ips: &self.ips,
            actors: &self.actors,
            items: &self.items,
            findings: &self.findings,
        };
        scope::Scope::of(&sources, selection, &|t| window.contains(t))
    }

    /// The report of the findings overlapping `window`.
    pub fn report(&self, window: report::Window) -> report::Report<'_> {
        let report = report::Report::new(&self.timeline, &self.ips, &self.findings, window)
            .with_items(&self.items);
        match &self.geoip {
            Some(g) => report.with_geoip(g),
            None => report,
        }
    }
}

/// Every rule runs (correlation needs the others); selection filters output.
fn select(findings: &mut Vec<Finding>, config: &Config) {
    findings.retain(|f| config.min_level.is_none_or(|min| f.level >= min));
    findings.retain(|f| {
        config
            .only_rules
            .as_ref()
            .is_none_or(|only| only.iter().any(|r| r == f.rule))
    });
    findings.retain(|f| !config.exclude_rules.iter().any(|r| r == f.rule));
}

/// Reads the `--ioc` files: a file that cannot be read ends the run (exit
/// 66); a malformed line is named and skipped, or ends the run under
/// `--strict` (exit 65).
fn read_indicators(config: &Config) -> Result<indicators::Indicators, error::InputError> {
    let mut all = indicators::Indicators::default();
    for path in &config.ioc_files {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| error::InputError::Open {
            path: name.clone(),
            source,
        })?;
        for p in all.add_file(&name, &String::from_utf8_lossy(&bytes)) {
            if config.read.strict {
                return Err(error::InputError::Strict {
                    path: p.path,
                    line: p.line,
                    reason: p.reason,
                });
            }
            if !config.quiet {
                eprintln!(
                    "o365scan: warning: {}:{}: {} (indicator skipped)",
                    escape::for_terminal(&p.path),
                    p.line,
                    escape::for_terminal(&p.reason)
                );
            }
        }
    }
    let asn = all.need_asn();
    if asn > 0 && config.geoip_files.is_empty() && !config.quiet {
        eprintln!(
            "o365scan: warning: {asn} ASN indicator(s) need an ASN database (--geoip): without one they match nothing"
        );
    }
    if all.is_empty() && !config.quiet {
        eprintln!("o365scan: warning: --ioc: no indicator read");
    }
    Ok(all)
}

/// Reads every input, one per core at a time (a case often holds dozens of
/// mailboxes: one thread each would run them all at once, with all their
/// read buffers). Results keep the command-line order, and the first
/// failing input (in that order) ends the run.
/// Replaces each folder among the inputs by the exports under it, with a
/// note per file left out and per folder read (docs/inputs.md).
fn expand_folders(config: &mut Config) -> anyhow::Result<()> {
    if !config
        .files
        .iter()
        .any(|p| p.as_os_str() != "-" && p.is_dir())
    {
        return Ok(());
    }
    let found = input::discover::expand(&config.files, input::probe).map_err(|source| {
        error::InputError::Open {
            path: config
                .files
                .iter()
                .find(|p| p.is_dir())
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            source,
        }
    })?;
    if !config.quiet {
        for (path, why) in &found.skipped {
            eprintln!(
                "o365scan: note: skipped {}: {}",
                escape::for_terminal(&path.display().to_string()),
                escape::for_terminal(why)
            );
        }
        for (folder, kept) in &found.folders {
            eprintln!(
                "o365scan: {}: {kept} export(s) read, in sorted path order",
                escape::for_terminal(&folder.display().to_string())
            );
        }
    }
    if let Some((folder, _)) = found.folders.iter().find(|(_, kept)| *kept == 0) {
        return Err(error::InputError::NoExports {
            path: folder.display().to_string(),
        }
        .into());
    }
    if found.files.len() > activity::MAX_INPUTS {
        return Err(error::UsageError(format!(
            "{} input files; a run reads at most {}: split the case into several runs",
            found.files.len(),
            activity::MAX_INPUTS
        ))
        .into());
    }
    config.files = found.files;
    config.read.progress &= config.files.len() == 1;
    Ok(())
}

fn read_inputs(config: &Config) -> anyhow::Result<Vec<input::Parsed>> {
    let files = &config.files;
    // The cores are shared: files read at once, and threads per file.
    let cores = parallel::cores();
    let opts = input::ReadOptions {
        workers: (cores / files.len().max(1)).max(1),
        ..config.read
    };
    let pool = parallel::Pool {
        workers: cores.min(files.len()),
        // Every input is kept to the end: no reason to wait for the first.
        ahead: files.len(),
    };
    let mut paths = files.iter().enumerate();
    let mut parsed = Vec::with_capacity(files.len());
    parallel::ordered(
        pool,
        |_| Ok(paths.next()),
        || (),
        |_, &(i, path), _| {
            let file = u32::try_from(i).unwrap_or(u32::MAX);
            input::read_path(path, file, opts)
        },
        |p| {
            parsed.push(p);
            Ok(None)
        },
    )?;
    Ok(parsed)
}

/// The timeline (file or stdout) and the report (`--output`, else stdout
/// unless the timeline took it).
fn write_outputs(report: &report::Report<'_>, config: &Config) -> anyhow::Result<()> {
    let mut stdout_taken = false;
    if let Some(tl) = &config.timeline {
        match &tl.path {
            Some(path) => {
                let mut out = create_output(path, config.force)?;
                report::timeline_out::write(&mut out, report, &tl.options, &config.style)
                    .with_context(|| format!("{}: writing the timeline", path.display()))?;
                out.flush()
                    .with_context(|| format!("{}: writing the timeline", path.display()))?;
            }
            None => {
                stdout_taken = true;
                let mut out = stdout();
                report::timeline_out::write(&mut out, report, &tl.options, &config.style)?;
                out.flush()?;
            }
        }
    }
    if let Some(scope) = &config.scope {
        let path = &scope.path;
        let mut out = create_output(path, config.force)?;
        report::scope_out::write(&mut out, report, scope.format)
            .with_context(|| format!("{}: writing the scope", path.display()))?;
        out.flush()
            .with_context(|| format!("{}: writing the scope", path.display()))?;
    }
    if let Some(path) = &config.html {
        let mut out = create_output(path, config.force)?;
        report::html::write(&mut out, report)
            .with_context(|| format!("{}: writing the HTML report", path.display()))?;
        out.flush()
            .with_context(|| format!("{}: writing the HTML report", path.display()))?;
    }
    match &config.output {
        Some(path) => {
            let mut out = create_output(path, config.force)?;
            report::write(&mut out, report, config.format, &config.style)
                .with_context(|| format!("{}: writing the report", path.display()))?;
            out.flush()
                .with_context(|| format!("{}: writing the report", path.display()))?;
        }
        None if !stdout_taken => {
            let mut out = stdout();
            report::write(&mut out, report, config.format, &config.style)?;
            out.flush()?;
        }
        None => {}
    }
    Ok(())
}

/// Creates an output file; an existing one only with `--force`.
fn create_output(path: &Path, force: bool) -> Result<BufWriter<File>, OutputError> {
    let mut options = OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    options
        .open(path)
        .map(|f| BufWriter::with_capacity(1 << 16, f))
        .map_err(|source| {
            let path = path.display().to_string();
            if source.kind() == io::ErrorKind::AlreadyExists {
                OutputError::Exists { path }
            } else {
                OutputError::Create { path, source }
            }
        })
}

/// Names the first rejected rows on stderr, then one summary line.
fn warn_rejections(timeline: &timeline::Timeline) {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for r in timeline.rejections().iter().take(MAX_WARNINGS) {
        let path = timeline
            .inputs()
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
    if timeline.rejections().len() > MAX_WARNINGS {
        let _ = writeln!(
            err,
            "o365scan: warning: and {} more rejected rows (all listed in --format json)",
            timeline.rejections().len() - MAX_WARNINGS
        );
    }
    for s in timeline.inputs() {
        if s.missing_final_newline {
            let _ = writeln!(
                err,
                "o365scan: warning: {}: last line has no line ending; the export may be cut short",
                escape::for_terminal(&s.path)
            );
        }
    }
}
