//! Property tests: what Python writes, we read back; nothing panics.

use indexmap::IndexMap;
use o365scan::evidence::RowSource;
use o365scan::input::pylit::{self, PyValue};
use o365scan::input::{self, ReadOptions};
use o365scan_synth::py_repr;
use proptest::prelude::*;
use std::io::Cursor;

/// `str(dict)` for a dict of strings.
fn py_dict_repr(map: &IndexMap<String, String>) -> String {
    let items: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}: {}", py_repr(k), py_repr(v)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

fn python_dict(pairs: Vec<(String, String)>) -> IndexMap<String, String> {
    // dict(pairs): first position, last value, like IndexMap::insert.
    let mut map = IndexMap::new();
    for (k, v) in pairs {
        map.insert(k, v);
    }
    map
}

fn as_py(map: &IndexMap<String, String>) -> pylit::Props {
    map.iter()
        .map(|(k, v)| (k.clone(), PyValue::Str(v.clone())))
        .collect()
}

/// A row built from pieces that are each valid or slightly broken.
fn near_valid_row() -> impl Strategy<Value = String> {
    let time = prop_oneof![
        "2018-06-20T08:41:07.512Z",
        "2018-06-20T08:41:07Z",
        "0001-01-01T00:00:00Z",
        "20/06/2018",
        "",
        "9999-12-31T23:59:59Z"
    ];
    let app = prop_oneof!["Web", "Exchange", "Outlook", "", "Weird\u{202e}"];
    let kind = prop_oneof![
        "SearchResult",
        "MessageDelivered",
        "Delete",
        "NewInboxRule",
        ""
    ];
    let props = prop_oneof![
        Just(String::new()),
        Just("\"{'Query': 'wire transfer', 'Sid': 'a'}\"".to_string()),
        Just("\"{'Subject': \"\"O'Neill\"\"}\"".to_string()),
        Just("{'ItemSchemaType': 'Message'}".to_string()),
        Just("\"{'Query': 'cut".to_string()),
        r"[{}\[\]'\x22:,\\a-z ]{0,30}",
    ];
    let extra = prop_oneof![
        Just(String::new()),
        Just(",x".to_string()),
        Just(",\"".to_string())
    ];
    (time.clone(), app, kind, time, props, extra, 0..8u8).prop_map(|(t, a, k, c, p, x, cut)| {
        let row = format!("{t},{a},{k},AAMk,{c},s1,{p}{x}");
        // Sometimes drop trailing fields, as a cut-off line would.
        if cut == 0 {
            row.split(',').take(3).collect::<Vec<_>>().join(",")
        } else {
            row
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn str_dict_round_trips(pairs in prop::collection::vec((any::<String>(), any::<String>()), 0..6)) {
        let map = python_dict(pairs);
        let text = py_dict_repr(&map);
        prop_assert_eq!(pylit::parse_dict(&text).unwrap(), as_py(&map));
    }

    /// Through the whole reader: DictWriter quoting, our CSV parse, pylit.
    #[test]
    fn csv_cell_round_trips(pairs in prop::collection::vec((any::<String>(), any::<String>()), 1..4)) {
        let map = python_dict(pairs);
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        w.write_record(["TimeStamp", "AppIdType", "ActivityIdType", "ActivityItemId", "ActivityCreationTime", "ClientSessionId", "CustomProperties"]).unwrap();
        // An activity type outside the catalogue keeps every property.
        w.write_record(["2018-06-20T08:41:07.512Z", "Web", "NewInboxRule", "", "2018-06-20T08:41:07.512Z", "s", &py_dict_repr(&map)]).unwrap();
        let bytes = w.into_inner().unwrap();
        let parsed = input::read(Cursor::new(bytes), "prop.csv", 0, ReadOptions::default()).unwrap();
        prop_assert_eq!(parsed.activities.len(), 1);
        let kept: Vec<(String, String)> = parsed.rec(0).props().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let want: Vec<(String, String)> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        prop_assert_eq!(kept, want);
        // Exports read the row again: the full map comes back exactly.
        let full = parsed.raw.reader().unwrap().row(&parsed.activities[0]).unwrap().properties;
        prop_assert_eq!(&full, &as_py(&map));
    }

    #[test]
    fn parse_dict_never_panics(text in any::<String>()) {
        let _ = pylit::parse_dict(&text);
        let _ = pylit::salvage_pairs(&text);
    }

    #[test]
    fn near_valid_literals_never_panic(text in r"\{('[a-z\\']{0,6}'|u?'|None|True|[0-9.e+-]{1,5}|[\[\](){},: ]|\\[xuUN0-7]){0,24}") {
        let _ = pylit::parse_dict(&text);
        let _ = pylit::salvage_pairs(&text);
    }

    /// Arbitrary bytes after a valid header: no panic, every row accounted for.
    #[test]
    fn reader_conserves_rows(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut bytes = b"TimeStamp,AppIdType,ActivityIdType,ActivityItemId,ActivityCreationTime,ClientSessionId,CustomProperties\n".to_vec();
        bytes.extend(body);
        if let Ok(p) = input::read(Cursor::new(bytes), "prop.csv", 0, ReadOptions::default()) {
            let s = &p.summary;
            prop_assert_eq!(s.rows, s.records + s.rejected + s.duplicates);
            prop_assert_eq!(p.activities.len() as u64, s.records);
        }
    }

    /// Rows assembled from plausible and broken pieces: no panic, and every
    /// line is accounted for.
    #[test]
    fn near_valid_rows_are_all_accounted_for(rows in prop::collection::vec(near_valid_row(), 1..40)) {
        let mut text = String::from("TimeStamp,AppIdType,ActivityIdType,ActivityItemId,ActivityCreationTime,ClientSessionId,CustomProperties\n");
        for r in &rows {
            text.push_str(r);
            text.push('\n');
        }
        let p = input::read(Cursor::new(text.into_bytes()), "prop.csv", 0, ReadOptions::default()).unwrap();
        let s = &p.summary;
        prop_assert_eq!(s.rows, s.records + s.rejected + s.duplicates);
        // Blank and header-like lines are not rows; everything else is.
        let data_lines = rows.iter().filter(|r| !r.is_empty() && !r.starts_with("TimeStamp")).count() as u64;
        prop_assert!(s.rows <= data_lines);
    }

    #[test]
    fn reader_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = input::read(Cursor::new(bytes), "prop.csv", 0, ReadOptions::default());
    }
}
