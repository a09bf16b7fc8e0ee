//! Search rules (`docs/rules.md` §2.3): what the mailbox was searched for.
//!
//! A search term is `SearchResult.Query` (tags stripped, lower-cased,
//! whitespace collapsed), counted once per `Sid` + term, plus terms rebuilt
//! from `SearchSuggestionsDisplay` keystrokes (`search-keystrokes`).

use super::keywords::Keywords;
use super::window::{self, Event};
use super::{Ctx, Meta, Param, Phase, Rule, Stage, Tactic, list, p, plural, quoted};
use crate::activity::{Kind, PropKey};
use crate::finding::{Finding, Level};
use crate::timeline::Records;
use chrono::Duration;
use indexmap::IndexMap;

/// `docs/rules.md` §3.1, curated: bare `bank`, `transfer`, `bill`,
/// `statement`, `quote`, `closing` are left out because ordinary searches
/// ("bank holiday rota", "file transfer") would match them; the phrases that
/// carry the signal are listed instead.
const FINANCIAL: &[&str] = &[
    "wire",
    "wire transfer",
    "bank transfer",
    "banking",
    "bank details",
    "bank account",
    "bank info*",
    "change of bank details",
    "account details",
    "account number",
    "routing number",
    "sort code",
    "iban",
    "swift",
    "bic",
    "ach",
    "bacs",
    "chaps",
    "faster payment*",
    "remittance",
    "remittance advice",
    "remit*",
    "payment*",
    "payment run",
    "invoice*",
    "overdue",
    "payroll",
    "direct deposit",
    "w2",
    "w-2",
    "1099",
    "purchase order",
    "beneficiary",
    "proforma",
    "pro forma",
    "gift card*",
    "bitcoin",
    "escrow",
    "financ*",
    "transaction*",
    "payable",
    "receivable",
    "vat",
    "hmrc",
    "docusign",
    "cash",
];
/// §3.2 strong list: searches that only make sense for someone checking
/// whether they have been noticed.
const DETECTION_STRONG: &[&str] = &[
    "helpdesk",
    "suspicious",
    "fake",
    "malicious",
    "phish*",
    "hijacked",
    "do not click",
    "do not open",
    "security alert",
    "compromise*",
    "hack",
    "hacked",
    "malware",
    "fraud*",
    "scam",
    "breach",
    "undeliverable",
    "virus",
    "spoof*",
    "impersonat*",
    "unusual sign-in",
    "unusual activity",
    "account locked",
    "returned mail",
];
/// §3.2 weak list: common in normal mail, so only in suspect context.
const DETECTION_WEAK: &[&str] = &[
    "alert",
    "spam",
    "fatal",
    "security",
    "reset",
    "unusual",
    "protection",
];
/// §3.3 credential terms.
const CREDENTIALS: &[&str] = &[
    "secret",
    "password*",
    "vpn",
    "mfa",
    "login",
    "passcode",
    "passwd",
    "pwd",
    "credential*",
    "username",
    "2fa",
    "otp",
    "one-time code",
    "verification code",
    "authenticator",
    "recovery code",
    "token",
    "pin",
    "api key",
    "remote access",
    "citrix",
    "rdp",
];

const KEYSTROKE_GAP_SECONDS: Param = p::KEYSTROKE_GAP_SECONDS.int(60);
/// Searches of one rule closer than this form one finding.
const CLUSTER_MINUTES: Param = p::CLUSTER_MINUTES.int(60);

/// One search: the rows that carry it, the normalised term (for
/// matching) and the text as exported (for quoting).
#[derive(Debug, Clone)]
pub(super) struct SearchHit {
    pub records: Vec<usize>,
    pub term: String,
    pub text: String,
}

/// Every search of a mailbox in time order: `SearchResult` terms (one per
/// `Sid` + term) and, where no result row carries the same term in the same
/// session, terms rebuilt from keystrokes.
pub(super) fn search_hits(ctx: &Ctx<'_>, records: Records, gap: Duration) -> Vec<SearchHit> {
    let mut by_sid: IndexMap<(String, String), Vec<usize>> = IndexMap::new();
    for i in ctx.each_of_kinds(records, &[Kind::SearchResult]) {
        let a = ctx.activity(i);
        if let Some(term) = a.search_term() {
            let sid = a
                .get(PropKey::Sid)
                .map_or_else(|| format!("row{i}"), |s| s.to_string());
            by_sid.entry((sid, term)).or_default().push(i);
        }
    }
    let mut hits: Vec<SearchHit> = by_sid
        .into_iter()
        .map(|((_, term), records)| {
            let text = ctx
                .activity(records[0])
                .search_text()
                .unwrap_or(&term)
                .to_string();
            SearchHit {
                records,
                term,
                text,
            }
        })
        .collect();
    // Result hits are in time order (by their first row): a typed term only
    // needs comparing with those within five minutes of it.
    let results = hits.len();
    let near = Duration::minutes(5);
    for typed in keystroke_terms(ctx, records, gap) {
        let session = ctx.activity(typed.records[0]).session;
        let t = ctx.activity(typed.records[0]).time;
        let from = hits[..results].partition_point(|h| ctx.activity(h.records[0]).time < t - near);
        let covered = hits[from..results]
            .iter()
            .take_while(|h| ctx.activity(h.records[0]).time <= t + near)
            .any(|h| {
                // The typed text is often a prefix of what was finally searched.
                h.term.starts_with(&typed.term) && ctx.activity(h.records[0]).session == session
            });
        if !covered {
            hits.push(typed);
        }
    }
    hits.sort_by_key(|h| h.records[0]);
    hits
}

/// Rebuilds typed terms from keystroke rows: per session, rows ≤`gap` apart
/// whose stimuli extend or edit each other form one term, the longest typed.
pub(super) fn keystroke_terms(ctx: &Ctx<'_>, records: Records, gap: Duration) -> Vec<SearchHit> {
    let mut by_session: IndexMap<crate::intern::Sym, Vec<(usize, String)>> = IndexMap::new();
    for i in ctx.of_kinds(
        records,
        &[
            Kind::SearchSuggestionsDisplay,
            Kind::SearchSuggestionDisplay,
        ],
    ) {
        let a = ctx.activity(i);
        if let Some(stimulus) = a.get(PropKey::SuggestionStimulus) {
            by_session
                .entry(a.session)
                .or_default()
                .push((i, crate::activity::normalise_term(stimulus)));
        }
    }
    let mut out = Vec::new();
    for (_, rows) in by_session {
        let mut current: Option<SearchHit> = None;
        let mut last_time = None;
        for (i, stimulus) in rows {
            let time = ctx.activity(i).time;
            let continues = current.as_ref().is_some_and(|c| {
                last_time.is_some_and(|t| time - t <= gap) && related(&c.term, &stimulus)
            });
            if !continues && let Some(done) = current.take() {
                out.push(done);
            }
            let hit = current.get_or_insert_with(|| SearchHit {
                records: Vec::new(),
                term: String::new(),
                text: String::new(),
            });
            hit.records.push(i);
            if stimulus.chars().count() >= hit.term.chars().count() {
                hit.term = stimulus;
                hit.text = ctx
                    .activity(i)
                    .search_text()
                    .unwrap_or_default()
                    .to_string();
            }
            last_time = Some(time);
        }
        out.extend(current);
    }
    out.retain(|h| !h.term.is_empty());
    out
}

/// Two stimuli belong to one typed term when one extends the other or they
/// share a prefix (a correction).
fn related(a: &str, b: &str) -> bool {
    a.is_empty()
        || b.is_empty()
        || a.starts_with(b)
        || b.starts_with(a)
        || a.chars().next() == b.chars().next()
}

pub(super) struct Keystrokes;

impl Rule for Keystrokes {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "search-keystrokes",
                phase: Phase::Reading,
                tactic: Tactic::Reconnaissance,
                stage: None,
                title: "Search rebuilt from keystrokes",
                level: Level::Informational,
                attack: &[],
                experimental: true,
                description: "Rebuilds typed search terms from SearchSuggestionsDisplay stimuli; the keyword rules see them",
                params: &[KEYSTROKE_GAP_SECONDS],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let gap = Duration::seconds(ctx.int(p::KEYSTROKE_GAP_SECONDS));
        for (_, records) in ctx.mailboxes() {
            // Only what the result rows do not already show: a typed term
            // never run as a search, or an export without SearchResult rows.
            for hit in search_hits(ctx, records, gap)
                .into_iter()
                .filter(|h| ctx.activity(h.records[0]).kind != Kind::SearchResult)
            {
                let summary = format!(
                    "Typed search {} ({})",
                    quoted(&hit.text),
                    plural(hit.records.len(), "keystroke row", "keystroke rows")
                );
                out.push(ctx.finding(self, self.level(), &hit.records, summary, |i| {
                    format!(
                        "stimulus {}",
                        quoted(
                            ctx.activity(i)
                                .get(PropKey::SuggestionStimulus)
                                .unwrap_or_default()
                        )
                    )
                }));
            }
        }
    }
}

/// The shared body of the keyword search rules: matching searches per
/// mailbox, clustered in time, one finding per cluster.
fn keyword_findings(
    rule: &dyn Rule,
    ctx: &Ctx<'_>,
    what: &str,
    matcher: &dyn Fn(&SearchHit, bool) -> Option<Level>,
    out: &mut Vec<Finding>,
) {
    let gap = Duration::seconds(ctx.settings.int(Keystrokes.id(), p::KEYSTROKE_GAP_SECONDS));
    let cluster = ctx.minutes(p::CLUSTER_MINUTES);
    for (_, records) in ctx.mailboxes() {
        let hits: Vec<(SearchHit, Level)> = search_hits(ctx, records, gap)
            .into_iter()
            .filter_map(|h| {
                let suspect = h.records.iter().any(|&i| ctx.is_suspect(i));
                matcher(&h, suspect).map(|level| (h, level))
            })
            .collect();
        let events: Vec<Event<usize>> = hits
            .iter()
            .enumerate()
            .map(|(n, (h, _))| Event::new(h.records[0], ctx.activity(h.records[0]).time, n))
            .collect();
        for range in window::clusters(&events, cluster) {
            let group = &hits[range];
            let level = group.iter().map(|(_, l)| *l).max().unwrap_or(rule.level());
            let terms: Vec<String> = group.iter().map(|(h, _)| quoted(&h.text)).collect();
            let recs: Vec<usize> = group
                .iter()
                .flat_map(|(h, _)| h.records.iter().copied())
                .collect();
            let ip = ctx
                .ips
                .ip(group[0].0.records[0])
                .map(|ip| format!(" from {ip}"))
                .unwrap_or_default();
            let summary = format!(
                "{} for {what}{ip}: {}",
                plural(group.len(), "search", "searches"),
                list(&terms, 6)
            );
            let mut f = ctx.finding(rule, level, &recs, summary, |i| detail(ctx, i));
            f.count = group.len() as u64;
            out.push(f);
        }
    }
}

fn detail(ctx: &Ctx<'_>, i: usize) -> String {
    let a = ctx.activity(i);
    match a.kind {
        Kind::SearchResult => format!(
            "query {}",
            quoted(a.get(PropKey::Query).unwrap_or_default())
        ),
        _ => format!(
            "keystroke {}",
            quoted(a.get(PropKey::SuggestionStimulus).unwrap_or_default())
        ),
    }
}

fn level_if(keywords: &Keywords, hit: &SearchHit, base: Level, suspect: bool) -> Option<Level> {
    keywords
        .is_match(&hit.term)
        .then_some(if suspect { base.raised() } else { base })
}

pub(super) struct Financial;

impl Rule for Financial {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "search-financial",
                phase: Phase::Reading,
                tactic: Tactic::Reconnaissance,
                stage: Some(Stage::Reconnaissance),
                title: "Mailbox searched for financial terms",
                level: Level::Medium,
                attack: &["T1114.002", "T1657"],
                experimental: false,
                description: "Search for payment terms (wire transfer, invoice, bacs, sort code, …); high in suspect context",
                params: &[p::KEYWORDS.words(FINANCIAL), CLUSTER_MINUTES],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let kw = ctx.words(p::KEYWORDS);
        keyword_findings(
            self,
            ctx,
            "financial terms",
            &|h, s| level_if(kw, h, self.level(), s),
            out,
        );
    }
}

pub(super) struct Detection;

impl Rule for Detection {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "search-detection",
                phase: Phase::Reading,
                tactic: Tactic::Reconnaissance,
                stage: Some(Stage::Reconnaissance),
                title: "\"Am I detected?\" search",
                level: Level::High,
                attack: &["T1114.002"],
                experimental: false,
                description: "Search for phishing, hacked, fraud, security alert, …; weak words (alert, reset) only in suspect context",
                params: &[
                    p::KEYWORDS.words(DETECTION_STRONG),
                    p::WEAK_KEYWORDS.words(DETECTION_WEAK),
                    CLUSTER_MINUTES,
                ],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let strong = ctx.words(p::KEYWORDS);
        let weak = ctx.words(p::WEAK_KEYWORDS);
        let matcher = |h: &SearchHit, suspect: bool| {
            (strong.is_match(&h.term) || (suspect && weak.is_match(&h.term))).then_some(Level::High)
        };
        keyword_findings(self, ctx, "signs of detection", &matcher, out);
    }
}

pub(super) struct Credentials;

impl Rule for Credentials {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "search-credentials",
                phase: Phase::Reading,
                tactic: Tactic::Reconnaissance,
                stage: Some(Stage::Reconnaissance),
                title: "Credential search",
                level: Level::Medium,
                attack: &["T1552"],
                experimental: false,
                description: "Search for passwords, VPN, MFA, tokens, …; high in suspect context",
                params: &[p::KEYWORDS.words(CREDENTIALS), CLUSTER_MINUTES],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let kw = ctx.words(p::KEYWORDS);
        keyword_findings(
            self,
            ctx,
            "credentials",
            &|h, s| level_if(kw, h, self.level(), s),
            out,
        );
    }
}

pub(super) struct ThenRead;

/// Activity types that show a search hit being looked at or acted on.
const READ_KINDS: &[Kind] = &[
    Kind::ReadingPaneDisplayStart,
    Kind::MessageSelected,
    Kind::InspectorDisplayStart,
    Kind::OpenedAnAttachment,
    Kind::Forward,
    Kind::Reply,
    Kind::ReplyAll,
];

impl Rule for ThenRead {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "search-then-read",
                phase: Phase::Reading,
                tactic: Tactic::Reconnaissance,
                stage: Some(Stage::Reconnaissance),
                title: "Search, then the hits read",
                level: Level::Medium,
                attack: &["T1114.002"],
                experimental: true,
                description: "A financial, detection or credential search followed by opening, forwarding or replying from the same session or IP",
                params: &[p::WITHIN_MINUTES.int(15)],
            }
        }
    }
    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let within = ctx.minutes(p::WITHIN_MINUTES);
        let sources = [Financial.id(), Detection.id(), Credentials.id()];
        for f in ctx.prior.iter().filter(|f| sources.contains(&f.rule)) {
            let searches: Vec<usize> = f.evidence.iter().map(|e| e.record).collect();
            let Some(&last) = searches.iter().max() else {
                continue;
            };
            let (session, ip, t0) = (
                &ctx.activity(last).session,
                ctx.ips.get(last).ip(),
                ctx.activity(last).time,
            );
            let file = ctx.activity(last).source().file;
            let mailbox = ctx.timeline.mailboxes()[file as usize];
            let after = mailbox.partition_point(|i| i <= last);
            let reads: Vec<usize> = mailbox
                .slice(after..mailbox.len())
                .iter()
                .take_while(|&i| ctx.activity(i).time - t0 <= within)
                .filter(|&i| {
                    let a = ctx.activity(i);
                    READ_KINDS.contains(&a.kind)
                        && ((!session.is_empty() && &a.session == session)
                            || (ip.is_some() && ctx.ips.get(i).ip() == ip))
                })
                .collect();
            if reads.is_empty() {
                continue;
            }
            let terms = searched_terms(ctx, &searches);

            let summary = format!(
                "After searching {}, {} within {} min from the same session or IP",
                list(&terms, 4),
                plural(
                    reads.len(),
                    "item was opened or acted on",
                    "items were opened or acted on"
                ),
                within.num_minutes()
            );
            let mut recs = searches.clone();
            recs.extend(&reads);
            let mut finding = ctx.finding(self, self.level(), &recs, summary, |i| {
                let a = ctx.activity(i);
                if searches.contains(&i) {
                    detail(ctx, i)
                } else {
                    format!("{} line {}", a.kind_name(), a.source().line)
                }
            });
            finding.count = reads.len() as u64;
            out.push(finding);
        }
    }
}

/// The distinct terms of a search finding's rows: `SearchResult` queries,
/// else the longest typed keystroke stimulus.
fn searched_terms(ctx: &Ctx<'_>, records: &[usize]) -> Vec<String> {
    let results: indexmap::IndexSet<String> = records
        .iter()
        .map(|&i| ctx.activity(i))
        .filter(|a| a.kind == Kind::SearchResult)
        .filter_map(|a| a.search_text())
        .map(quoted)
        .collect();
    if !results.is_empty() {
        return results.into_iter().collect();
    }
    let longest = records
        .iter()
        .filter_map(|&i| ctx.activity(i).search_text())
        .max_by_key(|t| t.chars().count());
    longest.map(|t| vec![quoted(t)]).unwrap_or_default()
}
