//! Rules that need `--geoip` (`docs/rules.md` §2.2, `docs/geoip.md`): where
//! a logon came from. Without a database they find nothing.

use super::settings::Settings;
use super::{Ctx, Meta, Phase, Rule, Stage, Tactic, p, plural};
use crate::activity::Kind;
use crate::actors::is_failure;
use crate::finding::{Finding, Level};
use crate::geoip::{GeoIp, IpInfo};
use crate::timeline::Records;
use indexmap::IndexMap;

/// A successful logon and what the databases say of its IP.
struct GeoLogon<'a> {
    record: usize,
    ip: String,
    info: &'a IpInfo,
}

/// The successful logons of `records` whose IP a database knows, in time
/// order.
fn geo_logons<'a>(ctx: &Ctx<'a>, records: Records) -> Vec<GeoLogon<'a>> {
    ctx.each_of_kinds(records, &[Kind::ServerLogon, Kind::Logon])
        .filter_map(|i| {
            let a = ctx.activity(i);
            if is_failure(a) {
                return None;
            }
            let ip = a.client_ip()?.trim().to_string();
            let info = ctx.ip_info(&ip)?;
            Some(GeoLogon {
                record: i,
                ip,
                info,
            })
        })
        .collect()
}

fn where_from(l: &GeoLogon<'_>) -> String {
    format!("{} ({})", l.ip, l.info.describe())
}

pub(super) struct HostingProvider;

/// Autonomous systems of hosting, VPS and anonymising providers, where a
/// mailbox owner rarely signs in from but an intruder's rented server
/// does (`docs/rules.md` §3.7).
const HOSTING_ASNS: &[&str] = &[
    "14061", "16276", "20473", "24940", "63949", "51167", "36352", "53667", "9009", "60068",
    "212238", "62240", "46562", "200651", "202425", "44477", "135377", "45102", "132203", "16509",
    "14618", "396982", "8100", "40021", "29802", "19531", "55286", "399629",
];

/// Words in an AS organisation's name that mark a host rather than a
/// network of people.
const HOSTING_WORDS: &[&str] = &[
    "hosting",
    "vps",
    "dedicated",
    "datacenter",
    "data center",
    "colocation",
    "server*",
    "virtual private",
];

impl Rule for HostingProvider {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "logon-hosting-provider",
                phase: Phase::Access,
                tactic: Tactic::Access,
                stage: Some(Stage::Access),
                title: "Logon from a hosting provider",
                level: Level::Medium,
                attack: &["T1078.004", "T1583.003"],
                experimental: true,
                description: "With --geoip: a successful logon from the AS of a hosting, VPS or anonymising provider (AS list and organisation words), one finding per AS; low for a known actor",
                params: &[
                    p::ASNS.words(HOSTING_ASNS),
                    p::ORG_KEYWORDS.words(HOSTING_WORDS),
                ],
            }
        }
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for (_, records) in ctx.mailboxes() {
            let mut by_asn: IndexMap<u32, Vec<GeoLogon<'_>>> = IndexMap::new();
            for l in geo_logons(ctx, records) {
                if let Some(asn) = l.info.asn
                    && is_hosting(ctx.settings, l.info)
                {
                    by_asn.entry(asn).or_default().push(l);
                }
            }
            for (asn, logons) in by_asn {
                let org = logons[0].info.org.clone().unwrap_or_default();
                let rows: Vec<usize> = logons.iter().map(|l| l.record).collect();
                let summary = format!(
                    "{} from AS{asn} {org}, a hosting provider: first from {}",
                    plural(rows.len(), "logon", "logons"),
                    where_from(&logons[0])
                );
                let detail = |i: usize| {
                    let l = logons.iter().find(|l| l.record == i);
                    l.map(where_from).unwrap_or_default()
                };
                out.push(ctx.finding(self, self.level(), &rows, summary, detail));
            }
        }
    }
}

/// Whether `info`'s AS is a hosting provider's: listed in `asns`, or an
/// organisation `org_keywords` name (the settings of
/// `logon-hosting-provider`).
fn is_hosting(settings: &Settings, info: &IpInfo) -> bool {
    let id = HostingProvider.id();
    let listed = info.asn.is_some_and(|asn| {
        let asns = settings.keywords(id, p::ASNS);
        // `AS14061` or `14061`, as the analyst wrote it.
        asns.words()
            .iter()
            .any(|w| crate::indicators::asn_number(w) == Some(asn))
    });
    let named = info
        .org
        .as_deref()
        .is_some_and(|org| settings.keywords(id, p::ORG_KEYWORDS).is_match(org));
    listed || named
}

/// The AS by which a logon from `ip` may join an actor that used the same
/// AS with the same client family (`docs/actors.md`: a carrier moving a
/// phone between its pools): none without `--geoip`, and none for a
/// hosting provider, where an intruder rents its server beside anyone's.
pub(super) fn family_asn(geoip: Option<&GeoIp>, settings: &Settings, ip: &str) -> Option<u32> {
    let info = geoip?.info(ip)?;
    (!is_hosting(settings, info)).then_some(info.asn?)
}

pub(super) struct ImpossibleTravel;

/// Mean Earth radius, km.
const EARTH_KM: f64 = 6371.0;

/// Great-circle distance in km (haversine).
fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * EARTH_KM * h.sqrt().min(1.0).asin()
}

impl Rule for ImpossibleTravel {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "logon-impossible-travel",
                phase: Phase::Access,
                tactic: Tactic::Access,
                stage: Some(Stage::Access),
                title: "Impossible travel between logons",
                level: Level::Medium,
                attack: &["T1078.004"],
                experimental: true,
                description: "With --geoip: consecutive successful logons of a mailbox whose distance, less both locations' accuracy radii, over the time between them exceeds max_kmh; never between two known actors; one finding per actor",
                params: &[p::MAX_KMH.int(900)],
            }
        }
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let max_kmh = ctx.int(p::MAX_KMH) as f64;
        for (_, records) in ctx.mailboxes() {
            let logons = geo_logons(ctx, records);
            let located: Vec<(&GeoLogon<'_>, (f64, f64))> = logons
                .iter()
                .filter_map(|l| Some((l, (l.info.latitude?, l.info.longitude?))))
                .collect();
            // Per actor (the new one of the pair, else the later logon's):
            // its impossible journeys. An intruder's device alternating with
            // the owner's for days is one finding, not one a day.
            let mut by_actor: IndexMap<Option<*const crate::actors::Actor>, Vec<Journey<'_, '_>>> =
                IndexMap::new();
            for pair in located.windows(2) {
                let [(a, pa), (b, pb)] = pair else { continue };
                let actor = |l: &GeoLogon<'_>| ctx.actor(l.record);
                let known = |l: &GeoLogon<'_>| actor(l).is_some_and(|x| x.is_known());
                // One client session's two addresses are a dual-stack device
                // alternating IPv4 and IPv6 (which a database may place
                // cities apart) or a proxy, not a journey; two known actors
                // are the owner's devices.
                let same_session = {
                    let (sa, sb) = (
                        ctx.activity(a.record).session,
                        ctx.activity(b.record).session,
                    );
                    !sa.is_empty() && sa == sb
                };
                if a.ip == b.ip || same_session || (known(a) && known(b)) {
                    continue;
                }
                let radius = |l: &GeoLogon<'_>| f64::from(l.info.accuracy_km.unwrap_or(0));
                let slack = radius(a) + radius(b);
                let km = (distance_km(*pa, *pb) - slack).max(0.0);
                let seconds = (ctx.activity(b.record).time - ctx.activity(a.record).time)
                    .num_seconds()
                    .max(1) as f64;
                let kmh = km / (seconds / 3600.0);
                if km == 0.0 || kmh <= max_kmh {
                    continue;
                }
                let who = if known(b) { actor(a) } else { actor(b) };
                let journey = Journey {
                    from: a,
                    to: b,
                    km,
                    minutes: seconds / 60.0,
                    kmh,
                };
                by_actor
                    .entry(who.map(std::sync::Arc::as_ptr))
                    .or_default()
                    .push(journey);
            }
            for journeys in by_actor.into_values() {
                let mut rows: Vec<usize> = journeys
                    .iter()
                    .flat_map(|j| [j.from.record, j.to.record])
                    .collect();
                rows.sort_unstable();
                rows.dedup();
                let first = &journeys[0];
                let apart = if first.minutes < 1.0 {
                    format!("{:.0} seconds", first.minutes * 60.0)
                } else {
                    format!("{:.0} minutes", first.minutes)
                };
                let mut summary = format!(
                    "Logons {:.0} km apart (less the databases' accuracy) {apart} apart, {:.0} km/h: {} then {}",
                    first.km,
                    first.kmh,
                    where_from(first.from),
                    where_from(first.to)
                );
                if journeys.len() > 1 {
                    summary.push_str(&format!("; {} impossible journeys in all", journeys.len()));
                }
                let detail = |i: usize| {
                    let l = journeys
                        .iter()
                        .flat_map(|j| [j.from, j.to])
                        .find(|l| l.record == i);
                    l.map(where_from).unwrap_or_default()
                };
                out.push(ctx.finding(self, self.level(), &rows, summary, detail));
            }
        }
    }
}

/// Two consecutive logons too far apart for the time between them.
struct Journey<'l, 'a> {
    from: &'l GeoLogon<'a>,
    to: &'l GeoLogon<'a>,
    km: f64,
    minutes: f64,
    kmh: f64,
}

pub(super) struct NewCountry;

impl Rule for NewCountry {
    fn meta(&self) -> &'static Meta {
        const {
            &Meta {
                id: "logon-new-country",
                phase: Phase::Access,
                tactic: Tactic::Access,
                stage: Some(Stage::Access),
                title: "First logon from a new country",
                level: Level::Medium,
                attack: &["T1078.004"],
                experimental: true,
                description: "With --geoip: successful logons from a country no logon of the baseline came from, one finding per country; low for a known actor",
                params: &[],
            }
        }
    }

    fn check(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        for (_, records) in ctx.mailboxes() {
            if !ctx.judged(records) {
                continue;
            }
            let end = ctx.baseline_end(records);
            let logons = geo_logons(ctx, records);
            let country = |l: &GeoLogon<'_>| l.info.country_code.clone();
            let baseline: Vec<String> = logons
                .iter()
                .filter(|l| ctx.activity(l.record).time < end)
                .filter_map(country)
                .collect();
            let mut new: IndexMap<String, Vec<&GeoLogon<'_>>> = IndexMap::new();
            for l in logons.iter().filter(|l| ctx.activity(l.record).time >= end) {
                if let Some(code) = country(l).filter(|c| !baseline.contains(c)) {
                    new.entry(code).or_default().push(l);
                }
            }
            for (code, logons) in new {
                let rows: Vec<usize> = logons.iter().map(|l| l.record).collect();
                let summary = format!(
                    "{} from {code}, a country no logon of the baseline came from: first from {}",
                    plural(rows.len(), "logon", "logons"),
                    where_from(logons[0])
                );
                let detail = |i: usize| {
                    let l = logons.iter().find(|l| l.record == i);
                    l.map(|l| where_from(l)).unwrap_or_default()
                };
                out.push(ctx.finding(self, self.level(), &rows, summary, detail));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::distance_km;

    #[test]
    fn distances_are_great_circles() {
        let frankfurt = (50.1155, 8.6842);
        let paris = (48.8534, 2.3488);
        let km = distance_km(frankfurt, paris);
        assert!((470.0..490.0).contains(&km), "{km}");
        assert!(distance_km(paris, paris) < 1e-6);
    }
}
