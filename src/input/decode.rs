//! Byte-level decoding of an export: BOM sniffing, UTF-16 transcoding and the
//! per-field UTF-8 → cp1252 fallback (`docs/format.md` §1.2, §11.1). The
//! transcoding itself is `encoding_rs`'s.

pub(super) use crate::evidence::Encoding;
use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};
use encoding_rs_io::DecodeReaderBytesBuilder;
use std::borrow::Cow;
use std::io::{self, BufRead, Read};

/// Looks at the first bytes and returns the encoding plus a reader that
/// yields UTF-8 (or cp1252) bytes with any BOM consumed.
pub(super) fn sniff<R: BufRead + Send + 'static>(
    mut inner: R,
) -> io::Result<(Encoding, Box<dyn BufRead + Send>)> {
    let head = fill_at_least(&mut inner, 4)?;
    let (encoding, bom_len) = match head.as_slice() {
        [0xEF, 0xBB, 0xBF, ..] => (Encoding::Utf8Bom, 3),
        [0xFF, 0xFE, ..] => (Encoding::Utf16Le, 2),
        [0xFE, 0xFF, ..] => (Encoding::Utf16Be, 2),
        // No BOM: ASCII text in UTF-16 has every other byte zero.
        [a, 0, b, 0, ..] if *a != 0 && *b != 0 => (Encoding::Utf16Le, 0),
        [0, a, 0, b, ..] if *a != 0 && *b != 0 => (Encoding::Utf16Be, 0),
        _ => (Encoding::Utf8, 0),
    };
    let mut chained = io::Cursor::new(head).chain(inner);
    let mut skip = [0u8; 3];
    chained.read_exact(&mut skip[..bom_len])?;
    let reader: Box<dyn BufRead + Send> = match encoding {
        Encoding::Utf16Le => Box::new(io::BufReader::new(utf16_as_utf8(chained, UTF_16LE))),
        Encoding::Utf16Be => Box::new(io::BufReader::new(utf16_as_utf8(chained, UTF_16BE))),
        _ => Box::new(io::BufReader::with_capacity(1 << 16, chained)),
    };
    Ok((encoding, reader))
}

/// Reads until `n` bytes are buffered or the input ends; returns them.
fn fill_at_least<R: BufRead>(inner: &mut R, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    while head.len() < n {
        let buf = inner.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let take = buf.len().min(n - head.len());
        head.extend_from_slice(&buf[..take]);
        inner.consume(take);
    }
    Ok(head)
}

/// Decodes one field: UTF-8 when valid, else Windows-1252 (the five bytes
/// it leaves undefined become the C1 control of the same value, as
/// Windows' own decoder and the WHATWG encoding standard do). The flag says
/// whether the fallback was used.
pub(super) fn decode_field(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (Cow::Borrowed(s), false),
        Err(_) => (WINDOWS_1252.decode_without_bom_handling(bytes).0, true),
    }
}

/// UTF-16 (its BOM, if any, already read) as UTF-8. Unpaired surrogates and
/// a dangling odd byte become U+FFFD rather than an error: the row
/// survives, visibly marked.
fn utf16_as_utf8<R: Read>(inner: R, encoding: &'static encoding_rs::Encoding) -> impl Read {
    DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .bom_sniffing(false)
        .build(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: Vec<u8>) -> (Encoding, String) {
        let (enc, mut r) = sniff(io::Cursor::new(bytes)).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        (enc, s)
    }

    #[test]
    fn utf8_bom_is_consumed() {
        assert_eq!(
            read_all(b"\xEF\xBB\xBFTime".to_vec()),
            (Encoding::Utf8Bom, "Time".into())
        );
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let text = "Tï,😀\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(
            read_all([vec![0xFF, 0xFE], le.clone()].concat()),
            (Encoding::Utf16Le, text.into())
        );
        assert_eq!(
            read_all([vec![0xFE, 0xFF], be.clone()].concat()),
            (Encoding::Utf16Be, text.into())
        );
        assert_eq!(read_all(le).0, Encoding::Utf16Le);
        assert_eq!(read_all(be).0, Encoding::Utf16Be);
    }

    #[test]
    fn odd_utf16_tail_becomes_replacement() {
        assert_eq!(read_all(vec![0xFF, 0xFE, b'A', 0, b'B']).1, "A\u{FFFD}");
    }

    #[test]
    fn cp1252_fallback_per_field() {
        assert_eq!(
            decode_field(b"Caf\xe9 \x96 x"),
            (Cow::Owned::<str>("Café – x".into()), true)
        );
        assert_eq!(
            decode_field("Café".as_bytes()),
            (Cow::Borrowed("Café"), false)
        );
    }

    #[test]
    fn cp1252_undefined_bytes_are_c1_controls() {
        for b in [0x81u8, 0x8D, 0x8F, 0x90, 0x9D] {
            let bytes = [b, 0xFF];
            let (text, fallback) = decode_field(&bytes);
            assert!(fallback);
            assert_eq!(text, format!("{}ÿ", char::from(b)));
        }
    }

    #[test]
    fn unpaired_utf16_surrogates_become_replacements() {
        // A high surrogate followed by 'A', and a lone low one.
        let units = [0xD83Du16, 0x41, 0xDE00, 0x42];
        let le: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(
            read_all([vec![0xFF, 0xFE], le].concat()).1,
            "\u{FFFD}A\u{FFFD}B"
        );
    }

    #[test]
    fn tiny_and_empty_inputs() {
        assert_eq!(read_all(Vec::new()), (Encoding::Utf8, String::new()));
        assert_eq!(read_all(b"a".to_vec()), (Encoding::Utf8, "a".into()));
    }
}
