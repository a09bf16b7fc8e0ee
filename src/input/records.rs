//! Splitting the decoded stream into CSV records, robustly.
//!
//! retriever never writes a raw line break inside a field (`repr` escapes
//! them), so a record is normally one physical line. A record continues on
//! the next line only while a quote is open (a file edited in Excel), and
//! only for a bounded number of lines and bytes: a stray quote is one
//! rejected line, not the silent loss of the rest of the file. Lines longer
//! than [`MAX_RECORD_BYTES`] are skipped without being held in memory.

use std::io::{self, BufRead};

/// The largest record kept (spec §4.3 asks for at least 10 MB fields).
pub const MAX_RECORD_BYTES: usize = 64 << 20;
/// Lines a quoted field may span before the quote is judged unterminated.
pub const MAX_RECORD_LINES: usize = 100;

/// What the splitter yields.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A record: its first line and how many lines it spans; the bytes are
    /// in [`Records::record`] (line terminator removed).
    Record {
        line: u64,
    },
    /// A line over [`MAX_RECORD_BYTES`], skipped.
    TooLong {
        line: u64,
        bytes: u64,
    },
    /// A quote opened on `line` never closed within the bounds; the line is
    /// rejected and the lines after it are read again as records.
    Unterminated {
        line: u64,
    },
    End,
}

pub struct Records<R> {
    inner: R,
    /// Number of the next physical line to read.
    next_line: u64,
    record: Vec<u8>,
    /// Lines read ahead while looking for a closing quote, to replay.
    replay: std::collections::VecDeque<(u64, Vec<u8>)>,
    /// The last byte of the input was not a line feed.
    pub missing_final_newline: bool,
}

impl<R: BufRead> Records<R> {
    pub fn new(inner: R) -> Self {
        Records {
            inner,
            next_line: 1,
            record: Vec::new(),
            replay: Default::default(),
            missing_final_newline: false,
        }
    }

    /// The bytes of the last [`Next::Record`].
    pub fn record(&self) -> &[u8] {
        &self.record
    }

    pub fn next_record(&mut self) -> io::Result<Next> {
        let Some((line, first)) = self.line()? else {
            return Ok(Next::End);
        };
        let first = match first {
            Line::Text(t) => t,
            Line::TooLong(bytes) => return Ok(Next::TooLong { line, bytes }),
        };
        self.record = first;
        if !open_quote(&self.record) {
            return Ok(Next::Record { line });
        }
        // A quoted field spans lines: join while the quote stays open.
        let mut taken: Vec<(u64, Vec<u8>)> = Vec::new();
        while taken.len() < MAX_RECORD_LINES {
            let Some((n, next)) = self.line()? else { break };
            let Line::Text(text) = next else {
                taken.push((n, Vec::new()));
                break;
            };
            let joined_len = self.record.len()
                + taken.iter().map(|(_, t)| t.len() + 1).sum::<usize>()
                + text.len()
                + 1;
            taken.push((n, text));
            if joined_len > MAX_RECORD_BYTES {
                break;
            }
            let mut all = self.record.clone();
            for (_, t) in &taken {
                all.push(b'\n');
                all.extend_from_slice(t);
            }
            if !open_quote(&all) {
                self.record = all;
                return Ok(Next::Record { line });
            }
        }
        for t in taken.into_iter().rev() {
            self.replay.push_front(t);
        }
        Ok(Next::Unterminated { line })
    }

    /// The next physical line (replayed first), without its `\n` or `\r\n`.
    fn line(&mut self) -> io::Result<Option<(u64, Line)>> {
        if let Some((n, text)) = self.replay.pop_front() {
            return Ok(Some((n, Line::Text(text))));
        }
        let line = self.next_line;
        let mut text = Vec::new();
        let mut skipped: u64 = 0;
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                if text.is_empty() && skipped == 0 {
                    return Ok(None);
                }
                self.missing_final_newline = true;
                break;
            }
            let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], i + 1),
                None => (buf, buf.len()),
            };
            if skipped > 0 || text.len() + chunk.len() > MAX_RECORD_BYTES {
                skipped += (text.len() + chunk.len()) as u64;
                text = Vec::new();
            } else {
                text.extend_from_slice(chunk);
            }
            let found = done > chunk.len();
            self.inner.consume(done);
            if found {
                self.missing_final_newline = false;
                break;
            }
        }
        self.next_line += 1;
        if skipped > 0 {
            return Ok(Some((line, Line::TooLong(skipped))));
        }
        if text.last() == Some(&b'\r') {
            text.pop();
        }
        Ok(Some((line, Line::Text(text))))
    }
}

enum Line {
    Text(Vec<u8>),
    TooLong(u64),
}

/// An odd number of `"` means a quoted field is still open: in CSV every
/// quote is a field delimiter or half of a doubled `""`.
fn open_quote(bytes: &[u8]) -> bool {
    bytes.iter().filter(|&&b| b == b'"').count() % 2 == 1
}

/// Fields of one record, split by `csv_core` (quotes and `""` undone).
#[derive(Debug, Default)]
pub struct Fields {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl Fields {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.buf.get(start..end)
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// A record with one empty field: a blank line, not a row.
    pub fn is_blank(&self) -> bool {
        self.len() == 1 && self.get(0).is_some_and(<[u8]>::is_empty)
    }
}

/// Splits reusable: one `csv_core` reader and buffers for every record.
pub struct Splitter {
    core: csv_core::Reader,
}

impl Default for Splitter {
    fn default() -> Self {
        Splitter {
            core: csv_core::ReaderBuilder::new()
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
        }
    }
}

impl Splitter {
    pub fn split(&mut self, record: &[u8], out: &mut Fields) {
        use csv_core::ReadRecordResult as R;
        self.core.reset();
        out.buf.clear();
        out.buf.resize(record.len() + 1, 0);
        out.ends.clear();
        out.ends
            .resize(record.iter().filter(|&&b| b == b',').count() + 2, 0);
        if record.is_empty() {
            // A blank line: one empty field (csv_core would see end of input).
            out.ends.truncate(1);
            out.ends[0] = 0;
            out.buf.clear();
            return;
        }

        let (mut input, mut nout, mut nend, mut eof) = (record, 0, 0, false);
        loop {
            let (res, nin, o, e) =
                self.core
                    .read_record(input, &mut out.buf[nout..], &mut out.ends[nend..]);
            input = &input[nin..];
            // `ends` count from the record's start, across calls.
            nout += o;
            nend += e;
            match res {
                // Empty input tells csv_core the record is complete.
                R::InputEmpty if !eof => eof = true,
                // Buffers are sized to fit, so the rest cannot happen.
                _ => break,
            }
        }
        out.ends.truncate(nend);
        out.buf.truncate(nout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8]) -> Vec<(Next, Vec<u8>)> {
        let mut r = Records::new(io::Cursor::new(text.to_vec()));
        let mut out = Vec::new();
        loop {
            let n = r.next_record().unwrap();
            if n == Next::End {
                return out;
            }
            let bytes = if matches!(n, Next::Record { .. }) {
                r.record().to_vec()
            } else {
                Vec::new()
            };
            out.push((n, bytes));
        }
    }

    fn split(record: &[u8]) -> Vec<String> {
        let mut f = Fields::default();
        Splitter::default().split(record, &mut f);
        f.iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    #[test]
    fn lines_crlf_and_quoted_breaks() {
        let got = all(b"a,b\r\n\"x\ny\",z\nlast");
        assert_eq!(got[0], (Next::Record { line: 1 }, b"a,b".to_vec()));
        assert_eq!(got[1], (Next::Record { line: 2 }, b"\"x\ny\",z".to_vec()));
        assert_eq!(got[2], (Next::Record { line: 4 }, b"last".to_vec()));
    }

    #[test]
    fn stray_quote_costs_one_line() {
        let mut text = b"ok,1\n\"broken,2\n".to_vec();
        for i in 0..150 {
            text.extend_from_slice(format!("row,{i}\n").as_bytes());
        }
        let got = all(&text);
        assert_eq!(got[1].0, Next::Unterminated { line: 2 });
        assert_eq!(got[2], (Next::Record { line: 3 }, b"row,0".to_vec()));
        assert_eq!(got.len(), 2 + 150);
    }

    #[test]
    fn overlong_line_is_skipped_not_kept() {
        let mut text = b"a\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_RECORD_BYTES + 10));
        text.extend_from_slice(b"\nb\n");
        let got = all(&text);
        assert_eq!(
            got[1].0,
            Next::TooLong {
                line: 2,
                bytes: (MAX_RECORD_BYTES + 10) as u64
            }
        );
        assert_eq!(got[2], (Next::Record { line: 3 }, b"b".to_vec()));
    }

    #[test]
    fn fields_are_unquoted() {
        assert_eq!(split(br#"a,"b,c","d""e",,"#), ["a", "b,c", "d\"e", "", ""]);
        assert_eq!(split(b""), [""]);
        assert_eq!(
            split(br#"x,"{'S': ""O'Neill""}""#),
            ["x", r#"{'S': "O'Neill"}"#]
        );
    }
}
