//! Byte-level decoding of an export: BOM sniffing, UTF-16 transcoding and the
//! per-field UTF-8 → cp1252 fallback (`docs/format.md` §1.2, §11.1).

pub use crate::evidence::Encoding;
use std::borrow::Cow;
use std::io::{self, BufRead, Read};

/// Looks at the first bytes and returns the encoding plus a reader that
/// yields UTF-8 (or cp1252) bytes with any BOM consumed.
pub fn sniff<R: BufRead + Send + 'static>(
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
        Encoding::Utf16Le => Box::new(io::BufReader::new(Utf16Reader::new(chained, true))),
        Encoding::Utf16Be => Box::new(io::BufReader::new(Utf16Reader::new(chained, false))),
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

/// Decodes one field: UTF-8 when valid, else Windows-1252. The flag says
/// whether the fallback was used.
pub fn decode_field(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (Cow::Borrowed(s), false),
        Err(_) => (
            Cow::Owned(bytes.iter().map(|&b| cp1252_char(b)).collect()),
            true,
        ),
    }
}

/// Windows-1252: Latin-1 except 0x80–0x9F. The five undefined bytes map to
/// the C1 control of the same value, as Windows' own decoder does.
fn cp1252_char(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// Streams UTF-16 as UTF-8. Unpaired surrogates and a dangling odd byte
/// become U+FFFD rather than an error: the row survives, visibly marked.
struct Utf16Reader<R> {
    inner: R,
    little_endian: bool,
    pending: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    raw: Vec<u8>,
}

impl<R: Read> Utf16Reader<R> {
    fn new(inner: R, little_endian: bool) -> Self {
        Utf16Reader {
            inner,
            little_endian,
            pending: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            raw: vec![0; 1 << 15],
        }
    }

    /// Decodes the next chunk into `out`; false at end of input.
    fn refill(&mut self) -> io::Result<bool> {
        let n = self.inner.read(&mut self.raw)?;
        if n == 0 && self.pending.is_empty() {
            return Ok(false);
        }
        self.pending.extend_from_slice(&self.raw[..n]);
        let at_end = n == 0;
        let mut usable = self.pending.len() & !1;
        let unit = |p: &[u8], i: usize, le: bool| {
            if le {
                u16::from_le_bytes([p[i], p[i + 1]])
            } else {
                u16::from_be_bytes([p[i], p[i + 1]])
            }
        };
        // Keep a trailing high surrogate until its partner arrives.
        if !at_end
            && usable >= 2
            && (0xD800..0xDC00).contains(&unit(&self.pending, usable - 2, self.little_endian))
        {
            usable -= 2;
        }
        let units: Vec<u16> = (0..usable)
            .step_by(2)
            .map(|i| unit(&self.pending, i, self.little_endian))
            .collect();
        self.out.clear();
        self.out_pos = 0;
        let mut buf = [0u8; 4];
        for c in char::decode_utf16(units) {
            let c = c.unwrap_or('\u{FFFD}');
            self.out
                .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        self.pending.drain(..usable);
        if at_end && !self.pending.is_empty() {
            self.pending.clear();
            self.out.extend_from_slice("\u{FFFD}".as_bytes());
        }
        Ok(true)
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos >= self.out.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
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
    fn tiny_and_empty_inputs() {
        assert_eq!(read_all(Vec::new()), (Encoding::Utf8, String::new()));
        assert_eq!(read_all(b"a".to_vec()), (Encoding::Utf8, "a".into()));
    }
}
