//! Access rules (`docs/rules.md` §2.2): logons against a baseline learned
//! from the same mailbox's earlier activity.
//!
//! The baseline is everything in the mailbox's first `baseline_days`; when
//! the baseline holds no logon at all, the mailbox's first logon network,
//! agent and time zone are taken as known, so the very first IP of a mailbox
//! is never "new".

use super::window::{self, Event};
use super::{Ctx, Meta, Param, Phase, Rule, Stage, Tactic, list, p, plural, quoted};
use crate::activity::{App, Kind, PropKey};
use crate::actors::{Actor, Standing};
pub(super) use crate::actors::{agent_key, is_failure, network};
use crate::finding::{Finding, Level};
use crate::timeline::Records;
use chrono::{DateTime, Duration, Utc};
use indexmap::{IndexMap, IndexSet};
use std::sync::Arc;

/// Days at the start of each mailbox that define "known".
const BASELINE_DAYS: Param = p::BASELINE_DAYS.int(7);

/// `docs/rules.md` §3.5, Red entries (attack tools and HTTP libraries):
/// substrings of the lower-cased user agent.
const AGENTS_HIGH: &[&str] = &[
    "aadinternals",
    "agentaxios",
    "axios/",
    "azurehound",
    "bav2ropc",
    "bloodhound/",
    "curl/",
    "emclient/",
    "fasthttp",
    "go-http-client/",
    "go-resty/",
    "guzzlehttp/",
    "node-fetch/",
    "okhttp/",
    "sharphound/",
    "undici",
    "teams/1.3.00.30866",
    // HTTP libraries: no person reads mail through one (issue 13, item 10).
    "python-requests",
    "python-urllib/",
    "libwww-perl/",
    "wget/",
    "java/",
    "apache-httpclient/",
];
/// §3.5 Yellow entries: scripting runtimes and admin tools, which
/// administrators also use.
const AGENTS_MEDIUM: &[&str] = &[
    "azurecli/",
    "azurepowershell/",
    "postmanruntime/",
    "powershell/5.1",
    "powershell/7",
    "python/",
];
/// Client types that bypass modern authentication.
const LEGACY_APPS: &[App] = &[App::Imap4, App::Imap, App::Pop3, App::Other];

/// Client types in the order first seen.
type AppSet = IndexSet<App, rustc_hash::FxBuildHasher>;

/// A logon row with what the access rules compare.
struct Logon {
    record: usize,
    time: DateTime<Utc>,
    ip: String,
    network: String,
    agent: Option<String>,
    ok: bool,
}

fn logons(ctx: &Ctx<'_>, records: Records) -> Vec<Logon> {
    ctx.of_kinds(records, &[Kind::ServerLogon, Kind::Logon])
        .into_iter()
        .filter_map(|i| {
            let a = ctx.activity(i);
            let ip = a.client_ip()?.trim().to_string();
            Some(Logon {
                record: i,
                time: a.time,
                network: network(&ip),
                agent: a.user_agent().map(|u| agent_key(&u)),
                ok: !is_failure(a),
                ip,
            })
        })
        .collect()
}

/// The end of the mailbox's baseline period.
fn baseline_end(ctx: &Ctx<'_>, records: Records) -> DateTime<Utc> {
    let start = records
        .first()
        .map_or_else(DateTime::<Utc>::default, |i| ctx.activity(i).time);
    start + Duration::days(ctx.int(p::BASELINE_DAYS))
}

/// The records of the baseline period: a prefix, as records are in time
/// order.
fn baseline(ctx: &Ctx<'_>, records: Records, end: DateTime<Utc>) -> Records {
    records.slice(0..records.partition_point(|i| ctx.activity(i).time < end))
}

fn logon_detail(ctx: &Ctx<'_>, i: usize) -> String {
    let a = ctx.activity(i);
    let mut d = format!(
        "{} from {}",
        a.kind_name(),
        a.client_ip().unwrap_or_default()
    );
    if let Some(ua) = a.user_agent() {
        d.push_str(&format!(", agent {}", quoted(&ua)));
    }
    if is_failure(a) {
        d.push_str(", failed");
    }
    d
}

pub(super) struct NewIp;

impl Rule for NewIp {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "logon-new-ip",
                phase: Phase::Access,
                tactic: Tactic::Access,
                stage: Some(Stage::Access),
                title: "First-seen client network",
                level: Level::Medium,
                attack: &["T1078.004"],
                experimental: false,
                description: "Successful logons from networks (IPv4 /24, IPv6 /48) outside the baseline, one finding per actor: medium for a new actor, low for a known one roaming",
                params: &[BASELINE_DAYS],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for (_, records) in ctx.mailboxes() {
            let end = baseline_end(ctx, records);
            let ok: Vec<Logon> = logons(ctx, records).into_iter().filter(|l| l.ok).collect();
            let mut known: IndexSet<&str> = ok
                .iter()
                .filter(|l| l.time < end)
                .map(|l| l.network.as_str())
                .collect();
            if known.is_empty()
                && let Some(first) = ok.first()
            {
                known.insert(&first.network);
            }
            // Per actor, its logons from networks outside the baseline.
            let mut by_actor: IndexMap<*const Actor, (&Arc<Actor>, Vec<&Logon>)> = IndexMap::new();
            for l in ok.iter().filter(|l| !known.contains(l.network.as_str())) {
                if let Some(actor) = ctx.actor(l.record) {
                    by_actor
                        .entry(Arc::as_ptr(actor))
                        .or_insert((actor, Vec::new()))
                        .1
                        .push(l);
                }
            }
            for (actor, hits) in by_actor.into_values() {
                out.push(self.actor_finding(ctx, actor, &hits, &known));
            }
        }
    }
}

impl NewIp {
    /// One finding per actor: medium for a new actor (a network and a
    /// client the mailbox never used), low for a known one roaming.
    fn actor_finding(
        &self,
        ctx: &Ctx<'_>,
        actor: &Actor,
        hits: &[&Logon],
        known: &IndexSet<&str>,
    ) -> Finding {
        let nets: IndexSet<&str> = hits.iter().map(|l| l.network.as_str()).collect();
        let ips: IndexSet<&str> = hits.iter().map(|l| l.ip.as_str()).collect();
        let agents: IndexSet<&str> = hits.iter().filter_map(|l| l.agent.as_deref()).collect();
        let strings = |set: &IndexSet<&str>| set.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let using = if agents.is_empty() {
            String::new()
        } else {
            format!(" using {}", list(&strings(&agents), 3))
        };
        let (level, who) = match actor.standing {
            Standing::New => (Level::Medium, "a new actor"),
            Standing::Adopted => (
                Level::Low,
                "an actor first seen after the baseline, then in use for weeks",
            ),
            Standing::Baseline => (Level::Low, "a known actor roaming (same client)"),
            Standing::Unjudged => (Level::Medium, "an actor of an export too short to judge"),
        };
        let summary = format!(
            "{} from {} new {} ({}){using}, by {who} {}; baseline networks {}",
            plural(hits.len(), "logon", "logons"),
            nets.len(),
            if nets.len() == 1 {
                "network"
            } else {
                "networks"
            },
            list(&strings(&ips), 3),
            actor.id,
            list(&strings(known), 3),
        );
        let recs: Vec<usize> = hits.iter().map(|l| l.record).collect();
        ctx.finding(self, level, &recs, summary, |i| logon_detail(ctx, i))
    }
}

pub(super) struct NewAgent;

const NEW_AGENT_WITH_IP: Param = p::WITH_NEW_IP_MINUTES.int(60);

impl Rule for NewAgent {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "logon-new-agent",
                phase: Phase::Access,
                tactic: Tactic::Access,
                stage: None,
                title: "First-seen client software",
                level: Level::Low,
                attack: &["T1078.004"],
                experimental: false,
                description: "Logon browser/OS family or client type (AppIdType) not in the baseline; medium next to a new-IP logon",
                params: &[BASELINE_DAYS, NEW_AGENT_WITH_IP],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let near = ctx.minutes(p::WITH_NEW_IP_MINUTES);
        for (mailbox, records) in ctx.mailboxes() {
            let end = baseline_end(ctx, records);
            let new_ip_times: Vec<DateTime<Utc>> = ctx
                .prior
                .iter()
                .filter(|f| f.rule == NewIp.id() && f.mailbox == mailbox)
                .flat_map(|f| f.evidence.iter().map(|e| ctx.activity(e.record).time))
                .collect();
            let mut hits: IndexMap<String, Vec<usize>> = IndexMap::new();
            // Agents of logons.
            let all = logons(ctx, records);
            let mut known: IndexSet<&str> = all
                .iter()
                .filter(|l| l.time < end)
                .filter_map(|l| l.agent.as_deref())
                .collect();
            if known.is_empty()
                && let Some(first) = all.iter().find_map(|l| l.agent.as_deref())
            {
                known.insert(first);
            }
            for l in all.iter().filter(|l| l.ok) {
                if let Some(agent) = l.agent.as_deref().filter(|a| !known.contains(a)) {
                    hits.entry(format!("agent {}", quoted(agent)))
                        .or_default()
                        .push(l.record);
                }
            }
            // Client types of any row (the service itself excluded).
            // By value, not by name: one cheap hash per row (the values are
            // catalogue indices and our own symbols, safe for FxHash).
            let apps = |records: Records| -> AppSet {
                records
                    .iter()
                    .map(|i| ctx.activity(i).app)
                    .filter(|&app| app != App::Exchange)
                    .collect()
            };
            let mut known_apps = apps(baseline(ctx, records, end));
            if known_apps.is_empty()
                && let Some(&first) = apps(records).first()
            {
                known_apps.insert(first);
            }
            for i in records.iter() {
                let a = ctx.activity(i);
                if a.app != App::Exchange && !known_apps.contains(&a.app) {
                    let key = format!("client type {}", a.app_name());
                    let entry = hits.entry(key).or_default();
                    // One row per session is enough evidence of a client type.
                    if entry.iter().all(|&j| ctx.activity(j).session != a.session) {
                        entry.push(i);
                    }
                }
            }
            for (what, recs) in hits {
                let near_new_ip = recs.iter().any(|&i| {
                    new_ip_times
                        .iter()
                        .any(|&t| (ctx.activity(i).time - t).abs() <= near)
                });
                let level = if near_new_ip {
                    Level::Medium
                } else {
                    Level::Low
                };
                let summary = format!(
                    "First use of {what} ({}){}",
                    plural(recs.len(), "row", "rows"),
                    if near_new_ip {
                        ", next to a logon from a new network"
                    } else {
                        ""
                    }
                );
                out.push(ctx.finding(self, level, &recs, summary, |i| logon_detail(ctx, i)));
            }
        }
    }
}

pub(super) struct SuspiciousAgent;

impl Rule for SuspiciousAgent {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "logon-suspicious-agent",
                phase: Phase::Access,
                tactic: Tactic::Access,
                stage: Some(Stage::Access),
                title: "Scripted or attack-tool client",
                level: Level::High,
                attack: &["T1078.004"],
                experimental: false,
                description: "Logon user agent of an attack tool or HTTP library (high), a scripting runtime (medium), or empty",
                params: &[
                    p::AGENTS_HIGH.words(AGENTS_HIGH),
                    p::AGENTS_MEDIUM.words(AGENTS_MEDIUM),
                ],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let high = ctx.words(p::AGENTS_HIGH);
        let medium = ctx.words(p::AGENTS_MEDIUM);
        for (_, records) in ctx.mailboxes() {
            let mut hits: IndexMap<String, (Level, Vec<usize>)> = IndexMap::new();
            for i in ctx.of_kinds(records, &[Kind::ServerLogon, Kind::Logon]) {
                let a = ctx.activity(i);
                if a.app == App::Exchange {
                    continue;
                }
                let ua = a.user_agent().map(|u| u.into_owned()).unwrap_or_default();
                let lower = ua.trim().to_ascii_lowercase();
                let level =
                    if lower == "node" || high.words().iter().any(|w| lower.contains(w.as_str())) {
                        Level::High
                    } else if medium.words().iter().any(|w| lower.contains(w.as_str()))
                        || (lower.is_empty() && a.kind == Kind::ServerLogon)
                    {
                        Level::Medium
                    } else {
                        continue;
                    };
                hits.entry(ua).or_insert((level, Vec::new())).1.push(i);
            }
            for (ua, (level, recs)) in hits {
                let shown = if ua.is_empty() {
                    "an empty user agent".to_string()
                } else {
                    quoted(&ua)
                };
                let ips: IndexSet<String> = recs
                    .iter()
                    .filter_map(|&i| ctx.activity(i).client_ip().map(|s| s.into_owned()))
                    .collect();
                let summary = format!(
                    "{} with {shown} from {}",
                    plural(recs.len(), "logon", "logons"),
                    list(&ips.into_iter().collect::<Vec<_>>(), 3)
                );
                out.push(ctx.finding(self, level, &recs, summary, |i| logon_detail(ctx, i)));
            }
        }
    }
}

pub(super) struct Failures;

impl Rule for Failures {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "logon-failures",
                phase: Phase::Access,
                tactic: Tactic::Access,
                stage: Some(Stage::Access),
                title: "Failed-logon burst",
                level: Level::Medium,
                attack: &["T1110", "T1110.003"],
                experimental: true,
                description: "Many failed ServerLogons in a window; high when a success from the same network follows",
                params: &[
                    p::THRESHOLD.int(10),
                    p::WINDOW_MINUTES.int(60),
                    p::SUCCESS_WITHIN_MINUTES.int(60),
                ],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let window = ctx.minutes(p::WINDOW_MINUTES);
        let follow = ctx.minutes(p::SUCCESS_WITHIN_MINUTES);
        for (_, records) in ctx.mailboxes() {
            let all = logons(ctx, records);
            let failures: Vec<Event<usize>> = all
                .iter()
                .filter(|l| !l.ok && ctx.activity(l.record).kind == Kind::ServerLogon)
                .map(|l| Event::new(l.record, l.time, l.record))
                .collect();
            for range in window::bursts(&failures, window, ctx.int(p::THRESHOLD) as usize) {
                let burst = &failures[range];
                let recs: Vec<usize> = burst.iter().map(Event::record).collect();
                let nets: IndexSet<String> = recs
                    .iter()
                    .filter_map(|&i| ctx.activity(i).client_ip())
                    .map(|ip| network(&ip))
                    .collect();
                let last = burst.last().map(|e| e.time).unwrap_or_default();
                let success = all.iter().find(|l| {
                    l.ok && l.time > last && l.time - last <= follow && nets.contains(&l.network)
                });
                let mut summary = format!(
                    "{} failed logons from {}",
                    recs.len(),
                    list(&nets.iter().cloned().collect::<Vec<_>>(), 3)
                );
                let mut level = self.level();
                let mut cited = recs.clone();
                if let Some(s) = success {
                    level = Level::High;
                    summary.push_str(&format!(", then a successful logon from {}", s.ip));
                    cited.push(s.record);
                }
                let mut f = ctx.finding(self, level, &cited, summary, |i| logon_detail(ctx, i));
                f.count = recs.len() as u64;
                out.push(f);
            }
        }
    }
}

pub(super) struct LegacyClient;

impl Rule for LegacyClient {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "logon-legacy-client",
                phase: Phase::Access,
                tactic: Tactic::Access,
                stage: Some(Stage::Access),
                title: "Legacy or unknown client",
                level: Level::Medium,
                attack: &["T1078.004", "T1114.002"],
                experimental: false,
                description: "Rows from IMAP4, IMAP, POP3 or Other clients when that client type is not in the baseline",
                params: &[BASELINE_DAYS],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for (_, records) in ctx.mailboxes() {
            let end = baseline_end(ctx, records);
            let in_baseline: AppSet = baseline(ctx, records, end)
                .iter()
                .map(|i| ctx.activity(i).app)
                .collect();
            let mut hits: IndexMap<&str, Vec<usize>> = IndexMap::new();
            for i in records.iter() {
                let a = ctx.activity(i);
                if LEGACY_APPS.contains(&a.app) && !in_baseline.contains(&a.app) {
                    hits.entry(a.app_name()).or_default().push(i);
                }
            }
            for (app, recs) in hits {
                let client = recs.iter().find_map(|&i| {
                    ctx.activity(i)
                        .get(PropKey::ClientString)
                        .map(|c| c.to_string())
                });
                let summary = format!(
                    "{} from client type {app}{}, not seen in the baseline",
                    plural(recs.len(), "row", "rows"),
                    client
                        .map(|c| format!(" ({})", quoted(&c)))
                        .unwrap_or_default()
                );
                out.push(ctx.finding(self, self.level(), &recs, summary, |i| {
                    ctx.activity(i).kind_name().to_string()
                }));
            }
        }
    }
}

pub(super) struct SessionMultiIp;

impl Rule for SessionMultiIp {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "session-multi-ip",
                phase: Phase::Access,
                tactic: Tactic::Access,
                stage: Some(Stage::Access),
                title: "Concurrent access from separate networks",
                level: Level::High,
                attack: &["T1550.004", "T1078.004"],
                experimental: true,
                description: "A new actor logging on within minutes of another actor from another network, or one session taken over by another actor from another network within seconds",
                params: &[
                    BASELINE_DAYS,
                    p::WINDOW_MINUTES.int(10),
                    p::SESSION_CHANGE_SECONDS.int(30),
                ],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let window = ctx.minutes(p::WINDOW_MINUTES);
        let change = Duration::seconds(ctx.int(p::SESSION_CHANGE_SECONDS));
        for (_, records) in ctx.mailboxes() {
            let all: Vec<Logon> = logons(ctx, records).into_iter().filter(|l| l.ok).collect();
            let events: Vec<Event<&str>> = all
                .iter()
                .map(|l| Event::new(l.record, l.time, l.network.as_str()))
                .collect();
            // A person's own devices overlap all the time (an office PC
            // left running, dual stack, a phone): only a new actor beside
            // another one counts, once per new actor.
            let mut by_actor: IndexMap<*const Actor, (&Arc<Actor>, Vec<usize>, usize)> =
                IndexMap::new();
            for range in window::bursts(&events, window, 2) {
                let burst = &events[range];
                let actors: Vec<Option<&Arc<Actor>>> =
                    burst.iter().map(|e| ctx.actor(e.record())).collect();
                let Some(new) = actors.iter().flatten().find(|a| a.is_new()) else {
                    continue;
                };
                let others = actors.iter().flatten().any(|a| !Arc::ptr_eq(a, new));
                let nets: IndexSet<&str> = burst.iter().map(|e| e.key).collect();
                if !others || nets.len() < 2 {
                    continue;
                }
                let entry = by_actor
                    .entry(Arc::as_ptr(new))
                    .or_insert((new, Vec::new(), 0));
                entry.1.extend(burst.iter().map(Event::record));
                entry.2 += 1;
            }
            for (actor, mut recs, bursts) in by_actor.into_values() {
                recs.sort_unstable();
                recs.dedup();
                let nets: IndexSet<String> = recs
                    .iter()
                    .filter_map(|&i| ctx.activity(i).client_ip())
                    .map(|ip| network(&ip))
                    .collect();
                let summary = format!(
                    "New actor {} logged on within {} min of another actor, {}, from {} networks: {}",
                    actor.id,
                    window.num_minutes(),
                    plural(bursts, "time", "times"),
                    nets.len(),
                    list(&nets.into_iter().collect::<Vec<_>>(), 4)
                );
                out.push(ctx.finding(self, self.level(), &recs, summary, |i| logon_detail(ctx, i)));
            }
            self.session_changes(ctx, &all, change, out);
        }
    }
}

impl SessionMultiIp {
    /// One `ClientSessionId` whose logon network changes within seconds: a
    /// replayed session cookie (AiTM).
    fn session_changes(
        &self,
        ctx: &Ctx<'_>,
        all: &[Logon],
        change: Duration,
        out: &mut Vec<Finding>,
    ) {
        let mut by_session: IndexMap<&str, Vec<&Logon>> = IndexMap::new();
        for l in all {
            let session = ctx.activity(l.record).session_id();
            if !session.is_empty() {
                by_session.entry(session).or_default().push(l);
            }
        }
        for (session, ls) in by_session {
            // Dual stack and a reconnect keep the actor; a cookie replayed
            // from another program does not (`docs/actors.md`).
            let pair = ls.windows(2).find(|w| {
                w[0].network != w[1].network
                    && w[1].time - w[0].time <= change
                    && !same_actor(ctx.actor(w[0].record), ctx.actor(w[1].record))
            });
            if let Some(w) = pair {
                let summary = format!(
                    "Session {session} moved from {} to {} within {} s",
                    w[0].ip,
                    w[1].ip,
                    (w[1].time - w[0].time).num_seconds()
                );
                out.push(ctx.finding(
                    self,
                    self.level(),
                    &[w[0].record, w[1].record],
                    summary,
                    |i| logon_detail(ctx, i),
                ));
            }
        }
    }
}

fn same_actor(a: Option<&Arc<Actor>>, b: Option<&Arc<Actor>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    }
}

pub(super) struct TimezoneMismatch;

impl Rule for TimezoneMismatch {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "logon-timezone-mismatch",
                phase: Phase::Access,
                tactic: Tactic::Access,
                stage: Some(Stage::Access),
                title: "Browser time zone unlike the mailbox",
                level: Level::Medium,
                attack: &["T1078.004"],
                experimental: true,
                description: "OWA Logon whose browser Timezone was never seen in the baseline",
                params: &[BASELINE_DAYS],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for (_, records) in ctx.mailboxes() {
            let end = baseline_end(ctx, records);
            let zones: Vec<(usize, String, bool)> = ctx
                .each_of_kinds(records, &[Kind::Logon])
                .filter_map(|i| {
                    let a = ctx.activity(i);
                    a.get(PropKey::Timezone)
                        .map(|z| (i, z.to_string(), a.time < end))
                })
                .collect();
            let mut baseline: IndexMap<&str, usize> = IndexMap::new();
            for (_, z, _) in zones.iter().filter(|(_, _, b)| *b) {
                *baseline.entry(z.as_str()).or_default() += 1;
            }
            if baseline.is_empty()
                && let Some((_, z, _)) = zones.first()
            {
                baseline.insert(z, 1);
            }
            let usual = baseline
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(z, n)| format!("{} ({})", quoted(z), plural(*n, "logon", "logons")));
            let mut hits: IndexMap<&str, Vec<usize>> = IndexMap::new();
            for (i, z, _) in &zones {
                if !baseline.contains_key(z.as_str()) {
                    hits.entry(z).or_default().push(*i);
                }
            }
            for (zone, recs) in hits {
                let summary = format!(
                    "{} with browser time zone {}; the baseline's usual is {}",
                    plural(recs.len(), "OWA logon", "OWA logons"),
                    quoted(zone),
                    usual.clone().unwrap_or_default()
                );
                out.push(ctx.finding(self, self.level(), &recs, summary, |i| logon_detail(ctx, i)));
            }
        }
    }
}
