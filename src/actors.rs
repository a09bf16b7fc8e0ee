//! Actors: who did what in a mailbox (`docs/actors.md`).
//!
//! A person reaches a mailbox from several devices, each roaming over
//! networks: a phone's carrier hands out a new /24 every few days, a dual
//! stack home alternates IPv4 and IPv6 in one session, a laptop travels.
//! An intruder differs in *combination*: a network **and** a client the
//! mailbox has never used. So logons are grouped into actors, joined on
//! what carries over between a person's logons:
//!
//! 1. the same `ClientSessionId` with the same client family;
//! 2. the same network (IPv4 /24, IPv6 /64) with the same client family;
//! 3. the same client (client type and exact user agent) on any network:
//!    a phone roaming over its carrier, a laptop on hotel wifi;
//! 4. the same site (IPv4 /16, IPv6 /48) with the same client family;
//!    with `--geoip`, also the same autonomous system (not a hosting
//!    provider's) with the same client family;
//! 5. the same network with any client (a new device at home or work).
//!
//! Anything else starts a new actor. An actor is *known* when it was
//! active in the mailbox's baseline, or when it stayed in use for weeks
//! and also came from a network the baseline's actors used (a new
//! laptop); the rest are *new*: an intruder is a new actor, and so is a
//! new device the owner has not yet brought to a known network. Findings
//! about known actors are capped at low; a new actor's keep the rule's
//! level (`docs/severity.md`).
//!
//! Every record is lent the actor of its session, else of the logon its IP
//! was attributed from (`attribution.rs`, same client type): one pass in time
//! order, a hash lookup per record.

use crate::activity::{App, PropKey, Rec};
use crate::attribution::IpAttribution;
use crate::intern::Sym;
use crate::timeline::{Records, Timeline};
use chrono::{DateTime, Duration, Utc};
use indexmap::IndexSet;
use rustc_hash::{FxHashMap, FxHashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// A new actor counts as the owner's once it has been used on this many
/// distinct days spanning [`ADOPTED_SPAN_DAYS`], from one of the owner's
/// networks among others: a replaced laptop, not a visit.
const ADOPTED_DAYS: usize = 5;
const ADOPTED_SPAN_DAYS: i64 = 10;

/// An update follows the old version's last logon within this many days.
const UPDATE_GAP_DAYS: i64 = 14;

/// How an actor relates to the mailbox's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Standing {
    /// Active in the baseline period.
    Baseline,
    /// First seen later, then used on many days over weeks.
    Adopted,
    /// Neither: a new device or a stranger.
    New,
    /// The export is shorter than the baseline period: there is no history
    /// to tell the owner from anyone else, so rules keep their own levels.
    Unjudged,
}

impl Standing {
    /// The owner's, as far as the history shows.
    pub fn is_known(self) -> bool {
        matches!(self, Standing::Baseline | Standing::Adopted)
    }

    /// Unlike the history: an intruder candidate.
    pub fn is_new(self) -> bool {
        self == Standing::New
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Baseline => "baseline",
            Standing::Adopted => "adopted",
            Standing::New => "new",
            Standing::Unjudged => "unjudged",
        }
    }
}

/// One actor of one mailbox, as reports show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    /// `A1`, `A2`… per mailbox, in order of first logon.
    pub id: String,
    pub standing: Standing,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// Networks, IPs, user agents and client types of its logons, in order
    /// of first use.
    pub networks: Vec<String>,
    pub ips: Vec<String>,
    pub agents: Vec<String>,
    pub clients: Vec<String>,
    /// Distinct `ClientSessionId`s of its records.
    pub sessions: usize,
    /// Its first record, whatever the type.
    pub first_record: usize,
    /// Logons, successful or not.
    pub logons: usize,
    pub failed_logons: usize,
}

impl Actor {
    /// At least one of its logons succeeded: an actor of failures only
    /// (a password spray) never got in, so nothing later is its doing.
    pub fn signed_in(&self) -> bool {
        self.logons > self.failed_logons
    }

    pub fn is_known(&self) -> bool {
        self.standing.is_known()
    }

    pub fn is_new(&self) -> bool {
        self.standing.is_new()
    }

    /// `A3 (new: 185.220.101.0/24, Chrome on Windows)`.
    pub fn label(&self) -> String {
        let families: IndexSet<String> = self.agents.iter().map(|a| agent_key(a)).collect();
        let mut parts: Vec<String> = Vec::new();
        parts.extend(self.networks.iter().take(2).cloned());
        if self.networks.len() > 2 {
            parts.push(format!("+{} networks", self.networks.len() - 2));
        }
        parts.extend(families.into_iter().take(2));
        format!(
            "{} ({}: {})",
            self.id,
            self.standing.as_str(),
            parts.join(", ")
        )
    }
}

/// An actor joins a logon by its autonomous system (key 4b) only after
/// this long without activity: a carrier moves a phone between pools, it
/// does not run two of them at once.
const AS_JOIN_IDLE_MINUTES: i64 = 30;

/// What a logon is compared on.
struct Logon {
    network: String,
    site: String,
    /// The IP's autonomous system, with `--geoip` (none for hosting
    /// providers: an intruder rents there).
    asn: Option<u32>,
    /// Client type and agent family: "Web/Chrome on Windows".
    family: Option<String>,
    /// Client type and the exact user agent.
    client: Option<String>,
}

/// The actors of every mailbox and the actor of every record.
#[derive(Debug, Default)]
pub(crate) struct Actors {
    pub actors: Vec<Arc<Actor>>,
    /// Parallel to the timeline's records; [`NONE`] when unattributed.
    by_record: Vec<u32>,
    /// Per input: its export is longer than the baseline period, so there
    /// is a history to compare with.
    judged: Vec<bool>,
}

const NONE: u32 = u32::MAX;

impl Actors {
    /// `asn_of` gives the autonomous system of an IP that joins actors by
    /// it (`--geoip`; none without a database, or for a hosting provider).
    pub(crate) fn build(
        timeline: &Timeline,
        ips: &IpAttribution,
        baseline_days: i64,
        asn_of: &dyn Fn(&str) -> Option<u32>,
    ) -> Actors {
        let mut all = Actors {
            actors: Vec::new(),
            by_record: vec![NONE; timeline.len()],
            judged: vec![false; timeline.mailboxes().len()],
        };
        for &records in timeline.mailboxes() {
            all.add_mailbox(timeline, ips, records, baseline_days, asn_of);
        }
        all
    }

    /// Whether input `file` has a history past its baseline period.
    pub(crate) fn judged(&self, file: usize) -> bool {
        self.judged.get(file).copied().unwrap_or(false)
    }

    /// The actor of record `i`.
    pub(crate) fn of(&self, i: usize) -> Option<&Arc<Actor>> {
        let at = *self.by_record.get(i)?;
        self.actors.get(at as usize)
    }

    fn add_mailbox(
        &mut self,
        timeline: &Timeline,
        ips: &IpAttribution,
        records: Records,
        baseline_days: i64,
        asn_of: &dyn Fn(&str) -> Option<u32>,
    ) {
        let Some(start) = records.first().map(|i| timeline.activity(i).time) else {
            return;
        };
        let baseline_end = start + Duration::days(baseline_days);
        let end = records.last().map_or(start, |i| timeline.activity(i).time);
        let mut m = Mailbox::default();
        let mut last_session: Option<(Sym, Option<usize>)> = None;
        for i in records.iter() {
            // Plain fields only, except for logons: most records are not.
            let act = timeline.activity(i);
            let actor = if act.kind.is_logon() {
                let a = timeline.rec(i);
                // A logon without an address says nothing about where it
                // came from: it joins no network (its rows still follow
                // their session).
                let ip = a.client_ip().map(|ip| ip.trim().to_string());
                ip.filter(|ip| !ip.is_empty()).map(|ip| {
                    let logon = describe(
                        &ip,
                        asn_of(&ip),
                        a.app,
                        a.user_agent().as_deref(),
                        &timeline.arenas().strings,
                    );
                    let actor = m.join(&logon, a.session, a.time);
                    let draft = &mut m.drafts[actor];
                    draft.record(i, a.time);
                    draft.logons += 1;
                    draft.failed += usize::from(is_failure(a));
                    if let Some(client) = &logon.client {
                        draft.logon_client(client, a.time);
                    }
                    if !draft.networks.contains(&logon.network) {
                        draft.networks.insert(logon.network.clone());
                    }
                    if !draft.ips.contains(&ip) {
                        draft.ips.insert(ip);
                    }
                    if let Some(ua) = a.user_agent() {
                        let ua = ua.trim().trim_end_matches("+Preload");
                        if !draft.agents.contains(ua) {
                            draft.agents.insert(ua.to_string());
                        }
                    }
                    m.remember(&logon, a.session, actor);
                    if let Some(ip) = ips.get(i).ip() {
                        m.by_ip.insert((ip, a.app), actor);
                    }
                    actor
                })
            } else {
                None
            };
            if actor.is_some() {
                // A logon may have moved its session to another actor.
                last_session = None;
            }
            let actor = actor
                .or_else(|| {
                    if act.session.is_empty() {
                        return None;
                    }
                    // Rows of one session come in runs: one lookup per run
                    // (Exchange's own sessions, never logged on, included).
                    if let Some((session, actor)) = last_session
                        && session == act.session
                    {
                        return actor;
                    }
                    let actor = m.by_session.get(&act.session).copied();
                    last_session = Some((act.session, actor));
                    actor
                })
                .or_else(|| {
                    let ip = ips.get(i).ip()?;
                    m.by_ip.get(&(ip, act.app)).copied()
                });
            if let Some(actor) = actor {
                let draft = &mut m.drafts[actor];
                draft.record(i, act.time);
                if !act.session.is_empty() && draft.last_session != Some(act.session) {
                    draft.last_session = Some(act.session);
                    draft.sessions.insert(act.session);
                }
                if draft.last_client != Some(act.app) {
                    draft.last_client = Some(act.app);
                    draft.clients.insert(act.app);
                }
                self.by_record[i] = u32::try_from(self.actors.len() + actor).unwrap_or(NONE);
            }
        }
        let base = self.actors.len();
        if let Some(new_index) = m.merge_updates() {
            for slot in &mut self.by_record[records.iter()] {
                if *slot != NONE {
                    *slot = u32::try_from(base + new_index[*slot as usize - base]).unwrap_or(NONE);
                }
            }
        }
        // A history needs an export longer than the baseline period and
        // someone active in it: without a logon in the baseline there is
        // no owner to compare with.
        let judged = end >= baseline_end && m.drafts.iter().any(|d| d.first < baseline_end);
        if let Some(flag) = self.judged.get_mut(records.file) {
            *flag = judged;
        }
        let owner_networks: FxHashSet<String> = m
            .drafts
            .iter()
            .filter(|d| d.first < baseline_end)
            .flat_map(|d| d.networks.iter().cloned())
            .collect();
        for (n, draft) in m.drafts.into_iter().enumerate() {
            let standing = if judged {
                draft.standing(baseline_end, &owner_networks)
            } else {
                Standing::Unjudged
            };
            self.actors.push(Arc::new(Actor {
                id: format!("A{}", n + 1),
                standing,
                first: draft.first,
                last: draft.last,
                networks: draft.networks.into_iter().collect(),
                ips: draft.ips.into_iter().collect(),
                agents: draft.agents.into_iter().collect(),
                clients: draft
                    .clients
                    .iter()
                    .map(|app| app.name(&timeline.arenas().strings).to_string())
                    .collect(),
                sessions: draft.sessions.len(),
                first_record: draft.first_record,
                logons: draft.logons,
                failed_logons: draft.failed,
            }));
        }
    }
}

/// An actor while its mailbox is read.
struct Draft {
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    first_record: usize,
    networks: IndexSet<String>,
    ips: IndexSet<String>,
    agents: IndexSet<String>,
    clients: IndexSet<App>,
    sessions: FxHashSet<Sym>,
    /// Days (since the epoch) it was active.
    days: FxHashSet<i64>,
    /// The last day, session and client type added: records come in time
    /// order and mostly repeat them, so most records skip the hashing.
    last_day: i64,
    last_session: Option<Sym>,
    last_client: Option<App>,
    logons: usize,
    failed: usize,
    /// Products of its logons' agents (see [`product`]).
    products: IndexSet<String>,
    /// Per client (client type and exact agent): its first and last logon.
    client_times: FxHashMap<String, (DateTime<Utc>, DateTime<Utc>)>,
    /// The client of its first logon.
    first_client: Option<String>,
}

impl Draft {
    fn new() -> Draft {
        Draft {
            first: DateTime::<Utc>::MAX_UTC,
            last: DateTime::<Utc>::MIN_UTC,
            first_record: usize::MAX,
            networks: IndexSet::new(),
            ips: IndexSet::new(),
            agents: IndexSet::new(),
            clients: IndexSet::new(),
            sessions: FxHashSet::default(),
            days: FxHashSet::default(),
            last_day: i64::MIN,
            last_session: None,
            last_client: None,
            logons: 0,
            failed: 0,
            products: IndexSet::new(),
            client_times: FxHashMap::default(),
            first_client: None,
        }
    }

    /// Notes a logon's client and time.
    fn logon_client(&mut self, client: &str, time: DateTime<Utc>) {
        if self.first_client.is_none() {
            self.first_client = Some(client.to_string());
        }
        let times = self
            .client_times
            .entry(client.to_string())
            .or_insert((time, time));
        times.0 = times.0.min(time);
        times.1 = times.1.max(time);
    }

    /// Takes `other`'s logons and records: the two were one device.
    fn absorb(&mut self, other: Draft) {
        if other.first < self.first {
            self.first = other.first;
            self.first_record = other.first_record;
        }
        self.last = self.last.max(other.last);
        self.networks.extend(other.networks);
        self.ips.extend(other.ips);
        self.agents.extend(other.agents);
        self.clients.extend(other.clients);
        self.sessions.extend(other.sessions);
        self.days.extend(other.days);
        self.logons += other.logons;
        self.failed += other.failed;
        self.products.extend(other.products);
        for (client, (first, last)) in other.client_times {
            let times = self.client_times.entry(client).or_insert((first, last));
            times.0 = times.0.min(first);
            times.1 = times.1.max(last);
        }
    }

    /// A logon in one of this actor's sessions continues it unless its
    /// agent is another program: a stolen session cookie replayed from a
    /// script is someone else.
    fn same_product(&self, logon: &Logon) -> bool {
        match &logon.family {
            Some(f) => self.products.is_empty() || self.products.contains(product(f)),
            None => true,
        }
    }

    fn record(&mut self, i: usize, time: DateTime<Utc>) {
        if time < self.first {
            self.first = time;
            self.first_record = i;
        }
        self.last = self.last.max(time);
        let day = time.timestamp().div_euclid(86_400);
        if day != self.last_day {
            self.last_day = day;
            self.days.insert(day);
        }
    }

    /// Baseline when active in the baseline period; adopted when used on
    /// many days over weeks *and* from a network the baseline's actors
    /// used: a replaced laptop comes to the office or home sooner or later,
    /// an intruder's server never does, however long it stays.
    fn standing(
        &self,
        baseline_end: DateTime<Utc>,
        owner_networks: &FxHashSet<String>,
    ) -> Standing {
        if self.first < baseline_end {
            Standing::Baseline
        } else if self.days.len() >= ADOPTED_DAYS
            && self.last - self.first >= Duration::days(ADOPTED_SPAN_DAYS)
            && self.networks.iter().any(|n| owner_networks.contains(n))
        {
            Standing::Adopted
        } else {
            Standing::New
        }
    }
}

/// One mailbox's actors and the keys that join a logon to one.
#[derive(Default)]
struct Mailbox {
    drafts: Vec<Draft>,
    by_session: FxHashMap<Sym, usize>,
    by_network_family: FxHashMap<(String, String), usize>,
    by_client: FxHashMap<String, usize>,
    by_site_family: FxHashMap<(String, String), usize>,
    by_asn_family: FxHashMap<(u32, String), usize>,
    by_network: FxHashMap<String, usize>,
    /// The actor of the latest logon from an IP with a client type: whom
    /// records attributed to that IP belong to.
    by_ip: FxHashMap<(u32, App), usize>,
}

impl Mailbox {
    /// Joins each actor that began with an update of an earlier actor's
    /// client (the same agent, a higher version) which that actor never
    /// used again: a phone's OS update, often on the next carrier network.
    /// An intruder's client runs beside the owner's, so the owner's old
    /// version goes on after it appeared and nothing is joined. Returns,
    /// when anything was joined, the new index of every old one.
    fn merge_updates(&mut self) -> Option<Vec<usize>> {
        let mut into: Vec<usize> = (0..self.drafts.len()).collect();
        for b in 0..self.drafts.len() {
            into[b] = self.updated_from(b).map_or(b, |a| into[a]);
        }
        if into.iter().enumerate().all(|(b, &a)| a == b) {
            return None;
        }
        let drafts = std::mem::take(&mut self.drafts);
        let mut new_index = vec![0; drafts.len()];
        let mut slots: Vec<Option<Draft>> = drafts.into_iter().map(Some).collect();
        for b in 0..slots.len() {
            if into[b] == b {
                new_index[b] = self.drafts.len();
                if let Some(d) = slots[b].take() {
                    self.drafts.push(d);
                }
            } else {
                new_index[b] = new_index[into[b]];
                if let Some(d) = slots[b].take() {
                    self.drafts[new_index[b]].absorb(d);
                }
            }
        }
        Some(new_index)
    }

    /// The earlier actor whose client actor `b`'s first logon updated, with
    /// the old version's last logon no later than the new one's first and
    /// no more than [`UPDATE_GAP_DAYS`] before it.
    fn updated_from(&self, b: usize) -> Option<usize> {
        let draft = &self.drafts[b];
        let client = draft.first_client.as_deref()?;
        let (skeleton, version) = versioned(client)?;
        let first_use = draft.client_times.get(client)?.0;
        (0..b).find(|&a| {
            self.drafts[a].client_times.iter().any(|(old, &(_, last))| {
                last <= first_use
                    && first_use - last <= Duration::days(UPDATE_GAP_DAYS)
                    && versioned(old).is_some_and(|(s, v)| s == skeleton && v < version)
            })
        })
    }

    /// The actor a logon continues, in the order of the module's list, or
    /// a new one.
    fn join(&mut self, logon: &Logon, session: Sym, time: DateTime<Utc>) -> usize {
        let by_session = (!session.is_empty())
            .then(|| self.by_session.get(&session).copied())
            .flatten()
            .filter(|&a| self.drafts[a].same_product(logon));
        let found = by_session
            .or_else(|| match &logon.family {
                Some(f) => self
                    .by_network_family
                    .get(&(logon.network.clone(), f.clone()))
                    .copied(),
                None => self.by_network.get(&logon.network).copied(),
            })
            .or_else(|| self.by_client.get(logon.client.as_ref()?).copied())
            .or_else(|| {
                let f = logon.family.as_ref()?;
                self.by_site_family
                    .get(&(logon.site.clone(), f.clone()))
                    .copied()
            })
            .or_else(|| {
                // An AS spans cities: only an actor that is not in use
                // elsewhere at the time (a phone moved to another pool, not
                // a second device beside the first).
                let f = logon.family.as_ref()?;
                let actor = *self.by_asn_family.get(&(logon.asn?, f.clone()))?;
                let idle =
                    time - self.drafts[actor].last >= Duration::minutes(AS_JOIN_IDLE_MINUTES);
                idle.then_some(actor)
            })
            .or_else(|| self.by_network.get(&logon.network).copied());
        found.unwrap_or_else(|| {
            self.drafts.push(Draft::new());
            self.drafts.len() - 1
        })
    }

    /// Files the logon's keys under `actor`; the first actor to use a key
    /// keeps it, except sessions, which follow their latest logon.
    fn remember(&mut self, logon: &Logon, session: Sym, actor: usize) {
        if !session.is_empty() {
            self.by_session.insert(session, actor);
        }
        if let Some(f) = &logon.family {
            self.by_network_family
                .entry((logon.network.clone(), f.clone()))
                .or_insert(actor);
            self.by_site_family
                .entry((logon.site.clone(), f.clone()))
                .or_insert(actor);
            if let Some(asn) = logon.asn {
                self.by_asn_family.entry((asn, f.clone())).or_insert(actor);
            }
            self.drafts[actor].products.insert(product(f).to_string());
        }
        if let Some(c) = &logon.client {
            self.by_client.entry(c.clone()).or_insert(actor);
        }
        self.by_network
            .entry(logon.network.clone())
            .or_insert(actor);
    }
}

/// The keys of a logon: `ip` trimmed, `agent` as the row gives it.
fn describe(
    ip: &str,
    asn: Option<u32>,
    app: App,
    agent: Option<&str>,
    strings: &crate::intern::Strings,
) -> Logon {
    let agent = agent
        .map(|a| a.trim().trim_end_matches("+Preload"))
        .filter(|a| !a.is_empty());
    let app = app.name(strings);
    Logon {
        network: host_network(ip),
        site: site(ip),
        asn,
        family: agent.map(|a| format!("{app}/{}", agent_key(a))),
        client: agent.map(|a| format!("{app}/{a}")),
    }
}

/// A client without its version numbers, and the numbers: every run of
/// digits and dots right after a `/` ("Apple-iPhone10C4/1503.191",
/// "Chrome/64.0.3282.186") is a version. The device model and the OS
/// ("iPhone10C4", "Windows NT 10.0") stay in the skeleton, so only the
/// same software on the same platform compares. `None` without a version.
fn versioned(client: &str) -> Option<(String, Vec<u64>)> {
    let mut skeleton = String::with_capacity(client.len());
    let mut numbers = Vec::new();
    let mut rest = client;
    while let Some(at) = rest.find('/') {
        skeleton.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let version = &rest[..end];
        if version.starts_with(|c: char| c.is_ascii_digit()) {
            skeleton.push('#');
            numbers.extend(version.split('.').filter_map(|n| n.parse::<u64>().ok()));
        } else {
            skeleton.push_str(version);
        }
        rest = &rest[end..];
    }
    skeleton.push_str(rest);
    (!numbers.is_empty()).then_some((skeleton, numbers))
}

/// The browser or program of a family, without client type or OS:
/// "Web/Chrome on Windows" → "Chrome". The OWA `Logon` row names its
/// browser without an OS, so a session is matched on this alone.
fn product(family: &str) -> &str {
    let family = family.split_once('/').map_or(family, |(_, f)| f);
    family.split_once(" on ").map_or(family, |(p, _)| p)
}

/// One host's network: IPv4 /24, IPv6 /64 (privacy addresses rotate
/// inside it).
fn host_network(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => network(ip),
    }
}

/// A site or provider: IPv4 /16, IPv6 /48.
fn site(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.0.0/16", o[0], o[1])
        }
        _ => network(ip),
    }
}

/// IPv4 /24, IPv6 /48; anything else (anonymised, garbage) as written.
pub(crate) fn network(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        Err(_) => ip.to_string(),
    }
}

/// A failed `ServerLogon`: a `Result` that is not a success, or exception text.
pub(crate) fn is_failure(a: Rec<'_>) -> bool {
    let bad_result = a.logon_result().is_some_and(|r| {
        let r = r.to_ascii_lowercase();
        !(r.contains("success") || r == "true" || r == "ok")
    });
    bad_result || a.get(PropKey::ExceptionInfo).is_some()
}

/// Browser family and OS of a user agent, `+Preload` suffixes stripped:
/// "Chrome on Windows". Unknown software keeps its product token.
pub(crate) fn agent_key(ua: &str) -> String {
    let ua = ua.trim().trim_end_matches("+Preload");
    let lower = ua.trim_end_matches("+Preload").to_ascii_lowercase();
    let family = [
        ("edge/", "Edge"),
        ("edg/", "Edge"),
        ("opr/", "Opera"),
        ("chrome/", "Chrome"),
        ("firefox/", "Firefox"),
        ("trident/", "Internet Explorer"),
        ("msie", "Internet Explorer"),
        ("microsoft office", "Microsoft Office"),
        ("outlook", "Outlook"),
        ("safari/", "Safari"),
    ]
    .iter()
    .find(|(needle, _)| lower.contains(needle))
    .map(|(_, name)| name.to_string())
    .unwrap_or_else(|| ua.split(['/', ' ']).next().unwrap_or(ua).to_string());
    let os = [
        ("windows", "Windows"),
        ("android", "Android"),
        ("iphone", "iOS"),
        ("ipad", "iOS"),
        ("mac os x", "macOS"),
        ("macintosh", "macOS"),
        ("linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| lower.contains(needle))
    .map(|(_, name)| *name);
    match os {
        Some(os) => format!("{family} on {os}"),
        None => family,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        assert_eq!(network("185.220.101.7"), "185.220.101.0/24");
        assert_eq!(network("2001:db8:abcd:12::1"), "2001:db8:abcd::/48");
        assert_eq!(network("not-an-ip"), "not-an-ip");
    }

    #[test]
    fn versions() {
        let (old, v1) = versioned("ActiveSync/Apple-iPhone10C4/1502.150").unwrap();
        let (new, v2) = versioned("ActiveSync/Apple-iPhone10C4/1503.191").unwrap();
        assert_eq!(old, new);
        assert!(v1 < v2);
        let (other, _) = versioned("ActiveSync/Apple-iPhone9C1/1503.191").unwrap();
        assert_ne!(old, other);
        let win7 = "Web/Mozilla/5.0 (Windows NT 6.1; Win64; x64) Chrome/66.0.3359.139";
        let win10 = "Web/Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/65.0.3325.181";
        assert_ne!(versioned(win7).unwrap().0, versioned(win10).unwrap().0);
        assert_eq!(versioned("Web/Outlook"), None);
    }

    #[test]
    fn agent_families() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/67.0.3396.99 Safari/537.36+Preload+Preload";
        assert_eq!(agent_key(chrome), "Chrome on Windows");
        assert_eq!(agent_key("python-requests/2.18.4"), "python-requests");
        assert_eq!(agent_key("Android-Mail/7.10.31"), "Android-Mail on Android");
    }
}
