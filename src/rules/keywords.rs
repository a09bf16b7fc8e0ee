//! Keyword lists (`detections.md` §2.1): case-insensitive; a trailing `*`
//! marks a prefix; words of ≤4 characters (`ach`, `po`, `vat`) match whole
//! words only; longer words also match their plural. So `banking` and `bank
//! details` can be listed without `bank` matching "bank holiday rota".

use regex::{Regex, RegexSet};

#[derive(Debug)]
pub struct Keywords {
    words: Vec<String>,
    set: RegexSet,
    /// One compiled pattern per word, to name what matched.
    each: Vec<Regex>,
}

impl Keywords {
    pub fn empty() -> Keywords {
        Keywords {
            words: Vec::new(),
            set: RegexSet::empty(),
            each: Vec::new(),
        }
    }

    pub fn new<S: AsRef<str>>(list: &[S]) -> Keywords {
        let words: Vec<String> = list
            .iter()
            .map(|w| w.as_ref().trim().to_lowercase())
            .filter(|w| !w.is_empty() && w != "*")
            .collect();
        let patterns: Vec<String> = words.iter().map(|w| pattern(w)).collect();
        // Patterns are built from escaped text, so they always compile.
        let set = RegexSet::new(&patterns).unwrap_or_else(|_| RegexSet::empty());
        let each = patterns.iter().filter_map(|p| Regex::new(p).ok()).collect();
        Keywords { words, set, each }
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.set.is_match(text)
    }

    /// The listed keywords found in `text`, in list order.
    pub fn matches(&self, text: &str) -> Vec<&str> {
        self.set
            .matches(text)
            .iter()
            .filter_map(|i| self.words.get(i).map(String::as_str))
            .collect()
    }

    /// The matched substring of the first keyword found (for summaries).
    pub fn first_hit<'t>(&self, text: &'t str) -> Option<&'t str> {
        let i = self.set.matches(text).iter().next()?;
        self.each.get(i)?.find(text).map(|m| m.as_str())
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
        assert_eq!(k.first_hit("Re: Payments due"), Some("Payments"));
    }

    #[test]
    fn empty_list_matches_nothing() {
        assert!(!Keywords::new::<&str>(&[]).is_match("anything"));
        assert!(Keywords::empty().is_empty());
    }
}
