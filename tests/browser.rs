//! The HTML report in a real browser (headless Chromium): findings and the
//! chart are present after scripts ran, the filter works, and hostile markup
//! stays text; the report prints to PDF with its summary and findings.
//! Skipped when no Chromium is installed, unless O365SCAN_REQUIRE_BROWSER is
//! set (as `.ci/run` does after installing it and poppler's pdftotext).
//! Kept as artefacts in target/browser/: screenshots of the sample's and
//! of a 20,000-row generated case's report at desktop width and at 800 px,
//! and their printed PDFs (docs/reports.md §4).

use assert_cmd::cargo::cargo_bin_cmd;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("O365SCAN_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let out = Command::new("which").arg(name).output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        });
    if found.is_none() {
        assert!(
            std::env::var_os("O365SCAN_REQUIRE_BROWSER").is_none(),
            "O365SCAN_REQUIRE_BROWSER is set but no Chromium was found"
        );
        eprintln!("browser tests skipped: no chromium on PATH");
    }
    found
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn html_report(fixture: &str, name: &str) -> PathBuf {
    let path = out_dir().join(name);
    cargo_bin_cmd!("o365scan")
        .args(["-q", "--force", "--html"])
        .arg(&path)
        .arg(fixture)
        .assert()
        .code(0);
    path
}

/// `page` printed by headless Chromium, as docs/reports.md §4 documents.
fn print_pdf(browser: &Path, page: &Path, pdf: &Path) {
    let out = headless(browser)
        .args(["--virtual-time-budget=4000", "--no-pdf-header-footer"])
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success() && pdf.exists(),
        "print failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The PDF's text (poppler's pdftotext), or `None` when it is missing and
/// not required.
fn pdf_text(pdf: &Path) -> Option<String> {
    let out = Command::new("pdftotext")
        .args(["-layout"])
        .arg(pdf)
        .arg("-")
        .output();
    match out {
        Ok(o) if o.status.success() => Some(String::from_utf8_lossy(&o.stdout).into_owned()),
        _ => {
            assert!(
                std::env::var_os("O365SCAN_REQUIRE_BROWSER").is_none(),
                "O365SCAN_REQUIRE_BROWSER is set but pdftotext (poppler-utils) did not run"
            );
            eprintln!("PDF text checks skipped: no pdftotext");
            None
        }
    }
}

fn screenshot(browser: &Path, page: &Path, png: &Path, width: u32, height: u32) {
    let out = headless(browser)
        .args(["--virtual-time-budget=2000"])
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(std::fs::metadata(png).unwrap().len() > 10_000);
}

/// The printed report: summary first, every finding's title and rule, the
/// evidence expanded, no interactive controls, the running header and page
/// numbers; the screenshots at both widths are kept.
fn check_print(browser: &Path, page: &Path, stem: &str, height: u32) -> Option<String> {
    let dir = out_dir();
    screenshot(
        browser,
        page,
        &dir.join(format!("{stem}.png")),
        1280,
        height,
    );
    screenshot(
        browser,
        page,
        &dir.join(format!("{stem}-800.png")),
        800,
        height,
    );
    let pdf = dir.join(format!("{stem}.pdf"));
    print_pdf(browser, page, &pdf);
    let text = pdf_text(&pdf)?;
    let html = std::fs::read_to_string(page).unwrap();
    let summary_at = text.find("Summary").expect("the PDF has the summary");
    let findings_at = text.find("Findings (").expect("the PDF has the findings");
    assert!(summary_at < findings_at, "the summary comes first");
    assert!(text.contains("Page 1 of"), "page numbers");
    assert!(text.contains("o365scan report"), "running header");
    assert!(!text.contains("Filter rows"), "no interactive controls");
    // Every finding's rule id is printed, and the evidence of each finding
    // is expanded (its table's "Detail" heading once per finding with
    // evidence).
    let rules: Vec<&str> = html
        .match_indices("data-rule=\"")
        .map(|(at, m)| {
            let rest = &html[at + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for rule in &rules {
        assert!(flat.contains(rule), "{stem}: {rule} not in the PDF");
    }
    let with_evidence = html.matches("<summary>Evidence (").count();
    assert!(
        flat.matches("Line Time Activity Detail").count() >= with_evidence,
        "{stem}: evidence not expanded in print"
    );
    Some(flat)
}

/// Chromium's flags for this closed network (see the workplace notes).
fn headless(browser: &Path) -> Command {
    // A fresh profile per launch: tests run in parallel.
    static LAUNCHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = LAUNCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut cmd = Command::new(browser);
    let profile =
        std::env::temp_dir().join(format!("o365scan-chromium-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// The DOM after the page's script ran.
fn dump_dom(browser: &Path, page: &Path, fragment: &str) -> String {
    let url = format!("file://{}{fragment}", page.display());
    let out = headless(browser)
        .args(["--virtual-time-budget=2000", "--dump-dom"])
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn sample_report_renders_findings_chart_and_filter() {
    let Some(browser) = chromium() else { return };
    let page = html_report("fixtures/sample/activities.csv", "sample.html");
    let dom = dump_dom(&browser, &page, "");
    for rule in [
        "search-financial",
        "delete-empty-deleted-items",
        "delete-sent-items",
        "rule-alert-notice",
    ] {
        assert!(
            dom.contains(&format!("data-rule=\"{rule}\"")),
            "{rule} missing"
        );
    }
    assert!(dom.contains("'wire transfer', 'banking', 'bacs'"));
    assert!(count(&dom, "class=\"bar\"") > 5, "chart bars");
    assert_eq!(
        count(&dom, "class=\"finding-mark\""),
        5,
        "one marker per finding"
    );
    assert_eq!(
        count(&dom, "<tr data-level="),
        29,
        "all records in the timeline"
    );
    assert!(dom.contains("<span id=\"shown\">29</span>"));
    // The filter, driven by the URL fragment: only the 'bacs' search remains.
    let filtered = dump_dom(&browser, &page, "#q=bacs");
    assert!(
        filtered.contains("<span id=\"shown\">1</span>"),
        "filter did not run"
    );
    let visible = filtered
        .lines()
        .filter(|l| l.starts_with("<tr data-level=") && !l.contains("hidden"))
        .count();
    assert_eq!(visible, 1);
    let cited = dump_dom(&browser, &page, "#level=3");
    // delete-sent-items (2 rows), delete-empty-deleted-items (the Move and 3
    // purges), rule-alert-notice (2 rows).
    assert!(
        cited.contains("<span id=\"shown\">8</span>"),
        "rows cited by high findings"
    );
    // The screenshots and the PDF are CI artefacts; look at them after a
    // change.
    if let Some(pdf) = check_print(&browser, &page, "sample", 2400) {
        assert!(pdf.contains("searched the mailbox for 'wire transfer', 'banking', 'bacs'"));
        assert!(pdf.contains("sha256") || pdf.contains("SHA-256"));
    }
}

/// A 20,000-row generated mailbox with an intrusion, as counsel would get it.
#[test]
fn generated_case_prints_with_summary_and_findings() {
    let Some(browser) = chromium() else { return };
    let dir = out_dir();
    let csv = dir.join("case-20k.csv");
    let file = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    let opts = o365scan_synth::Options {
        rows: 20_000,
        seed: 7,
        intrusion: true,
    };
    o365scan_synth::write_export(file, &opts).unwrap();
    let page = dir.join("case-20k.html");
    cargo_bin_cmd!("o365scan")
        .env("SOURCE_DATE_EPOCH", "1780000000")
        .args([
            "-q",
            "--force",
            "--case",
            "BEC-2026-041",
            "--examiner",
            "J. Doe",
            "--html",
        ])
        .arg(&page)
        .arg(&csv)
        .assert()
        .code(0);
    if let Some(pdf) = check_print(&browser, &page, "case-20k", 3000) {
        assert!(
            pdf.contains("Case BEC-2026-041"),
            "the case in the running header"
        );
        assert!(pdf.contains("J. Doe"));
        assert!(
            pdf.contains("An unfamiliar actor"),
            "the summary names the intruder"
        );
    }
}

#[test]
fn hostile_markup_stays_text() {
    let Some(browser) = chromium() else { return };
    let page = html_report("fixtures/hostile/xss.csv", "xss.html");
    let dom = dump_dom(&browser, &page, "");
    assert!(!dom.contains("<img"), "an injected element exists");
    assert_eq!(count(&dom, "<script>"), 1, "only the report's own script");
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;@evil.example"));
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[test]
fn report_file_is_self_contained() {
    let page = html_report("fixtures/sample/activities.csv", "self-contained.html");
    let html = std::fs::read_to_string(page).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "external reference"
    );
    assert!(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-"));
    assert_eq!(count(&html, "<script>"), 1);
    assert!(!html.contains("<script src") && !html.contains("<link"));
}
