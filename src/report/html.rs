//! `--html PATH`: one self-contained file for people who do not read
//! terminals: case header, findings by level with evidence, the activity
//! chart, IPs and sessions, and a filterable timeline. No external resource;
//! a Content-Security-Policy that admits only this file's own style and
//! script (by hash); every data string HTML-escaped.

use super::{Citations, Report, chart};
use crate::clock;
use crate::finding::{Finding, Level};
use base64::prelude::{BASE64_STANDARD, Engine as _};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Timeline rows in the page; the rest is left out and said so.
pub const MAX_TIMELINE_ROWS: usize = 5_000;
/// Evidence rows shown per finding (at most the rows that carry a detail).
const MAX_EVIDENCE_ROWS: usize = 50;
const _: () = assert!(MAX_EVIDENCE_ROWS <= crate::finding::DETAILED_EVIDENCE);

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1d2733;margin:0;background:#f4f6f8}
header{background:#1d2f45;color:#fff;padding:20px 32px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;color:#c9d6e3}
main{padding:16px 32px 48px;max-width:1200px}
section{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:16px 20px;margin:16px 0}
h2{font-size:17px;margin:0 0 12px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e6eaef;vertical-align:top}
th{background:#f0f3f6;font-weight:600}
.facts td:first-child{width:160px;color:#566474}
.finding{border-left:5px solid #999;padding:8px 12px;margin:10px 0;background:#fafbfc}
.finding h3{margin:0 0 4px;font-size:15px}
.finding .meta{color:#566474;font-size:12px}
.finding details{margin-top:6px}
.lvl{display:inline-block;min-width:52px;text-align:center;border-radius:3px;color:#fff;font-size:11px;font-weight:700;padding:1px 6px;margin-right:6px;text-transform:uppercase}
.l0{background:#7a8591}.l1{background:#3c8d5a}.l2{background:#c98a00}.l3{background:#c0392b}.l4{background:#7b1020}
.finding.l0{border-color:#7a8591;background:#fafbfc}.finding.l1{border-color:#3c8d5a}.finding.l2{border-color:#c98a00}.finding.l3{border-color:#c0392b}.finding.l4{border-color:#7b1020}
.finding.l0,.finding.l1,.finding.l2,.finding.l3,.finding.l4{background:#fafbfc}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
.c0{background:#3b6fb6}.c1{background:#9aa5b1}.c2{background:#5aa469}.c3{background:#e0a100}.c4{background:#8e5bb5}.c5{background:#d1495b}.c6{background:#c9cfd6}
.controls{margin-bottom:8px}
.sortable{cursor:pointer;text-decoration:underline dotted}
#scopeitems details ul{margin:4px 0;padding-left:18px;font-size:12px}
#scopeitems td:nth-child(2),#scopeitems td:nth-child(7){white-space:nowrap}
.controls input{padding:4px 8px;width:280px}
.note{color:#566474;font-size:12px}
tr.cited td{background:#fff8e6}
code{font-size:12px}
a.claim,a.scope-link{color:inherit;text-decoration:underline dotted #7a8591;text-underline-offset:2px}
a.claim:hover{background:#eef3f8}
#summary p{font-size:15px;line-height:1.6;margin:0 0 10px}
td,th,.finding p,.finding h3{overflow-wrap:break-word}
code,td.detail,.facts td:last-child,.meta{overflow-wrap:anywhere}
.lvl{white-space:nowrap}
.wide{overflow-x:auto}
.clip{display:inline-block;max-width:22em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom}
.print-only{display:none}
@media (max-width:900px){header{padding:14px 16px}main{padding:8px 12px 32px}section{padding:12px}.facts td:first-child{width:110px}.controls input{width:100%;box-sizing:border-box;margin-bottom:6px}}
@media print{
@page{size:A4;margin:16mm 12mm 16mm 12mm;@bottom-right{content:"Page " counter(page) " of " counter(pages);font:9px system-ui,sans-serif;color:#566474}@top-left{content:var(--running);font:9px system-ui,sans-serif;color:#566474}}
body{background:#fff;font-size:11px}
header{background:#fff;color:#000;padding:0 0 8px;border-bottom:2px solid #1d2f45}
header p{color:#333}
main{max-width:none;padding:0}
section{border:none;padding:0;margin:0 0 14px;break-inside:auto}
#findings,#scope,#activity,#ips,#records{break-before:page}
h2{break-after:avoid}
.finding{break-inside:avoid;background:#fff}
.controls,.no-print{display:none}
.print-only{display:block}
details>summary{list-style:none}
details::details-content{content-visibility:visible;display:block}
a.claim,a{color:#000;text-decoration:none}
.lvl,.l0,.l1,.l2,.l3,.l4,.c0,.c1,.c2,.c3,.c4,.c5,.c6,tr.cited td{print-color-adjust:exact;-webkit-print-color-adjust:exact}
.wide{overflow:visible}
.clip{max-width:none;white-space:normal;overflow:visible}
#timeline tbody tr[data-level="-1"],#timeline tbody tr[data-level="0"],#timeline tbody tr[data-level="1"]{display:none}
#scopeitems,table.counts{table-layout:fixed;width:100%}
#scopeitems td,table.counts td,#scopeitems th,table.counts th{overflow-wrap:anywhere}
}
"#;

const SCRIPT: &str = r#"
(function () {
  var q = document.getElementById('q'), lv = document.getElementById('lv');
  var rows = document.querySelectorAll('#timeline tbody tr'), shown = document.getElementById('shown');
  function apply() {
    var text = q.value.toLowerCase(), min = parseInt(lv.value, 10), n = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var ok = (!text || r.textContent.toLowerCase().indexOf(text) >= 0) && parseInt(r.getAttribute('data-level'), 10) >= min;
      r.hidden = !ok;
      if (ok) { n++; }
    }
    shown.textContent = String(n);
  }
  q.addEventListener('input', apply);
  lv.addEventListener('change', apply);
  var hash = decodeURIComponent(location.hash.slice(1));
  var m = hash.match(/(?:^|&)q=([^&]*)/), l = hash.match(/(?:^|&)level=(-?\d)/);
  if (m) { q.value = m[1]; }
  if (l) { lv.value = l[1]; }
  apply();
  // Printing shows every finding's evidence: open the closed ones, and
  // close them again afterwards (the stylesheet does the same where the
  // browser supports ::details-content).
  var reopened = [];
  window.addEventListener('beforeprint', function () {
    var all = document.querySelectorAll('details:not([open])');
    for (var i = 0; i < all.length; i++) { all[i].open = true; reopened.push(all[i]); }
  });
  window.addEventListener('afterprint', function () {
    while (reopened.length) { reopened.pop().open = false; }
  });
  var sq = document.getElementById('sq'), table = document.getElementById('scopeitems');
  if (sq && table) {
    var body = table.tBodies[0], sshown = document.getElementById('sshown'), asc = true;
    sq.addEventListener('input', function () {
      var text = sq.value.toLowerCase(), n = 0;
      for (var i = 0; i < body.rows.length; i++) {
        var ok = !text || body.rows[i].textContent.toLowerCase().indexOf(text) >= 0;
        body.rows[i].hidden = !ok;
        if (ok) { n++; }
      }
      sshown.textContent = String(n);
    });
    document.getElementById('sortrecv').addEventListener('click', function () {
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.getAttribute('data-received'), y = b.getAttribute('data-received');
        return asc ? (x < y ? -1 : x > y ? 1 : 0) : (x < y ? 1 : x > y ? -1 : 0);
      });
      asc = !asc;
      for (var i = 0; i < rows.length; i++) { body.appendChild(rows[i]); }
    });
  }
})();
"#;

/// Times for people: UTC to the second (the page says UTC once).
pub(super) fn human(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `&`, `<`, `>`, `"`, `'` as entities: safe in text and quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Controls (line breaks and tabs too), bidi overrides and
            // zero-width characters shown as the terminal shows them
            // (`escape.rs`), one notation in every report: a right-to-left
            // override must not reorder the evidence on the page, and a
            // line break in a subject is evidence, not layout.
            c if crate::escape::is_dangerous(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!("'sha256-{}'", BASE64_STANDARD.encode(digest))
}

/// The stylesheet with each printed page's running header (case, mailbox)
/// filled in.
fn style(report: &Report<'_>) -> String {
    let mut running = match report.case.and_then(|c| c.reference.as_deref()) {
        Some(case) => format!("Case {case} · "),
        None => String::new(),
    };
    match mailboxes(report).as_slice() {
        [one] => running.push_str(one),
        many => running.push_str(&format!("{} mailboxes", many.len())),
    }
    running.push_str(" · o365scan report");
    // Escaped as on the terminal first: a bidi override from an export's
    // UserName would come back to life through a CSS escape.
    let running = crate::escape::for_terminal(&running);
    STYLE.replace("var(--running)", &css_string(&running))
}

/// A quoted CSS string in which only letters, digits, spaces and a few
/// punctuation marks stay literal; anything else (quotes, backslashes,
/// `<`, line breaks) becomes a `\hex ` escape, so examiner text cannot
/// end the string or the style element.
fn css_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        if c.is_alphanumeric() || " .,:@_-·".contains(c) {
            out.push(c);
        } else {
            let _ = write!(out, "\\{:x} ", c as u32);
        }
    }
    out.push('"');
    out
}

pub fn write<W: Write>(out: &mut W, report: &Report<'_>) -> io::Result<()> {
    let mut page = String::with_capacity(1 << 16);
    let style = style(report);
    let csp = format!(
        "default-src 'none'; style-src {}; script-src {}; img-src data:; base-uri 'none'; form-action 'none'",
        csp_hash(&style),
        csp_hash(SCRIPT)
    );
    let _ = writeln!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>o365scan report – {}</title>\n<style>{style}</style></head><body>",
        escape_html(&mailboxes(report).join(", "))
    );
    header(&mut page, report);
    page.push_str("<main>\n");
    summary(&mut page, report);
    case(&mut page, report);
    legend(&mut page);
    findings(&mut page, report);
    super::html_scope::section(&mut page, report);
    chart_section(&mut page, report);
    ips(&mut page, report);
    timeline(&mut page, report);
    let _ = writeln!(page, "</main>\n<script>{SCRIPT}</script>\n</body></html>");
    out.write_all(page.as_bytes())
}

fn mailboxes(report: &Report<'_>) -> Vec<String> {
    let mut names: Vec<String> = report
        .timeline
        .inputs()
        .iter()
        .map(|s| s.mailbox.clone())
        .collect();
    names.dedup();
    names
}

fn header(page: &mut String, report: &Report<'_>) {
    let tl = report.timeline;
    let span = match (tl.first(), tl.last()) {
        (Some(a), Some(b)) => format!("{} – {} UTC", human(a), human(b)),
        _ => "no records".into(),
    };
    let _ = writeln!(
        page,
        "<header><h1>Office 365 mailbox activity: {}</h1><p>{} · {} records, {} rejected, {} duplicates · {} findings</p><p>o365scan {} · times in UTC</p></header>",
        escape_html(&mailboxes(report).join(", ")),
        escape_html(&span),
        report.records(),
        report.rejected(),
        report.duplicates(),
        report.findings.len(),
        env!("CARGO_PKG_VERSION")
    );
}

/// The executive summary: each claim links to the findings it rests on.
fn summary(page: &mut String, report: &Report<'_>) {
    use super::summary::Piece;
    page.push_str("<section id=\"summary\"><h2>Summary</h2>");
    for paragraph in super::summary::of(report).paragraphs {
        page.push_str("<p>");
        for piece in paragraph {
            match piece {
                Piece::Text(t) => page.push_str(&escape_html(&t)),
                Piece::Scope(t) => {
                    let _ = write!(
                        page,
                        "<a class=\"scope-link\" href=\"#scope\">{}</a>",
                        escape_html(&t)
                    );
                }
                Piece::Claim { text, findings } => {
                    let ids: Vec<String> = findings.iter().map(|n| format!("f{n}")).collect();
                    let _ = write!(
                        page,
                        "<a class=\"claim\" href=\"#{}\" data-findings=\"{}\" data-rules=\"{}\">{}</a>",
                        ids[0],
                        ids.join(" "),
                        super::summary::rule_ids(report, &findings).join(" "),
                        escape_html(&text)
                    );
                }
            }
        }
        page.push_str("</p>");
    }
    page.push_str("</section>\n");
}

/// How to read the report: levels, experimental, actor, episode, times.
fn legend(page: &mut String) {
    page.push_str("<section id=\"legend\"><h2>How to read this report</h2><table class=\"facts\">");
    for (term, text) in super::legend::entries("UTC") {
        let badge = crate::finding::Level::ALL
            .iter()
            .find(|l| l.as_str() == term)
            .map(|l| format!("<span class=\"lvl l{}\">{}</span>", *l as u8, l.as_str()))
            .unwrap_or_else(|| escape_html(&term));
        let _ = write!(
            page,
            "<tr><td>{badge}</td><td>{}</td></tr>",
            escape_html(&text)
        );
    }
    page.push_str("</table></section>\n");
}

/// Files, encodings, row accounting, span and filter.
fn case(page: &mut String, report: &Report<'_>) {
    let tl = report.timeline;
    let span = match (tl.first(), tl.last()) {
        (Some(a), Some(b)) => format!("{} – {} UTC", human(a), human(b)),
        _ => "no records".into(),
    };
    page.push_str("<section id=\"case\"><h2>Case</h2><table class=\"facts\">");
    let case = report.case;
    for (name, value) in [
        ("Case reference", case.and_then(|c| c.reference.as_deref())),
        ("Examiner", case.and_then(|c| c.examiner.as_deref())),
    ] {
        let _ = write!(
            page,
            "<tr><td>{name}</td><td>{}</td></tr>",
            value.map_or_else(
                || "<span class=\"note\">not given</span>".to_string(),
                escape_html
            )
        );
    }
    for s in tl.inputs() {
        let custody = s.custody.map_or_else(String::new, |c| {
            format!(
                "<br>SHA-256 <code class=\"hash\">{}</code> · {} bytes",
                c.hex(),
                c.bytes
            )
        });
        let _ = write!(
            page,
            "<tr><td>File</td><td><code class=\"long\">{}</code><br>mailbox {} · {} · {} rows = {} records + {} rejected + {} duplicates{custody}</td></tr>",
            escape_html(&s.path),
            escape_html(&s.mailbox),
            s.encoding.as_str(),
            s.rows,
            s.records,
            s.rejected,
            s.duplicates
        );
    }
    let _ = write!(
        page,
        "<tr><td>Time span</td><td>{}</td></tr>",
        escape_html(&span)
    );
    if let Some(c) = case {
        let _ = write!(
            page,
            "<tr><td>Report produced</td><td>{} UTC by o365scan {}</td></tr>",
            human(c.generated),
            env!("CARGO_PKG_VERSION")
        );
    }
    if report.window.is_set() {
        let _ = write!(
            page,
            "<tr><td>Filter</td><td>{} – {}: {} records and {} findings left out</td></tr>",
            report.window.from.map_or("…".into(), clock::format),
            report.window.to.map_or("…".into(), clock::format),
            report.excluded_records(),
            report.excluded_findings
        );
    }
    page.push_str("</table></section>\n");
}

fn findings(page: &mut String, report: &Report<'_>) {
    let _ = writeln!(
        page,
        "<section id=\"findings\"><h2>Findings ({})</h2>",
        report.findings.len()
    );
    if report.findings.is_empty() {
        let _ = write!(page, "<p>{}</p>", escape_html(&report.no_findings_reason()));
    }
    for level in [
        Level::Critical,
        Level::High,
        Level::Medium,
        Level::Low,
        Level::Informational,
    ] {
        for (n, f) in report.findings.iter().enumerate() {
            if f.level == level {
                finding(page, report, n, f);
            }
        }
    }
    page.push_str("</section>\n");
}

fn finding(page: &mut String, report: &Report<'_>, n: usize, f: &Finding) {
    let tl = report.timeline;
    let l = f.level as u8;
    let _ = write!(
        page,
        "<div class=\"finding l{l}\" id=\"f{n}\" data-rule=\"{}\"><h3><span class=\"lvl l{l}\">{}</span>{} <code>{}</code></h3><p>{}</p><p class=\"meta\">{} · {} – {} · count {} · ATT&amp;CK {}{}{}</p>",
        escape_html(f.rule),
        f.level.as_str(),
        escape_html(f.title),
        escape_html(f.rule),
        escape_html(&f.summary),
        escape_html(&f.mailbox),
        human(f.first),
        human(f.last),
        f.count,
        if f.attack.is_empty() {
            "—".to_string()
        } else {
            f.attack.join(", ")
        },
        if f.experimental {
            " · experimental"
        } else {
            ""
        },
        f.actor
            .as_ref()
            .map(|a| format!(" · actor {}", escape_html(&a.label())))
            .unwrap_or_default()
    );
    if !f.evidence.is_empty() {
        let _ = write!(
            page,
            "<details><summary>Evidence ({})</summary><table><tr><th>Line</th><th>Time</th><th>Activity</th><th>Detail</th></tr>",
            if f.evidence.len() == 1 {
                "1 row".to_string()
            } else {
                format!("{} rows", f.evidence.len())
            }
        );
        for e in f.evidence.iter().take(MAX_EVIDENCE_ROWS) {
            let a = tl.rec(e.record);
            let _ = write!(
                page,
                "<tr><td>{}:{}</td><td>{}</td><td>{}</td><td class=\"detail\">{}</td></tr>",
                escape_html(tl.path(&a)),
                a.source().line,
                human(a.time),
                escape_html(a.kind_name()),
                escape_html(e.detail)
            );
        }
        page.push_str("</table>");
        if f.evidence.len() > MAX_EVIDENCE_ROWS {
            let _ = write!(
                page,
                "<p class=\"note\">{} more rows in the JSON report and the timeline export.</p>",
                f.evidence.len() - MAX_EVIDENCE_ROWS
            );
        }
        page.push_str("</details>");
    }
    page.push_str("</div>\n");
}

fn chart_section(page: &mut String, report: &Report<'_>) {
    page.push_str("<section id=\"activity\"><h2>Activity over time</h2>");
    match chart::svg(report) {
        Some(svg) => page.push_str(&svg),
        None => {
            let _ = write!(page, "<p>{}</p>", report.no_records_reason());
        }
    }
    page.push_str("<p class=\"legend\">");
    for (i, (name, _)) in chart::CATEGORIES.iter().enumerate() {
        let _ = write!(page, "<span><i class=\"c{i}\"></i>{name}</span>");
    }
    page.push_str("<span>▼ finding (colour = level)</span></p></section>\n");
}

fn ips(page: &mut String, report: &Report<'_>) {
    let tl = report.timeline;
    let geo = report.geoip.is_some();
    page.push_str("<section id=\"ips\"><h2>Logon IPs and sessions</h2><div class=\"wide\"><table><tr><th>IP</th>");
    if geo {
        page.push_str("<th>Country</th><th>Network (AS)</th>");
    }
    page.push_str("<th>Logons</th><th>First</th><th>Last</th></tr>");
    if report.ips.logon_ips(tl).is_empty() {
        let _ = write!(
            page,
            "<tr><td colspan=\"{}\">{}</td></tr>",
            if geo { 5 } else { 3 },
            escape_html(report.no_logons_reason())
        );
    }
    for seen in report.ips.logon_ips(tl) {
        let _ = write!(page, "<tr><td>{}</td>", escape_html(seen.ip));
        if geo {
            let info = report.ip_info(seen.ip);
            let country = info.map(|i| {
                let place = [
                    i.country_code.as_deref(),
                    i.country.as_deref(),
                    i.city.as_deref(),
                ];
                place.into_iter().flatten().collect::<Vec<_>>().join(" · ")
            });
            let network = info.and_then(|i| i.network());
            let _ = write!(
                page,
                "<td>{}</td><td>{}</td>",
                escape_html(&country.unwrap_or_else(|| "unknown".into())),
                escape_html(&network.unwrap_or_else(|| "unknown".into()))
            );
        }
        let _ = write!(
            page,
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            seen.count,
            human(seen.first),
            human(seen.last)
        );
    }
    let _ = writeln!(
        page,
        "</table></div><p class=\"note\">{} client sessions (ClientSessionId).</p></section>",
        super::counts::sessions(tl)
    );
}

/// A row's IP, with its country and AS under `--geoip`.
fn ip_cell(report: &Report<'_>, i: usize) -> String {
    let Some(ip) = report.ips.ip(i) else {
        return String::new();
    };
    let info = report.ip_info(ip);
    let tags: Vec<String> = [
        info.and_then(|g| g.country_code.clone()),
        info.and_then(|g| g.asn).map(|n| format!("AS{n}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if tags.is_empty() {
        ip.to_string()
    } else {
        format!("{ip} ({})", tags.join(" "))
    }
}

/// Record index → the highest level of the findings citing it.
fn cited_level(
    report: &Report<'_>,
    cited: &Citations,
    i: usize,
) -> Option<(Level, Vec<&'static str>)> {
    let mut out: Option<(Level, Vec<&'static str>)> = None;
    for f in cited.of_record(i).map(|n| report.findings[n]) {
        let entry = out.get_or_insert((f.level, Vec::new()));
        entry.0 = entry.0.max(f.level);
        if !entry.1.contains(&f.rule) {
            entry.1.push(f.rule);
        }
    }
    out
}

fn timeline(page: &mut String, report: &Report<'_>) {
    let tl = report.timeline;
    let cited = report.citations();
    let all: Vec<usize> = report.window.in_time_order(tl).collect();
    // Cited rows first, then the rest in time order, up to the cap; kept
    // as positions in `all`, so that sorting them restores time order.
    let positions = || all.iter().enumerate().map(|(p, &i)| (p, cited.contains(i)));
    let mut keep: Vec<usize> = positions()
        .filter_map(|(p, is_cited)| is_cited.then_some(p))
        .take(MAX_TIMELINE_ROWS)
        .collect();
    let room = MAX_TIMELINE_ROWS - keep.len();
    keep.extend(
        positions()
            .filter_map(|(p, is_cited)| (!is_cited).then_some(p))
            .take(room),
    );
    keep.sort_unstable();
    let _ = write!(
        page,
        "<section id=\"records\"><h2>Timeline</h2><div class=\"controls\"><input id=\"q\" type=\"search\" placeholder=\"Filter rows (IP, subject, activity…)\" aria-label=\"Filter\"> <select id=\"lv\" aria-label=\"Level\"><option value=\"-1\">all rows</option><option value=\"0\">cited by a finding</option><option value=\"1\">low and above</option><option value=\"2\">medium and above</option><option value=\"3\">high and above</option><option value=\"4\">critical</option></select> <span class=\"note\"><span id=\"shown\">{}</span> rows shown</span></div>",
        keep.len()
    );
    if all.is_empty() {
        let _ = write!(page, "<p>{}</p>", report.no_records_reason());
    }
    if keep.len() < all.len() {
        let _ = write!(
            page,
            "<p class=\"note\">{} of {} records are in this page (all rows cited by findings first); {} are left out: use <code>--timeline</code> for all of them.</p>",
            keep.len(),
            all.len(),
            all.len() - keep.len()
        );
    }
    page.push_str("<p class=\"note print-only\">Printed copies show only the rows cited by findings at medium or above; the HTML file and <code>--timeline</code> hold every row.</p>");
    page.push_str("<div class=\"wide\"><table id=\"timeline\"><thead><tr><th>Time (UTC)</th><th>Mailbox</th><th>App</th><th>Activity</th><th>IP</th><th>Detail</th><th>Findings</th><th>Line</th></tr></thead><tbody>\n");
    for i in keep.into_iter().map(|p| all[p]) {
        let a = tl.rec(i);
        let (level, rules) = cited_level(report, cited, i)
            .map_or((-1, String::new()), |(l, r)| (l as i8, r.join(" ")));
        let detail = [
            a.search_text().map(|q| format!("query '{q}'")),
            a.subject().map(|s| format!("'{s}'")),
            a.sender().map(|s| format!("from {s}")),
            a.subject()
                .is_none()
                .then(|| super::timeline_out::ItemFacts::of(report, i).subject)
                .flatten()
                .map(|s| format!("message '{s}'")),
            report.folder_shown(i).map(|f| format!("folder {f}")),
            a.user_agent().map(|u| u.into_owned()),
        ];
        let detail: Vec<String> = detail.into_iter().flatten().collect();
        let _ = writeln!(
            page,
            "<tr data-level=\"{level}\"{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"detail\">{}</td><td>{}</td><td>{}</td></tr>",
            if level >= 0 { " class=\"cited\"" } else { "" },
            a.time.format("%Y-%m-%d %H:%M:%S%.3f"),
            escape_html(tl.mailbox(&a)),
            escape_html(a.app_name()),
            escape_html(a.kind_name()),
            escape_html(&ip_cell(report, i)),
            escape_html(&detail.join(" · ")),
            escape_html(&rules),
            a.source().line
        );
    }
    page.push_str("</tbody></table></div></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape_html("\"><img src=x onerror='a'>"),
            "&quot;&gt;&lt;img src=x onerror=&#39;a&#39;&gt;"
        );
    }

    #[test]
    fn controls_use_the_terminal_notation() {
        let text = "a\nb\tc\u{202e}d\u{200b}e\u{1b}";
        assert_eq!(escape_html(text), crate::escape::for_terminal(text));
    }

    #[test]
    fn csp_hashes_are_base64_sha256() {
        // SHA-256 of the empty string, as every CSP validator spells it.
        assert_eq!(
            csp_hash(""),
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        );
    }
}
