//! A case folder as input (`docs/inputs.md`): every `.csv` and `.csv.gz`
//! export under it, recursively, in sorted path order; other files and
//! files that are not exports skipped with one note each; gzip read as a
//! stream, hashed as stored, and giving the same records as the plain file.

mod common;

use common::o365scan;
use std::fs;
use std::io::Write;

const SAMPLE: &str = "fixtures/sample/activities.csv";

fn json(args: &[&std::ffi::OsStr]) -> (serde_json::Value, String) {
    let out = o365scan()
        .arg("--format")
        .arg("json")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_folder_reads_every_export_under_it() {
    let dir = common::scratch_dir("case-folder");
    let case = dir.join("case");
    fs::create_dir_all(case.join("b/deeper")).unwrap();
    fs::create_dir_all(case.join("a")).unwrap();
    let sample = fs::read(SAMPLE).unwrap();
    fs::write(case.join("b/deeper/one.csv"), &sample).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&sample).unwrap();
    let gz = gz.finish().unwrap();
    fs::write(case.join("a/two.CSV.gz"), &gz).unwrap();
    fs::write(case.join("readme.txt"), b"case notes").unwrap();
    fs::write(case.join("b/other.csv"), b"name,value\nx,1\n").unwrap();
    let (doc, notes) = json(&[case.as_os_str()]);
    let inputs = doc["inputs"].as_array().unwrap();
    let paths: Vec<&str> = inputs.iter().map(|i| i["path"].as_str().unwrap()).collect();
    assert_eq!(paths.len(), 2, "{notes}");
    assert!(paths[0].ends_with("a/two.CSV.gz") && paths[1].ends_with("b/deeper/one.csv"));
    assert!(notes.contains("skipped") && notes.contains("readme.txt: not a .csv or .csv.gz file"));
    assert!(notes.contains("other.csv: not an Activities export"));
    assert!(notes.contains("2 export(s) read"));
    // The compressed file: hashed as stored, its records those of the
    // plain file, each mailbox its own.
    use sha2::{Digest, Sha256};
    let hex = |b: &[u8]| -> String {
        Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    };
    assert_eq!(inputs[0]["sha256"], hex(&gz).as_str());
    assert_eq!(inputs[0]["bytes"], gz.len() as u64);
    assert_eq!(inputs[1]["sha256"], hex(&sample).as_str());
    for i in inputs {
        assert_eq!(i["rows"], 29);
        assert_eq!(i["records"], 29);
    }
    let (plain, _) = json(&[std::ffi::OsStr::new(SAMPLE)]);
    // Each copy is its own mailbox and raises the sample's findings.
    assert_eq!(
        doc["findings"].as_array().unwrap().len(),
        2 * plain["findings"].as_array().unwrap().len()
    );
}

#[test]
fn a_gzip_export_gives_the_plain_exports_timeline() {
    let dir = common::scratch_dir("gzip-timeline");
    let sample = fs::read(SAMPLE).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&sample).unwrap();
    let packed = dir.join("activities.csv.gz");
    fs::write(&packed, gz.finish().unwrap()).unwrap();
    let plain_copy = dir.join("activities.csv");
    fs::write(&plain_copy, &sample).unwrap();
    let timeline = |input: &std::path::Path, out: &str| {
        let path = dir.join(out);
        o365scan()
            .args(["-q", "--timeline"])
            .arg(&path)
            .arg(input)
            .assert()
            .code(0);
        fs::read_to_string(path).unwrap()
    };
    let a = timeline(&plain_copy, "plain.csv");
    let b = timeline(&packed, "packed.csv");
    assert_eq!(
        a.replace("activities.csv,", "X,"),
        b.replace("activities.csv.gz,", "X,")
    );
}

#[test]
fn an_empty_folder_is_an_error() {
    let dir = common::scratch_dir("case-folder-empty");
    fs::write(dir.join("notes.txt"), b"nothing here").unwrap();
    o365scan()
        .arg(&dir)
        .assert()
        .code(66)
        .stderr(predicates::str::contains("no Activities export"));
}
