//! Synthetic retriever exports for tests and benchmarks: a realistic
//! six-month mailbox (one home IP, a phone, deliveries, reading, replies, a
//! few deletes and searches a day, weekly emptying of Deleted Items), with an
//! optional BEC intrusion injected at a known time. Deterministic by seed.
//!
//! Not part of the analysis pipeline: `examples/generate.rs`, the benchmark
//! and the tests use it to make data no fixture file could hold.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc, Weekday};
use std::io::{self, Write};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Data rows to write (the header is extra).
    pub rows: usize,
    pub seed: u64,
    /// Inject the intrusion of [`INTRUSION_DAY`].
    pub intrusion: bool,
}

/// First day of the export (a Monday).
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2018, 1, 8, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Days covered: about the API's six months of retention.
pub const DAYS: i64 = 180;
/// The intrusion starts at 02:10 UTC on this day (2018-06-07).
pub const INTRUSION_DAY: i64 = 150;
pub const HOME_IP: &str = "81.2.69.142";
pub const PHONE_IP: &str = "94.197.121.4";
pub const ATTACKER_IP: &str = "185.220.101.7";
pub const USER: &str = "alice@contoso.example";

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/66.0.3359.181 Safari/537.36";
const PHONE_UA: &str = "Android-Mail/7.10.31.191018519.release";
const HEADER: &str = "TimeStamp,AppIdType,ActivityIdType,ActivityItemId,ActivityCreationTime,ClientSessionId,CustomProperties\n";
const COLLEAGUES: &[&str] = &[
    "bob@contoso.example",
    "carol@contoso.example",
    "dave@contoso.example",
    "erin@contoso.example",
];
const VENDORS: &[&str] = &[
    "ap@vendor.example",
    "sales@supplies.example",
    "support@saas.example",
];
const SUBJECTS: &[&str] = &[
    "Project plan for Q2",
    "Re: Meeting notes",
    "Lunch on Friday?",
    "Re: O'Neill account review, next steps",
    "Updated rota",
    "FW: Customer feedback",
    "Re: Re: Timeline for the launch",
    "Weekly report",
    "Café menu – new items",
    "Training schedule",
];
const NEWSLETTER: &[&str] = &["Weekly deals", "Your digest", "Top stories this week"];
const ORDINARY_SEARCHES: &[&str] = &[
    "project plan",
    "meeting notes",
    "lunch",
    "bank holiday rota",
    "launch timeline",
    "customer feedback",
    "rota",
    "training",
];

/// Properties of one `Delete` row written by emptying Deleted Items.
fn purge_props() -> Vec<(&'static str, String)> {
    vec![
        ("DeleteType", "SoftDelete".into()),
        ("DeletedByEmptyFolder", "True".into()),
        ("DeletedByDeleteAllClutter", "False".into()),
        ("SourceDefaultFolderType", "DeletedItems".into()),
    ]
}

/// splitmix64: small, fast and deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One row before serialisation.
struct Row {
    time: DateTime<Utc>,
    created_delay_ms: i64,
    app: &'static str,
    kind: &'static str,
    item: String,
    session: String,
    props: Vec<(&'static str, String)>,
}

/// Characters Python's `str.isprintable()` rejects beyond the C0/C1
/// controls: enough of them to exercise `\x`, `\u` and `\U` escapes.
fn python_nonprintable(c: char) -> bool {
    let u = c as u32;
    c.is_control()
        || u == 0xA0
        || u == 0xAD
        || (0x2000..=0x200F).contains(&u)
        || (0x2028..=0x202F).contains(&u)
        || (0x2060..=0x206F).contains(&u)
        || u == 0xFEFF
        || (0xE0000..=0xE007F).contains(&u)
        || (0xF0000..=0x10FFFF).contains(&u)
}

/// A port of CPython 3's `repr(str)`: the quoting `str(dict)` uses (`docs/format.md` §4.2).
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if python_nonprintable(c) => {
                let u = c as u32;
                out.push_str(&match u {
                    0..=0xFF => format!("\\x{u:02x}"),
                    0x100..=0xFFFF => format!("\\u{u:04x}"),
                    _ => format!("\\U{u:08x}"),
                });
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `str(dict)` of string pairs; empty for no properties.
pub fn py_dict(props: &[(&str, String)]) -> String {
    if props.is_empty() {
        return String::new();
    }
    let items: Vec<String> = props
        .iter()
        .map(|(k, v)| format!("{}: {}", py_repr(k), py_repr(v)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// Writes a whole export; returns the number of data rows written.
pub fn write_export<W: Write>(out: W, opts: &Options) -> io::Result<usize> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out);
    w.write_record(HEADER.trim_end().split(','))
        .map_err(io::Error::other)?;

    // Weekdays carry the quota (weekends are quiet), so the rows span about
    // DAYS days whatever their number.
    let per_day = (opts.rows as i64 * 7 / (DAYS * 5)).max(8) as usize;
    let mut g = Generator {
        rng: Rng(opts.seed),
        next_item: 0,
        per_day,
    };
    let mut written = 0;
    let mut day = 0;
    while written < opts.rows {
        let mut rows = g.day(day);

        if opts.intrusion && day == INTRUSION_DAY {
            rows.extend(g.intrusion(day));
        }
        rows.sort_by_key(|r| r.time);
        for r in rows.iter().take(opts.rows - written) {
            write_row(&mut w, r)?;
        }
        written += rows.len().min(opts.rows - written);
        day += 1;
    }
    w.flush()?;
    Ok(written)
}

fn write_row<W: Write>(w: &mut csv::Writer<W>, r: &Row) -> io::Result<()> {
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let created = r.time + Duration::milliseconds(r.created_delay_ms);
    let props = py_dict(&r.props);
    w.write_record([
        fmt(r.time).as_str(),
        r.app,
        r.kind,
        &r.item,
        &fmt(created),
        &r.session,
        &props,
    ])
    .map_err(io::Error::other)
}

/// The shared head of generated item ids: base64 of a mailbox GUID and a
/// folder id, as in `AAMkAD…`.
const ITEM_PREFIX: &str = "AAMkAGI2ZWQ5YjA3LTYxZmMtNGQ1Zi05YmEzLTM3ODgyNzQxMGZhNABGAAAAAAD\
                           8uQ2hZ0hVQp2ANb6XGWbJBwB5lT3sbyqRR7uBRmNqYzxtAAAAAAEMAAB5lT3sbyqRR7uBRmNqYzxtAAA";

/// The Exchange Online server in generated `InternetMessageId`s.
const MESSAGE_ID_HOST: &str = "LO2P265MB0415";

/// `n`'s low 6×`digits` bits in base64url digits, most significant first.
fn base64url_digits(n: u64, digits: u32) -> impl Iterator<Item = char> {
    const DIGITS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..digits)
        .rev()
        .map(move |d| DIGITS[(n >> (6 * d) & 63) as usize] as char)
}

struct Generator {
    rng: Rng,
    next_item: u64,
    per_day: usize,
}

impl Generator {
    /// A REST item id as long as real ones (152 characters, `docs/format.md` §9's
    /// sample): the mailbox and folder part is shared, the tail numbers the
    /// item. Short ids would make a million-row file a fifth smaller than
    /// a real one and understate the cost of hashing them.
    fn item(&mut self) -> String {
        self.next_item += 1;
        let mut id = String::with_capacity(152);
        id.push_str(ITEM_PREFIX);
        // Five digits number 2^30 items, far past any generated file.
        id.extend(base64url_digits(self.next_item, 5));
        id.push_str("AAA=");
        id
    }

    fn guid(&mut self) -> String {
        let (a, b) = (self.rng.next(), self.rng.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }

    fn at(&mut self, day: i64, from_hour: i64, to_hour: i64) -> DateTime<Utc> {
        let span = (to_hour - from_hour).max(1) * 3_600_000;
        start()
            + Duration::days(day)
            + Duration::hours(from_hour)
            + Duration::milliseconds(self.rng.below(span as u64) as i64)
    }

    fn row(
        &self,
        time: DateTime<Utc>,
        app: &'static str,
        kind: &'static str,
        item: String,
        session: &str,
        props: Vec<(&'static str, String)>,
    ) -> Row {
        let created_delay_ms = if app == "Web" && kind != "ServerLogon" {
            800
        } else {
            2
        };
        Row {
            time,
            created_delay_ms,
            app,
            kind,
            item,
            session: session.to_string(),
            props,
        }
    }

    fn logon(
        &self,
        time: DateTime<Utc>,
        app: &'static str,
        ip: &str,
        ua: &str,
        session: &str,
    ) -> Row {
        let props = vec![
            ("Result", "Success".into()),
            ("ExceptionInfo", String::new()),
            ("UserName", USER.into()),
            ("ClientIP", ip.into()),
            ("UserAgent", ua.into()),
        ];
        self.row(time, app, "ServerLogon", String::new(), session, props)
    }

    fn owa_logon(&self, time: DateTime<Utc>, ip: &str, ua: &str, tz: &str, session: &str) -> Row {
        let props = vec![
            ("Layout", "Mouse".into()),
            ("Timezone", tz.into()),
            ("IPAddress", ip.into()),
            ("Browser", format!("{ua}+Preload+Preload")),
            ("InferenceUiReady", "1".into()),
            ("Flights", "OwaFlight1,OwaFlight2,OwaFlight3".into()),
        ];
        self.row(time, "Web", "Logon", String::new(), session, props)
    }

    fn delivery(
        &mut self,
        time: DateTime<Utc>,
        sender: &str,
        subject: &str,
        folder: &str,
        to_inbox: bool,
        clutter: bool,
    ) -> Row {
        let item = self.item();
        let n = self.next_item;
        let props = vec![
            ("IsClutter", if clutter { "True" } else { "False" }.into()),
            (
                "DeliveredToInbox",
                if to_inbox { "True" } else { "False" }.into(),
            ),
            (
                "DeliveredToClutter",
                if clutter { "True" } else { "False" }.into(),
            ),
            (
                "InternetMessageId",
                format!("<{MESSAGE_ID_HOST}{n:028X}@{MESSAGE_ID_HOST}.GBRP265.PROD.OUTLOOK.COM>"),
            ),
            ("ConversationId", format!("{:032X}", n * 7919)),
            ("SenderSmtpAddress", sender.into()),
            ("DeliveredFolderType", folder.into()),
            ("Subject", subject.into()),
            (
                "ReceivedTime",
                time.format("%-m/%-d/%Y %-I:%M:%S %p").to_string(),
            ),
            ("ItemClass", "IPM.Note".into()),
        ];
        self.row(
            time,
            "Exchange",
            "MessageDelivered",
            item,
            "c4a9e7d0-15b2-4f3e-b8c1-9f0a6d2e4b83",
            props,
        )
    }

    fn read(&mut self, time: DateTime<Utc>, item: &str, session: &str, out: &mut Vec<Row>) {
        let folder = vec![
            ("IsClutter", "0".into()),
            ("SelectedFolderName", "Inbox".into()),
            ("IsConversation", "0".into()),
        ];
        out.push(self.row(
            time,
            "Web",
            "ReadingPaneDisplayStart",
            item.into(),
            session,
            folder,
        ));
        out.push(self.row(
            time + Duration::milliseconds(90),
            "Web",
            "MarkAsRead",
            item.into(),
            session,
            vec![("SelectedFolderName", "Inbox".into())],
        ));
        let secs = 5 + self.rng.below(120) as i64;
        out.push(self.row(
            time + Duration::seconds(secs),
            "Web",
            "ReadingPaneDisplayEnd",
            item.into(),
            session,
            vec![("IsConversation", "0".into())],
        ));
    }

    fn delete(
        &mut self,
        time: DateTime<Utc>,
        item: &str,
        session: &str,
        out: &mut Vec<Row>,
    ) -> String {
        let props = vec![
            ("DeleteType", "MoveToDeletedItems".into()),
            ("DeletedByEmptyFolder", "False".into()),
            ("DeletedByDeleteAllClutter", "False".into()),
            ("SourceDefaultFolderType", "Inbox".into()),
        ];
        out.push(self.row(time, "Web", "Delete", item.into(), session, props));
        out.push(self.row(
            time,
            "Web",
            "DeleteFromInbox",
            item.into(),
            session,
            Vec::new(),
        ));
        let moved = self.item();
        let props = vec![
            ("MoveType", "Delete".into()),
            ("SourceFolder", "Inbox".into()),
            ("TargetFolder", "DeletedItems".into()),
        ];
        out.push(self.row(
            time + Duration::milliseconds(1),
            "Web",
            "Move",
            moved.clone(),
            session,
            props,
        ));
        moved
    }

    fn search(&mut self, time: DateTime<Utc>, term: &str, session: &str, out: &mut Vec<Row>) {
        let typed: Vec<char> = term.chars().collect();
        for k in (2..=typed.len()).step_by(3) {
            let stimulus: String = typed[..k].iter().collect();
            out.push(self.row(
                time + Duration::milliseconds(k as i64 * 250),
                "Web",
                "SearchSuggestionsDisplay",
                String::new(),
                session,
                vec![("SuggestionStimulus", stimulus)],
            ));
        }
        let sid = self.guid();
        let props = vec![
            ("Ver", "2".into()),
            ("App", "OWA".into()),
            ("Sid", sid),
            ("Query", term.into()),
            ("MaxRes", "25".into()),
            ("Trunc", "False".into()),
            ("ResIds", String::new()),
        ];
        out.push(self.row(
            time + Duration::seconds(4),
            "Web",
            "SearchResult",
            String::new(),
            session,
            props,
        ));
    }

    /// One ordinary day of the mailbox.
    fn day(&mut self, day: i64) -> Vec<Row> {
        let mut out = Vec::with_capacity(self.per_day + 16);
        let weekday = (start() + Duration::days(day)).weekday();
        let workday = !matches!(weekday, Weekday::Sat | Weekday::Sun);
        let phone = self.guid();
        for _ in 0..2 {
            let t = self.at(day, 6, 22);
            out.push(self.logon(t, "Mobile", PHONE_IP, PHONE_UA, &phone));
        }
        if !workday {
            for _ in 0..(self.per_day / 4).max(3) {
                let t = self.at(day, 0, 24);
                let (sender, subject) = (self.rng.pick(VENDORS), self.rng.pick(NEWSLETTER));
                out.push(self.delivery(t, sender, subject, "68", false, true));
            }
            return out;
        }
        let (srv, owa) = (self.guid(), self.guid());
        let logon_at = self.at(day, 8, 9);
        out.push(self.logon(logon_at, "Web", HOME_IP, CHROME, &srv));
        out.push(self.owa_logon(
            logon_at + Duration::seconds(3),
            HOME_IP,
            CHROME,
            "GMT Standard Time",
            &owa,
        ));
        let mut inbox = Vec::new();
        while out.len() < self.per_day {
            let t = self.at(day, 9, 18);
            self.ordinary(t, &srv, &owa, &mut inbox, &mut out);
        }
        for _ in 0..2 {
            if let Some(item) = inbox.pop() {
                let t = self.at(day, 9, 18);
                let moved = self.delete(t, &item, &srv, &mut out);
                inbox.push(moved);
            }
        }
        let t = self.at(day, 10, 17);
        let term = self.rng.pick(ORDINARY_SEARCHES);
        self.search(t, term, &owa, &mut out);
        if weekday == Weekday::Fri {
            self.empty_deleted_items(day, &srv, &mut out);
        }
        out
    }

    /// A delivery and, often, the user reading, replying or opening it.
    fn ordinary(
        &mut self,
        t: DateTime<Utc>,
        srv: &str,
        owa: &str,
        inbox: &mut Vec<String>,
        out: &mut Vec<Row>,
    ) {
        let roll = self.rng.below(100);
        let (sender, subject) = if roll < 80 {
            (self.rng.pick(COLLEAGUES), self.rng.pick(SUBJECTS))
        } else {
            (self.rng.pick(VENDORS), self.rng.pick(NEWSLETTER))
        };
        let clutter = roll >= 80;
        let d = self.delivery(
            t,
            sender,
            subject,
            if clutter { "68" } else { "5" },
            !clutter,
            clutter,
        );
        let item = d.item.clone();
        out.push(d);
        if clutter || !self.rng.chance(60) {
            return;
        }
        let read_at = t + Duration::minutes(1 + self.rng.below(90) as i64);
        self.read(read_at, &item, owa, out);
        if self.rng.chance(15) {
            let sent = self.item();
            out.push(self.row(
                read_at + Duration::minutes(3),
                "Web",
                "Reply",
                item.clone(),
                owa,
                vec![("SelectedFolderName", "Inbox".into())],
            ));
            out.push(self.row(
                read_at + Duration::minutes(4),
                "Web",
                "MessageSent",
                sent,
                srv,
                vec![("ItemSchemaType", "Message".into())],
            ));
        } else if self.rng.chance(5) {
            out.push(self.row(
                read_at + Duration::seconds(20),
                "Web",
                "OpenedAnAttachment",
                item.clone(),
                owa,
                vec![("AttachmentAction", "Open".into())],
            ));
        }
        inbox.push(item);
    }

    /// Friday afternoon: Deleted Items emptied (one `Delete` per item).
    fn empty_deleted_items(&mut self, day: i64, srv: &str, out: &mut Vec<Row>) {
        let t = self.at(day, 17, 18);
        let props = purge_props();
        for _ in 0..10 {
            let item = self.item();
            out.push(self.row(t, "Web", "Delete", item, srv, props.clone()));
        }
    }

    /// The injected BEC intrusion, 02:10–03:30 UTC on `day`: a scripted
    /// client from a new network, financial searches and reads, a rule
    /// hiding the vendor's mail, a mass delete, Deleted Items emptied, a
    /// security notice deleted, and a forwarding burst.
    fn intrusion(&mut self, day: i64) -> Vec<Row> {
        let base = start() + Duration::days(day) + Duration::hours(2) + Duration::minutes(10);
        let s = "e7a1c3b5-9d2f-4e6a-8b0c-1d3f5a7c9e21";
        let mut out = vec![
            self.logon(base, "Web", ATTACKER_IP, "python-requests/2.18.4", s),
            self.owa_logon(
                base + Duration::seconds(5),
                ATTACKER_IP,
                "Mozilla/5.0 (X11; Linux x86_64; rv:60.0) Gecko/20100101 Firefox/60.0",
                "Pacific Standard Time",
                s,
            ),
        ];
        let mut targets = Vec::new();
        for k in 0..5 {
            let d = self.delivery(
                base - Duration::days(3) + Duration::hours(k),
                "ap@vendor.example",
                &format!("Invoice {} payment", 4400 + k),
                "5",
                true,
                false,
            );
            targets.push(d.item.clone());
            out.push(d);
        }
        for (k, term) in ["wire transfer", "invoice", "bank details"]
            .iter()
            .enumerate()
        {
            self.search(base + Duration::minutes(5 + k as i64), term, s, &mut out);
        }
        for (k, item) in targets.iter().enumerate() {
            self.read(
                base + Duration::minutes(9) + Duration::seconds(20 * k as i64),
                item,
                s,
                &mut out,
            );
        }
        for k in 0..3 {
            out.push(self.delivery(
                base + Duration::minutes(30) + Duration::hours(6 * k),
                "ap@vendor.example",
                &format!("RE: Invoice {} remittance", 4410 + k),
                "17",
                false,
                false,
            ));
        }
        let t = base + Duration::minutes(20);
        let mut moved = Vec::new();
        for k in 0..30 {
            let item = self.item();
            moved.push(self.delete(t + Duration::seconds(10 * k), &item, s, &mut out));
        }
        let props = purge_props();
        for item in moved {
            out.push(self.row(
                base + Duration::minutes(27),
                "Web",
                "Delete",
                item,
                s,
                props.clone(),
            ));
        }
        let notice = self.delivery(
            base + Duration::minutes(45),
            "account-security-noreply@accountprotection.microsoft.com",
            "Microsoft account unusual sign-in activity",
            "5",
            true,
            false,
        );
        let notice_item = notice.item.clone();
        out.push(notice);
        let props = vec![
            ("DeleteType", "MoveToDeletedItems".into()),
            ("DeletedByEmptyFolder", "False".into()),
            ("SourceDefaultFolderType", "Inbox".into()),
        ];
        out.push(self.row(
            base + Duration::minutes(47),
            "Web",
            "Delete",
            notice_item,
            s,
            props,
        ));
        for k in 0..12 {
            let item = self.item();
            out.push(self.row(
                base + Duration::minutes(60) + Duration::seconds(60 * k),
                "Web",
                "Forward",
                item,
                s,
                Vec::new(),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_exact_row_count() {
        let opts = Options {
            rows: 5_000,
            seed: 7,
            intrusion: true,
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        assert_eq!(write_export(&mut a, &opts).unwrap(), 5_000);
        write_export(&mut b, &opts).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.iter().filter(|&&c| c == b'\n').count(), 5_001);
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(py_repr("O'Neill"), "\"O'Neill\"");
        assert_eq!(py_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(py_dict(&[("k", "v".into())]), "{'k': 'v'}");
    }
}
