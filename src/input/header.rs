//! The header line: columns mapped by name, case-insensitive and
//! BOM-tolerant (`docs/format.md` §2, §11.3), and recognition of repeated headers and of
//! files that are not Activities exports at all.

use super::records::Fields;
use crate::escape;

/// The seven retriever columns, in the producer's order.
pub(super) const COLUMNS: [&str; 7] = [
    "TimeStamp",
    "AppIdType",
    "ActivityIdType",
    "ActivityItemId",
    "ActivityCreationTime",
    "ClientSessionId",
    "CustomProperties",
];

pub(super) const TIME_STAMP: usize = 0;
pub(super) const APP: usize = 1;
pub(super) const ACTIVITY: usize = 2;
pub(super) const ITEM_ID: usize = 3;
pub(super) const CREATION_TIME: usize = 4;
pub(super) const SESSION: usize = 5;
pub(super) const PROPERTIES: usize = 6;

/// Where each retriever column sits in this file.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    /// Position of each of [`COLUMNS`]; `None` when the file lacks it.
    pub index: [Option<usize>; 7],
    /// Number of header fields.
    pub width: usize,
}

impl Columns {
    /// Maps a header record; `Err` describes what the file looks like instead.
    pub(crate) fn from_header(raw: &[u8], record: &Fields) -> Result<Self, String> {
        let names: Vec<String> = record.iter().map(normalise).collect();
        let mut index = [None; 7];
        for (slot, wanted) in index.iter_mut().zip(COLUMNS) {
            *slot = names.iter().position(|n| n.eq_ignore_ascii_case(wanted));
        }
        if index[TIME_STAMP].is_some() && index[ACTIVITY].is_some() {
            return Ok(Columns {
                index,
                width: names.len(),
            });
        }
        Err(describe(raw, &names))
    }

    /// True when `CustomProperties` is the last column, so stray unquoted
    /// commas in a hand-edited cell can be rejoined without guessing.
    pub(crate) fn properties_last(&self) -> bool {
        self.index[PROPERTIES] == Some(self.width - 1)
    }
}

/// A later line equal to a header (merged exports, `docs/format.md` §2).
/// Asked of every row, so it reads the fields in place (no copies).
pub(super) fn is_header(record: &Fields) -> bool {
    let is = |field: &[u8], name: &str| {
        // Most rows start with a digit (a time): no header does.
        !field.first().is_some_and(u8::is_ascii_digit)
            && trimmed(&String::from_utf8_lossy(field)).eq_ignore_ascii_case(name)
    };
    let mut fields = record.iter();
    fields.next().is_some_and(|f| is(f, "timestamp")) && fields.any(|f| is(f, "activityidtype"))
}

fn normalise(field: &[u8]) -> String {
    trimmed(&String::from_utf8_lossy(field)).to_string()
}

/// A header name without surrounding space or byte-order mark.
fn trimmed(name: &str) -> &str {
    name.trim().trim_start_matches('\u{feff}').trim()
}

/// Says what a non-export first line looks like, for the error message.
fn describe(raw: &[u8], names: &[String]) -> String {
    let control = raw
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n'))
        .count();
    if raw.contains(&0)
        || control * 10 > raw.len().max(1)
        || names.iter().any(|n| n.contains('\u{FFFD}'))
    {
        return "binary data".into();
    }
    let has = |n: &str| names.iter().any(|x| x.eq_ignore_ascii_case(n));
    let line = escape::for_terminal_short(&names.join(","), 80);
    if has("CreationDate") && (has("Operations") || has("AuditData")) {
        return format!("a Unified Audit Log export (\"{line}\")");
    }
    if names
        .first()
        .is_some_and(|n| n.starts_with('{') || n.starts_with('['))
    {
        return format!("JSON (\"{line}\")");
    }
    format!("\"{line}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::records::Splitter;

    fn rec(line: &str) -> Fields {
        let mut f = Fields::default();
        Splitter::default().split(line.as_bytes(), &mut f);
        f
    }

    fn header(line: &str) -> Result<Columns, String> {
        Columns::from_header(line.as_bytes(), &rec(line))
    }

    #[test]
    fn maps_by_name_in_any_case_and_order() {
        let cols = header("\u{feff}timestamp,ACTIVITYIDTYPE,CustomProperties").unwrap();
        assert_eq!(cols.index[TIME_STAMP], Some(0));
        assert_eq!(cols.index[ACTIVITY], Some(1));
        assert_eq!(cols.index[APP], None);
        assert!(cols.properties_last());
    }

    #[test]
    fn names_what_the_file_is_instead() {
        let err = header("CreationDate,UserIds,Operations,AuditData").unwrap_err();
        assert!(err.starts_with("a Unified Audit Log export"), "{err}");
        assert_eq!(header("a\0b\u{1}\u{2}").unwrap_err(), "binary data");
    }

    #[test]
    fn repeated_header_with_mid_file_bom() {
        assert!(is_header(&rec(
            "\u{feff}TimeStamp,AppIdType,ActivityIdType"
        )));
        assert!(!is_header(&rec("2018-06-20T08:41:07Z,Web,Logon")));
    }
}
