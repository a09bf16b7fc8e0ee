//! Timestamps of the export: ISO 8601 UTC with 0–7 fraction digits, `Z` or
//! an offset, and the `0001-01-01` "unknown" sentinel (`docs/format.md` §8). Never parsed
//! through a locale (`docs/rules.md` §4: hawk#290).

use chrono::{DateTime, NaiveDateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Parsed {
    At(DateTime<Utc>),
    /// `0001-01-01…`: the producer's "unknown".
    Sentinel,
    Invalid,
}

pub(super) fn parse(text: &str) -> Parsed {
    let text = text.trim().trim_start_matches('\u{feff}');
    if text.starts_with("0001-01-01") {
        return Parsed::Sentinel;
    }
    if let Some(t) = fast_utc(text.as_bytes()) {
        return Parsed::At(t);
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

/// The API's own form, `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, without chrono's
/// general parser: this runs twice per row. Anything else falls through.
fn fast_utc(b: &[u8]) -> Option<DateTime<Utc>> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || *b.last()? != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date =
        chrono::NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)?;
    let frac = &b[19..b.len() - 1];
    let nanos = match frac {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let n = num(20..20 + digits.len())?;
            n * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let time =
        chrono::NaiveTime::from_hms_nano_opt(num(11..13)?, num(14..16)?, num(17..19)?, nanos)?;
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::format;

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
    fn fast_path_agrees_with_chrono() {
        for t in [
            "2018-06-20T08:52:10Z",
            "2018-06-20T08:52:10.5Z",
            "2018-06-20T08:52:10.377Z",
            "2018-06-20T08:52:10.1234567Z",
            "2016-02-29T23:59:59.999999999Z",
        ] {
            let slow = DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
            assert_eq!(fast_utc(t.as_bytes()), Some(slow), "{t}");
        }
        for bad in [
            "2018-02-30T08:52:10Z",
            "2018-06-20T25:00:00Z",
            "2018-06-20T08:52:10.Z",
            "2018-06-20 08:52:10Z",
            "2018-06-20T08:52:1xZ",
        ] {
            assert_eq!(fast_utc(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn sentinel_and_garbage() {
        assert_eq!(parse("0001-01-01T00:00:00Z"), Parsed::Sentinel);
        assert_eq!(parse("20/06/2018 08:52"), Parsed::Invalid);
        assert_eq!(parse(""), Parsed::Invalid);
    }
}
