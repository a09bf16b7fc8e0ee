//! How text output is rendered (colour, escaping, width, display zone),
//! decided once by the caller and handed to every report.

use chrono::{DateTime, FixedOffset, Utc};

/// Table width off a terminal: readable in an 80-column viewer.
pub const TABLE_WIDTH: u16 = 80;

/// How text output is rendered, decided once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    /// Colour the table by level.
    pub color: bool,
    /// The report goes to a terminal: escape control characters in machine
    /// formats too (the table always escapes).
    pub terminal: bool,
    /// Fixed table width; `None` lets the table fit the terminal.
    pub width: Option<u16>,
    /// Zone of table times (machine formats are always UTC).
    pub zone: Zone,
}

impl Style {
    /// Plain, fixed-width UTC output: what tests and pipes get.
    pub fn plain() -> Style {
        Style {
            color: false,
            terminal: false,
            width: Some(TABLE_WIDTH),
            zone: Zone::Utc,
        }
    }
}

/// A display time zone (`--tz`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    Utc,
    Fixed(FixedOffset),
    Named(chrono_tz::Tz),
}

impl Zone {
    pub fn parse(text: &str) -> Result<Zone, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" {
            return Ok(Zone::Utc);
        }
        if t.starts_with(['+', '-']) {
            return t
                .parse::<FixedOffset>()
                .map(Zone::Fixed)
                .map_err(|_| format!("--tz: expected an offset like +01:00, found '{t}'"));
        }
        t.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| format!("--tz: unknown time zone '{t}' (use an IANA name like Europe/London or an offset like +01:00)"))
    }

    /// `2018-06-20 08:44:25` in this zone.
    pub fn format(&self, t: DateTime<Utc>) -> String {
        const F: &str = "%Y-%m-%d %H:%M:%S";
        match self {
            Zone::Utc => t.format(F).to_string(),
            Zone::Fixed(o) => t.with_timezone(o).format(F).to_string(),
            Zone::Named(z) => t.with_timezone(z).format(F).to_string(),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Zone::Utc => "UTC".into(),
            Zone::Fixed(o) => o.to_string(),
            Zone::Named(z) => z.name().into(),
        }
    }
}
