//! Several accounts' exports pasted into one file (`docs/format.md`,
//! "Merged and pasted files").
//!
//! retriever.py writes one file per mailbox, but case files get
//! concatenated: the second export brings its own header line (and often
//! its own byte-order mark, mid-file). When the parts' `ServerLogon` rows
//! name different `UserName`s they are different mailboxes, and mixing
//! them would mix baselines (one person's phone becomes the other's "new
//! network") and label every finding with one owner. So the file is split
//! at those headers into accounts, each a mailbox of its own; parts of one
//! account (a file merged from two pulls of the same mailbox) stay one.
//!
//! Lines are never renumbered and no row moves between accounts: each
//! account's summary counts exactly the rows between its header and the
//! next account's, so row accounting holds per account and for the file.

use super::{InputSummary, Parsed};
use crate::activity::Kind;
pub(super) use crate::evidence::AccountPart;
use indexmap::IndexMap;

/// One account of a pasted file: its first line (the header that starts
/// it, or line 1) and its own row accounting.
#[derive(Debug, Clone)]
pub struct Account {
    pub first_line: u64,
    pub summary: InputSummary,
}

/// The accounts of `p` when its repeated headers separate different
/// `UserName`s; empty when the file is one mailbox (the usual case, at no
/// cost: only files with repeated headers are looked at).
pub(super) fn split(p: &Parsed, last_line: u64) -> Vec<Account> {
    let headers = &p.summary.header_lines;
    if headers.is_empty() {
        return Vec::new();
    }
    let segment = |line: u64| headers.partition_point(|&h| h <= line);
    let mut users: Vec<IndexMap<String, u64>> = vec![IndexMap::new(); headers.len() + 1];
    for (i, a) in p.activities.iter().enumerate() {
        if a.kind != Kind::ServerLogon {
            continue;
        }
        if let Some(user) = p.rec(i).user_name() {
            let user = user.trim().to_lowercase();
            if !user.is_empty() {
                *users[segment(u64::from(a.source().line))]
                    .entry(user)
                    .or_default() += 1;
            }
        }
    }
    let starts = account_starts(headers, &users);
    if starts.len() < 2 {
        return Vec::new();
    }
    let of = starts.len();
    starts
        .iter()
        .enumerate()
        .map(|(k, &(first_line, ref user))| {
            let end = starts.get(k + 1).map_or(last_line, |next| next.0 - 1);
            let part = AccountPart {
                index: k + 1,
                of,
                first_line,
                last_line: end,
            };
            Account {
                first_line,
                summary: summary_of(p, part, user.clone()),
            }
        })
        .collect()
}

/// First line and owner of each account: a segment starts a new account
/// when its most frequent `UserName` differs from the account's so far; a
/// segment without logons belongs to the account before it.
fn account_starts(headers: &[u64], users: &[IndexMap<String, u64>]) -> Vec<(u64, Option<String>)> {
    let mut starts: Vec<(u64, Option<String>)> = vec![(1, None)];
    for (seg, counts) in users.iter().enumerate() {
        let top = most_frequent(counts);
        let current = starts.last_mut().map(|s| &mut s.1);
        match (current, top) {
            (Some(owner @ None), Some(user)) => *owner = Some(user),
            (Some(Some(owner)), Some(user)) if *owner != user => {
                starts.push((headers[seg - 1], Some(user)));
            }
            _ => {}
        }
    }
    starts
}

/// The most frequent key; the first seen wins a tie.
fn most_frequent(counts: &IndexMap<String, u64>) -> Option<String> {
    let mut best: Option<(&String, u64)> = None;
    for (name, &n) in counts {
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((name, n));
        }
    }
    best.map(|(name, _)| name.clone())
}

/// The row accounting of one account, counted from its records and
/// rejections. `cp1252_fields` is counted per file while reading, not per
/// row: the whole count stays with the first account.
fn summary_of(p: &Parsed, part: AccountPart, user: Option<String>) -> InputSummary {
    let within = |line: u64| line >= part.first_line && line <= part.last_line;
    let mut s = p.summary.clone();
    s.mailbox = user.unwrap_or_else(|| format!("{} (account {})", p.summary.mailbox, part.index));
    s.records = 0;
    s.salvaged_properties = 0;
    s.creation_time_fallbacks = 0;
    s.implausible_times = 0;
    s.first = None;
    s.last = None;
    for a in p
        .activities
        .iter()
        .filter(|a| within(u64::from(a.source().line)))
    {
        s.records += 1;
        s.salvaged_properties += u64::from(a.salvaged());
        s.creation_time_fallbacks +=
            u64::from(a.time_source() == crate::activity::TimeSource::CreationTime);
        s.implausible_times += u64::from(a.implausible_time());
        s.first = Some(s.first.map_or(a.time, |f| f.min(a.time)));
        s.last = Some(s.last.map_or(a.time, |l| l.max(a.time)));
    }
    s.rejected = p.rejections.iter().filter(|r| within(r.line)).count() as u64;
    s.rows = s.records + s.rejected;
    s.header_lines.retain(|&h| within(h));
    s.repeated_headers = s.header_lines.len() as u64;
    if part.index > 1 {
        s.cp1252_fields = 0;
    }
    if part.index < part.of {
        s.missing_final_newline = false;
    }
    s.account = Some(part);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(users: &[&str]) -> IndexMap<String, u64> {
        users.iter().map(|u| (u.to_string(), 1)).collect()
    }

    #[test]
    fn different_users_start_accounts_and_same_user_parts_stay_one() {
        let headers = [100, 200, 300];
        let users = [
            counts(&["alice@contoso.example"]),
            counts(&[]),
            counts(&["bob@contoso.example"]),
            counts(&["bob@contoso.example"]),
        ];
        let starts = account_starts(&headers, &users);
        assert_eq!(
            starts,
            vec![
                (1, Some("alice@contoso.example".into())),
                (200, Some("bob@contoso.example".into())),
            ]
        );
    }
}
