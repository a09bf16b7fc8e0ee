#![allow(dead_code)]

use o365scan::activity::Rec;
use o365scan::evidence::RowSource;
use o365scan::input::{self, Parsed, ReadOptions};
use o365scan::timeline::Timeline;

/// The binary, hermetic: no colour from the environment, fixed width.
pub(crate) fn o365scan() -> assert_cmd::Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("o365scan");
    cmd.env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .arg("--color=never");
    cmd
}

/// The findings of `rule` in a JSON report, in report order.
pub(crate) fn findings_of<'a>(
    report: &'a serde_json::Value,
    rule: &str,
) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

pub(crate) fn parse(path: &str) -> Parsed {
    input::read_path(path.as_ref(), 0, ReadOptions::default())
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) fn timeline(paths: &[&str]) -> Timeline {
    let parsed = paths
        .iter()
        .enumerate()
        .map(|(i, p)| input::read_path(p.as_ref(), i as u32, ReadOptions::default()).unwrap())
        .collect();
    Timeline::build(parsed)
}

/// The record read from `line` of the (single) input.
pub(crate) fn at_line(parsed: &Parsed, line: u64) -> Rec<'_> {
    let i = parsed
        .activities
        .iter()
        .position(|a| u64::from(a.source().line) == line)
        .unwrap_or_else(|| panic!("no record at line {line}"));
    parsed.rec(i)
}

pub(crate) fn prop(a: Rec<'_>, key: &str) -> String {
    a.prop(key).map(|v| v.into_owned()).unwrap_or_default()
}

/// rows = records + rejected + duplicates, and the lists agree with the counts.
pub(crate) fn assert_conserved(p: &Parsed) {
    let s = &p.summary;
    assert_eq!(
        s.rows,
        s.records + s.rejected + s.duplicates,
        "{}: conservation",
        s.path
    );
    assert_eq!(s.records as usize, p.activities.len());
    assert_eq!(s.rejected as usize, p.rejections.len());
    assert_eq!(s.duplicates as usize, s.duplicate_lines.len());
}

/// A property from the row as read again from the source: every key, as
/// exports see it (records keep only what rules read).
pub(crate) fn full_prop(parsed: &Parsed, line: u64, key: &str) -> String {
    let a = at_line(parsed, line);
    let props = parsed.raw.reader().unwrap().row(&a).unwrap().properties;
    props
        .get(key)
        .and_then(|v| v.as_text())
        .map(|t| t.into_owned())
        .unwrap_or_default()
}

/// One row for [`write_export`]: time, client type, activity type, item
/// id, session, properties.
pub(crate) type TestRow<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
);

/// Writes an export as retriever.py does (`csv.DictWriter`, `\n`, the
/// seven columns) from rows of (time, app, kind, item, session, properties);
/// the creation time is the row's time.
pub(crate) fn write_export(path: &std::path::Path, rows: &[TestRow<'_>]) {
    write_rows(
        path,
        rows.iter().map(|&(time, app, kind, item, session, props)| {
            let props: Vec<(&str, String)> =
                props.iter().map(|&(k, v)| (k, v.to_string())).collect();
            let dict = o365scan_synth::py_dict(&props);
            [time, app, kind, item, time, session, dict.as_str()].map(str::to_string)
        }),
    );
}

/// Writes the retriever header and `rows`, seven cells each, as
/// `csv.DictWriter` quotes them, with `\n` line ends.
pub(crate) fn write_rows(path: &std::path::Path, rows: impl IntoIterator<Item = [String; 7]>) {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_path(path)
        .unwrap();
    w.write_record([
        "TimeStamp",
        "AppIdType",
        "ActivityIdType",
        "ActivityItemId",
        "ActivityCreationTime",
        "ClientSessionId",
        "CustomProperties",
    ])
    .unwrap();
    for r in rows {
        w.write_record(&r).unwrap();
    }
    w.flush().unwrap();
}

/// An empty directory for one test's files, under the test target's
/// scratch space: `name` must be unique across the test binaries.
pub(crate) fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The properties of a successful `ServerLogon` of `user` from `ip` with
/// user agent `ua`.
pub(crate) fn logon_props<'a>(ip: &'a str, ua: &'a str, user: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("Result", "Success"),
        ("UserName", user),
        ("ClientIP", ip),
        ("UserAgent", ua),
    ]
}
