//! Correlation (`docs/rules.md` §2.8): the BEC kill chain across findings.
//! Which findings count for which stage is each rule's `Meta::stage`.

use super::{Ctx, Meta, Phase, Rule, Stage, Tactic, list, p};
use crate::actors::{Actor, Standing};
use crate::finding::{Finding, Level};
use chrono::Duration;
use std::sync::Arc;

pub(super) struct BecChain;

impl Rule for BecChain {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "bec-chain",
                phase: Phase::Last,
                tactic: Tactic::Correlation,
                stage: None,
                title: "BEC kill chain",
                level: Level::Critical,
                attack: &["T1078.004", "T1114.002", "T1564.008", "T1070.008", "T1534"],
                experimental: false,
                description: "A new actor with an access finding whose own findings (and unattributed ones within 72 h) cover at least two of: reconnaissance, concealment, action (after recon or concealment); starts at the actor's first activity",
                params: &[p::WINDOW_HOURS.int(72), p::MIN_STAGES.int(3)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let window = Duration::hours(ctx.int(p::WINDOW_HOURS));
        let min_stages = ctx.int(p::MIN_STAGES) as usize;
        // Two inputs may hold one mailbox (parts of one account pasted
        // apart): its findings are chained once.
        let names: indexmap::IndexSet<&str> = ctx.mailboxes().map(|(m, _)| m).collect();
        for mailbox in names {
            let mine: Vec<(&Finding, Stage)> = ctx
                .prior
                .iter()
                .filter(|f| f.mailbox == mailbox && f.level >= Level::Medium)
                .filter_map(|f| f.stage.map(|s| (f, s)))
                .collect();
            // The new actors that got in and have an access finding, in
            // order of arrival; in an export too short to judge anyone,
            // an actor with a high one (an attack tool's logon, a stolen
            // session) — the owner of a two-day export has only medium
            // ones, for networks nobody can call new or old.
            let mut actors: Vec<&Arc<Actor>> = Vec::new();
            for (f, s) in &mine {
                if let Some(a) = f.actor.as_ref().filter(|a| a.signed_in()).filter(|a| {
                    a.is_new() || (a.standing == Standing::Unjudged && f.level >= Level::High)
                }) && *s == Stage::Access
                    && !actors.iter().any(|b| Arc::ptr_eq(a, b))
                {
                    actors.push(a);
                }
            }
            actors.sort_by_key(|a| (a.first, a.first_record));
            for actor in actors {
                let (links, stages) = chain_of(actor, &mine, window);
                if stages >= min_stages {
                    out.push(self.emit(ctx, actor, &links, stages));
                }
            }
        }
    }
}

/// The findings of one new actor's chain and how many stages they cover:
/// the actor's own findings, and findings no actor is tied to (Exchange
/// carrying out a rule) from its first activity until `window` after its
/// last. Known actors' findings never join.
fn chain_of<'f>(
    actor: &Arc<Actor>,
    all: &[(&'f Finding, Stage)],
    window: Duration,
) -> (Vec<&'f Finding>, usize) {
    let mut links: Vec<(&Finding, Stage)> = all
        .iter()
        .filter(|(f, _)| match &f.actor {
            Some(a) => Arc::ptr_eq(a, actor),
            None => f.first >= actor.first && f.first <= actor.last + window,
        })
        .copied()
        .collect();
    links.sort_by(|a, b| (a.0.first, a.0.rule).cmp(&(b.0.first, b.0.rule)));
    let first_of = |s: Stage| {
        links
            .iter()
            .filter(|(_, st)| *st == s)
            .map(|(f, _)| f.first)
            .min()
    };
    let (recon, conceal) = (
        first_of(Stage::Reconnaissance),
        first_of(Stage::Concealment),
    );
    let prepared = [recon, conceal].into_iter().flatten().min();
    // Action counts once the intruder has looked or hidden something.
    links.retain(|(f, s)| *s != Stage::Action || prepared.is_some_and(|p| f.first >= p));
    let access = links.iter().any(|(_, s)| *s == Stage::Access);
    let action = links.iter().any(|(_, s)| *s == Stage::Action);
    let stages = [access, recon.is_some(), conceal.is_some(), action]
        .into_iter()
        .filter(|&b| b)
        .count();
    (links.into_iter().map(|(f, _)| f).collect(), stages)
}

impl BecChain {
    fn emit(
        &self,
        ctx: &Ctx<'_>,
        actor: &Arc<Actor>,
        links: &[&Finding],
        stages: usize,
    ) -> Finding {
        // The actor's first row, then the first row of each finding; one
        // evidence row per record, in time order.
        let mut records: Vec<usize> = std::iter::once(actor.first_record)
            .chain(
                links
                    .iter()
                    .filter_map(|f| f.evidence.first().map(|e| e.record)),
            )
            .collect();
        records.sort_unstable_by_key(|&i| ctx.timeline.time_key(i));
        records.dedup();
        let mut names: Vec<String> = Vec::new();
        for f in links {
            if !names.iter().any(|n| n == f.rule) {
                names.push(f.rule.to_string());
            }
        }
        let last = links.iter().map(|f| f.last).max().unwrap_or(actor.last);
        let summary = format!(
            "{stages} BEC stages by {} actor {} (IPs {}) within {} of its first activity: {}",
            actor.standing.as_str(),
            actor.label(),
            list(&actor.ips, 3),
            super::episodes::span_text(last - actor.first),
            list(&names, 8)
        );
        let mut f = ctx.finding(self, self.level(), &records, summary, |i| {
            if i == actor.first_record {
                return format!("first activity of {}", actor.id);
            }
            let starts: Vec<String> = links
                .iter()
                .filter(|l| l.evidence.first().is_some_and(|e| e.record == i))
                .map(|l| format!("{}: {}", l.rule, l.summary))
                .collect();
            starts.join(" | ")
        });
        f.first = actor.first;
        f.last = last;
        f.count = links.len() as u64;
        f.actor = Some(Arc::clone(actor));
        f
    }
}
