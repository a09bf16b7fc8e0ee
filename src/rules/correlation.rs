//! Correlation (`detections.md` §2.8): the BEC kill chain across findings.

use super::{Ctx, Meta, Param, Rule, list};
use crate::finding::{Finding, Level};
use chrono::Duration;

/// Stage of a finding in the BEC story, by rule id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Access,
    Recon,
    Concealment,
    Action,
}

fn stage(rule: &str) -> Option<Stage> {
    Some(match rule {
        "logon-new-ip"
        | "logon-suspicious-agent"
        | "logon-legacy-client"
        | "session-multi-ip"
        | "logon-timezone-mismatch"
        | "logon-impossible-travel" => Stage::Access,
        "search-financial" | "search-detection" | "search-credentials" | "search-then-read"
        | "read-burst" | "read-old-mail" | "attachment-burst" => Stage::Recon,
        "rule-inferred-forward" | "forward-burst" => Stage::Action,
        r if r.starts_with("send-") => Stage::Action,
        r if r.starts_with("rule-") || r.starts_with("delete-") => Stage::Concealment,
        _ => return None,
    })
}

pub struct BecChain;

impl Rule for BecChain {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "bec-chain",
                title: "BEC kill chain",
                level: Level::Critical,
                attack: &["T1078.004", "T1114.002", "T1564.008", "T1070.008", "T1534"],
                experimental: false,
                description: "An access anomaly followed, within 72 h, by at least two of: reconnaissance, concealment, action (after recon or concealment)",
                params: &[Param::int("window_hours", 72), Param::int("min_stages", 3)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let window = Duration::hours(ctx.int("window_hours"));
        let min_stages = ctx.int("min_stages") as usize;
        for (mailbox, _) in ctx.mailboxes() {
            let mut mine: Vec<(&Finding, Stage)> = ctx
                .prior
                .iter()
                .filter(|f| f.mailbox == mailbox)
                .filter_map(|f| stage(f.rule).map(|s| (f, s)))
                .collect();
            mine.sort_by(|a, b| (a.0.first, a.0.rule).cmp(&(b.0.first, b.0.rule)));
            let best = mine
                .iter()
                .filter(|(_, s)| *s == Stage::Access)
                .map(|(a, _)| chain_from(a, &mine, window))
                .filter(|chain| chain.1 >= min_stages)
                .max_by(|x, y| x.1.cmp(&y.1).then(y.0[0].first.cmp(&x.0[0].first)));
            if let Some((links, stages)) = best {
                out.push(self.emit(ctx, &links, stages));
            }
        }
    }
}

/// The findings that continue a chain starting at access finding `a`, and
/// how many stages they cover.
fn chain_from<'f>(
    a: &'f Finding,
    all: &[(&'f Finding, Stage)],
    window: Duration,
) -> (Vec<&'f Finding>, usize) {
    let in_window: Vec<&(&Finding, Stage)> = all
        .iter()
        .filter(|(f, _)| f.first >= a.first && f.first - a.first <= window)
        .collect();
    let first_of = |s: Stage| {
        in_window
            .iter()
            .filter(|(_, st)| *st == s)
            .map(|(f, _)| f.first)
            .min()
    };
    let (recon, conceal) = (first_of(Stage::Recon), first_of(Stage::Concealment));
    let prepared = [recon, conceal].into_iter().flatten().min();
    let action_ok = |f: &Finding| prepared.is_some_and(|p| f.first >= p);
    let links: Vec<&Finding> = in_window
        .iter()
        .filter(|(f, s)| match s {
            Stage::Access => std::ptr::eq(*f, a) || f.first == a.first,
            Stage::Action => action_ok(f),
            _ => true,
        })
        .map(|(f, _)| *f)
        .collect();
    let mut stages = 1 + usize::from(recon.is_some()) + usize::from(conceal.is_some());
    stages += usize::from(links.iter().any(|f| stage(f.rule) == Some(Stage::Action)));
    (links, stages)
}

impl BecChain {
    fn emit(&self, ctx: &Ctx<'_>, links: &[&Finding], stages: usize) -> Finding {
        // One evidence row per record: two findings may start on the same
        // row. In time order: inputs that name the same mailbox chain
        // together, and record indices run input by input.
        let mut records: Vec<usize> = links
            .iter()
            .filter_map(|f| f.evidence.first().map(|e| e.record))
            .collect();
        records.sort_unstable_by_key(|&i| ctx.timeline.time_key(i));
        records.dedup();
        let names: Vec<String> = links.iter().map(|f| f.rule.to_string()).collect();
        let span = links.iter().map(|f| f.last).max().unwrap_or_default() - links[0].first;
        let summary = format!(
            "{stages} BEC stages within {}: {}",
            duration_text(span),
            list(&names, 8)
        );
        let mut f = ctx.finding(self, self.level(), &records, summary, |i| {
            let starts: Vec<String> = links
                .iter()
                .filter(|l| l.evidence.first().is_some_and(|e| e.record == i))
                .map(|l| format!("{}: {}", l.rule, l.summary))
                .collect();
            starts.join(" | ")
        });
        f.first = links[0].first;
        f.last = links.iter().map(|l| l.last).max().unwrap_or(f.last);
        f.count = links.len() as u64;
        f
    }
}

/// "25 min" under two hours, else "41 h".
fn duration_text(d: Duration) -> String {
    if d < Duration::hours(2) {
        format!("{} min", d.num_minutes().max(1))
    } else {
        format!("{} h", d.num_hours())
    }
}
