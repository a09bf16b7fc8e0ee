//! The legend of the table and HTML reports: what levels, "experimental",
//! actors and episodes mean, and the time zone (docs/reports.md §2). One
//! text for both reports, so they cannot drift apart.

use crate::finding::Level;

/// (term, explanation) pairs, levels first, most severe first.
pub(super) fn entries(zone: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        Level::Critical,
        Level::High,
        Level::Medium,
        Level::Low,
        Level::Informational,
    ]
    .iter()
    .map(|&l| (l.as_str().to_string(), level_meaning(l).to_string()))
    .collect();
    for (term, text) in [
        (
            "experimental",
            "The rule relies on a field or a behaviour of the export whose meaning was inferred (from the Outlook client's code or by reasoning) rather than confirmed by tools built on real exports. Its findings are leads: confirm them against the cited rows before relying on them.",
        ),
        (
            "actor",
            "The sign-ins and the activity tied to them that share a network and client software: an approximation of one device or person. 'baseline': active in the export's first 7 days, taken to be the owner. 'adopted': first seen later, then used regularly for weeks from the owner's networks. 'new': neither; a new device of the owner or someone else. 'unjudged': the export is shorter than the baseline period, so there is no history to compare with.",
        ),
        (
            "episode",
            "One stretch of a rule's activity by one actor, with gaps shorter than the rule's window (usually 60 minutes). A finding is raised once per episode; its count, first and last times cover the whole episode.",
        ),
        (
            "line",
            "The physical line of the export file a finding cites (line 1 is the header), so every claim can be checked in the original evidence.",
        ),
    ] {
        out.push((term.to_string(), text.to_string()));
    }
    out.push((
        "times".to_string(),
        if zone == "UTC" {
            "All times are UTC, as the export's own timestamps are.".to_string()
        } else {
            format!("Tables show times in {zone}; the summary's and the export's own are UTC.")
        },
    ));
    out
}

fn level_meaning(level: Level) -> &'static str {
    match level {
        Level::Critical => {
            "A compromise is almost certain: several stages of an intrusion by one new actor, or a reply into a payment thread from suspect access."
        }
        Level::High => "Should be reviewed promptly: a strong sign of an intrusion on its own.",
        Level::Medium => {
            "Worth a manual review: unusual, and often benign on its own (a new phone, a trip)."
        }
        Level::Low => "Notable context, rarely an incident alone.",
        Level::Informational => {
            "Context about the export itself or about normal use; never an alert."
        }
    }
}
