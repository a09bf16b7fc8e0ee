//! The activity chart of the HTML report: an SVG drawn here, activity per
//! time bucket stacked by category, findings marked on the same axis, so a
//! burst of deletes right after a new-IP logon shows at a glance.

use super::Report;
use super::html::escape_html;
use crate::activity::{Activity, Kind};
use crate::finding::Level;
use chrono::{DateTime, Duration, Utc};
use std::fmt::Write;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 240.0;
/// Room for the y axis's title and tick labels.
const LEFT: f64 = 64.0;
const TOP: f64 = 26.0;
/// Room for the x axis's tick labels and title.
const BOTTOM: f64 = 48.0;
/// At most this many ticks on either axis.
const MAX_TICKS: i64 = 8;
/// Bucket sizes tried, smallest first; the first giving ≤ MAX_BUCKETS wins.
const BUCKETS_MINUTES: &[i64] = &[1, 5, 15, 60, 360, 1440, 10080];
const MAX_BUCKETS: i64 = 120;

/// Chart categories, drawn bottom to top.
pub(super) const CATEGORIES: &[(&str, &str)] = &[
    ("Sign-in", "#3b6fb6"),
    ("Delivery", "#9aa5b1"),
    ("Reading", "#5aa469"),
    ("Search", "#e0a100"),
    ("Sending", "#8e5bb5"),
    ("Deleting", "#d1495b"),
    ("Other", "#c9cfd6"),
];

pub(super) fn category(a: &Activity) -> usize {
    match a.kind {
        Kind::ServerLogon | Kind::Logon => 0,
        Kind::MessageDelivered => 1,
        Kind::ReadingPaneDisplayStart
        | Kind::ReadingPaneDisplayEnd
        | Kind::MarkAsRead
        | Kind::MarkAsUnread
        | Kind::MessageSelected
        | Kind::InspectorDisplayStart
        | Kind::InspectorDisplayEnd
        | Kind::OpenedAnAttachment
        | Kind::PreviewOfAttachmentStarted
        | Kind::LinkClicked => 2,
        Kind::SearchResult
        | Kind::SearchSuggestionsDisplay
        | Kind::SearchSuggestionDisplay
        | Kind::SearchQueryExecute
        | Kind::SearchSessionStart
        | Kind::SearchRefinersDisplay
        | Kind::SearchRequestEnd => 3,
        Kind::MessageSent
        | Kind::Reply
        | Kind::ReplyAll
        | Kind::Forward
        | Kind::NewMessage
        | Kind::DraftCreated
        | Kind::RemoteSend => 4,
        Kind::Delete
        | Kind::DeleteFromInbox
        | Kind::Move
        | Kind::MoveFromInbox
        | Kind::DeleteFolder => 5,
        _ => 6,
    }
}

pub(super) fn level_colour(level: Level) -> &'static str {
    match level {
        Level::Informational => "#7a8591",
        Level::Low => "#3c8d5a",
        Level::Medium => "#c98a00",
        Level::High => "#c0392b",
        Level::Critical => "#7b1020",
    }
}

/// The SVG, or `None` when there is nothing to draw.
pub(super) fn svg(report: &Report<'_>) -> Option<String> {
    let tl = report.timeline;
    let times = || report.window.records(tl).map(|(_, a)| a.time);
    let (start, end) = (times().min()?, times().max()?);
    let minutes = BUCKETS_MINUTES
        .iter()
        .copied()
        .find(|m| (end - start).num_minutes() / m < MAX_BUCKETS)
        .unwrap_or(10080);
    let bucket = Duration::minutes(minutes);
    let origin = floor(start, minutes);
    let n = ((end - origin).num_minutes() / minutes + 1) as usize;
    let mut counts = vec![[0u32; 7]; n];
    for (i, _) in report.window.records(tl) {
        let a = tl.rec(i);
        let b = (((a.time - origin).num_minutes() / minutes) as usize).min(n - 1);
        counts[b][category(&a)] += 1;
    }
    let max = counts
        .iter()
        .map(|c| c.iter().sum::<u32>())
        .max()
        .unwrap_or(1)
        .max(1);
    let plot_w = WIDTH - LEFT - 10.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let bar_w = plot_w / n as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="Activity over time">"#
    );
    let _ = write!(
        s,
        r##"<line x1="{LEFT}" y1="{0}" x2="{1}" y2="{0}" stroke="#888"/>"##,
        TOP + plot_h,
        LEFT + plot_w
    );
    let scale = y_axis(&mut s, max, minutes, plot_w, plot_h);
    for (i, c) in counts.iter().enumerate() {
        let mut y = TOP + plot_h;
        let x = LEFT + i as f64 * bar_w;
        let when = origin + bucket * i as i32;
        for (cat, &v) in c.iter().enumerate() {
            if v == 0 {
                continue;
            }
            let h = plot_h * f64::from(v) / scale;
            y -= h;
            let _ = write!(
                s,
                r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{} {}: {v}</title></rect>"#,
                (bar_w - 0.6).max(0.4),
                CATEGORIES[cat].1,
                when.format("%Y-%m-%d %H:%M"),
                CATEGORIES[cat].0
            );
        }
    }
    for f in &report.findings {
        let x =
            LEFT + (f.first - origin).num_seconds() as f64 / bucket.num_seconds() as f64 * bar_w;
        let colour = level_colour(f.level);
        let _ = write!(
            s,
            r#"<path class="finding-mark" d="M{x:.1} {0} l-5 -9 h10 z" fill="{colour}"><title>{1} {2}: {3}</title></path>"#,
            TOP - 2.0,
            f.first.format("%H:%M:%S"),
            f.level.short(),
            escape_html(f.rule)
        );
        let _ = write!(
            s,
            r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{0}" stroke="{colour}" stroke-opacity="0.35"/>"#,
            TOP + plot_h
        );
    }
    let last = origin + bucket * i32::try_from(n).unwrap_or(i32::MAX);
    x_axis(&mut s, origin, last, plot_w, plot_h);
    s.push_str("</svg>");
    Some(s)
}

/// Gridlines and labelled ticks at round counts, and the axis title
/// naming the bucket size; returns the count at the top of the plot.
fn y_axis(s: &mut String, max: u32, bucket_minutes: i64, plot_w: f64, plot_h: f64) -> f64 {
    let step = nice_step(f64::from(max) / 4.0);
    let top = (f64::from(max) / step).ceil() * step;
    let mut v = 0.0;
    while v <= top + step / 2.0 {
        let y = TOP + plot_h - plot_h * v / top;
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e3e7ec"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end" fill="#555">{v}</text>"##,
            LEFT + plot_w,
            LEFT - 5.0,
            y + 3.5
        );
        v += step;
    }
    let _ = write!(
        s,
        r##"<text transform="translate(14 {:.1}) rotate(-90)" font-size="11" text-anchor="middle" fill="#444">activities per {}</text>"##,
        TOP + plot_h / 2.0,
        bucket_name(bucket_minutes)
    );
    top
}

/// 1, 2 or 5 times a power of ten, at least `raw` (and at least 1).
fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(1.0);
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|&step| step >= raw)
        .unwrap_or(10.0 * power)
}

fn bucket_name(minutes: i64) -> String {
    match minutes {
        1 => "minute".into(),
        60 => "hour".into(),
        1440 => "day".into(),
        10080 => "week".into(),
        m if m % 60 == 0 => format!("{} hours", m / 60),
        m => format!("{m} minutes"),
    }
}

/// Ticks at round times (whole hours, days or weeks, UTC) between the
/// first bucket's start and the last bucket's end (the bars' scale), the
/// date shown wherever it changes, and the axis title.
fn x_axis(s: &mut String, origin: DateTime<Utc>, end: DateTime<Utc>, plot_w: f64, plot_h: f64) {
    const STEPS_MINUTES: &[i64] = &[
        5, 15, 30, 60, 180, 360, 720, 1440, 2880, 10080, 20160, 40320,
    ];
    let span = (end - origin).num_minutes().max(1);
    let step = STEPS_MINUTES
        .iter()
        .copied()
        .find(|m| span / m < MAX_TICKS)
        .unwrap_or(40320);
    let y = TOP + plot_h;
    let mut t = floor(origin, step);
    if t < origin {
        t += Duration::minutes(step);
    }
    let mut last_day = None;
    while t <= end {
        let x = LEFT
            + plot_w * (t - origin).num_seconds() as f64
                / (end - origin).num_seconds().max(1) as f64;
        let day = t.date_naive();
        let label = if step >= 1440 {
            t.format("%-d %b %Y").to_string()
        } else if last_day != Some(day) {
            t.format("%-d %b %H:%M").to_string()
        } else {
            t.format("%H:%M").to_string()
        };
        last_day = Some(day);
        // Labels at the plot's edges stay inside the picture.
        let anchor = if x < LEFT + 30.0 {
            "start"
        } else if x > LEFT + plot_w - 30.0 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{y:.1}" x2="{x:.1}" y2="{:.1}" stroke="#888"/><text x="{x:.1}" y="{:.1}" font-size="10" text-anchor="{anchor}" fill="#444">{label}</text>"##,
            y + 4.0,
            y + 16.0
        );
        t += Duration::minutes(step);
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#444">time (UTC)</text>"##,
        LEFT + plot_w / 2.0,
        y + 36.0
    );
}

/// `t` rounded down to a multiple of `minutes` since the epoch.
fn floor(t: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    let secs = t.timestamp();
    let step = minutes * 60;
    DateTime::from_timestamp(secs - secs.rem_euclid(step), 0).unwrap_or(t)
}
