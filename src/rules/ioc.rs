//! Indicator sweeps (`docs/rules.md` §2.10): `ioc-match` finds the
//! indicators of `--ioc` in every mailbox of the run. Without `--ioc` it
//! does nothing; ASN indicators need `--geoip` with an ASN database.

use super::{Ctx, Meta, Phase, Rule, Tactic, plural};
use crate::activity::{Kind, Rec};
use crate::finding::{Finding, Level};
use crate::indicators::{self, Indicator, Kind as Ioc};
use crate::timeline::Records;

pub(super) struct IocMatch;

impl Rule for IocMatch {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "ioc-match",
                phase: Phase::Last,
                tactic: Tactic::Correlation,
                stage: None,
                title: "Known indicator found",
                level: Level::High,
                attack: &[],
                experimental: false,
                description: "A --ioc indicator (IP, CIDR, user-agent text, sender or domain, subject or search phrase) in a mailbox: one finding per indicator and mailbox, citing every row",
                params: &[],
            }
        }
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let indicators = ctx.settings.indicators();
        if indicators.is_empty() {
            return;
        }
        for (_, records) in ctx.mailboxes() {
            for ioc in &indicators.list {
                let rows = matches(ctx, records, ioc);
                if rows.is_empty() {
                    continue;
                }
                let summary = format!(
                    "Indicator {} found: {} ({})",
                    ioc.describe(),
                    plural(rows.len(), rows_of(&ioc.kind).one, rows_of(&ioc.kind).many),
                    origin(ioc)
                );
                out.push(ctx.finding(self, Level::High, &rows, summary, |i| {
                    detail(&ctx.activity(i), &ioc.kind)
                }));
            }
        }
    }
}

fn origin(ioc: &Indicator) -> String {
    format!("{}:{}", ioc.path, ioc.line)
}

/// The rows an indicator is looked for in: one place says which, for the
/// search and for the summary's words.
struct Rows {
    kinds: &'static [Kind],
    one: &'static str,
    many: &'static str,
}

const LOGONS: Rows = Rows {
    kinds: &[Kind::ServerLogon, Kind::Logon],
    one: "logon",
    many: "logons",
};

/// The types whose rows name a sender or subject.
const MESSAGES: Rows = Rows {
    kinds: &[
        Kind::MessageDelivered,
        Kind::MarkAsRead,
        Kind::Reply,
        Kind::ReplyAll,
        Kind::Forward,
    ],
    one: "message row",
    many: "message rows",
};

const SEARCHES: Rows = Rows {
    kinds: &[
        Kind::SearchResult,
        Kind::SearchSuggestionsDisplay,
        Kind::SearchSuggestionDisplay,
    ],
    one: "search",
    many: "searches",
};

fn rows_of(kind: &Ioc) -> &'static Rows {
    match kind {
        Ioc::Ip(_) | Ioc::Cidr(_) | Ioc::UserAgent(_) | Ioc::Asn(_) => &LOGONS,
        Ioc::Sender(_) | Ioc::Domain(_) | Ioc::Subject(_) => &MESSAGES,
        Ioc::Search(_) => &SEARCHES,
    }
}

/// The rows of `records` that match `ioc`, in time order.
fn matches(ctx: &Ctx<'_>, records: Records, ioc: &Indicator) -> Vec<usize> {
    ctx.each_of_kinds(records, rows_of(&ioc.kind).kinds)
        .filter(|&i| is_match(ctx, &ctx.activity(i), &ioc.kind))
        .collect()
}

fn is_match(ctx: &Ctx<'_>, a: &Rec<'_>, kind: &Ioc) -> bool {
    let ip = || a.client_ip().and_then(|ip| crate::net::address(&ip));
    match kind {
        Ioc::Ip(want) => ip() == Some(*want),
        Ioc::Cidr(block) => ip().is_some_and(|ip| block.contains(ip)),
        Ioc::UserAgent(text) => a
            .user_agent()
            .is_some_and(|ua| ua.to_lowercase().contains(text.as_str())),
        Ioc::Sender(address) => a
            .sender()
            .is_some_and(|s| indicators::address_of(&s).to_lowercase() == *address),
        Ioc::Domain(domain) => a.sender().is_some_and(|s| in_domain(&s, domain)),
        Ioc::Subject(phrase) => a
            .subject()
            .is_some_and(|s| indicators::words(&s).contains(phrase.as_str())),
        Ioc::Search(phrase) => a.search_term().is_some_and(|t| t.contains(phrase.as_str())),
        // Only with an ASN database (`--geoip`); without one, nothing to
        // compare with (said at start-up).
        Ioc::Asn(want) => a
            .client_ip()
            .and_then(|ip| ctx.ip_info(ip.trim()))
            .is_some_and(|info| info.asn == Some(*want)),
    }
}

/// Whether `sender`'s domain is `domain` or a subdomain of it.
fn in_domain(sender: &str, domain: &str) -> bool {
    let Some((_, host)) = indicators::address_of(sender).rsplit_once('@') else {
        return false;
    };
    let host = host.to_lowercase();
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// What the row shows that matched, verbatim.
fn detail(a: &Rec<'_>, kind: &Ioc) -> String {
    let shown = match kind {
        Ioc::Ip(_) | Ioc::Cidr(_) => a.client_ip().map(|ip| format!("from {ip}")),
        Ioc::UserAgent(_) => a.user_agent().map(|ua| format!("agent '{ua}'")),
        Ioc::Sender(_) | Ioc::Domain(_) => a.sender().map(|s| format!("sender {s}")),
        Ioc::Subject(_) => a.subject().map(|s| format!("subject '{s}'")),
        Ioc::Search(_) => a.search_text().map(|q| format!("query '{q}'")),
        Ioc::Asn(n) => a.client_ip().map(|ip| format!("from {ip} (AS{n})")),
    };
    shown.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::in_domain;

    #[test]
    fn domains_match_themselves_and_subdomains_only() {
        assert!(in_domain("AP@Vendor-Pay.example", "vendor-pay.example"));
        assert!(in_domain("x@mail.vendor-pay.example", "vendor-pay.example"));
        assert!(!in_domain("x@notvendor-pay.example", "vendor-pay.example"));
        assert!(!in_domain("vendor-pay.example", "vendor-pay.example"));
    }
}
