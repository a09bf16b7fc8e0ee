//! `--timeline-format ecs`: the timeline as Elastic Common Schema documents,
//! one JSON object per line, for Elasticsearch or OpenSearch's bulk API, so
//! an organisation's mailboxes can be searched in the cluster it already
//! runs (docs/ecs.md). Fields ECS defines carry their ECS names and types
//! (checked against the published definitions in `tests/ecs.rs`); what ECS
//! has no field for lives under `o365scan.*`, with the same names as the
//! CSV timeline's columns.

use super::timeline_out::Row;
use serde::Serialize;
use std::borrow::Cow;
use std::io::{self, Write};

/// The ECS release the field names and types follow.
pub(super) const ECS_VERSION: &str = "9.4.0";

#[derive(Serialize)]
struct Doc<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: &'a str,
    ecs: Version,
    event: Event<'a>,
    user: User<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Source<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<UserAgent<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<Email<'a>>,
    /// The most severe citing finding's rule; every citing rule is in
    /// `tags` (ECS's `rule.name` holds one).
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<RuleName>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tags: &'a [&'static str],
    log: Log<'a>,
    o365scan: Own<'a>,
}

#[derive(Serialize)]
struct Version {
    version: &'static str,
}

#[derive(Serialize)]
struct Event<'a> {
    kind: &'static str,
    module: &'static str,
    dataset: &'static str,
    /// The Activities type (`MessageDelivered`, `SearchResult`…).
    action: &'a str,
    /// Who wrote the row: the `AppIdType` (`Exchange`, `Web`, `Outlook`…).
    provider: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<&'a str>,
    /// The most severe citing finding's level, 0 (informational) to 4.
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<u8>,
}

#[derive(Serialize)]
struct User<'a> {
    /// The mailbox.
    name: &'a str,
}

#[derive(Serialize)]
struct Source<'a> {
    ip: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    geo: Option<Geo<'a>>,
    #[serde(rename = "as", skip_serializing_if = "Option::is_none")]
    asn: Option<Asn<'a>>,
}

#[derive(Serialize)]
struct Geo<'a> {
    country_iso_code: &'a str,
}

#[derive(Serialize)]
struct Asn<'a> {
    number: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    organization: Option<Org<'a>>,
}

#[derive(Serialize)]
struct Org<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct UserAgent<'a> {
    original: &'a str,
}

#[derive(Serialize)]
struct Email<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<From<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
}

#[derive(Serialize)]
struct From<'a> {
    address: &'a str,
}

#[derive(Serialize)]
struct RuleName {
    name: &'static str,
}

#[derive(Serialize)]
struct Log<'a> {
    file: LogFile<'a>,
}

#[derive(Serialize)]
struct LogFile<'a> {
    path: &'a str,
}

/// What ECS has no field for: the CSV timeline's other columns.
#[derive(Serialize)]
struct Own<'a> {
    line: u64,
    item_id: &'a str,
    client_session_id: &'a str,
    ip_via: &'static str,
    /// An `ip` that is not an address (ECS's `source.ip` must be one).
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    folder: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    folder_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conversation_id: Option<&'a str>,
    /// How the message in `email.*` was found (`docs/scope.md` §1).
    #[serde(skip_serializing_if = "Option::is_none")]
    item_resolved: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_received: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<&'static str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    findings: &'a [&'static str],
    /// The parsed CustomProperties (map it as `flattened`, docs/ecs.md).
    properties: &'a crate::evidence::Props,
}

fn text<'a>(v: &'a Option<Cow<'_, str>>) -> Option<&'a str> {
    v.as_deref()
}

/// One row as one ECS document line.
pub(super) fn write_row<W: Write>(out: &mut W, r: &Row<'_>) -> io::Result<()> {
    let ip = r.ip.filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
    let geo = r.ip_geo.as_ref();
    let source = ip.map(|ip| Source {
        ip,
        geo: geo.and_then(|g| g.ip_country).map(|c| Geo {
            country_iso_code: c,
        }),
        asn: geo.and_then(|g| g.ip_asn).map(|number| Asn {
            number,
            organization: geo.and_then(|g| g.ip_org).map(|name| Org { name }),
        }),
    });
    // The message the row is about: its own subject and sender, else the
    // item catalogue's.
    let subject = text(&r.subject).or(text(&r.item_subject));
    let sender = text(&r.sender).or(text(&r.item_sender));
    let message_id = text(&r.internet_message_id);
    let email = (subject.is_some() || sender.is_some() || message_id.is_some()).then(|| Email {
        subject,
        from: sender.map(|address| From { address }),
        message_id,
    });
    let doc = Doc {
        timestamp: &r.time,
        ecs: Version {
            version: ECS_VERSION,
        },
        event: Event {
            kind: "event",
            module: "o365scan",
            dataset: "o365.activities",
            action: r.activity,
            provider: r.app,
            created: r.created.as_deref(),
            severity: r.severity,
        },
        user: User { name: r.mailbox },
        source,
        user_agent: text(&r.user_agent).map(|original| UserAgent { original }),
        email,
        rule: r.top_rule.map(|name| RuleName { name }),
        tags: &r.findings,
        log: Log {
            file: LogFile { path: r.path },
        },
        o365scan: Own {
            line: r.line,
            item_id: r.item_id,
            client_session_id: r.session,
            ip_via: r.ip_via,
            ip_text: r.ip.filter(|_| ip.is_none()),
            folder: text(&r.folder),
            folder_name: r.folder_name,
            query: r.query,
            conversation_id: text(&r.conversation_id),
            item_resolved: r.item_resolved,
            item_line: r.item_line,
            item_received: r.item_received.as_deref(),
            level: r.level,
            findings: &r.findings,
            properties: r.properties,
        },
    };
    serde_json::to_writer(&mut *out, &doc).map_err(io::Error::from)?;
    out.write_all(b"\n")
}
