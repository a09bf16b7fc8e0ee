//! Offline IP enrichment (`--geoip FILE.mmdb`, `docs/geoip.md`): country,
//! city, location and autonomous system of each IP, from MaxMind DB files
//! the analyst supplies (MaxMind GeoLite2/GeoIP2 City, Country and ASN;
//! DB-IP Lite; IPinfo Lite). Never any network access. A step after
//! attribution: each distinct attributed IP is looked up once.

use crate::attribution::IpAttribution;
use crate::error::InputError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// How a database lays out its records, told by its metadata's
/// `database_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// MaxMind's (also DB-IP's): `country`/`city`/`location` maps, or
    /// `autonomous_system_*` for an ASN database.
    MaxMind,
    /// IPinfo Lite: flat `country_code`, `country`, `asn` ("AS123"),
    /// `as_name`.
    IpinfoLite,
}

/// One database file.
pub struct Database {
    pub path: String,
    /// Its metadata's `database_type`, as written.
    pub database_type: String,
    pub layout: Layout,
    /// When it was built (Unix seconds), from its metadata.
    pub build_epoch: u64,
    /// The fields it gave for at least one IP of the run, in output order.
    pub provides: Vec<&'static str>,
    /// The whole file (read once, when opened: a wrong file fails before
    /// any export is read), released once every IP is looked up
    /// ([`GeoIp::enrich`]): nothing reads it later, and the reports that
    /// follow (the timeline export) want the memory.
    reader: Option<maxminddb::Reader<Vec<u8>>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .field("database_type", &self.database_type)
            .finish()
    }
}

impl Database {
    /// Opens `path`; a missing or unreadable file, or one that is not a
    /// MaxMind DB, is an input error (exit 66) naming it.
    pub fn open(path: &std::path::Path) -> Result<Database, InputError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| InputError::Open {
            path: name.clone(),
            source,
        })?;
        let reader = maxminddb::Reader::from_source(bytes).map_err(|e| InputError::Open {
            path: name.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not a MaxMind DB (.mmdb) file: {e}"),
            ),
        })?;
        let database_type = reader.metadata().database_type.clone();
        let layout = if database_type.to_ascii_lowercase().contains("ipinfo") {
            Layout::IpinfoLite
        } else {
            Layout::MaxMind
        };
        Ok(Database {
            path: name,
            build_epoch: reader.metadata().build_epoch,
            database_type,
            layout,
            provides: Vec::new(),
            reader: Some(reader),
        })
    }

    /// What the database says of `ip`; `None` when it has no record (an
    /// unknown IP is never an error; a damaged record reads as unknown).
    fn lookup(&self, ip: IpAddr) -> Option<IpInfo> {
        let result = self.reader.as_ref()?.lookup(ip).ok()?;
        match self.layout {
            Layout::MaxMind => result
                .decode::<MaxMindRecord>()
                .ok()
                .flatten()
                .map(IpInfo::from),
            Layout::IpinfoLite => result
                .decode::<IpinfoRecord>()
                .ok()
                .flatten()
                .map(IpInfo::from),
        }
    }
}

/// A number as a database stores it: MaxMind DB has 16-, 32-, 64- and
/// 128-bit unsigned and 32-bit signed integers, and writers choose the
/// smallest that fits (GeoLite2 stores `accuracy_radius` in 16 bits, a
/// smaller writer may store an AS number so too); the decoder is strict,
/// so the width is read as it comes.
#[derive(Debug, Clone, Copy)]
struct Number(u64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Number, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an unsigned integer")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v))
            }
            fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Number, E> {
                u64::try_from(v).map(Number).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
                u64::try_from(v).map(Number).map_err(E::custom)
            }
        }
        d.deserialize_any(Visit)
    }
}

impl Number {
    fn u32(self) -> Option<u32> {
        u32::try_from(self.0).ok()
    }
}

#[derive(Deserialize)]
struct Names {
    en: Option<String>,
}

#[derive(Deserialize)]
struct Country {
    iso_code: Option<String>,
    names: Option<Names>,
}

#[derive(Deserialize)]
struct City {
    names: Option<Names>,
}

#[derive(Deserialize)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
    accuracy_radius: Option<Number>,
}

/// A record of MaxMind's layout (City, Country or ASN database).
#[derive(Deserialize)]
struct MaxMindRecord {
    country: Option<Country>,
    city: Option<City>,
    location: Option<Location>,
    autonomous_system_number: Option<Number>,
    autonomous_system_organization: Option<String>,
}

/// A record of IPinfo Lite's layout.
#[derive(Deserialize)]
struct IpinfoRecord {
    country_code: Option<String>,
    country: Option<String>,
    asn: Option<String>,
    as_name: Option<String>,
}

/// What the databases say of one IP. Fields a database does not give stay
/// empty; several databases fill each other's gaps, the place from one
/// and the network from one ([`IpInfo::fill_from`]).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct IpInfo {
    /// ISO 3166 code, `DE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    /// The database's uncertainty around the location, in km.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy_km: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// The autonomous system's organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

impl From<MaxMindRecord> for IpInfo {
    fn from(r: MaxMindRecord) -> IpInfo {
        let (latitude, longitude, accuracy_km) = r.location.map_or((None, None, None), |l| {
            (
                l.latitude,
                l.longitude,
                l.accuracy_radius.and_then(Number::u32),
            )
        });
        IpInfo {
            country_code: r.country.as_ref().and_then(|c| c.iso_code.clone()),
            country: r.country.and_then(|c| c.names).and_then(|n| n.en),
            city: r.city.and_then(|c| c.names).and_then(|n| n.en),
            latitude,
            longitude,
            accuracy_km,
            asn: r.autonomous_system_number.and_then(Number::u32),
            org: r.autonomous_system_organization,
        }
    }
}

impl From<IpinfoRecord> for IpInfo {
    fn from(r: IpinfoRecord) -> IpInfo {
        IpInfo {
            country_code: r.country_code,
            country: r.country,
            asn: r.asn.and_then(|a| {
                a.trim()
                    .trim_start_matches(['A', 'S', 'a', 's'])
                    .parse()
                    .ok()
            }),
            org: r.as_name,
            ..IpInfo::default()
        }
    }
}

impl IpInfo {
    /// Fills what `self` lacks from `other`, a group at a time: the place
    /// (country, city, location, accuracy) from one database, the network
    /// (AS and organisation) from one database, so that no record mixes
    /// one database's country with another's coordinates.
    fn fill_from(&mut self, other: IpInfo) {
        let has_place = self.country_code.is_some()
            || self.country.is_some()
            || self.city.is_some()
            || self.latitude.is_some();
        if !has_place {
            self.country_code = other.country_code;
            self.country = other.country;
            self.city = other.city;
            self.latitude = other.latitude;
            self.longitude = other.longitude;
            self.accuracy_km = other.accuracy_km;
        }
        if self.asn.is_none() && self.org.is_none() {
            self.asn = other.asn;
            self.org = other.org;
        }
    }

    /// The fields present, by their output names.
    fn fields(&self) -> Vec<&'static str> {
        [
            ("country_code", self.country_code.is_some()),
            ("country", self.country.is_some()),
            ("city", self.city.is_some()),
            (
                "location",
                self.latitude.is_some() && self.longitude.is_some(),
            ),
            ("accuracy_km", self.accuracy_km.is_some()),
            ("asn", self.asn.is_some()),
            ("org", self.org.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect()
    }

    /// `AS3320 Deutsche Telekom AG`, or what of it is known.
    pub fn network(&self) -> Option<String> {
        match (self.asn, &self.org) {
            (Some(n), Some(org)) => Some(format!("AS{n} {org}")),
            (Some(n), None) => Some(format!("AS{n}")),
            (None, org) => org.clone(),
        }
    }

    /// `DE Germany, Frankfurt am Main · AS3320 Deutsche Telekom AG`, for
    /// people.
    pub fn describe(&self) -> String {
        let mut place: Vec<String> = Vec::new();
        match (&self.country_code, &self.country) {
            (Some(code), Some(name)) => place.push(format!("{code} {name}")),
            (Some(v), None) | (None, Some(v)) => place.push(v.clone()),
            (None, None) => {}
        }
        let mut text = place.join("");
        if let Some(city) = &self.city {
            text.push_str(&format!(", {city}"));
        }
        match self.network() {
            Some(n) if text.is_empty() => n,
            Some(n) => format!("{text} · {n}"),
            None => text,
        }
    }
}

/// The databases of a run and what they say of each attributed IP.
#[derive(Debug, Default)]
pub struct GeoIp {
    pub databases: Vec<Database>,
    /// IP (as the rows write it) → what is known; an IP no database knows
    /// is absent ("unknown").
    by_ip: BTreeMap<String, IpInfo>,
}

impl GeoIp {
    /// Opens every `--geoip` file.
    pub fn open(paths: &[std::path::PathBuf]) -> Result<GeoIp, InputError> {
        let databases = paths
            .iter()
            .map(|p| Database::open(p))
            .collect::<Result<_, _>>()?;
        Ok(GeoIp {
            databases,
            by_ip: BTreeMap::new(),
        })
    }

    /// Looks up every distinct IP of `ips`, once, then releases the
    /// databases' files.
    pub fn enrich(&mut self, ips: &IpAttribution) {
        for text in ips.addresses() {
            let Some(ip) = crate::net::address(text) else {
                continue;
            };
            let mut info = IpInfo::default();
            for db in &mut self.databases {
                if let Some(found) = db.lookup(ip) {
                    for field in found.fields() {
                        if !db.provides.contains(&field) {
                            db.provides.push(field);
                        }
                    }
                    info.fill_from(found);
                }
            }
            if info != IpInfo::default() {
                self.by_ip.insert(text.trim().to_string(), info);
            }
        }
        for db in &mut self.databases {
            db.provides
                .sort_by_key(|f| FIELD_ORDER.iter().position(|o| o == f));
        }
    }

    /// What is known of `ip` (as a row writes it; spaces around ignored).
    pub fn info(&self, ip: &str) -> Option<&IpInfo> {
        self.by_ip.get(ip.trim())
    }

    /// Every IP known, in string order.
    pub fn known(&self) -> impl Iterator<Item = (&str, &IpInfo)> {
        self.by_ip.iter().map(|(ip, info)| (ip.as_str(), info))
    }
}

const FIELD_ORDER: &[&str] = &[
    "country_code",
    "country",
    "city",
    "location",
    "accuracy_km",
    "asn",
    "org",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_read_for_people() {
        let info = IpInfo {
            country_code: Some("DE".into()),
            country: Some("Germany".into()),
            city: Some("Frankfurt am Main".into()),
            asn: Some(3320),
            org: Some("Deutsche Telekom AG".into()),
            ..IpInfo::default()
        };
        assert_eq!(
            info.describe(),
            "DE Germany, Frankfurt am Main · AS3320 Deutsche Telekom AG"
        );
        let asn_only = IpInfo {
            asn: Some(14061),
            ..IpInfo::default()
        };
        assert_eq!(asn_only.describe(), "AS14061");
    }
}
