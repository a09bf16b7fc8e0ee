//! Timestamps of the export: ISO 8601 UTC with 0–7 fraction digits, `Z` or
//! an offset, and the `0001-01-01` "unknown" sentinel (spec §8). Never parsed
//! through a locale (`detections.md` §4: hawk#290).

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    At(DateTime<Utc>),
    /// `0001-01-01…`: the producer's "unknown".
    Sentinel,
    Invalid,
}

pub fn parse(text: &str) -> Parsed {
    let text = text.trim().trim_start_matches('\u{feff}');
    if text.starts_with("0001-01-01") {
        return Parsed::Sentinel;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Parsed::At(dt.with_timezone(&Utc));
    }
    // No zone written: the API only ever wrote UTC.
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Parsed::At(naive.and_utc());
        }
    }
    Parsed::Invalid
}

/// The one output form: UTC, microseconds, `Z`; string order is time order.
pub fn format(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> String {
        match parse(text) {
            Parsed::At(t) => format(t),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn every_fraction_width_and_zone_form() {
        assert_eq!(at("2018-06-20T08:52:10Z"), "2018-06-20T08:52:10.000000Z");
        assert_eq!(at("2018-06-20T08:52:10.5Z"), "2018-06-20T08:52:10.500000Z");
        assert_eq!(
            at("2018-06-20T08:52:10.377Z"),
            "2018-06-20T08:52:10.377000Z"
        );
        assert_eq!(
            at("2018-06-20T08:52:10.1234567Z"),
            "2018-06-20T08:52:10.123456Z"
        );
        assert_eq!(
            at("2018-06-20T09:52:10.377+01:00"),
            "2018-06-20T08:52:10.377000Z"
        );
        assert_eq!(at("2018-06-20T08:52:10.377"), "2018-06-20T08:52:10.377000Z");
        assert_eq!(
            at("\u{feff}2018-06-20 08:52:10"),
            "2018-06-20T08:52:10.000000Z"
        );
    }

    #[test]
    fn sentinel_and_garbage() {
        assert_eq!(parse("0001-01-01T00:00:00Z"), Parsed::Sentinel);
        assert_eq!(parse("20/06/2018 08:52"), Parsed::Invalid);
        assert_eq!(parse(""), Parsed::Invalid);
    }
}
