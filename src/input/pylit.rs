//! A parser for the Python literal grammar that `str(dict)` writes into the
//! `CustomProperties` column (`docs/format.md` §4): `'…'`/`"…"` strings with every Python
//! escape, `u''`/`b''`/`r''` prefixes, `None`, `True`/`False`, numbers, and
//! nested lists, tuples, sets and dicts. It is the Rust counterpart of
//! `ast.literal_eval`, bounded in nesting depth so hostile input cannot
//! overflow the stack.

use std::borrow::Cow;
use std::fmt;

/// Deeper nesting is rejected instead of recursed into.
pub const MAX_DEPTH: usize = 64;
pub use crate::evidence::{Props, PyValue};

/// Where and why a literal failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyError {
    /// 1-based character column inside the cell.
    pub column: usize,
    pub expected: &'static str,
}

impl fmt::Display for PyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {} at column {}", self.expected, self.column)
    }
}

impl std::error::Error for PyError {}

/// Parses a whole cell that must be a dict literal.
pub fn parse_dict(text: &str) -> Result<Props, PyError> {
    let mut map = Props::new();
    visit_dict(text, |key, value| {
        // Python's dict keeps the last of repeated keys, in first position.
        map.insert(key.into_owned(), value.into_value());
    })?;
    Ok(map)
}

/// A value met by [`visit_dict`]: strings borrowed from the cell where
/// possible, anything else parsed whole.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit<'a> {
    Str(Cow<'a, str>),
    Other(PyValue),
}

impl Lit<'_> {
    pub fn into_value(self) -> PyValue {
        match self {
            Lit::Str(s) => PyValue::Str(s.into_owned()),
            Lit::Other(v) => v,
        }
    }

    /// The value as text (see [`PyValue::as_text`]).
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Lit::Str(s) => Some(Cow::Borrowed(s)),
            Lit::Other(v) => v.as_text(),
        }
    }
}

/// Parses a cell that must be a dict literal, handing each top-level pair
/// to `visit` in order without building a map. On an error some pairs may
/// already have been visited.
pub fn visit_dict<'a>(
    text: &'a str,
    mut visit: impl FnMut(Cow<'a, str>, Lit<'a>),
) -> Result<(), PyError> {
    let mut p = Parser::new(text);
    p.skip_ws();
    if !p.eat(b'{') {
        return Err(p.error("'{'"));
    }
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let key = match p.lit(1)? {
            Lit::Str(k) => k,
            Lit::Other(PyValue::Dict(_) | PyValue::List(_)) => return Err(p.error("a string key")),
            Lit::Other(other) => Cow::Owned(key_text(other)),
        };
        p.skip_ws();
        if !p.eat(b':') {
            return Err(p.error("':' after the key"));
        }
        let value = p.lit(1)?;
        visit(key, value);
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        if !p.eat(b',') {
            return Err(p.error("',' or '}'"));
        }
    }
    p.skip_ws();
    if p.pos != p.src.len() {
        return Err(p.error("end of cell"));
    }
    Ok(())
}

/// Salvages `'key': literal` pairs from a damaged cell (truncated, hand
/// edited, quotes stripped): every position where a string literal followed
/// by `:` and a parseable value starts is taken, the rest skipped.
pub fn salvage_pairs(text: &str) -> Props {
    let mut out = Props::new();
    let mut p = Parser::new(text);
    // Once a key of one quote style ran to the end of the cell unclosed, no
    // later key of that style can close either: skipping them keeps salvage
    // linear on hostile cells (a megabyte of `\"`).
    let mut unclosed = [false; 2];
    while p.pos < p.src.len() {
        let start = p.pos;
        if let Some(quote) = p.key_quote_at_cursor()
            && !unclosed[usize::from(quote == b'"')]
        {
            match p.pair_at_cursor() {
                Ok(Some((key, value))) => {
                    out.insert(key, value);
                    continue;
                }
                Ok(None) => {}
                Err(()) => unclosed[usize::from(quote == b'"')] = true,
            }
        }
        p.pos = start + 1;
        while p.pos < p.src.len() && !p.src.is_char_boundary(p.pos) {
            p.pos += 1;
        }
    }
    out
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser { src, pos: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn error(&self, expected: &'static str) -> PyError {
        let column = self.src[..self.pos.min(self.src.len())].chars().count() + 1;
        PyError { column, expected }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// A value at the cursor; strings without escapes are borrowed.
    fn lit(&mut self, depth: usize) -> Result<Lit<'a>, PyError> {
        self.skip_ws();
        let b = self.bytes();
        let prefixed = |i: usize| {
            matches!(b.get(i), Some(b'u' | b'U' | b'b' | b'B'))
                && matches!(b.get(i + 1), Some(b'\'' | b'"'))
        };
        match self.peek() {
            Some(b'\'' | b'"') => self.string_cow(false).map(Lit::Str),
            Some(_) if prefixed(self.pos) => {
                self.pos += 1;
                self.string_cow(false).map(Lit::Str)
            }
            _ => self.value(depth).map(Lit::Other),
        }
    }

    fn value(&mut self, depth: usize) -> Result<PyValue, PyError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting no deeper than 64 levels"));
        }
        self.skip_ws();
        match self.peek() {
            Some(b'{') => self.dict_or_set(depth),
            Some(b'[') => self.sequence(b']', depth).map(PyValue::List),
            Some(b'(') => self.sequence(b')', depth).map(PyValue::List),
            Some(b'\'' | b'"') => self.string().map(PyValue::Str),
            Some(b'-' | b'+' | b'.' | b'0'..=b'9') => self.number(),
            Some(c) if c.is_ascii_alphabetic() => self.word(),
            _ => Err(self.error("a Python literal")),
        }
    }

    fn dict_or_set(&mut self, depth: usize) -> Result<PyValue, PyError> {
        self.pos += 1; // '{'
        let mut map = Props::new();
        let mut set = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(b'}') {
                break;
            }
            let key = self.value(depth + 1)?;
            self.skip_ws();
            if self.eat(b':') {
                let value = self.value(depth + 1)?;
                // Python's dict keeps the last of repeated keys, in first position.
                map.insert(key_text(key), value);
            } else {
                set.push(key);
            }
            self.skip_ws();
            if self.eat(b'}') {
                break;
            }
            if !self.eat(b',') {
                return Err(self.error("',' or '}'"));
            }
        }
        if !set.is_empty() && map.is_empty() {
            return Ok(PyValue::List(set));
        }
        if !set.is_empty() {
            return Err(self.error("':' after every dict key"));
        }
        Ok(PyValue::Dict(map))
    }

    fn sequence(&mut self, close: u8, depth: usize) -> Result<Vec<PyValue>, PyError> {
        self.pos += 1; // '[' or '('
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(close) {
                return Ok(items);
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            if self.eat(close) {
                return Ok(items);
            }
            if !self.eat(b',') {
                return Err(self.error(if close == b']' {
                    "',' or ']'"
                } else {
                    "',' or ')'"
                }));
            }
        }
    }

    /// `None`, `True`, `False`, `nan`/`inf`, or a prefixed string (`u'…'`).
    fn word(&mut self) -> Result<PyValue, PyError> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
            self.pos += 1;
        }
        let word = &self.src[start..self.pos];
        if matches!(self.peek(), Some(b'\'' | b'"')) && is_string_prefix(word) {
            let raw = word.bytes().any(|c| c.eq_ignore_ascii_case(&b'r'));
            return self.string_body(raw).map(PyValue::Str);
        }
        match word {
            "None" => Ok(PyValue::None),
            "True" => Ok(PyValue::Bool(true)),
            "False" => Ok(PyValue::Bool(false)),
            "nan" => Ok(PyValue::Float(f64::NAN)),
            "inf" => Ok(PyValue::Float(f64::INFINITY)),
            _ => {
                self.pos = start;
                Err(self.error("None, True, False or a string"))
            }
        }
    }

    fn number(&mut self) -> Result<PyValue, PyError> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'+' | b'_'))
        {
            self.pos += 1;
        }
        let token = self.src[start..self.pos].replace('_', "");
        if let Ok(i) = token.parse::<i64>() {
            return Ok(PyValue::Int(i));
        }
        if let Ok(f) = token.parse::<f64>() {
            return Ok(PyValue::Float(f));
        }
        if token
            .bytes()
            .all(|c| c.is_ascii_digit() || c == b'-' || c == b'+')
            && token.len() > 1
        {
            // An integer beyond i64: keep its digits rather than lose them.
            return Ok(PyValue::Str(token));
        }
        self.pos = start;
        Err(self.error("a number"))
    }

    fn string(&mut self) -> Result<String, PyError> {
        self.string_body(false)
    }

    /// Parses a quoted literal at the cursor (the quote itself is next).
    fn string_body(&mut self, raw: bool) -> Result<String, PyError> {
        self.string_cow(raw).map(Cow::into_owned)
    }

    /// A quoted literal at the cursor, borrowed from the cell when it holds
    /// no escape (the common case: no allocation).
    fn string_cow(&mut self, raw: bool) -> Result<Cow<'a, str>, PyError> {
        let quote = self.peek().ok_or_else(|| self.error("a quote"))?;
        self.pos += 1;
        let start = self.pos;
        let src: &'a str = self.src;
        let rest = &src[self.pos..];
        let run = memchr::memchr2(quote, b'\\', rest.as_bytes())
            .ok_or_else(|| self.error("a closing quote"))?;
        self.pos += run;
        if self.eat(quote) {
            return Ok(Cow::Borrowed(&src[start..start + run]));
        }
        let mut out = String::from(&src[start..start + run]);
        loop {
            self.pos += 1; // the backslash
            if raw {
                out.push('\\');
                let c = self
                    .next_char()
                    .ok_or_else(|| self.error("a closing quote"))?;
                out.push(c);
            } else {
                self.escape(&mut out)?;
            }
            let rest = &src[self.pos..];
            // Copy the run up to the next quote or backslash in one go.
            let run = memchr::memchr2(quote, b'\\', rest.as_bytes())
                .ok_or_else(|| self.error("a closing quote"))?;
            out.push_str(&rest[..run]);
            self.pos += run;
            if self.eat(quote) {
                return Ok(Cow::Owned(out));
            }
        }
    }

    fn next_char(&mut self) -> Option<char> {
        let c = self.src[self.pos..].chars().next()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// One escape after its backslash, with Python's meaning; an unknown
    /// escape keeps the backslash, as Python does.
    fn escape(&mut self, out: &mut String) -> Result<(), PyError> {
        let c = self.next_char().ok_or_else(|| self.error("an escape"))?;
        let simple = match c {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'v' => Some('\u{b}'),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            return Ok(());
        }
        match c {
            'x' => self.hex_escape(2, out),
            'u' => self.hex_escape(4, out),
            'U' => self.hex_escape(8, out),
            '0'..='7' => {
                let mut value = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                out.push(char::from_u32(value).unwrap_or('\u{FFFD}'));
                Ok(())
            }
            '\n' => Ok(()), // line continuation
            other => {
                out.push('\\');
                out.push(other);
                Ok(())
            }
        }
    }

    fn hex_escape(&mut self, digits: usize, out: &mut String) -> Result<(), PyError> {
        let hex = self
            .src
            .get(self.pos..self.pos + digits)
            .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("hex digits after \\x, \\u or \\U"))?;
        let value = u32::from_str_radix(hex, 16).map_err(|_| self.error("hex digits"))?;
        self.pos += digits;
        // Lone surrogates (legal in Python, not in Rust) become U+FFFD.
        out.push(char::from_u32(value).unwrap_or('\u{FFFD}'));
        Ok(())
    }

    /// For salvage: the quote of a string literal starting at the cursor
    /// (`'`, `"`, or one after a `u`/`b`/`r` prefix).
    fn key_quote_at_cursor(&self) -> Option<u8> {
        let b = self.bytes();
        let at = |i: usize| b.get(self.pos + i).copied();
        match (at(0), at(1)) {
            (Some(q @ (b'\'' | b'"')), _) => Some(q),
            (Some(b'u' | b'U' | b'b' | b'B' | b'r' | b'R'), Some(q @ (b'\'' | b'"'))) => Some(q),
            _ => None,
        }
    }

    /// For salvage: a `'key': value` pair starting exactly at the cursor.
    /// `Err` when the key's string never closes.
    fn pair_at_cursor(&mut self) -> Result<Option<(String, PyValue)>, ()> {
        let start = self.pos;
        let key = match self.value(MAX_DEPTH) {
            Ok(PyValue::Str(k)) => k,
            Err(e) if e.expected == "a closing quote" => return Err(()),
            _ => {
                self.pos = start;
                return Ok(None);
            }
        };
        self.skip_ws();
        if !self.eat(b':') {
            self.pos = start;
            return Ok(None);
        }
        match self.value(MAX_DEPTH - 2) {
            Ok(v) => Ok(Some((key, v))),
            Err(_) => {
                self.pos = start;
                Ok(None)
            }
        }
    }
}

fn is_string_prefix(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "u" | "b" | "r" | "br" | "rb" | "ur"
    )
}

fn key_text(key: PyValue) -> String {
    match key {
        PyValue::Str(s) => s,
        other => other
            .as_text()
            .map(|t| t.into_owned())
            .unwrap_or_else(|| "None".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> PyValue {
        PyValue::Str(v.into())
    }

    #[test]
    fn parses_the_py3_repr_of_a_delivery() {
        let cell = r#"{'IsClutter': 'False', 'Subject': "Re: O'Neill invoice, payment due", 'DeliveredFolderType': '5'}"#;
        let map = parse_dict(cell).unwrap();
        assert_eq!(
            map.keys().collect::<Vec<_>>(),
            ["IsClutter", "Subject", "DeliveredFolderType"]
        );
        assert_eq!(map["Subject"], s("Re: O'Neill invoice, payment due"));
    }

    #[test]
    fn decodes_every_escape() {
        let cell = r"{'a': 'x\\y\'z\n\r\t\xa0\u200b\U0001F600\x41\101\q'}";
        let map = parse_dict(cell).unwrap();
        assert_eq!(map["a"], s("x\\y'z\n\r\t\u{a0}\u{200b}😀AA\\q"));
    }

    #[test]
    fn python2_prefixes_and_none() {
        let cell =
            r#"{u'Query': u'wire transfer', u'Subject': u"Caf\xe9 \u2013 O'Neill", u'X': None}"#;
        let map = parse_dict(cell).unwrap();
        assert_eq!(map["Query"], s("wire transfer"));
        assert_eq!(map["Subject"], s("Café – O'Neill"));
        assert_eq!(map["X"], PyValue::None);
    }

    #[test]
    fn non_string_literals_do_not_crash() {
        let map = parse_dict(
            "{'a': True, 'b': 5, 'c': -1.5, 'd': [1, (2, 3)], 'e': {'f': None}, 5: 'k'}",
        )
        .unwrap();
        assert_eq!(map["a"], PyValue::Bool(true));
        assert_eq!(map["b"], PyValue::Int(5));
        assert_eq!(map["c"], PyValue::Float(-1.5));
        assert_eq!(map["5"], s("k"));
        assert!(matches!(map["d"], PyValue::List(ref l) if l.len() == 2));
    }

    #[test]
    fn repeated_key_keeps_last_value() {
        let map = parse_dict("{'a': '1', 'a': '2'}").unwrap();
        assert_eq!(map.len(), 1);
        assert_eq!(map["a"], s("2"));
    }

    #[test]
    fn errors_name_the_column() {
        let err = parse_dict("{'a': 'b' 'c': 'd'}").unwrap_err();
        assert_eq!(err.to_string(), "expected ',' or '}' at column 11");
        assert!(parse_dict("{'a': 'unterminated").is_err());
        assert!(parse_dict("['not', 'a', 'dict']").is_err());
        assert!(parse_dict("").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{{'a': {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let err = parse_dict(&deep).unwrap_err();
        assert!(err.expected.contains("nesting"));
    }

    #[test]
    fn salvage_recovers_pairs_from_a_cut_cell() {
        let map = salvage_pairs("{'Query': 'wire transfer', 'Sid': 'abc', 'Res");
        assert_eq!(map["Query"], s("wire transfer"));
        assert_eq!(map["Sid"], s("abc"));
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn salvage_is_linear_on_hostile_cells() {
        let hostile = format!("{{'a': 'b', {}", "\\\"x".repeat(300_000));
        // Quadratic salvage would not finish here (~10^11 steps); linear
        // salvage takes milliseconds.
        let map = salvage_pairs(&hostile);
        assert_eq!(map["a"], s("b"));
        assert!(salvage_pairs(&"a".repeat(1_000_000)).is_empty());
    }

    #[test]
    fn salvage_never_panics_on_multibyte_text() {
        let map = salvage_pairs("é'k': 'v' ü 中 'x'");
        assert_eq!(map["k"], s("v"));
    }
}
