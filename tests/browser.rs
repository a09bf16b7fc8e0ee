//! The HTML report in a real browser (headless Chromium): findings and the
//! chart are present after scripts ran, the filter works, and hostile markup
//! stays text. Skipped when no Chromium is installed, unless
//! O365SCAN_REQUIRE_BROWSER is set (as `.ci/run` does after installing it).
//! A screenshot of the sample's report is kept at target/browser/sample.png.

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
    // The screenshot is a CI artifact; look at it after a change.
    let png = out_dir().join("sample.png");
    let out = headless(&browser)
        .args(["--window-size=1280,2400", "--virtual-time-budget=2000"])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(std::fs::metadata(&png).unwrap().len() > 10_000);
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
