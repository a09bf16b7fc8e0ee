//! Data quality (`docs/rules.md` §2.9): always on, informational. A report
//! must never read as "clean" when the export is cut short or damaged.

use super::{Ctx, Meta, Phase, Rule, Tactic, list, p, plural};
use crate::activity::{Kind, TimeSource};
use crate::evidence::InputSummary;
use crate::finding::{Finding, Level};
use crate::timeline::Records;
use chrono::{Duration, NaiveDate};
use indexmap::IndexMap;

/// The summary of the input `records` were read from; `None` when it kept
/// no record.
fn input<'a>(ctx: &Ctx<'a>, records: Records) -> Option<&'a InputSummary> {
    (!records.is_empty())
        .then(|| ctx.timeline.inputs().get(records.file))
        .flatten()
}

pub(super) struct Gaps;

impl Rule for Gaps {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "data-gaps",
                phase: Phase::Last,
                tactic: Tactic::DataQuality,
                stage: None,
                title: "Coverage and gaps",
                level: Level::Informational,
                attack: &[],
                experimental: false,
                description: "Cut-short exports (row count a multiple of 1000, no final newline), silent spans in a daily-active mailbox, missing MessageDelivered",
                params: &[p::GAP_HOURS.int(24), p::DAILY_ACTIVE_PERCENT.int(90)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for (_, records) in ctx.mailboxes() {
            let Some(summary) = input(ctx, records) else {
                continue;
            };
            let mut issues = Vec::new();
            let mut cited = Vec::new();
            if summary.rows > 0 && summary.rows % 1000 == 0 {
                issues.push(format!(
                    "{} data rows, a multiple of 1000: the export may stop at a page boundary",
                    summary.rows
                ));
            }
            if summary.missing_final_newline {
                issues.push(
                    "the last line has no line ending: the export may be cut short".to_string(),
                );
            }
            if !records
                .iter()
                .any(|i| ctx.activity(i).kind == Kind::MessageDelivered)
            {
                issues.push(
                    "no MessageDelivered rows: the export may have been filtered by type"
                        .to_string(),
                );
            }
            for (before, after) in self.silent_spans(ctx, records) {
                let hours = (ctx.activity(after).time - ctx.activity(before).time).num_hours();
                issues.push(format!(
                    "silent for {hours} h after {}",
                    ctx.activity(before).time.format("%Y-%m-%d %H:%M")
                ));
                cited.extend([before, after]);
            }
            if issues.is_empty() {
                continue;
            }
            if cited.is_empty() {
                cited.extend(records.last());
            }
            let span = match (summary.first, summary.last) {
                (Some(a), Some(b)) => format!("covers {} days; ", (b - a).num_days() + 1),
                _ => String::new(),
            };
            let text = format!("Export {span}{}", list(&issues, 6));
            let mut f = ctx.finding(self, self.level(), &cited, text, |i| {
                format!(
                    "{} at line {}",
                    ctx.activity(i).kind_name(),
                    ctx.activity(i).source().line
                )
            });
            f.count = issues.len() as u64;
            out.push(f);
        }
    }
}

impl Gaps {
    /// Silences longer than `gap_hours` in a mailbox active on most days.
    fn silent_spans(&self, ctx: &Ctx<'_>, records: Records) -> Vec<(usize, usize)> {
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return Vec::new();
        };
        let time = |i: usize| ctx.timeline.activity(i).time;
        let gap = Duration::hours(ctx.int(p::GAP_HOURS));
        // One pass: records are in time order, so a new day is a change of
        // date, and a silence is a long step between neighbours.
        // A silence of a day or more crosses midnight, so with such a gap
        // only steps onto a new date need the (costly) time arithmetic.
        let every_step = gap < Duration::days(1);
        let mut days = 0i64;
        let mut day: Option<NaiveDate> = None;
        let mut silences = Vec::new();
        for (n, i) in records.iter().enumerate() {
            // The UTC date as stored (`date_naive` redoes offset arithmetic).
            let d = time(i).naive_utc().date();
            let new_day = day != Some(d);
            if new_day {
                days += 1;
                day = Some(d);
            }
            if (new_day || every_step)
                && let Some(before) = n.checked_sub(1).and_then(|p| records.get(p))
                && time(i) - time(before) > gap
            {
                silences.push((before, i));
            }
        }
        let span_days = (time(last).date_naive() - time(first).date_naive()).num_days() + 1;
        let daily = span_days >= 3 && days * 100 >= span_days * ctx.int(p::DAILY_ACTIVE_PERCENT);
        if daily { silences } else { Vec::new() }
    }
}

pub(super) struct Unparsed;

impl Rule for Unparsed {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "data-unparsed",
                phase: Phase::Last,
                tactic: Tactic::DataQuality,
                stage: None,
                title: "Damaged rows",
                level: Level::Informational,
                attack: &[],
                experimental: false,
                description: "Rows kept with salvaged CustomProperties or a stand-in time, and rejected, duplicate, header and cp1252 rows",
                params: &[],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for (_, records) in ctx.mailboxes() {
            let Some(s) = input(ctx, records) else {
                continue;
            };
            // The reader counted every such record: none, no need to look.
            let any_damaged =
                s.salvaged_properties + s.creation_time_fallbacks + s.implausible_times > 0;
            let damaged: Vec<usize> = if any_damaged {
                records
                    .iter()
                    .filter(|&i| {
                        let a = ctx.activity(i);
                        a.salvaged()
                            || a.time_source() == TimeSource::CreationTime
                            || a.implausible_time()
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let mut parts = Vec::new();
            let mut add = |n: u64, one: &str, many: &str| {
                if n > 0 {
                    parts.push(plural(n as usize, one, many));
                }
            };
            add(
                s.salvaged_properties,
                "row with damaged CustomProperties (pairs salvaged)",
                "rows with damaged CustomProperties (pairs salvaged)",
            );
            add(
                s.creation_time_fallbacks,
                "row timed by ActivityCreationTime",
                "rows timed by ActivityCreationTime",
            );
            add(
                s.implausible_times,
                "row with an implausible time (before 2000 or after 2099)",
                "rows with an implausible time (before 2000 or after 2099)",
            );
            add(s.rejected, "row rejected", "rows rejected");
            add(
                s.duplicates,
                "exact duplicate row dropped",
                "exact duplicate rows dropped",
            );
            add(
                s.repeated_headers,
                "repeated header line skipped",
                "repeated header lines skipped",
            );
            add(
                s.cp1252_fields,
                "field decoded as cp1252",
                "fields decoded as cp1252",
            );
            if parts.is_empty() {
                continue;
            }
            // Rows that are not records (rejected, duplicate, header) have no
            // timeline entry to cite; the summary counts them. The finding
            // spans the mailbox so it sorts with it.
            let anchor = if damaged.is_empty() {
                records.first().into_iter().collect()
            } else {
                damaged.clone()
            };
            let text = format!("{}: {}", s.path, list(&parts, 6));
            let mut f = ctx.finding(self, self.level(), &anchor, text, |i| {
                let a = ctx.activity(i);
                match ctx.timeline.salvage_error(a.source()) {
                    Some(error) => format!("CustomProperties: {error}"),
                    _ if a.implausible_time() => {
                        format!("implausible time {}", crate::clock::format(a.time))
                    }
                    _ => "TimeStamp unknown; ActivityCreationTime used".to_string(),
                }
            });
            if damaged.is_empty() {
                f.evidence.clear();
                f.last = records.last().map_or(f.last, |i| ctx.activity(i).time);
            }
            f.count = damaged.len() as u64 + s.rejected + s.duplicates + s.repeated_headers;
            out.push(f);
        }
    }
}

pub(super) struct UnknownActivity;

impl Rule for UnknownActivity {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "data-unknown-activity",
                phase: Phase::Last,
                tactic: Tactic::DataQuality,
                stage: None,
                title: "Unknown activity or client type",
                level: Level::Informational,
                attack: &[],
                experimental: false,
                description: "ActivityIdType or AppIdType values outside the catalogue, with count, first and last",
                params: &[],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for (_, records) in ctx.mailboxes() {
            let mut unknown: IndexMap<String, Vec<usize>> = IndexMap::new();
            for i in records.iter() {
                let a = ctx.activity(i);
                if !a.kind.is_known() {
                    unknown
                        .entry(format!("ActivityIdType {}", super::quoted(a.kind_name())))
                        .or_default()
                        .push(i);
                }
                if !a.app.is_known() {
                    unknown
                        .entry(format!("AppIdType {}", super::quoted(a.app_name())))
                        .or_default()
                        .push(i);
                }
            }
            for (what, recs) in unknown {
                let summary = format!("{} with unknown {what}", plural(recs.len(), "row", "rows"));
                out.push(ctx.finding(self, self.level(), &recs, summary, |i| {
                    format!(
                        "{} by {}",
                        ctx.activity(i).kind_name(),
                        ctx.activity(i).app_name()
                    )
                }));
            }
        }
    }
}
