//! Episodes, not rows (`docs/severity.md`): a rule's findings about the
//! same actor of the same mailbox that follow each other closely are one
//! episode and become one finding, with the true span and count.
//!
//! Findings no actor is tied to are left as the rule cut them: a rule
//! without an actor splits by what it is about (sender, folder), and two
//! senders' rule effects are not one episode.
//!
//! Rules cut their findings by their own windows; the same tidy-up or the
//! same intruder's searches then come out as tens of findings. Merging
//! here, once for every rule, keeps each rule simple and the promise
//! uniform.

use crate::finding::Finding;
use chrono::Duration;
use std::sync::Arc;

/// Findings closer than this (or the rule's own `window_minutes`, if
/// longer) belong to one episode.
const EPISODE_GAP_MINUTES: i64 = 60;

/// Merges `findings` of one rule into episodes; `window` is the rule's
/// `window_minutes` (0 when it has none).
pub(super) fn merge(mut findings: Vec<Finding>, window_minutes: i64) -> Vec<Finding> {
    if findings.len() < 2 {
        return findings;
    }
    let gap = Duration::minutes(window_minutes.max(EPISODE_GAP_MINUTES));
    // Stable: a rule's order among equal keys is kept.
    findings.sort_by(|a, b| {
        (&a.mailbox, actor_key(a), a.first).cmp(&(&b.mailbox, actor_key(b), b.first))
    });
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut merged_into_last = 0usize;
    for f in findings {
        match out.last_mut() {
            Some(last)
                if last.mailbox == f.mailbox
                    && actor_key(&f).is_some()
                    && actor_key(last) == actor_key(&f)
                    && f.first - last.last <= gap =>
            {
                absorb(last, f);
                merged_into_last += 1;
            }
            _ => {
                if let Some(last) = out.last_mut() {
                    describe(last, merged_into_last);
                }
                merged_into_last = 0;
                out.push(f);
            }
        }
    }
    if let Some(last) = out.last_mut() {
        describe(last, merged_into_last);
    }
    out
}

/// The actor as a sort key: its first record (unique per actor), and
/// findings without an actor first.
fn actor_key(f: &Finding) -> Option<usize> {
    f.actor.as_ref().map(|a| a.first_record)
}

fn absorb(into: &mut Finding, f: Finding) {
    into.level = into.level.max(f.level);
    into.first = into.first.min(f.first);
    into.last = into.last.max(f.last);
    // Sliding windows overlap: when both counts are row counts, the
    // episode's count is its distinct rows, not their sum.
    let counts_rows =
        into.count == into.evidence.len() as u64 && f.count == f.evidence.len() as u64;
    into.evidence.extend(&f.evidence);
    into.count = if counts_rows {
        into.evidence.len() as u64
    } else {
        into.count + f.count
    };
    if let (Some(a), Some(b)) = (&into.actor, &f.actor)
        && !Arc::ptr_eq(a, b)
    {
        into.actor = None;
    }
}

/// States the episode's true size and span in the first finding's words.
fn describe(f: &mut Finding, merged: usize) {
    if merged == 0 {
        return;
    }
    f.summary = format!(
        "{}; and {} more like it, {} in all, from {} to {} ({})",
        f.summary,
        merged,
        f.count,
        f.first.format("%Y-%m-%d %H:%M"),
        f.last.format("%Y-%m-%d %H:%M"),
        span_text(f.last - f.first)
    );
}

/// "25 min", "5.5 h", "3 days".
pub(super) fn span_text(d: Duration) -> String {
    let minutes = d.num_minutes();
    if minutes < 120 {
        format!("{} min", minutes.max(0))
    } else if minutes < 48 * 60 {
        format!("{:.1} h", minutes as f64 / 60.0)
    } else {
        format!("{} days", minutes / (24 * 60))
    }
}
