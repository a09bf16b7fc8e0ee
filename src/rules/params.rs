//! Every parameter key a rule may declare, as a typed constant: a rule
//! declares its parameters with them (`THRESHOLD.int(25)` in its `Meta`)
//! and reads them through them (`ctx.int(p::THRESHOLD)`), so a misspelt key
//! does not compile. Reading a key the rule does not declare fails every
//! debug build and test that runs the rule (`settings.rs`).

use super::settings::{Param, ParamDefault};

/// A parameter's name in `--config` files, `--list-rules` and
/// `docs/rules.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(&'static str);

impl Key {
    pub const fn name(self) -> &'static str {
        self.0
    }

    /// A number, with its default.
    pub const fn int(self, value: i64) -> Param {
        Param {
            key: self.0,
            default: ParamDefault::Int(value),
        }
    }

    /// A keyword list (`docs/rules.md` §3), with its default.
    pub const fn words(self, value: &'static [&'static str]) -> Param {
        Param {
            key: self.0,
            default: ParamDefault::Words(value),
        }
    }
}

pub(crate) const AFTER_ACCESS_MINUTES: Key = Key("after_access_minutes");
pub(crate) const AGENTS_HIGH: Key = Key("agents_high");
pub(crate) const AGENTS_MEDIUM: Key = Key("agents_medium");
pub(crate) const ASNS: Key = Key("asns");
pub(crate) const BASELINE_DAYS: Key = Key("baseline_days");
pub(crate) const CLUSTER_MINUTES: Key = Key("cluster_minutes");
pub(crate) const DAILY_ACTIVE_PERCENT: Key = Key("daily_active_percent");
pub(crate) const GAP_HOURS: Key = Key("gap_hours");
pub(crate) const JUNK_INBOX_HISTORY: Key = Key("junk_inbox_history");
pub(crate) const JUNK_PER_SENDER: Key = Key("junk_per_sender");
pub(crate) const KEYSTROKE_GAP_SECONDS: Key = Key("keystroke_gap_seconds");
pub(crate) const KEYWORDS: Key = Key("keywords");
pub(crate) const MAX_KMH: Key = Key("max_kmh");
pub(crate) const MIN_STAGES: Key = Key("min_stages");
pub(crate) const ORG_KEYWORDS: Key = Key("org_keywords");
pub(crate) const RAISE_WITHIN_MINUTES: Key = Key("raise_within_minutes");
pub(crate) const RUN_GAP_SECONDS: Key = Key("run_gap_seconds");
pub(crate) const SENDERS: Key = Key("senders");
pub(crate) const SENT_WITHIN_MINUTES: Key = Key("sent_within_minutes");
pub(crate) const SESSION_CHANGE_SECONDS: Key = Key("session_change_seconds");
pub(crate) const SUBJECTS: Key = Key("subjects");
pub(crate) const SUCCESS_WITHIN_MINUTES: Key = Key("success_within_minutes");
pub(crate) const THRESHOLD: Key = Key("threshold");
pub(crate) const WEAK_KEYWORDS: Key = Key("weak_keywords");
pub(crate) const WINDOW_HOURS: Key = Key("window_hours");
pub(crate) const WINDOW_MINUTES: Key = Key("window_minutes");
pub(crate) const WITH_NEW_IP_MINUTES: Key = Key("with_new_ip_minutes");
pub(crate) const WITHIN_HOURS: Key = Key("within_hours");
pub(crate) const WITHIN_MINUTES: Key = Key("within_minutes");
pub(crate) const WITHIN_SECONDS: Key = Key("within_seconds");
