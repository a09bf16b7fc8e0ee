//! Neutralising attacker-chosen text before it reaches a terminal or a
//! spreadsheet. Subjects, search queries, folder names and user agents in an
//! export are written by whoever controlled the mailbox, so none of it is
//! trusted.

use std::borrow::Cow;

/// Characters that change how a terminal renders what follows: C0/C1
/// controls and DEL (`char::is_control`), bidi controls (Trojan Source) and
/// zero-width characters that hide text.
pub(crate) fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Makes `text` safe to print on a terminal: every dangerous character
/// becomes a visible `\u{…}` escape. Borrowed when nothing needed escaping.
pub(crate) fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_dangerous) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_dangerous(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Escapes for the terminal and cuts to at most `max` characters, marking the
/// cut with `…`, for quoting data inside one-line messages.
pub(crate) fn for_terminal_short(text: &str, max: usize) -> String {
    let safe = for_terminal(text);
    if safe.chars().count() <= max {
        return safe.into_owned();
    }
    let mut cut: String = safe.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Neutralises a CSV cell a spreadsheet would evaluate as a formula
/// (OWASP "CSV Injection"): a leading `=`, `+`, `-`, `@`, tab or CR gets a
/// `'` prefix so Excel and LibreOffice show it as text.
pub(crate) fn csv_cell(text: &str) -> Cow<'_, str> {
    match text.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(for_terminal("wire transfer"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_sequences_and_bidi_become_visible() {
        let s = for_terminal("a\u{1b}[2Jb\u{7}c\u{202e}d\re\0");
        assert_eq!(s, "a\\u{1b}[2Jb\\u{7}c\\u{202e}d\\u{d}e\\u{0}");
        assert!(!s.chars().any(char::is_control));
    }

    #[test]
    fn c1_controls_are_escaped() {
        assert_eq!(for_terminal("x\u{9b}y"), "x\\u{9b}y");
    }

    #[test]
    fn short_form_truncates_after_escaping() {
        assert_eq!(for_terminal_short("abcdef", 4), "abc…");
        assert_eq!(for_terminal_short("ab", 4), "ab");
    }

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in [
            "=HYPERLINK(\"x\")",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(csv_cell(bad), format!("'{bad}"));
        }
        assert_eq!(csv_cell("wire"), "wire");
        assert_eq!(csv_cell(""), "");
    }
}
