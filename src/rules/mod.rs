//! Rule modules and the one registry that lists them.

use crate::finding::{Finding, Level};
use crate::timeline::Timeline;

/// A detection. Rules read the sorted timeline and push findings; they never
/// parse text or print.
pub trait Rule: Sync {
    /// Stable kebab-case id: users filter on it and CI diffs it.
    fn id(&self) -> &'static str;
    fn title(&self) -> &'static str;
    /// The base level; a finding may be raised in suspect context.
    fn level(&self) -> Level;
    /// ATT&CK technique ids (`T1114.002`).
    fn attack(&self) -> &'static [&'static str];
    /// Semantics inferred rather than read from real exports.
    fn experimental(&self) -> bool;
    fn check(&self, timeline: &Timeline, out: &mut Vec<Finding>);
}

/// Every rule, in `--list-rules` order.
pub const RULES: &[&dyn Rule] = &[];

/// Runs every rule over the timeline.
pub fn run_all(timeline: &Timeline) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in RULES {
        rule.check(timeline, &mut out);
    }
    out
}
