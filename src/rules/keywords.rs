//! Keyword lists (`docs/rules.md` §2.1): case-insensitive; a trailing `*`
//! marks a prefix; words of ≤4 characters (`ach`, `po`, `vat`) match whole
//! words only; longer words also match their plural. So `banking` and `bank
//! details` can be listed without `bank` matching "bank holiday rota".

use regex::RegexSet;
use std::sync::OnceLock;

#[derive(Debug)]
pub struct Keywords {
    words: Vec<String>,
    /// Compiled on first use: most runs never need most lists, and Unicode
    /// case-insensitive word boundaries are costly to compile.
    set: OnceLock<RegexSet>,
}

impl Keywords {
    pub fn empty() -> Keywords {
        Keywords::new::<&str>(&[])
    }

    pub fn new<S: AsRef<str>>(list: &[S]) -> Keywords {
        let words = list
            .iter()
            .map(|w| w.as_ref().trim().to_lowercase())
            .filter(|w| !w.is_empty() && w != "*")
            .collect();
        Keywords {
            words,
            set: OnceLock::new(),
        }
    }

    fn set(&self) -> &RegexSet {
        self.set.get_or_init(|| {
            // Patterns are built from escaped text, so they always compile.
            RegexSet::new(self.words.iter().map(|w| pattern(w)))
                .unwrap_or_else(|_| RegexSet::empty())
        })
    }

    pub fn is_match(&self, text: &str) -> bool {
        !self.words.is_empty() && self.set().is_match(text)
    }

    /// The listed keywords found in `text`, in list order.
    pub fn matches(&self, text: &str) -> Vec<&str> {
        self.set()
            .matches(text)
            .iter()
            .filter_map(|i| self.words.get(i).map(String::as_str))
            .collect()
    }

    /// The list as given (lower-cased).
    pub fn words(&self) -> &[String] {
        &self.words
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

fn pattern(keyword: &str) -> String {
    let (body, prefix) = match keyword.strip_suffix('*') {
        Some(b) => (b.trim_end(), true),
        None => (keyword, false),
    };
    let words: Vec<&str> = body.split_whitespace().collect();
    let mut out = String::from("(?i)");
    if body.chars().next().is_some_and(char::is_alphanumeric) {
        out.push_str(r"\b");
    }
    out.push_str(
        &words
            .iter()
            .map(|w| regex::escape(w))
            .collect::<Vec<_>>()
            .join(r"\s+"),
    );
    if prefix {
        out.push_str(r"\w*");
    } else if body.chars().count() > 4 {
        out.push_str("(?:s|es)?");
    }
    if prefix || body.chars().last().is_some_and(char::is_alphanumeric) {
        out.push_str(r"\b");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_prefixes_and_plurals() {
        let k = Keywords::new(&[
            "banking",
            "bank details",
            "payment*",
            "ach",
            "invoice",
            "w-2",
        ]);
        assert!(k.is_match("banking"));
        assert!(k.is_match("Bank   Details for ACME"));
        assert!(!k.is_match("bank holiday rota"));
        assert!(k.is_match("payments overdue"));
        assert!(k.is_match("ach transfer"));
        assert!(!k.is_match("coaching"));
        assert!(k.is_match("invoices"));
        assert!(k.is_match("my w-2 form"));
        assert_eq!(k.matches("invoice and banking"), ["banking", "invoice"]);
    }

    #[test]
    fn empty_list_matches_nothing() {
        assert!(!Keywords::new::<&str>(&[]).is_match("anything"));
        assert!(Keywords::empty().is_empty());
    }
}
