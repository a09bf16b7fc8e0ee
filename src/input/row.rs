//! One data row → one [`Activity`], or the reason it cannot be one.

use super::decode::decode_field;
use super::header::{self, Columns};
use super::records::Fields;
use super::row_error::RowError;
use super::{pylit, time};
use crate::activity::{
    Activity, App, Arenas, IdHash, Kind, MessageIds, Prop, PropKey, Source, TimeSource,
};
use crate::escape;
use chrono::{DateTime, Utc};
use std::borrow::Cow;

pub(super) struct Built {
    pub activity: Activity,
    pub cp1252_fields: u32,
    /// Why `CustomProperties` had to be salvaged, if it was.
    pub salvage_error: Option<String>,
}

/// Field `pos`, empty when the row is short of it.
fn cell(fields: &Fields, pos: usize) -> &[u8] {
    fields.get(pos).unwrap_or_default()
}

pub(super) fn build(
    record: &Fields,
    columns: &Columns,
    source: Source,
    sink: &mut Arenas,
) -> Result<Built, RowError> {
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
    let (time, time_source) = resolve_time(&stamp, || field(header::CREATION_TIME))?;
    let app = App::parse(field(header::APP).trim(), &mut sink.strings);
    let kind = Kind::parse(
        field(header::ACTIVITY)
            .trim()
            .trim_start_matches('\u{feff}'),
        &mut sink.strings,
    );
    let item = IdHash::of(&field(header::ITEM_ID));
    let session = sink.strings.intern(field(header::SESSION).trim());
    let (props_text, fallback) = decode_field(&props_cell);
    cp1252_fields += u32::from(fallback);
    let (ids, salvage_error) = read_properties(&props_text, rejoined, !kind.is_known(), sink);
    let mut activity = Activity::new(time, time_source, source, kind);
    activity.item = item;
    activity.session = session;
    activity.app = app;
    activity.set_extras(sink.finish_row(ids)?);
    if salvage_error.is_some() {
        activity.set_salvaged();
    }
    Ok(Built {
        activity,
        cp1252_fields,
        salvage_error,
    })
}

/// Parses `CustomProperties` straight into the run's property arena,
/// keeping what rules and reports read (every key for activity types outside
/// the catalogue, which `rule-activity` shows whole). Returns the hashed
/// `InternetMessageId` and `ConversationId`, and why the cell had to be
/// salvaged, if it was.
fn read_properties(
    text: &str,
    rejoined: Option<usize>,
    keep_all: bool,
    sink: &mut Arenas,
) -> (MessageIds, Option<String>) {
    let mut ids = MessageIds::default();
    sink.begin_row();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return (ids, None);
    }
    let parsed = pylit::visit_dict(trimmed, |key, value| {
        keep(&key, value.as_text(), keep_all, sink, &mut ids)
    });
    match (parsed, rejoined) {
        (Ok(()), None) => (ids, None),
        (Ok(()), Some(n)) => (
            ids,
            Some(format!(
                "row had {n} fields; extras rejoined into CustomProperties"
            )),
        ),
        (Err(e), _) => {
            sink.begin_row();
            ids = MessageIds::default();
            for (key, value) in pylit::salvage_pairs(trimmed) {
                keep(&key, value.as_text(), keep_all, sink, &mut ids);
            }
            (ids, Some(e.to_string()))
        }
    }
}

/// Keeps one pair (the arenas deduplicate keys).
fn keep(
    key: &str,
    value: Option<Cow<'_, str>>,
    keep_all: bool,
    sink: &mut Arenas,
    ids: &mut MessageIds,
) {
    let Some(text) = value else { return };
    match key {
        "InternetMessageId" => ids.message_id = IdHash::of(&text),
        "ConversationId" => ids.conversation = IdHash::of(&text),
        _ => {}
    }
    let prop = match PropKey::from_name(key) {
        Some(k) => Prop::known(k, sink.strings.intern(&text)),
        None if keep_all => Prop::other(sink.strings.intern(key), sink.strings.intern(&text)),
        None => return,
    };
    sink.keep_prop(prop);
}

/// The raw `CustomProperties` bytes. A row with more fields than the header
/// keeps its extras when `CustomProperties` is last (an unquoted cell split on
/// its commas by a hand edit); any other field-count mismatch is rejected.
pub(super) fn properties_cell<'r>(
    record: &'r Fields,
    columns: &Columns,
) -> Result<(Cow<'r, [u8]>, Option<usize>), RowError> {
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
    Err(RowError::FieldCount {
        expected: columns.width,
        found,
    })
}

/// `TimeStamp`, or `ActivityCreationTime` when it is the sentinel or
/// unreadable (`docs/format.md` §8); a row with neither is rejected. The creation time
/// is only read when it is needed (exports read it again from the row).
pub(super) fn resolve_time<'f>(
    stamp: &str,
    creation: impl FnOnce() -> Cow<'f, str>,
) -> Result<(DateTime<Utc>, TimeSource), RowError> {
    let stamp_time = time::parse(stamp);
    if let time::Parsed::At(t) = stamp_time {
        return Ok((t, TimeSource::TimeStamp));
    }
    let creation = creation();
    let created = match time::parse(&creation) {
        time::Parsed::At(t) => Some(t),
        _ => None,
    };
    match (stamp_time, created) {
        (time::Parsed::At(t), _) => Ok((t, TimeSource::TimeStamp)),
        (_, Some(c)) => Ok((c, TimeSource::CreationTime)),
        (time::Parsed::Sentinel, None) => Err(RowError::NoTime {
            creation: quote(&creation),
        }),
        (time::Parsed::Invalid, None) => Err(RowError::BadTime {
            stamp: quote(stamp),
        }),
    }
}

fn quote(text: &str) -> String {
    escape::for_terminal_short(text, 60)
}
