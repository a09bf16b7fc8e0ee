//! Rule parameters: defaults declared by each rule, overridden per rule from
//! a `--config` TOML file. Unknown rules or keys are errors that list the
//! valid ones.

use super::keywords::Keywords;
use super::params::Key;
use super::{RULES, Rule};
use crate::indicators::Indicators;
use std::collections::HashMap;
use std::sync::LazyLock;

/// A parameter's default value.
#[derive(Debug, Clone, Copy)]
pub enum ParamDefault {
    Int(i64),
    /// A keyword list (`docs/rules.md` §3 syntax: case-insensitive, `*` for
    /// a prefix, ≤4-character words whole words only).
    Words(&'static [&'static str]),
}

/// One tunable setting of a rule.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub key: &'static str,
    pub default: ParamDefault,
}

/// Resolved settings of every rule.
#[derive(Debug)]
pub struct Settings {
    ints: HashMap<(&'static str, &'static str), i64>,
    words: HashMap<(&'static str, &'static str), Keywords>,
    /// `--ioc`: what `ioc-match` sweeps for (none by default).
    indicators: Indicators,
}

static EMPTY: LazyLock<Keywords> = LazyLock::new(Keywords::empty);

impl Settings {
    /// Every rule's defaults.
    pub fn defaults() -> Settings {
        let mut s = Settings {
            ints: HashMap::new(),
            words: HashMap::new(),
            indicators: Indicators::default(),
        };
        for rule in RULES {
            for p in rule.params() {
                match p.default {
                    ParamDefault::Int(v) => {
                        s.ints.insert((rule.id(), p.key), v);
                    }
                    ParamDefault::Words(list) => {
                        s.words.insert((rule.id(), p.key), Keywords::new(list));
                    }
                }
            }
        }
        s
    }

    /// The indicators `ioc-match` sweeps every mailbox for.
    pub fn indicators(&self) -> &Indicators {
        &self.indicators
    }

    pub fn set_indicators(&mut self, indicators: Indicators) {
        self.indicators = indicators;
    }

    /// Defaults overridden by a TOML document: one table per rule id, e.g.
    /// `[delete-mass] threshold = 40`, `[search-financial] keywords_add = ["acme pay"]`.
    pub fn from_toml(text: &str) -> Result<Settings, String> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut s = Settings::defaults();
        for (rule_id, table) in &doc {
            let rule = super::find(rule_id)
                .ok_or_else(|| format!("unknown rule '{rule_id}'; valid rules: {}", rule_ids()))?;
            let table = table
                .as_table()
                .ok_or_else(|| format!("[{rule_id}] must be a table of settings"))?;
            for (key, value) in table {
                s.set(rule, key, value)?;
            }
        }
        Ok(s)
    }

    fn set(
        &mut self,
        rule: &'static dyn Rule,
        key: &str,
        value: &toml::Value,
    ) -> Result<(), String> {
        let id = rule.id();
        let (base, add) = match key.strip_suffix("_add") {
            Some(base) => (base, true),
            None => (key, false),
        };
        let param = rule
            .params()
            .iter()
            .find(|p| p.key == base)
            .ok_or_else(|| {
                let valid: Vec<&str> = rule.params().iter().map(|p| p.key).collect();
                format!(
                    "unknown setting '{key}' for rule '{id}'; valid: {}",
                    if valid.is_empty() {
                        "none".into()
                    } else {
                        valid.join(", ")
                    }
                )
            })?;
        match (param.default, value) {
            (ParamDefault::Int(_), toml::Value::Integer(v)) if !add && *v >= 0 => {
                self.ints.insert((id, param.key), *v);
            }
            (ParamDefault::Words(defaults), toml::Value::Array(items)) => {
                let mut list: Vec<String> = if add {
                    defaults.iter().map(|w| w.to_string()).collect()
                } else {
                    Vec::new()
                };
                for item in items {
                    list.push(
                        item.as_str()
                            .ok_or_else(|| format!("[{id}] {key}: expected a list of strings"))?
                            .to_string(),
                    );
                }
                self.words.insert((id, param.key), Keywords::new(&list));
            }
            (ParamDefault::Int(_), _) => {
                return Err(format!("[{id}] {key}: expected a non-negative integer"));
            }
            (ParamDefault::Words(_), _) => {
                return Err(format!("[{id}] {key}: expected a list of strings"));
            }
        }
        Ok(())
    }

    /// A number the rule declares in its [`Meta`](super::Meta) params. An
    /// undeclared one is a bug in the rule (a misspelt key), not a setting:
    /// it fails every debug build and test that runs the rule, and a release
    /// build reads 0.
    pub fn int(&self, rule: &str, key: Key) -> i64 {
        let found = self.declared_int(rule, key);
        debug_assert!(
            found.is_some(),
            "rule {rule} reads undeclared parameter {}",
            key.name()
        );
        found.unwrap_or(0)
    }

    /// The number, when the rule declares it (for settings some rules have
    /// and others do not, such as an episode window).
    pub fn declared_int(&self, rule: &str, key: Key) -> Option<i64> {
        let key = key.name();
        self.ints
            .iter()
            .find(|((r, k), _)| *r == rule && *k == key)
            .map(|(_, v)| *v)
    }

    /// A keyword list the rule declares; undeclared as for [`Settings::int`].
    pub fn keywords(&self, rule: &str, key: Key) -> &Keywords {
        let key = key.name();
        let found = self
            .words
            .iter()
            .find(|((r, k), _)| *r == rule && *k == key);
        debug_assert!(
            found.is_some(),
            "rule {rule} reads undeclared keywords {key}"
        );
        found.map_or(&EMPTY, |(_, v)| v)
    }
}

pub(crate) fn rule_ids() -> String {
    RULES.iter().map(|r| r.id()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::params as p;

    #[test]
    fn overrides_and_additions() {
        let s = Settings::from_toml(
            "[delete-mass]\nthreshold = 40\n[search-financial]\nkeywords_add = [\"acme pay\"]\n",
        )
        .unwrap();
        assert_eq!(s.int("delete-mass", p::THRESHOLD), 40);
        let kw = s.keywords("search-financial", p::KEYWORDS);
        assert!(kw.is_match("acme pay run"));
        assert!(kw.is_match("wire transfer"));
    }

    #[test]
    fn unknown_rule_and_key_list_the_valid_ones() {
        let e = Settings::from_toml("[no-such-rule]\nx = 1\n").unwrap_err();
        assert!(
            e.starts_with("unknown rule 'no-such-rule'; valid rules: logon-new-ip,"),
            "{e}"
        );
        let e = Settings::from_toml("[delete-mass]\nthreshhold = 1\n").unwrap_err();
        assert!(
            e.starts_with("unknown setting 'threshhold' for rule 'delete-mass'; valid: "),
            "{e}"
        );
        assert!(e.contains("threshold"), "{e}");
        let e = Settings::from_toml("[delete-mass]\nthreshold = \"x\"\n").unwrap_err();
        assert_eq!(
            e,
            "[delete-mass] threshold: expected a non-negative integer"
        );
    }

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "reads undeclared parameter junk_per_sender")]
    fn an_undeclared_parameter_fails_debug_builds() {
        // A key that exists, but not for this rule.
        Settings::defaults().int("delete-mass", p::JUNK_PER_SENDER);
    }
}
