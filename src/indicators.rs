//! Indicators of compromise from `--ioc FILE` (`docs/rules.md` §2.10): what
//! a responder already knows about an intruder, to sweep every mailbox of
//! the run for. Parsed once at start-up; the `ioc-match` rule matches them.
//!
//! The file is plain text, one indicator per line, `[type:]value` with an
//! optional label after a tab, or CSV with the header `type,value[,label]`.
//! Blank lines and lines starting with `#` are skipped.

use crate::net::{self, Block};
use std::net::IpAddr;

/// What an indicator matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A logon from this address.
    Ip(IpAddr),
    /// A logon from an address in this block.
    Cidr(Block),
    /// A logon whose user agent contains this text (case-insensitive).
    UserAgent(String),
    /// Mail from this address (case-insensitive).
    Sender(String),
    /// Mail from this domain or a subdomain of it.
    Domain(String),
    /// Mail whose subject contains this phrase (case and spacing ignored).
    Subject(String),
    /// A search whose text contains this phrase (as the search rules
    /// normalise it).
    Search(String),
    /// A logon from this autonomous system: needs an ASN database
    /// (`--geoip`); without one it matches nothing (and the run says so).
    Asn(u32),
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Ip(_) => "ip",
            Kind::Cidr(_) => "cidr",
            Kind::UserAgent(_) => "ua",
            Kind::Sender(_) => "sender",
            Kind::Domain(_) => "domain",
            Kind::Subject(_) => "subject",
            Kind::Search(_) => "search",
            Kind::Asn(_) => "asn",
        }
    }
}

/// One indicator, as the file wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    pub kind: Kind,
    /// The value as written (for reports).
    pub value: String,
    pub label: Option<String>,
    /// Where it was read: file and line.
    pub path: String,
    pub line: u64,
}

impl Indicator {
    /// `'Storm-0999 VPS' (ip 203.0.113.7)`, or the value alone.
    pub fn describe(&self) -> String {
        match &self.label {
            Some(label) => format!("'{label}' ({} {})", self.kind.name(), self.value),
            None => format!("{} {}", self.kind.name(), self.value),
        }
    }
}

/// A line that is not an indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub line: u64,
    pub reason: String,
}

/// Every indicator of the run.
#[derive(Debug, Clone, Default)]
pub struct Indicators {
    pub list: Vec<Indicator>,
}

impl Indicators {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Adds the indicators of one file's text; returns its malformed lines.
    pub fn add_file(&mut self, path: &str, text: &str) -> Vec<Problem> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut problems = Vec::new();
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(n, l)| (n as u64 + 1, l.trim_end_matches('\r')))
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .peekable();
        let csv = lines.peek().is_some_and(|(_, l)| is_csv_header(l));
        if csv {
            lines.next();
        }
        for (line, text) in lines {
            let parsed = if csv {
                csv_fields(text).and_then(|(kind, value, label)| {
                    parse_value(Some(&kind), &value).map(|k| (k, value, label))
                })
            } else {
                plain_fields(text)
            };
            match parsed {
                Ok((kind, value, label)) => self.list.push(Indicator {
                    kind,
                    value: value.trim().to_string(),
                    label: label
                        .map(|l| l.trim().to_string())
                        .filter(|l| !l.is_empty()),
                    path: path.to_string(),
                    line,
                }),
                Err(reason) => problems.push(Problem {
                    path: path.to_string(),
                    line,
                    reason,
                }),
            }
        }
        problems
    }

    /// How many indicators need an ASN database (`--geoip`).
    pub fn need_asn(&self) -> usize {
        self.list
            .iter()
            .filter(|i| matches!(i.kind, Kind::Asn(_)))
            .count()
    }
}

fn is_csv_header(line: &str) -> bool {
    let cells: Vec<String> = line
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    cells.len() >= 2 && cells[0] == "type" && cells[1] == "value"
}

/// `type,value[,label]`, CSV-quoted as spreadsheets write it.
fn csv_fields(line: &str) -> Result<(String, String, Option<String>), String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    let record = reader
        .records()
        .next()
        .ok_or("expected type,value[,label]")?
        .map_err(|e| format!("not a CSV line: {e}"))?;
    let cell = |n: usize| record.get(n).map(str::to_string);
    match (cell(0), cell(1)) {
        (Some(kind), Some(value)) if !value.trim().is_empty() => Ok((kind, value, cell(2))),
        _ => Err("expected type,value[,label]".into()),
    }
}

/// `[type:]value[<TAB>label]`.
fn plain_fields(line: &str) -> Result<(Kind, String, Option<String>), String> {
    let (body, label) = match line.split_once('\t') {
        Some((body, label)) => (body, Some(label.to_string())),
        None => (line, None),
    };
    let body = body.trim();
    let (kind, value) = match body.split_once(':') {
        Some((kind, value)) if TYPES.contains(&kind.trim().to_ascii_lowercase().as_str()) => {
            (Some(kind.trim()), value.trim())
        }
        _ => (None, body),
    };
    parse_value(kind, value).map(|k| (k, value.to_string(), label))
}

/// The types a line may name.
const TYPES: &[&str] = &[
    "ip",
    "cidr",
    "ua",
    "user-agent",
    "sender",
    "domain",
    "subject",
    "search",
    "asn",
];

/// The indicator `value` of type `kind` (or of the type its form shows).
fn parse_value(kind: Option<&str>, value: &str) -> Result<Kind, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("empty value".into());
    }
    let kind = match kind
        .map(|k| k.trim().to_ascii_lowercase())
        .filter(|k| !k.is_empty())
    {
        Some(k) => k,
        None => infer(value).ok_or_else(|| {
            format!("'{value}': say what it is, e.g. ua:{value}, subject:{value} or search:{value}")
        })?,
    };
    let lower = value.to_lowercase();
    Ok(match kind.as_str() {
        "ip" => Kind::Ip(net::address(value).ok_or(format!("'{value}' is not an IP address"))?),
        "cidr" => Kind::Cidr(Block::parse(value)?),
        "ua" | "user-agent" => Kind::UserAgent(lower),
        "sender" if address_of(&lower).contains('@') && !lower.starts_with('@') => {
            Kind::Sender(address_of(&lower).to_string())
        }
        "sender" => return Err(format!("'{value}' is not an email address")),
        "domain" => {
            let domain = lower
                .trim_start_matches("*.")
                .trim_start_matches('@')
                .trim_start_matches('.')
                .trim_end_matches('.');
            if domain.is_empty() || domain.contains(char::is_whitespace) {
                return Err(format!("'{value}' is not a domain"));
            }
            Kind::Domain(domain.to_string())
        }
        "subject" if words(&lower).is_empty() => return Err("empty subject phrase".into()),
        "subject" => Kind::Subject(words(&lower)),
        "search" => {
            // As the search rules read queries: a phrase that normalises to
            // nothing would match every search.
            let term = crate::activity::normalise_term(value);
            if term.is_empty() {
                return Err(format!(
                    "'{value}' is no search text once tags are stripped"
                ));
            }
            Kind::Search(term)
        }
        "asn" => Kind::Asn(asn_number(&lower).ok_or(format!("'{value}' is not an AS number"))?),
        other => {
            return Err(format!(
                "unknown type '{other}'; one of {}",
                TYPES.join(", ")
            ));
        }
    })
}

/// The type a bare value's form shows: an address, a block, `AS123`, an
/// email address, `@domain` or a domain name.
fn infer(value: &str) -> Option<String> {
    let v = value.to_ascii_lowercase();
    let kind = if value.contains('/') && Block::parse(value).is_ok() {
        "cidr"
    } else if net::address(value).is_some() || net::looks_like_address(value) {
        "ip"
    } else if v.starts_with("as") && v.len() > 2 && v[2..].bytes().all(|b| b.is_ascii_digit()) {
        "asn"
    } else if v.starts_with('@') {
        "domain"
    } else if v.contains('@') {
        "sender"
    } else if v.contains('.')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        "domain"
    } else {
        return None;
    };
    Some(kind.to_string())
}

/// `AS14061`, `as14061` or `14061` as a number.
pub fn asn_number(text: &str) -> Option<u32> {
    let t = text.trim();
    let digits = t
        .strip_prefix("AS")
        .or_else(|| t.strip_prefix("as"))
        .or_else(|| t.strip_prefix("As"))
        .unwrap_or(t);
    digits.parse().ok()
}

/// The address inside `Name <address>`, else the text.
pub fn address_of(text: &str) -> &str {
    let t = text.trim();
    match (t.rfind('<'), t.rfind('>')) {
        (Some(open), Some(close)) if open < close => t[open + 1..close].trim(),
        _ => t,
    }
}

/// Lower case, runs of whitespace as one space.
pub fn words(text: &str) -> String {
    text.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> (Vec<Kind>, Vec<u64>) {
        let mut all = Indicators::default();
        let problems = all.add_file("iocs.txt", text);
        (
            all.list.into_iter().map(|i| i.kind).collect(),
            problems.into_iter().map(|p| p.line).collect(),
        )
    }

    #[test]
    fn plain_lines_are_typed_by_prefix_or_form() {
        let (got, bad) = kinds(
            "# case 42\n203.0.113.7\tVPS\n198.51.100.0/24\nua:python-requests\n\
             ap@Vendor.example\n@vendor-pay.example\nvendor-pay.example\nAS14061\n\
             subject:Updated  BANK details\nsearch:<q>Wire Transfer</q>\n\
             just some words\n300.1.2.3\ncidr:10.0.0.0/40\n",
        );
        assert_eq!(
            got,
            [
                Kind::Ip("203.0.113.7".parse().unwrap()),
                Kind::Cidr(Block::parse("198.51.100.0/24").unwrap()),
                Kind::UserAgent("python-requests".into()),
                Kind::Sender("ap@vendor.example".into()),
                Kind::Domain("vendor-pay.example".into()),
                Kind::Domain("vendor-pay.example".into()),
                Kind::Asn(14061),
                Kind::Subject("updated bank details".into()),
                Kind::Search("wire transfer".into()),
            ]
        );
        assert_eq!(bad, [11, 12, 13], "words, a bad address, a bad prefix");
    }

    #[test]
    fn forms_analysts_paste_are_read_or_refused_plainly() {
        let (got, bad) = kinds(
            "sender:Bob <Bob@Evil.example>\ndomain:*.evil.example.\nasn:as14061\nasn:asas14061\n\
             search:<invoice>\nRe: invoice\nsubject:   \n",
        );
        assert_eq!(
            got,
            [
                Kind::Sender("bob@evil.example".into()),
                Kind::Domain("evil.example".into()),
                Kind::Asn(14061),
            ]
        );
        assert_eq!(bad, [4, 5, 6, 7]);
        let mut all = Indicators::default();
        let problems = all.add_file("x.txt", "Re: invoice\n");
        assert!(
            problems[0].reason.contains("say what it is"),
            "{:?}",
            problems
        );
    }

    #[test]
    fn csv_with_labels() {
        let mut all = Indicators::default();
        let problems = all.add_file(
            "iocs.csv",
            "type,value,label\r\nip,203.0.113.7,\"VPS, Frankfurt\"\r\nsubject,\"Re: invoice, final\",\r\nbogus,x,\r\n",
        );
        assert_eq!(all.list.len(), 2);
        assert_eq!(all.list[0].label.as_deref(), Some("VPS, Frankfurt"));
        assert_eq!(all.list[1].kind, Kind::Subject("re: invoice, final".into()));
        assert_eq!(all.list[1].label, None);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 4);
    }
}
