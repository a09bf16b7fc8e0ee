//! Validated run settings built once from the command line. Everything after
//! this point takes `Config`/`Style` values, never clap types or globals.

use crate::cli::{Cli, ColorWhen, Format};
use crate::error::UsageError;
use crate::finding::Level;
use crate::input::ReadOptions;
use crate::rules::{self, Settings};
use std::env;
use std::io::IsTerminal;

/// How text output is rendered, decided once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Colour the table by level.
    pub color: bool,
    /// Standard output is a terminal: escape control characters in machine
    /// formats too (the table always escapes).
    pub terminal: bool,
    /// Fixed table width; `None` lets the table fit the terminal.
    pub width: Option<u16>,
}

impl Style {
    /// Plain, fixed-width output: what tests and pipes get.
    pub fn plain() -> Style {
        Style {
            color: false,
            terminal: false,
            width: Some(TABLE_WIDTH),
        }
    }
}

/// Table width off a terminal: readable in an 80-column viewer.
pub const TABLE_WIDTH: u16 = 80;

#[derive(Debug)]
pub struct Config {
    pub files: Vec<String>,
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
}

impl Config {
    pub fn from_cli(cli: &Cli) -> Result<Config, UsageError> {
        let terminal = std::io::stdout().is_terminal();
        let color = match cli.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && env::var_os("TERM").is_none_or(|t| t != "dumb")
                    && terminal
            }
        };
        let width = (!terminal).then_some(TABLE_WIDTH);
        for id in cli.rules.iter().chain(&cli.exclude_rules) {
            if rules::find(id).is_none() {
                return Err(UsageError(format!(
                    "unknown rule '{id}'; valid rules: {}",
                    rules::settings::rule_ids()
                )));
            }
        }
        let settings = match &cli.config {
            None => Settings::defaults(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    UsageError(format!("{}: cannot read config: {e}", path.display()))
                })?;
                Settings::from_toml(&text)
                    .map_err(|e| UsageError(format!("{}: {e}", path.display())))?
            }
        };
        Ok(Config {
            files: cli
                .files
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
            format: cli.format,
            style: Style {
                color,
                terminal,
                width,
            },
            quiet: cli.quiet,
            read: ReadOptions { strict: cli.strict },
            list_rules: cli.list_rules,
            min_level: cli.min_level,
            fail_on: cli.fail_on,
            only_rules: (!cli.rules.is_empty()).then(|| cli.rules.clone()),
            exclude_rules: cli.exclude_rules.clone(),
            settings,
        })
    }
}
