//! One data row → one [`Activity`], or the reason it cannot be one.

use super::decode::decode_field;
use super::header::{self, Columns};
use super::records::Fields;
use super::{pylit, time};
use crate::activity::{Activity, App, Kind, PropsStatus, Source, TimeSource};
use crate::escape;
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::hash::{DefaultHasher, Hash, Hasher};

pub struct Built {
    pub activity: Activity,
    pub cp1252_fields: u32,
}

/// A 128-bit digest of the raw row for exact-duplicate detection. SipHash
/// with fixed keys: deterministic across runs; two independent halves make a
/// false match (which would drop a row) negligible (~2^-128 per pair).
pub fn digest(raw: &[u8]) -> u128 {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        raw.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

/// Field `pos`, empty when the row is short of it.
fn cell(fields: &Fields, pos: usize) -> &[u8] {
    fields.get(pos).unwrap_or_default()
}

pub fn build(record: &Fields, columns: &Columns, source: Source) -> Result<Built, String> {
    let mut cp1252_fields = 0;
    let mut field = |i: usize| -> Cow<'_, str> {
        let Some(pos) = columns.index[i] else {
            return Cow::Borrowed("");
        };
        let (text, fallback) = decode_field(cell(record, pos));
        cp1252_fields += u32::from(fallback);
        text
    };
    let (props_cell, rejoined) = properties_cell(record, columns)?;
    let stamp = field(header::TIME_STAMP);
    let creation = field(header::CREATION_TIME);
    let (time, created, time_source) = resolve_time(&stamp, &creation)?;
    let app = App::parse(field(header::APP).trim());
    let kind = Kind::parse(
        field(header::ACTIVITY)
            .trim()
            .trim_start_matches('\u{feff}'),
    );
    let item_id = field(header::ITEM_ID).trim().into();
    let session = field(header::SESSION).trim().into();
    let (props_text, fallback) = decode_field(&props_cell);
    cp1252_fields += u32::from(fallback);
    let (props, props_status) = parse_properties(&props_text, rejoined);
    let activity = Activity {
        time,
        created,
        time_source,
        app,
        kind,
        item_id,
        session,
        props,
        props_status,
        source,
    };
    Ok(Built {
        activity,
        cp1252_fields,
    })
}

/// The raw `CustomProperties` bytes. A row with more fields than the header
/// keeps its extras when `CustomProperties` is last (an unquoted cell split on
/// its commas by a hand edit); any other field-count mismatch is rejected.
fn properties_cell<'r>(
    record: &'r Fields,
    columns: &Columns,
) -> Result<(Cow<'r, [u8]>, Option<usize>), String> {
    let found = record.len();
    if found == columns.width {
        let cell = columns.index[header::PROPERTIES]
            .and_then(|p| record.get(p))
            .unwrap_or_default();
        return Ok((Cow::Borrowed(cell), None));
    }
    if found > columns.width && columns.properties_last() {
        let start = columns.width - 1;
        let joined = (start..found)
            .filter_map(|i| record.get(i))
            .collect::<Vec<_>>()
            .join(&b","[..]);
        return Ok((Cow::Owned(joined), Some(found)));
    }
    Err(format!("expected {} fields, found {found}", columns.width))
}

type Times = (DateTime<Utc>, Option<DateTime<Utc>>, TimeSource);

/// `TimeStamp`, or `ActivityCreationTime` when it is the sentinel or
/// unreadable (spec §8); a row with neither is rejected.
fn resolve_time(stamp: &str, creation: &str) -> Result<Times, String> {
    let created = match time::parse(creation) {
        time::Parsed::At(t) => Some(t),
        _ => None,
    };
    match (time::parse(stamp), created) {
        (time::Parsed::At(t), _) => Ok((t, created, TimeSource::TimeStamp)),
        (_, Some(c)) => Ok((c, created, TimeSource::CreationTime)),
        (time::Parsed::Sentinel, None) => Err(format!(
            "TimeStamp: unknown (0001-01-01) and ActivityCreationTime: expected an RFC 3339 time, found \"{}\"",
            quote(creation)
        )),
        (time::Parsed::Invalid, None) => Err(format!(
            "TimeStamp: expected an RFC 3339 time, found \"{}\"",
            quote(stamp)
        )),
    }
}

fn quote(text: &str) -> String {
    escape::for_terminal_short(text, 60)
}

fn parse_properties(text: &str, rejoined: Option<usize>) -> (pylit::Props, PropsStatus) {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return (pylit::Props::new(), PropsStatus::Empty);
    }
    let salvaged = |error: String| {
        let status = PropsStatus::Salvaged {
            error,
            raw: text.into(),
        };
        (pylit::salvage_pairs(trimmed), status)
    };
    match (pylit::parse_dict(trimmed), rejoined) {
        (Ok(map), None) => (map, PropsStatus::Parsed),
        (Ok(map), Some(n)) => {
            let status = PropsStatus::Salvaged {
                error: format!("row had {n} fields; extras rejoined into CustomProperties"),
                raw: text.into(),
            };
            (map, status)
        }
        (Err(e), _) => salvaged(e.to_string()),
    }
}
