//! Evidence is opened once: a file changed or replaced after it was read
//! never puts its rows into a report (ARCHITECTURE.md, "Invariants"), and
//! any name the system can open is read.

mod common;

use common::o365scan;
use o365scan::attribution::IpAttribution;
use o365scan::finding::Finding;
use o365scan::input::{self, ReadOptions};
use o365scan::report::Window;
use o365scan::report::{Report, Style, TimelineFormat, TimelineOptions, timeline_out};
use o365scan::timeline::Timeline;
use std::fs;
use std::path::{Path, PathBuf};

const SAMPLE: &str = "fixtures/sample/activities.csv";

/// A private copy of the sample, so the test may change it.
fn copy_of_sample(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    fs::copy(SAMPLE, &path).unwrap();
    path
}

fn read(path: &Path) -> Timeline {
    let parsed = input::read_path(path, 0, ReadOptions::default()).unwrap();
    Timeline::build(vec![parsed])
}

/// The timeline CSV of `tl`, or the error that ended it.
fn timeline_csv(tl: &Timeline) -> std::io::Result<String> {
    let findings: Vec<Finding> = Vec::new();
    let ips = IpAttribution::of(tl);
    let report = Report::new(tl, &ips, &findings, Window::default());
    let options = TimelineOptions {
        format: TimelineFormat::Csv,
        timesketch: false,
    };
    let mut out = Vec::new();
    timeline_out::write(&mut out, &report, &options, &Style::plain())?;
    Ok(String::from_utf8(out).unwrap())
}

/// The sample with one row's item id changed, the same length.
fn edited_sample() -> Vec<u8> {
    let text = fs::read_to_string(SAMPLE).unwrap();
    let line = text.lines().nth(5).unwrap();
    let item = line.split(',').nth(3).unwrap();
    assert!(item.len() > 4, "{line}");
    let mut edited = item.to_string();
    // One character of the id, replaced by another of the same width.
    let last = edited.pop().unwrap();
    edited.push(if last == 'A' { 'B' } else { 'A' });
    let changed = text.replacen(item, &edited, 1);
    assert_eq!(changed.len(), text.len());
    changed.into_bytes()
}

#[test]
fn a_file_renamed_over_the_input_leaves_the_rows_that_were_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_of_sample(dir.path(), "a.csv");
    let expected = timeline_csv(&read(&path)).unwrap();
    let tl = read(&path);
    // Another export takes the name: the run holds the file it read.
    let other = dir.path().join("other.csv");
    fs::write(&other, edited_sample()).unwrap();
    fs::rename(&other, &path).unwrap();
    assert_eq!(timeline_csv(&tl).unwrap(), expected);
}

#[test]
fn a_file_changed_in_place_ends_the_timeline_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_of_sample(dir.path(), "a.csv");
    let tl = read(&path);
    // Same length; the modification time moves.
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&path, edited_sample()).unwrap();
    let error = timeline_csv(&tl).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("a.csv"), "{message}");
    assert!(message.contains("changed since it was read"), "{message}");
    // The CLI maps it to 74 (an I/O failure).
    let code = o365scan::error::exit_code_for(&anyhow::Error::from(error));
    assert_eq!(
        format!("{code:?}"),
        format!("{:?}", std::process::ExitCode::from(74))
    );
}

#[test]
fn a_change_that_keeps_length_and_time_is_caught_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_of_sample(dir.path(), "a.csv");
    let modified = fs::metadata(&path).unwrap().modified().unwrap();
    let tl = read(&path);
    fs::write(&path, edited_sample()).unwrap();
    // Someone puts the old time back: only the row itself tells.
    let file = fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(modified).unwrap();
    drop(file);
    let message = timeline_csv(&tl).unwrap_err().to_string();
    assert!(message.contains("a.csv"), "{message}");
    assert!(message.contains("is no longer the row read"), "{message}");
}

#[cfg(unix)]
#[test]
fn a_file_whose_name_is_not_utf8_is_read() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9 export.csv");
    let path = copy_of_sample(dir.path(), "plain.csv");
    let odd = dir.path().join(name);
    fs::rename(&path, &odd).unwrap();
    let timeline = dir.path().join("tl.csv");
    let out = o365scan()
        .args(["--format", "json", "--timeline"])
        .arg(&timeline)
        .arg(&odd)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let input = &report["inputs"][0];
    assert!(input["records"].as_u64().unwrap() > 0);
    // Shown as the system displays it: the undecodable byte replaced.
    assert!(
        input["path"]
            .as_str()
            .unwrap()
            .ends_with("caf\u{fffd} export.csv"),
        "{input}"
    );
    assert!(fs::read_to_string(&timeline).unwrap().lines().count() > 1);
}
