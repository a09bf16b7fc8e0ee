//! Rule modules and the one registry that lists them.
//!
//! A rule lives in the file of its family (`access.rs`, `search.rs`,
//! `deletion.rs`, `inbox_rules.rs`, `collection.rs`, `correlation.rs`,
//! `data.rs`) and is named in [`RULES`]. Rules read the sorted timeline and
//! push findings; they never parse text or print. Thresholds and keyword
//! lists are [`Param`]s: defaults in the rule's file, overridable with
//! `--config`.

mod access;
mod collection;
mod correlation;
mod data;
mod deletion;
mod episodes;
mod geo;
mod inbox_rules;
mod ioc;
mod keywords;
pub(crate) mod params;
mod search;
pub(crate) mod settings;
mod suspect;
mod window;

use crate::activity::{Kind, Rec};
use crate::actors::{Actor, Actors, Standing};
use crate::attribution::IpAttribution;
use crate::finding::{EvidenceList, Finding, Level};
pub use crate::finding::{Stage, Tactic};
use crate::geoip::{GeoIp, IpInfo};
use crate::items::{Catalogue, Deliveries};
use crate::timeline::{Records, Timeline};
use params::{self as p, Key};
pub use settings::{Param, ParamDefault, Settings};
use std::sync::Arc;
use suspect::Suspect;

/// What a rule is, as data: the catalogue entry `--list-rules` prints.
#[derive(Debug)]
pub struct Meta {
    /// Stable kebab-case id: users filter on it and CI diffs it.
    pub id: &'static str,
    /// When it runs ([`Phase`]).
    pub phase: Phase,
    /// What its findings say the intruder was doing.
    pub tactic: Tactic,
    /// The BEC chain stage its findings fill, if any (`bec-chain` reads it).
    pub stage: Option<Stage>,
    pub title: &'static str,
    /// The base level; a finding may be raised (`medium↑high`).
    pub level: Level,
    /// ATT&CK technique ids (`T1114.002`).
    pub attack: &'static [&'static str],
    /// Semantics inferred rather than read from real exports.
    pub experimental: bool,
    /// One line for `--list-rules` and the README.
    pub description: &'static str,
    /// Tunable thresholds, windows and keyword lists.
    pub params: &'static [Param],
}

/// A detection: its catalogue entry and its check.
pub trait Rule: Sync {
    fn meta(&self) -> &'static Meta;
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>);

    fn id(&self) -> &'static str {
        self.meta().id
    }
    fn title(&self) -> &'static str {
        self.meta().title
    }
    fn level(&self) -> Level {
        self.meta().level
    }
    fn attack(&self) -> &'static [&'static str] {
        self.meta().attack
    }
    fn experimental(&self) -> bool {
        self.meta().experimental
    }
    fn description(&self) -> &'static str {
        self.meta().description
    }
    fn params(&self) -> &'static [Param] {
        self.meta().params
    }
}

/// Every rule, in `--list-rules` order, which is also run order: access
/// rules first (they define suspect context), correlation last (it reads the
/// findings of all others).
pub const RULES: &[&dyn Rule] = &[
    &access::NewIp,
    &access::NewAgent,
    &access::SuspiciousAgent,
    &access::Failures,
    &access::LegacyClient,
    &access::SessionMultiIp,
    &access::TimezoneMismatch,
    &geo::HostingProvider,
    &geo::ImpossibleTravel,
    &geo::NewCountry,
    &search::Keystrokes,
    &search::Financial,
    &search::Detection,
    &search::Credentials,
    &search::ThenRead,
    &collection::ReadBurst,
    &collection::AttachmentBurst,
    &inbox_rules::RuleActivity,
    &inbox_rules::AlertNotice,
    &inbox_rules::HiddenDelivery,
    &inbox_rules::ServerMove,
    &inbox_rules::ServerMarkRead,
    &inbox_rules::HiddenFolderRead,
    &inbox_rules::InferredForward,
    &deletion::Mass,
    &deletion::EmptyDeletedItems,
    &deletion::SentItems,
    &deletion::SecurityNotice,
    &collection::SendBurst,
    &collection::ForwardBurst,
    &collection::FinanceThread,
    &correlation::BecChain,
    &data::Gaps,
    &data::Unparsed,
    &data::UnknownActivity,
    &ioc::IocMatch,
];

/// Ids of the rules whose findings define suspect context
/// (`docs/rules.md` §2.1).
const SUSPECT_SOURCES: &[&dyn Rule] = &[
    &access::NewIp,
    &access::SuspiciousAgent,
    &access::SessionMultiIp,
];

/// Parameters one rule reads from another's settings (one keyword list
/// for every rule that looks for payment words, one baseline for all):
/// each must be declared by its owner, with a value of the kind read.
const SHARED_PARAMS: &[(&dyn Rule, Key)] = &[
    (&search::Financial, p::KEYWORDS),
    (&deletion::SecurityNotice, p::SUBJECTS),
    (&deletion::SecurityNotice, p::SENDERS),
    (&access::NewIp, p::BASELINE_DAYS),
    (&search::Keystrokes, p::KEYSTROKE_GAP_SECONDS),
    // Actors do not join by a hosting provider's AS (`geo::family_asn`).
    (&geo::HostingProvider, p::ASNS),
    (&geo::HostingProvider, p::ORG_KEYWORDS),
];

/// What rules say about each other, checked once at start-up, before any
/// input is read: a contradiction is a bug in o365scan (exit 70), which
/// would otherwise show only as a rule that silently never fires. Ids are
/// unique kebab-case; a rule declares each parameter once; parameters other
/// rules read are declared; the suspect-context sources run first; every
/// rule with a chain stage runs before the chain, and only the chain and
/// data quality run last.
pub fn check_catalogue() -> Result<(), String> {
    let mut ids = std::collections::HashSet::new();
    for rule in RULES {
        let (id, meta) = (rule.id(), rule.meta());
        let kebab = !id.is_empty()
            && id
                .split('-')
                .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()));
        if !kebab || !ids.insert(id) {
            return Err(format!("rule id '{id}' is not unique kebab-case"));
        }
        for (n, param) in meta.params.iter().enumerate() {
            if meta.params[..n].iter().any(|q| q.key == param.key) {
                return Err(format!("{id} declares '{}' twice", param.key));
            }
        }
        if meta.stage.is_some() && meta.phase == Phase::Last {
            return Err(format!("{id} fills a chain stage but runs after the chain"));
        }
        let last = matches!(meta.tactic, Tactic::Correlation | Tactic::DataQuality);
        if last != (meta.phase == Phase::Last) {
            return Err(format!("{id}: only correlation and data quality run last"));
        }
    }
    for (owner, key) in SHARED_PARAMS {
        if !owner.params().iter().any(|q| q.key == key.name()) {
            return Err(format!(
                "{} does not declare '{}', which other rules read",
                owner.id(),
                key.name()
            ));
        }
    }
    for rule in SUSPECT_SOURCES {
        let meta = rule.meta();
        if meta.phase != Phase::Access || meta.tactic != Tactic::Access {
            return Err(format!(
                "{}: suspect context must come from the access phase",
                rule.id()
            ));
        }
    }
    Ok(())
}

pub fn find(id: &str) -> Option<&'static dyn Rule> {
    RULES.iter().copied().find(|r| r.id() == id)
}

/// Indexes several rules need, built once per run on first use.
struct Shared<'d> {
    actors: Actors,
    /// Per mailbox: its deliveries by item and message id.
    items: &'d Catalogue,
    /// `--geoip`: what the databases say of each IP.
    geoip: Option<&'d GeoIp>,
}

/// Record indices from several ascending lists, in ascending order.
pub struct MergedKinds<'a> {
    lists: Vec<&'a [u32]>,
}

impl Iterator for MergedKinds<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        // A handful of lists at most: a scan for the smallest head.
        let (at, _) = self
            .lists
            .iter()
            .enumerate()
            .filter_map(|(n, list)| Some((n, *list.first()?)))
            .min_by_key(|&(_, head)| head)?;
        let (&head, rest) = self.lists[at].split_first()?;
        self.lists[at] = rest;
        Some(head as usize)
    }
}

/// What a rule sees.
pub struct Ctx<'a> {
    pub timeline: &'a Timeline,
    /// Which network each record came from.
    pub ips: &'a IpAttribution,
    pub settings: &'a Settings,
    shared: &'a Shared<'a>,
    /// Findings of the rules before this one in [`RULES`].
    pub prior: &'a [Finding],
    suspect: &'a Suspect,
    rule: &'static str,
}

impl<'a> Ctx<'a> {
    pub fn activity(&self, i: usize) -> Rec<'a> {
        self.timeline.rec(i)
    }

    /// Each mailbox (input) and its records.
    pub fn mailboxes(&self) -> impl Iterator<Item = (&'a str, Records)> {
        let tl = self.timeline;
        tl.mailboxes()
            .iter()
            .map(move |&recs| (tl.inputs()[recs.file].mailbox.as_str(), recs))
    }

    /// The records of the mailbox `records` belong to whose activity type is
    /// one of `kinds`, in time order.
    pub fn of_kinds(&self, records: Records, kinds: &[Kind]) -> Vec<usize> {
        self.each_of_kinds(records, kinds).collect()
    }

    /// The records of one activity type, as the index holds them (no copy).
    pub fn kind_list(&self, records: Records, kind: Kind) -> &'a [u32] {
        self.timeline.of_kind(records.file, kind)
    }

    /// The records of one activity type written by the service itself
    /// (`AppIdType` `Exchange`), in time order (no copy).
    pub fn server_kind_list(&self, records: Records, kind: Kind) -> &'a [u32] {
        self.timeline.server_of_kind(records.file, kind)
    }

    /// The records of `kinds` written by the service itself, in time order.
    pub fn server_of_kinds(&self, records: Records, kinds: &[Kind]) -> Vec<usize> {
        let mut rows: Vec<usize> = kinds
            .iter()
            .flat_map(|&kind| self.server_kind_list(records, kind))
            .map(|&i| i as usize)
            .collect();
        rows.sort_unstable();
        rows
    }

    /// [`Ctx::of_kinds`], made as it is consumed: the kinds' index lists
    /// (each in time order) merged on the fly, for rules that walk a busy
    /// mailbox's reads once.
    pub fn each_of_kinds(&self, records: Records, kinds: &[Kind]) -> MergedKinds<'a> {
        let lists = kinds
            .iter()
            .map(|&kind| self.timeline.of_kind(records.file, kind))
            .filter(|list| !list.is_empty())
            .collect();
        MergedKinds { lists }
    }

    /// The activity types present in the mailbox `records` belong to, in no
    /// particular order.
    pub fn kinds_present(&self, records: Records) -> Vec<Kind> {
        self.timeline.kinds_of(records.file).collect()
    }

    /// What `--geoip` says of `ip` (`None` without a database, or for an
    /// IP none knows).
    pub fn ip_info(&self, ip: &str) -> Option<&'a IpInfo> {
        self.shared.geoip?.info(ip)
    }

    /// The deliveries of the mailbox `records` belong to.
    pub(crate) fn deliveries(&self, records: Records) -> &'a Deliveries {
        self.shared.items.deliveries(self.timeline, records)
    }

    /// This rule's number `key` (declared in its `Meta`).
    pub fn int(&self, key: Key) -> i64 {
        self.settings.int(self.rule, key)
    }

    pub fn minutes(&self, key: Key) -> chrono::Duration {
        chrono::Duration::minutes(self.int(key))
    }

    /// This rule's keyword list `key` (declared in its `Meta`).
    pub fn words(&self, key: Key) -> &'a keywords::Keywords {
        self.settings.keywords(self.rule, key)
    }

    /// The end of the baseline period of the mailbox `records` belong to:
    /// its first `baseline_days` (`logon-new-ip`'s setting, shared by all).
    pub fn baseline_end(&self, records: Records) -> chrono::DateTime<chrono::Utc> {
        let start = records
            .first()
            .map_or_else(chrono::DateTime::<chrono::Utc>::default, |i| {
                self.activity(i).time
            });
        start + chrono::Duration::days(self.settings.int(access::NewIp.id(), p::BASELINE_DAYS))
    }

    /// The mailbox of `records` has a history past its baseline period:
    /// only then can anything be "as before" (standing rules, known actors).
    pub fn judged(&self, records: Records) -> bool {
        self.shared.actors.judged(records.file)
    }

    /// The actor of record `i` (`docs/actors.md`).
    pub fn actor(&self, i: usize) -> Option<&'a Arc<Actor>> {
        self.shared.actors.of(i)
    }

    /// The actor a finding over `records` is about: the new actor with the
    /// most rows if any row has one, else the actor with the most rows.
    pub fn actor_of(&self, records: &[usize]) -> Option<Arc<Actor>> {
        let mut counts: Vec<(&Arc<Actor>, usize)> = Vec::new();
        for &i in records {
            if let Some(actor) = self.actor(i) {
                match counts.iter_mut().find(|(a, _)| Arc::ptr_eq(a, actor)) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((actor, 1)),
                }
            }
        }
        counts
            .into_iter()
            .max_by_key(|(a, n)| (a.is_new(), *n, std::cmp::Reverse(a.first_record)))
            .map(|(a, _)| Arc::clone(a))
    }

    /// The new actor of the mailbox of `records` who signed in last at or
    /// before `time`, if it appeared no more than `within` earlier.
    /// Exchange's rule changes are not in this log, so a rule's effects are
    /// tied to who could have made it by time alone (`docs/actors.md`).
    pub fn new_actor_before(
        &self,
        records: Records,
        time: chrono::DateTime<chrono::Utc>,
        within: chrono::Duration,
    ) -> Option<Arc<Actor>> {
        self.shared
            .actors
            .actors
            .iter()
            .filter(|a| a.is_new() && a.signed_in() && records.iter().contains(&a.first_record))
            .filter(|a| a.first <= time && time - a.first <= within)
            .max_by_key(|a| (a.first, std::cmp::Reverse(a.first_record)))
            .cloned()
    }

    /// How the actors of `records` stand: new if any is new, known if all
    /// attributed rows are known, `None` when no row has an actor.
    pub fn standing(&self, records: &[usize]) -> Option<Standing> {
        let mut standing = None;
        for &i in records {
            match self.actor(i).map(|a| a.standing) {
                Some(Standing::New) => return Some(Standing::New),
                Some(s) => standing = Some(standing.map_or(s, |t: Standing| t.min(s))),
                None => {}
            }
        }
        standing
    }

    /// The display name some row gives the folder id `folder` of record
    /// `i`'s mailbox (`docs/scope.md` §1.4).
    pub fn folder_name(&self, i: usize, folder: &str) -> Option<&'a crate::items::FolderName> {
        self.shared.items.folder_name(self.timeline, i, folder)
    }

    /// A record of a new actor is suspect (`docs/actors.md`), one of a known
    /// actor is not; any other is suspect when its session or IP had an
    /// access anomaly within a day.
    pub fn is_suspect(&self, i: usize) -> bool {
        match self.actor(i).map(|a| a.standing) {
            Some(Standing::New) => true,
            Some(Standing::Baseline | Standing::Adopted) => false,
            Some(Standing::Unjudged) | None => self.suspect.contains(self.timeline, self.ips, i),
        }
    }

    /// A finding of this rule over `records` (time-ordered indices); count
    /// is the number of records unless changed by the caller.
    pub fn finding(
        &self,
        rule: &dyn Rule,
        level: Level,
        records: &[usize],
        summary: String,
        detail: impl Fn(usize) -> String,
    ) -> Finding {
        let tl = self.timeline;
        let first = records
            .iter()
            .map(|&i| tl.activity(i).time)
            .min()
            .unwrap_or_default();
        let last = records
            .iter()
            .map(|&i| tl.activity(i).time)
            .max()
            .unwrap_or_default();
        let mailbox = records
            .first()
            .map_or("", |&i| tl.mailbox(tl.activity(i)))
            .to_string();
        Finding {
            rule: rule.id(),
            title: rule.title(),
            level,
            attack: rule.attack(),
            tactic: rule.meta().tactic,
            stage: rule.meta().stage,
            mailbox,
            first,
            last,
            count: records.len() as u64,
            summary,
            evidence: EvidenceList::of(records, detail),
            experimental: rule.experimental(),
            actor: self.actor_of(records),
        }
    }
}

/// When a rule runs, declared in its [`Meta`]. Access rules define
/// suspect context, so they go first; the middle rules run in two lanes on
/// two threads (each lane keeps its own order, and no rule reads a finding
/// of the other lane); correlation and data quality run last and see
/// everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Access,
    /// Searching, reading and sending (one lane).
    Reading,
    /// Inbox rules and deletion (the other lane).
    Hiding,
    Last,
}

/// Runs every rule; findings come back in stage order (reports sort them).
pub fn run_all(timeline: &Timeline, ips: &IpAttribution, settings: &Settings) -> Vec<Finding> {
    run(timeline, ips, &Catalogue::new(timeline), None, settings).0
}

/// [`run_all`], filling `items`' delivery tables on the way and keeping
/// the actors, for the steps after the rules (`scope.rs`).
pub(crate) fn run(
    timeline: &Timeline,
    ips: &IpAttribution,
    items: &Catalogue,
    geoip: Option<&GeoIp>,
    settings: &Settings,
) -> (Vec<Finding>, Actors) {
    std::thread::scope(|scope| {
        // The delivery indexes depend on the timeline only: built beside
        // the actors and the access stage, which do not read them, and on
        // into the lanes, whose first rule to need a mailbox's waits for
        // it (a busy mailbox's take longer than the access stage).
        scope.spawn(|| items.fill_deliveries(timeline));
        let shared = Shared {
            actors: Actors::build(
                timeline,
                ips,
                settings.int(access::NewIp.id(), p::BASELINE_DAYS),
                &|ip| geo::family_asn(geoip, settings, ip),
            ),
            items,
            geoip,
        };
        let findings = run_stages(timeline, ips, settings, &shared);
        (findings, shared.actors)
    })
}

/// The stages in order, on two threads where lanes allow.
fn run_stages(
    timeline: &Timeline,
    ips: &IpAttribution,
    settings: &Settings,
    shared: &Shared<'_>,
) -> Vec<Finding> {
    let no_context = Suspect::default();
    let run = |stage: Phase, prior: Vec<Finding>, suspect: &Suspect| -> Vec<Finding> {
        let mut findings = prior;
        for rule in RULES.iter().filter(|r| r.meta().phase == stage) {
            let mut out = Vec::new();
            let ctx = Ctx {
                timeline,
                ips,
                settings,
                shared,
                prior: &findings,
                suspect,
                rule: rule.id(),
            };
            rule.check(&ctx, &mut out);
            if stage != Phase::Last {
                for f in &mut out {
                    let file = f
                        .evidence
                        .first()
                        .map(|e| timeline.activity(e.record).source().file);
                    cap_by_actor(f, file.is_some_and(|n| shared.actors.judged(n as usize)));
                }
                let window = settings.declared_int(rule.id(), p::WINDOW_MINUTES);
                out = episodes::merge(out, window.unwrap_or(0));
            }
            findings.extend(out);
        }
        findings
    };
    let access = run(Phase::Access, Vec::new(), &no_context);
    let suspect = Suspect::from_findings(timeline, ips, &access, SUSPECT_SOURCES);
    let (lane_a, lane_b) = std::thread::scope(|lanes| {
        let b = lanes.spawn(|| run(Phase::Hiding, access.clone(), &suspect));
        let a = run(Phase::Reading, access.clone(), &suspect);
        (
            a,
            b.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        )
    });
    let mut all = access;
    let skip = all.len();
    all.extend(lane_a.into_iter().skip(skip));
    all.extend(lane_b.into_iter().skip(skip));
    run(Phase::Last, all, &suspect)
}

/// How a finding's level is reached, step by step (`docs/severity.md`):
/// printed under `--list-rules` and quoted in the README, which a test
/// keeps equal to this text.
pub const SEVERITY_STEPS: &[&str] = &[
    "1. The rule's condition sets the level: the rule table's description says which condition gives which level (for example rule-hidden-delivery: high into Deleted Items or RSS, medium into a custom folder or Junk).",
    "2. Suspect context raises 'medium, high in suspect context' rules: the row's actor is new, or (without a judged actor) its session or IP had logon-new-ip, logon-suspicious-agent or session-multi-ip within 24 h.",
    "3. A rule effect already present in the baseline (the export's first 7 days) is a standing rule: low, one finding per pattern.",
    "4. The level is capped by whom the finding is about: the owner's known actors (active in the baseline, or adopted: used on 5 or more days over 10 or more and also from a network of the baseline's actors) at most low; rows no actor can be tied to at most medium; a new actor keeps the rule's level. An export shorter than its baseline, or with no logon in it, has no history: actors are 'unjudged' and levels stand.",
    "5. One finding per rule, mailbox, actor and episode (activity with gaps under the rule's window); bec-chain is critical: one new actor that signed in (or, without a history, one with a high access finding), its access finding followed within 72 h by at least two of reconnaissance, concealment and action.",
];

/// The level a finding may have given who it is about
/// (`docs/severity.md`): the owner's known actors at most low, activity no
/// actor can be tied to at most medium, a new actor what the rule says. An
/// export shorter than the baseline has no history: levels stand.
fn cap_by_actor(f: &mut Finding, judged: bool) {
    let cap = match f.actor.as_ref().map(|a| a.standing) {
        Some(Standing::Baseline | Standing::Adopted) => Level::Low,
        None if judged => Level::Medium,
        None => Level::Critical,
        Some(Standing::New | Standing::Unjudged) => Level::Critical,
    };
    f.level = f.level.min(cap);
}

/// Short quoting of data inside a summary: `'wire transfer'`.
pub fn quoted(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        format!("'{text}'")
    } else {
        format!("'{}…'", text.chars().take(MAX - 1).collect::<String>())
    }
}

/// `a, b, c` or `a, b, c and 4 more`.
pub fn list(items: &[String], max: usize) -> String {
    let shown = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        format!("{shown} and {} more", items.len() - max)
    } else {
        shown
    }
}

/// "1 search" / "3 searches".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for rule in RULES {
            let id = rule.id();
            assert!(seen.insert(id), "duplicate id {id}");
            assert!(
                id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{id}"
            );
            assert!(
                !rule.attack().is_empty()
                    || id.starts_with("data-")
                    // Context, or the analyst's own indicators: no technique.
                    || ["search-keystrokes", "ioc-match"].contains(&id),
                "{id} lacks ATT&CK ids"
            );
        }
        let titles: std::collections::HashSet<_> = RULES.iter().map(|r| r.title()).collect();
        assert_eq!(titles.len(), RULES.len(), "titles must be unique");
    }

    /// `docs/rules.md` is the catalogue's documentation: every rule of the
    /// registry and every one of its parameters is named there.
    #[test]
    fn every_rule_and_parameter_is_documented() {
        let doc = include_str!("../../docs/rules.md");
        for rule in RULES {
            let id = rule.id();
            assert!(
                doc.contains(&format!("`{id}`")),
                "docs/rules.md lacks `{id}`"
            );
            for param in rule.params() {
                assert!(
                    doc.contains(param.key),
                    "docs/rules.md lacks {id}'s parameter {}",
                    param.key
                );
            }
        }
    }

    /// docs/rules.md §2.8 lists each stage's rules as the code declares.
    #[test]
    fn docs_list_each_chain_stage() {
        let doc = std::fs::read_to_string("docs/rules.md").unwrap();
        let from = doc.find("Stages (each rule's").unwrap();
        let text = &doc[from..from + doc[from..].find("\n\n").unwrap()];
        let names = [
            (Stage::Access, "**access**"),
            (Stage::Reconnaissance, "**reconnaissance**"),
            (Stage::Concealment, "**concealment**"),
            (Stage::Action, "**action**"),
        ];
        for (n, (stage, name)) in names.iter().enumerate() {
            let start = text.find(name).unwrap();
            let end = names
                .get(n + 1)
                .map_or(text.len(), |(_, next)| text.find(next).unwrap());
            let section = &text[start..end];
            for rule in RULES.iter().filter(|r| r.meta().stage == Some(*stage)) {
                let listed = section.contains(&format!("`{}`", rule.id()))
                    || (rule.id().starts_with("rule-") || rule.id().starts_with("delete-"))
                        && section.contains("every `rule-*` and `delete-*` rule");
                assert!(listed, "docs/rules.md §2.8 {name} lacks {}", rule.id());
            }
        }
    }

    #[test]
    fn the_catalogue_is_consistent() {
        assert_eq!(check_catalogue(), Ok(()));
        // The chain's stages, as docs/rules.md §2.8 lists them.
        let staged = |stage: Stage| -> Vec<&str> {
            let rules = RULES.iter().filter(|r| r.meta().stage == Some(stage));
            rules.map(|r| r.id()).collect()
        };
        assert_eq!(staged(Stage::Access).len(), 9);
        assert!(!staged(Stage::Access).contains(&"logon-new-agent"));
        assert_eq!(
            staged(Stage::Action),
            [
                "rule-inferred-forward",
                "send-burst",
                "forward-burst",
                "send-finance-thread"
            ]
        );
        assert!(staged(Stage::Reconnaissance).contains(&"read-burst"));
    }

    /// Suspect context is made from access findings, so its sources must
    /// run in the first phase.
    #[test]
    fn suspect_context_comes_from_the_access_phase() {
        for rule in SUSPECT_SOURCES {
            assert_eq!(rule.meta().phase, Phase::Access, "{}", rule.id());
        }
        let last = RULES.iter().filter(|r| r.meta().phase == Phase::Last);
        let ids: Vec<&str> = last.map(|r| r.id()).collect();
        assert_eq!(
            ids,
            [
                "bec-chain",
                "data-gaps",
                "data-unparsed",
                "data-unknown-activity",
                "ioc-match"
            ]
        );
    }
}
