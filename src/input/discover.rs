//! A case folder as input (`o365scan exports/`): every export under the
//! folder, recursively, in sorted path order; `.csv` and `.csv.gz` files
//! are candidates, and a candidate whose first line is not the retriever
//! header, or that holds no data row, is skipped with a note rather than
//! ending the run (docs/inputs.md). Files named on the command line are
//! taken as given: a wrong one is still an error.

use std::path::{Path, PathBuf};

/// What the command line's paths come to.
#[derive(Debug, Default)]
pub struct Inputs {
    /// In order: named files as given, then each folder's exports sorted.
    pub files: Vec<PathBuf>,
    /// Folders read, with how many exports each gave.
    pub folders: Vec<(PathBuf, usize)>,
    /// Files under a folder left out, and why.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Whether `path` is read as gzip (`.gz`, any case).
pub fn is_gzip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// `.csv` or `.csv.gz`, any case.
fn is_candidate(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".csv") || name.ends_with(".csv.gz")
}

/// Expands folders into their exports; `probe` tells an export from
/// another file (`Err(reason)` skips it).
pub fn expand(
    paths: &[PathBuf],
    probe: impl Fn(&Path) -> Result<(), String>,
) -> std::io::Result<Inputs> {
    let mut inputs = Inputs::default();
    for path in paths {
        if path.as_os_str() != "-" && path.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.sort();
            let mut kept = 0;
            for file in found {
                if !is_candidate(&file) {
                    inputs
                        .skipped
                        .push((file, "not a .csv or .csv.gz file".into()));
                    continue;
                }
                match probe(&file) {
                    Ok(()) => {
                        kept += 1;
                        inputs.files.push(file);
                    }
                    Err(reason) => inputs.skipped.push((file, reason)),
                }
            }
            inputs.folders.push((path.clone(), kept));
        } else {
            inputs.files.push(path.clone());
        }
    }
    Ok(inputs)
}

/// Every file under `dir` (symbolic links to folders are not followed,
/// so a link loop cannot trap the walk).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, out)?;
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_expand_sorted_and_recursive_with_notes() {
        let dir = std::env::temp_dir().join(format!("o365scan-discover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("b/inner")).unwrap();
        for name in [
            "b/inner/z.csv",
            "a.CSV",
            "b/m.csv.gz",
            "notes.txt",
            "bad.csv",
        ] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        let probe = |p: &Path| {
            if p.ends_with("bad.csv") {
                Err("not an export".to_string())
            } else {
                Ok(())
            }
        };
        let got = expand(std::slice::from_ref(&dir), probe).unwrap();
        let names: Vec<String> = got
            .files
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.CSV", "b/inner/z.csv", "b/m.csv.gz"]);
        assert_eq!(got.folders, vec![(dir.clone(), 3)]);
        let skipped: Vec<String> = got
            .skipped
            .iter()
            .map(|(p, _)| p.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        assert_eq!(skipped, ["bad.csv", "notes.txt"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
