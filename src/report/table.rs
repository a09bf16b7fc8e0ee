//! The default terminal report: header block, findings (most severe first),
//! activity counts and the logon-IP summary. Every data string passes
//! through `escape::for_terminal`.

use super::Report;
use super::Style;
use crate::escape::for_terminal;
use crate::finding::{Finding, Level};
use crate::rules;
use chrono::{DateTime, Utc};
use comfy_table::{
    Attribute, Cell, CellAlignment, Color, ContentArrangement, Table, TableStyle, presets,
};
use std::collections::HashMap;
use std::io::{self, Write};

/// Evidence line numbers shown under a summary.
const MAX_EVIDENCE_SHOWN: usize = 3;
/// Rejected rows named in the table; the JSON report lists them all.
const MAX_REJECTIONS_SHOWN: usize = 20;
/// Findings of one rule at one level in one mailbox shown row by row; the
/// rest become one row saying how many more (a busy mailbox can raise
/// hundreds of the same burst). The JSON, JSONL and HTML reports list all.
const MAX_SIMILAR_SHOWN: usize = 10;

pub(super) fn write<W: Write>(out: &mut W, report: &Report<'_>, style: &Style) -> io::Result<()> {
    writeln!(out, "{}", header_block(report, style))?;
    write_custody(out, report)?;
    writeln!(out)?;
    write_summary(out, report, style)?;
    write_findings(out, report, style)?;
    writeln!(out)?;
    write_scope(out, report, style)?;
    writeln!(out, "{}", counts_table(report, style))?;
    writeln!(out)?;
    write_ips(out, report, style)?;
    write_rejections(out, report)?;
    write_legend(out, style)
}

/// What the terms of the report mean (`legend.rs`).
fn write_legend<W: Write>(out: &mut W, style: &Style) -> io::Result<()> {
    let width = usize::from(style.width.unwrap_or(super::TABLE_WIDTH));
    writeln!(out)?;
    writeln!(out, "Legend")?;
    for (term, text) in super::legend::entries(&style.zone.label()) {
        let lines = wrap(&format!("{term}: {text}"), width.saturating_sub(4).max(20));
        for (k, line) in lines.iter().enumerate() {
            writeln!(out, "{}{line}", if k == 0 { "  " } else { "    " })?;
        }
    }
    Ok(())
}

/// Each file's SHA-256 as `sha256sum` prints it, so the lines can be
/// checked with `sha256sum -c` (a file of several accounts once).
fn write_custody<W: Write>(out: &mut W, report: &Report<'_>) -> io::Result<()> {
    let mut seen: Vec<&str> = Vec::new();
    for s in report.timeline.inputs() {
        let Some(c) = s.custody else { continue };
        if seen.contains(&s.path.as_str()) {
            continue;
        }
        seen.push(&s.path);
        if seen.len() == 1 {
            writeln!(out, "Evidence read, SHA-256 (check with `sha256sum -c`):")?;
        }
        writeln!(out, "{}  {}", c.hex(), for_terminal(&s.path))?;
    }
    Ok(())
}

/// The executive summary (`summary.rs`), wrapped to the table width; each
/// claim is followed by the ids of the rules it rests on.
fn write_summary<W: Write>(out: &mut W, report: &Report<'_>, style: &Style) -> io::Result<()> {
    let width = usize::from(style.width.unwrap_or(super::TABLE_WIDTH));
    writeln!(out, "Summary")?;
    for paragraph in super::summary::of(report).plain(report) {
        for line in wrap(&for_terminal(&paragraph), width.saturating_sub(2).max(20)) {
            writeln!(out, "  {line}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Greedy word wrap by characters (a word longer than the width gets its
/// own line).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn new_table(style: &Style) -> Table {
    styled_table(style, presets::UTF8_FULL)
}

/// A table without lines between rows, for long lists.
fn condensed_table(style: &Style) -> Table {
    styled_table(style, presets::UTF8_FULL_CONDENSED)
}

fn styled_table(style: &Style, preset: TableStyle) -> Table {
    let mut table = Table::new();
    table.load_style(preset.with_rounded_corners());
    table.set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(width) = style.width {
        table.force_no_tty().set_width(width);
    }
    if style.color {
        table.enforce_styling();
    }
    table
}

fn header_block(report: &Report<'_>, style: &Style) -> Table {
    let tl = report.timeline;
    let mut table = new_table(style);
    table.set_header(vec![
        Cell::new(format!("o365scan {}", env!("CARGO_PKG_VERSION"))),
        Cell::new(""),
    ]);
    if let Some(case) = report.case {
        for (name, value) in [("Case", &case.reference), ("Examiner", &case.examiner)] {
            if let Some(v) = value {
                table.add_row(vec![Cell::new(name), Cell::new(for_terminal(v))]);
            }
        }
    }
    for s in tl.inputs() {
        let detail = format!(
            "mailbox {} · {}{} · {} rows = {} records + {} rejected + {} duplicates{}",
            for_terminal(&s.mailbox),
            s.custody
                .map_or_else(String::new, |c| format!("{} bytes · ", c.bytes)),
            s.encoding.as_str(),
            s.rows,
            s.records,
            s.rejected,
            s.duplicates,
            if s.repeated_headers > 0 {
                format!(" · {} repeated header(s) skipped", s.repeated_headers)
            } else {
                String::new()
            },
        );
        let detail = match s.account {
            Some(a) => format!(
                "{detail}
account {} of {} in this file (lines {}–{}): analysed as its own mailbox",
                a.index, a.of, a.first_line, a.last_line
            ),
            None => detail,
        };
        table.add_row(vec![
            Cell::new("File"),
            Cell::new(format!("{}\n{detail}", for_terminal(&s.path))),
        ]);
    }
    let span = match (tl.first(), tl.last()) {
        (Some(a), Some(b)) => format!(
            "{} ~ {} {}",
            style.zone.format(a),
            style.zone.format(b),
            style.zone.label()
        ),
        _ => "no records".into(),
    };
    table.add_row(vec![Cell::new("Span"), Cell::new(span)]);
    if report.window.is_set() {
        let bound =
            |t: Option<DateTime<Utc>>| t.map_or_else(|| "…".to_string(), |t| style.zone.format(t));
        let text = format!(
            "{} ~ {}; left out: {} records, {} findings",
            bound(report.window.from),
            bound(report.window.to),
            report.excluded_records(),
            report.excluded_findings
        );
        table.add_row(vec![Cell::new("Filter"), Cell::new(text)]);
    }
    table.add_row(vec![
        Cell::new("Total"),
        Cell::new(format!(
            "{} rows = {} records + {} rejected + {} duplicates · logon IPs: {} · sessions: {}",
            report.rows(),
            report.records(),
            report.rejected(),
            report.duplicates(),
            report.ips.logon_ips(tl).len(),
            super::counts::sessions(tl)
        )),
    ]);
    table
}

fn level_cell(level: Level, style: &Style) -> Cell {
    let cell = Cell::new(level.short());
    if !style.color {
        return cell;
    }
    match level {
        Level::Informational => cell,
        Level::Low => cell.fg(Color::Green),
        Level::Medium => cell.fg(Color::Yellow),
        Level::High => cell.fg(Color::Red),
        Level::Critical => cell.fg(Color::Red).add_attribute(Attribute::Bold),
    }
}

fn write_findings<W: Write>(out: &mut W, report: &Report<'_>, style: &Style) -> io::Result<()> {
    if report.findings.is_empty() {
        return writeln!(out, "{}", report.no_findings_reason());
    }
    let mut findings: Vec<&Finding> = report.findings.clone();
    // Most severe first, then by time: the JSON order is by time alone.
    findings.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then(a.first.cmp(&b.first))
            .then(a.rule.cmp(b.rule))
    });
    let several = report.timeline.inputs().len() > 1;
    let mut table = new_table(style);
    let first = format!("First ({})", style.zone.label());
    let mut header = vec!["Level", first.as_str(), "Finding"];
    if several {
        header.insert(2, "Mailbox");
    }
    table.set_header(header);
    let mut totals: HashMap<_, (usize, DateTime<Utc>)> = HashMap::new();
    for f in &findings {
        let (n, last) = totals.entry(similar(f)).or_insert((0, f.first));
        *n += 1;
        *last = (*last).max(f.first);
    }
    let mut shown: HashMap<_, usize> = HashMap::new();
    for f in findings {
        let n = shown.entry(similar(f)).or_insert(0);
        *n += 1;
        let text = match *n {
            n if n <= MAX_SIMILAR_SHOWN => summary_text(report, f),
            n if n == MAX_SIMILAR_SHOWN + 1 => {
                let (total, last) = totals[&similar(f)];
                format!(
                    "{}\n{} more of this rule at this level, until {}; the JSON and HTML reports list every finding",
                    f.rule,
                    total - MAX_SIMILAR_SHOWN,
                    style.zone.format(last)
                )
            }
            _ => continue,
        };
        let mut row = vec![
            level_cell(f.level, style),
            Cell::new(style.zone.format(f.first)),
            Cell::new(text),
        ];
        if several {
            row.insert(2, Cell::new(for_terminal(&f.mailbox)));
        }
        table.add_row(row);
    }
    writeln!(out, "Findings ({})", report.findings.len())?;
    writeln!(out, "{table}")
}

/// What makes findings alike in the table: mailbox, rule and level.
fn similar(f: &Finding) -> (&str, &'static str, Level) {
    (&f.mailbox, f.rule, f.level)
}

/// Rule id, summary and the first evidence lines, escaped.
fn summary_text(report: &Report<'_>, f: &Finding) -> String {
    let experimental = if f.experimental {
        " (experimental)"
    } else {
        ""
    };
    let mut text = format!("{}{experimental}\n{}", f.rule, for_terminal(&f.summary));
    if let Some(actor) = &f.actor {
        // User agents are the sender's choice: escaped like any data.
        text.push_str(&format!("\nactor {}", for_terminal(&actor.label())));
    }
    let lines: Vec<String> = f
        .evidence
        .iter()
        .take(MAX_EVIDENCE_SHOWN)
        .filter_map(|e| report.timeline.activities().get(e.record))
        .map(|a| a.source().line.to_string())
        .collect();
    if !lines.is_empty() {
        let more = f.evidence.len().saturating_sub(MAX_EVIDENCE_SHOWN);
        let more = if more > 0 {
            format!(" +{more}")
        } else {
            String::new()
        };
        let word = if f.evidence.len() == 1 {
            "line"
        } else {
            "lines"
        };
        text.push_str(&format!("\n({word} {}{more})", lines.join(", ")));
    }
    text
}

/// What the scoped actors touched, one row per actor: the counts counsel
/// quotes (`docs/scope.md` §4). Nothing when no actor is scoped.
fn write_scope<W: Write>(out: &mut W, report: &Report<'_>, style: &Style) -> io::Result<()> {
    use crate::scope::Access as A;
    let Some(scope) = report.scope else {
        return Ok(());
    };
    if scope.actors.is_empty() {
        writeln!(out, "What the intruder touched")?;
        let why = match scope.selection {
            crate::scope::Selection::Suspect => {
                "  nothing scoped: no finding at medium or above names an actor\n  (--actor all or --actor IP|CIDR|SESSION lists what anyone touched)"
            }
            _ => "  nothing scoped: no record of the export matches the chosen actors",
        };
        writeln!(out, "{why}")?;
        return writeln!(out);
    }
    writeln!(out, "What the intruder touched (distinct messages)")?;
    writeln!(
        out,
        "  scoped: {}",
        for_terminal(&scope.selection.describe())
    )?;
    let mut table = new_table(style);
    table.set_header(vec!["Actor", "Touched"]);
    let mailboxes = report.timeline.inputs().len() > 1;
    for a in &scope.actors {
        let c = &a.counts;
        let mut who = a.label().to_string();
        if mailboxes && let Some(s) = report.timeline.inputs().get(a.file) {
            who = format!("{} · {}", s.mailbox, who);
        }
        let mut touched = format!(
            "{} messages: {} previewed, {} opened, {} with attachments opened, {} replied to, {} forwarded, {} sent, {} deleted ({} purged); {} searches",
            c.items,
            c.of(A::Preview),
            c.of(A::Open),
            c.of(A::AttachmentOpened),
            c.of(A::Replied),
            c.of(A::Forwarded),
            c.of(A::Sent),
            c.deleted_any,
            c.of(A::Purged),
            c.searches,
        );
        if let (Some(f), Some(l)) = (a.first, a.last) {
            touched.push_str(&format!(
                "\nactive {} ~ {}",
                style.zone.format(f),
                style.zone.format(l)
            ));
        }
        table.add_row(vec![Cell::new(for_terminal(&who)), Cell::new(touched)]);
    }
    writeln!(out, "{table}")?;
    // Distinct messages over all scoped actors (two actors, or an IP and
    // its network, may have touched the same one).
    let mut distinct: Vec<(usize, u64, bool)> = scope
        .items
        .iter()
        .map(|it| {
            let file = scope.actors[it.actor].file;
            (
                file,
                it.item.key.0,
                it.item.via == crate::items::Via::Unresolved,
            )
        })
        .collect();
    distinct.sort_unstable();
    distinct.dedup_by_key(|d| (d.0, d.1));
    let unresolved = distinct.iter().filter(|d| d.2).count();
    writeln!(
        out,
        "  {} messages in all, {unresolved} described by no row; --scope FILE lists them",
        distinct.len()
    )?;
    writeln!(out)
}

fn counts_table(report: &Report<'_>, style: &Style) -> Table {
    let tl = report.timeline;
    let mut table = condensed_table(style);
    table.set_header(vec!["Activity", "Records", "App", "Records"]);
    let counts = super::counts::counts(tl, &report.window);
    let activities: Vec<_> = counts.activity.into_iter().collect();
    let apps: Vec<_> = counts.app.into_iter().collect();
    for i in 0..activities.len().max(apps.len()) {
        let (a, an) = activities
            .get(i)
            .map_or((String::new(), String::new()), |(k, n)| {
                (for_terminal(k).into_owned(), n.to_string())
            });
        let (p, pn) = apps
            .get(i)
            .map_or((String::new(), String::new()), |(k, n)| {
                (for_terminal(k).into_owned(), n.to_string())
            });
        table.add_row(vec![
            Cell::new(a),
            Cell::new(an).set_alignment(CellAlignment::Right),
            Cell::new(p),
            Cell::new(pn).set_alignment(CellAlignment::Right),
        ]);
    }
    table
}

fn write_ips<W: Write>(out: &mut W, report: &Report<'_>, style: &Style) -> io::Result<()> {
    let ips = report.ips.logon_ips(report.timeline);
    writeln!(out, "Logon IPs ({})", ips.len())?;
    if ips.is_empty() {
        writeln!(out, "  {}", report.no_logons_reason())?;
    }
    for seen in ips {
        writeln!(
            out,
            "  {} – {} ({} ~ {})",
            seen.count,
            for_terminal(seen.ip),
            style.zone.format(seen.first),
            style.zone.format(seen.last)
        )?;
        if report.geoip.is_some() {
            let info = report.ip_info(seen.ip).map(|i| i.describe());
            let info = info.unwrap_or_else(|| "not in the --geoip databases".into());
            writeln!(out, "      {}", for_terminal(&info))?;
        }
    }
    Ok(())
}

fn write_rejections<W: Write>(out: &mut W, report: &Report<'_>) -> io::Result<()> {
    let tl = report.timeline;
    if tl.rejections().is_empty() {
        return Ok(());
    }
    writeln!(out, "\nRejected rows ({})", tl.rejections().len())?;
    for r in tl.rejections().iter().take(MAX_REJECTIONS_SHOWN) {
        let path = tl
            .inputs()
            .get(r.file as usize)
            .map_or("", |s| s.path.as_str());
        writeln!(
            out,
            "  {}:{}: {}",
            for_terminal(path),
            r.line,
            for_terminal(&r.reason)
        )?;
    }
    if tl.rejections().len() > MAX_REJECTIONS_SHOWN {
        writeln!(
            out,
            "  … and {} more (see --format json)",
            tl.rejections().len() - MAX_REJECTIONS_SHOWN
        )?;
    }
    Ok(())
}

pub(super) fn list_rules<W: Write>(out: &mut W, style: &Style) -> io::Result<()> {
    let mut table = condensed_table(style);
    table.set_header(vec!["Rule", "Level", "ATT&CK", "Title"]);
    for rule in rules::RULES {
        let status = if rule.experimental() { " (exp)" } else { "" };
        table.add_row(vec![
            Cell::new(rule.id()),
            level_cell(rule.level(), style),
            Cell::new(rule.attack().join(" ")),
            Cell::new(format!("{}{status}", rule.title())),
        ]);
    }
    writeln!(out, "{table}")?;
    writeln!(out, "\nHow a level is reached (docs/severity.md):")?;
    for step in rules::SEVERITY_STEPS {
        writeln!(out, "{step}")?;
    }
    Ok(())
}
