//! Validated run settings built once from the command line. Everything after
//! this point takes `Config`/`Style` values, never clap types or globals.

use crate::cli::{Cli, ColorWhen};
use crate::error::UsageError;
use crate::finding::Level;
use crate::input::ReadOptions;
use crate::report::CaseInfo;
pub(crate) use crate::report::Window;
pub(crate) use crate::report::{Format, Style, TABLE_WIDTH, TimelineFormat, TimelineOptions, Zone};
use crate::rules::{self, Settings};
use crate::scope::{Selection, Selector};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::env;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// RFC 3339, or a date: its start (`end = false`) or its last microsecond.
fn parse_bound(flag: &str, text: &str, end: bool) -> Result<DateTime<Utc>, UsageError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        UsageError(format!(
            "{flag}: expected an RFC 3339 time or a date YYYY-MM-DD, found '{text}'"
        ))
    })?;
    let start = date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    Ok(if end {
        start + Duration::days(1) - Duration::microseconds(1)
    } else {
        start
    })
}

/// Where and how the timeline is written.
#[derive(Debug, Clone)]
pub(crate) struct TimelineOut {
    /// `None`: standard output.
    pub path: Option<PathBuf>,
    pub options: TimelineOptions,
}

#[derive(Debug)]
pub(crate) struct Config {
    /// As given: any name the system can open, UTF-8 or not.
    pub files: Vec<PathBuf>,
    pub format: Format,
    pub style: Style,
    pub quiet: bool,
    pub read: ReadOptions,
    pub list_rules: bool,
    pub min_level: Option<Level>,
    pub fail_on: Option<Level>,
    /// Rule ids whose findings are reported (all when `None`).
    pub only_rules: Option<Vec<String>>,
    pub exclude_rules: Vec<String>,
    pub settings: Settings,
    /// The report's file; `None` is standard output.
    pub output: Option<PathBuf>,
    pub force: bool,
    pub timeline: Option<TimelineOut>,
    /// The HTML report's file.
    pub html: Option<PathBuf>,
    pub window: Window,
    /// Whose activity the scope lists (`--actor`).
    pub selection: Selection,
    /// `--scope`: where and how the scope's rows are written.
    pub scope: Option<ScopeOut>,
    /// `--ioc` files, read by `run` (their errors are input errors).
    pub ioc_files: Vec<PathBuf>,
    /// `--geoip` databases, opened by `run`.
    pub geoip_files: Vec<PathBuf>,
    /// `--case`, `--examiner` and when the run happened.
    pub case: CaseInfo,
}

/// Where and how the scope's rows are written.
#[derive(Debug, Clone)]
pub(crate) struct ScopeOut {
    pub path: PathBuf,
    pub format: TimelineFormat,
}

impl Config {
    pub(crate) fn from_cli(cli: &Cli) -> Result<Config, UsageError> {
        if cli.files.len() > crate::activity::MAX_INPUTS {
            return Err(UsageError(format!(
                "{} input files; a run reads at most {}: split the case into several runs",
                cli.files.len(),
                crate::activity::MAX_INPUTS
            )));
        }
        for id in cli.rules.iter().chain(&cli.exclude_rules) {
            if rules::find(id).is_none() {
                return Err(UsageError(format!(
                    "unknown rule '{id}'; valid rules: {}",
                    rules::settings::rule_ids()
                )));
            }
        }
        let window = Window {
            from: cli
                .from
                .as_deref()
                .map(|t| parse_bound("--from", t, false))
                .transpose()?,
            to: cli
                .to
                .as_deref()
                .map(|t| parse_bound("--to", t, true))
                .transpose()?,
        };
        if let (Some(f), Some(t)) = (window.from, window.to)
            && f > t
        {
            return Err(UsageError("--from is after --to".into()));
        }
        let timeline = timeline_out(cli)?;
        let stdout_is_report =
            cli.output.is_none() && timeline.as_ref().is_none_or(|t| t.path.is_some());
        let case = CaseInfo {
            reference: cli.case.clone(),
            examiner: cli.examiner.clone(),
            generated: generated_at()?,
        };
        Ok(Config {
            case,
            files: cli.files.clone(),
            format: cli.format.into(),
            style: style(cli, stdout_is_report)?,
            quiet: cli.quiet,
            // One bar per run: several files are read at once and their bars
            // would overwrite each other.
            read: ReadOptions {
                strict: cli.strict,
                progress: !cli.quiet && cli.files.len() == 1 && std::io::stderr().is_terminal(),
                // Every core: `read_inputs` shares them out between files.
                workers: 0,
                max_mailboxes: crate::activity::MAX_INPUTS / cli.files.len().max(1),
            },
            list_rules: cli.list_rules,
            min_level: cli.min_level.map(Level::from),
            fail_on: cli.fail_on.map(Level::from),
            only_rules: (!cli.rules.is_empty()).then(|| cli.rules.clone()),
            exclude_rules: cli.exclude_rules.clone(),
            settings: settings(cli.config.as_deref())?,
            output: cli.output.clone(),
            force: cli.force,
            timeline,
            html: cli.html.clone(),
            window,
            selection: selection(&cli.actor)?,
            scope: scope_out(cli)?,
            ioc_files: cli.ioc.clone(),
            geoip_files: cli.geoip.clone(),
        })
    }
}

fn settings(path: Option<&Path>) -> Result<Settings, UsageError> {
    let Some(path) = path else {
        return Ok(Settings::defaults());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("{}: cannot read config: {e}", path.display())))?;
    Settings::from_toml(&text).map_err(|e| UsageError(format!("{}: {e}", path.display())))
}

/// Colour, escaping and width follow the destination actually written.
fn style(cli: &Cli, stdout_is_report: bool) -> Result<Style, UsageError> {
    let terminal = stdout_is_report && std::io::stdout().is_terminal();
    let color = match cli.color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && env::var_os("TERM").is_none_or(|t| t != "dumb")
                && terminal
        }
    };
    let zone = cli
        .tz
        .as_deref()
        .map(Zone::parse)
        .transpose()
        .map_err(UsageError)?
        .unwrap_or(Zone::Utc);
    Ok(Style {
        color,
        terminal,
        width: (!terminal).then_some(TABLE_WIDTH),
        zone,
    })
}

/// `--actor`: `all`, or selectors; none is the suspect actors.
fn selection(actors: &[String]) -> Result<Selection, UsageError> {
    if actors.is_empty() {
        return Ok(Selection::Suspect);
    }
    if actors.iter().any(|a| a.trim().eq_ignore_ascii_case("all")) {
        if actors.len() > 1 {
            return Err(UsageError(
                "--actor all scopes everyone: give it alone".into(),
            ));
        }
        return Ok(Selection::All);
    }
    let selectors = actors.iter().map(|a| Selector::parse(a));
    Ok(Selection::Explicit(
        selectors.collect::<Result<_, _>>().map_err(UsageError)?,
    ))
}

/// The format a path's extension names (`.csv`, `.jsonl`, `.ndjson`).
fn format_of(path: &Path) -> Option<TimelineFormat> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Some(TimelineFormat::Csv),
        Some("jsonl" | "ndjson") => Some(TimelineFormat::Jsonl),
        _ => None,
    }
}

fn scope_out(cli: &Cli) -> Result<Option<ScopeOut>, UsageError> {
    let Some(path) = &cli.scope else {
        return Ok(None);
    };
    let format = format_of(path).ok_or_else(|| {
        UsageError(format!(
            "--scope {}: name a .csv or .jsonl file",
            path.display()
        ))
    })?;
    Ok(Some(ScopeOut {
        path: path.clone(),
        format,
    }))
}

fn timeline_out(cli: &Cli) -> Result<Option<TimelineOut>, UsageError> {
    let Some(path) = &cli.timeline else {
        return Ok(None);
    };
    let stdout = path.as_os_str() == "-";
    let by_extension = format_of(path);
    let format = cli.timeline_format.map(TimelineFormat::from).or(by_extension).ok_or_else(|| {
        UsageError(format!(
            "--timeline {}: say the format with a .csv or .jsonl extension or --timeline-format",
            path.display()
        ))
    })?;
    Ok(Some(TimelineOut {
        path: (!stdout).then(|| path.clone()),
        options: TimelineOptions {
            format,
            timesketch: cli.timesketch,
        },
    }))
}

/// When the report is produced: now, or `SOURCE_DATE_EPOCH` (seconds since
/// 1970, the reproducible-builds convention) so that two runs give the
/// same HTML bytes. Only the HTML report shows it; the JSON report stays a
/// function of the input.
fn generated_at() -> Result<DateTime<Utc>, UsageError> {
    let Some(raw) = std::env::var_os("SOURCE_DATE_EPOCH").filter(|v| !v.is_empty()) else {
        return Ok(Utc::now());
    };
    let text = raw.to_string_lossy();
    text.trim()
        .parse::<i64>()
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or_else(|| {
            UsageError(format!(
                "SOURCE_DATE_EPOCH is '{text}': expected whole seconds since 1970-01-01 UTC"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones() {
        let t = DateTime::parse_from_rfc3339("2018-06-20T08:44:25Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Zone::parse("Europe/London").unwrap().format(t),
            "2018-06-20 09:44:25"
        );
        assert_eq!(
            Zone::parse("-05:00").unwrap().format(t),
            "2018-06-20 03:44:25"
        );
        assert_eq!(Zone::parse("utc").unwrap().label(), "UTC");
        assert!(Zone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn date_bounds_cover_whole_days() {
        let from = parse_bound("--from", "2018-06-20", false).unwrap();
        let to = parse_bound("--to", "2018-06-20", true).unwrap();
        assert_eq!(crate::clock::format(from), "2018-06-20T00:00:00.000000Z");
        assert_eq!(crate::clock::format(to), "2018-06-20T23:59:59.999999Z");
        assert!(parse_bound("--to", "20/06/2018", true).is_err());
    }
}
