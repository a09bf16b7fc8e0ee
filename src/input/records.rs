//! Splitting the decoded stream into CSV records, robustly.
//!
//! retriever never writes a raw line break inside a field (`repr` escapes
//! them), so a record is normally one physical line. A record continues on
//! the next line only while a quote is open (a file edited in Excel), and
//! only for a bounded number of lines and bytes: a stray quote is one
//! rejected line, not the silent loss of the rest of the file. Lines longer
//! than [`MAX_RECORD_BYTES`] are skipped without being held in memory.

use std::io::{self, BufRead};

/// The largest record kept (`docs/format.md` §4.3 asks for at least 10 MB fields).
pub(super) const MAX_RECORD_BYTES: usize = 64 << 20;
/// Lines a quoted field may span before the quote is judged unterminated.
pub(super) const MAX_RECORD_LINES: usize = 100;

/// What the splitter yields.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
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

pub(super) struct Records<R> {
    inner: R,
    /// Number of the next physical line to read.
    next_line: u64,
    record: Vec<u8>,
    /// Byte offset of the last record's first line in the stream.
    record_offset: u64,
    /// Bytes consumed from the stream so far.
    consumed: u64,
    /// Lines read ahead while looking for a closing quote, to replay: line
    /// number, byte offset, text.
    replay: std::collections::VecDeque<(u64, u64, Vec<u8>, Option<u64>)>,
    /// The last byte of the input was not a line feed.
    pub missing_final_newline: bool,
}

impl<R: BufRead> Records<R> {
    pub(super) fn new(inner: R) -> Self {
        Records {
            inner,
            next_line: 1,
            record: Vec::new(),
            record_offset: 0,
            consumed: 0,
            replay: Default::default(),
            missing_final_newline: false,
        }
    }

    /// The bytes of the last [`Next::Record`].
    pub(super) fn record(&self) -> &[u8] {
        &self.record
    }

    /// The number of the next physical line.
    pub(super) fn next_line(&self) -> u64 {
        self.next_line
    }

    /// Bytes consumed from the stream so far.
    pub(super) fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Byte offset of the last record in the stream.
    pub(super) fn record_offset(&self) -> u64 {
        self.record_offset
    }

    /// The next record, kept here: [`Records::record`] gives its bytes.
    pub(super) fn next_record(&mut self) -> io::Result<Next> {
        let mut record = std::mem::take(&mut self.record);
        record.clear();
        let next = self.next_record_into(&mut record);
        self.record = record;
        next
    }

    /// The next record, its bytes appended to `out` (the parallel reader's
    /// batch) rather than kept here: one copy fewer per row.
    pub(super) fn next_record_into(&mut self, out: &mut Vec<u8>) -> io::Result<Next> {
        let start = out.len();
        let Some((line, offset, skipped)) = self.line_into(out)? else {
            return Ok(Next::End);
        };
        self.record_offset = offset;
        if let Some(bytes) = skipped {
            return Ok(Next::TooLong { line, bytes });
        }
        if !open_quote(&out[start..]) {
            return Ok(Next::Record { line });
        }
        // A quoted field spans lines (rare): joined by the general path.
        self.record.clear();
        self.record.extend_from_slice(&out[start..]);
        out.truncate(start);
        let next = self.join_quoted(line)?;
        if matches!(next, Next::Record { .. }) {
            out.extend_from_slice(&self.record);
        }
        Ok(next)
    }

    /// A quoted field spans lines: join while the quote stays open, within
    /// the bounds; otherwise give the lines back for re-reading.
    fn join_quoted(&mut self, line: u64) -> io::Result<Next> {
        let mut taken: Vec<(u64, u64, Vec<u8>, Option<u64>)> = Vec::new();
        let mut joined = self.record.clone();
        while taken.len() < MAX_RECORD_LINES {
            let mut text = Vec::new();
            let Some((n, offset, skipped)) = self.line_into(&mut text)? else {
                break;
            };
            let too_big = joined.len() + text.len() + 1 > MAX_RECORD_BYTES;
            if skipped.is_some() || too_big {
                // Given back below; a skipped line is then rejected on its own.
                taken.push((n, offset, text, skipped));
                break;
            }
            joined.push(b'\n');
            joined.extend_from_slice(&text);
            taken.push((n, offset, text, None));
            if !open_quote(&joined) {
                self.record = joined;
                return Ok(Next::Record { line });
            }
        }
        for t in taken.into_iter().rev() {
            self.replay.push_front(t);
        }
        Ok(Next::Unterminated { line })
    }

    /// Appends the next physical line (replayed first) to `text`, without
    /// its `\n` or `\r\n`: line number, byte offset, and the byte count
    /// when it was over the limit and skipped (nothing appended then).
    fn line_into(&mut self, text: &mut Vec<u8>) -> io::Result<Option<(u64, u64, Option<u64>)>> {
        let start = text.len();
        if let Some((n, offset, replayed, skipped)) = self.replay.pop_front() {
            text.extend_from_slice(&replayed);
            return Ok(Some((n, offset, skipped)));
        }
        let (line, offset) = (self.next_line, self.consumed);
        let mut skipped: u64 = 0;
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                if text.len() == start && skipped == 0 {
                    return Ok(None);
                }
                self.missing_final_newline = true;
                break;
            }
            let (chunk, done) = match memchr::memchr(b'\n', buf) {
                Some(i) => (&buf[..i], i + 1),
                None => (buf, buf.len()),
            };
            let held = text.len() - start;
            if skipped > 0 || held + chunk.len() > MAX_RECORD_BYTES {
                skipped += (held + chunk.len()) as u64;
                text.truncate(start);
            } else {
                text.extend_from_slice(chunk);
            }
            let found = done > chunk.len();
            self.inner.consume(done);
            self.consumed += done as u64;
            if found {
                self.missing_final_newline = false;
                break;
            }
        }
        self.next_line += 1;
        if skipped > 0 {
            text.truncate(start);
            return Ok(Some((line, offset, Some(skipped))));
        }
        if text.len() > start && text.last() == Some(&b'\r') {
            text.pop();
        }
        Ok(Some((line, offset, None)))
    }
}

/// An odd number of `"` means a quoted field is still open: in CSV every
/// quote is a field delimiter or half of a doubled `""`.
fn open_quote(bytes: &[u8]) -> bool {
    memchr::memchr_iter(b'"', bytes).count() % 2 == 1
}

/// Fields of one record, split by `csv_core` (quotes and `""` undone).
#[derive(Debug, Default)]
pub(crate) struct Fields {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl Fields {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.buf.get(start..end)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// A record with one empty field: a blank line, not a row.
    pub(crate) fn is_blank(&self) -> bool {
        self.len() == 1 && self.get(0).is_some_and(<[u8]>::is_empty)
    }
}

/// Splits reusable: one `csv_core` reader and buffers for every record.
pub(super) struct Splitter {
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
    pub(super) fn split(&mut self, record: &[u8], out: &mut Fields) {
        use csv_core::ReadRecordResult as R;
        if split_plain(record, out) {
            return;
        }
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

/// The shape retriever writes, split without the CSV state machine: bare
/// fields with no quote, and at most a last field quoted whole with no
/// quote inside (the `CustomProperties` dict). Returns false, with `out` in
/// any state, for everything else (doubled quotes, quotes mid-field, line
/// breaks), which `csv_core` then splits.
fn split_plain(record: &[u8], out: &mut Fields) -> bool {
    if memchr::memchr(b'\n', record).is_some() {
        return false;
    }
    out.buf.clear();
    out.ends.clear();
    let mut rest = record;
    loop {
        if let Some(quoted) = rest.strip_prefix(b"\"") {
            return match quoted.strip_suffix(b"\"") {
                Some(inner) if memchr::memchr(b'"', inner).is_none() => {
                    out.buf.extend_from_slice(inner);
                    out.ends.push(out.buf.len());
                    true
                }
                _ => false,
            };
        }
        let end = memchr::memchr2(b',', b'"', rest);
        let field = &rest[..end.unwrap_or(rest.len())];
        out.buf.extend_from_slice(field);
        out.ends.push(out.buf.len());
        match end {
            None => return true,
            Some(i) if rest[i] == b'"' => return false,
            Some(i) => rest = &rest[i + 1..],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record, read both ways; the two must agree.
    fn all(text: &[u8]) -> Vec<(Next, Vec<u8>)> {
        let kept = all_kept(text);
        let mut r = Records::new(io::Cursor::new(text.to_vec()));
        let mut appended = Vec::new();
        let mut batch = b"earlier".to_vec();
        loop {
            let start = batch.len();
            let n = r.next_record_into(&mut batch).unwrap();
            if n == Next::End {
                break;
            }
            let bytes = if matches!(n, Next::Record { .. }) {
                batch[start..].to_vec()
            } else {
                Vec::new()
            };
            assert_eq!(batch.len() - start, bytes.len(), "only records append");
            appended.push((n, bytes));
        }
        assert_eq!(appended, kept);
        kept
    }

    fn all_kept(text: &[u8]) -> Vec<(Next, Vec<u8>)> {
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

    proptest::proptest! {
        /// Where the plain splitter accepts a record, it splits it exactly as
        /// the CSV state machine (the `csv` crate, a separate reader) does.
        #[test]
        fn plain_split_agrees_with_csv(record in "[a,\"\r\n ']{1,24}") {
            let mut plain = Fields::default();
            if split_plain(record.as_bytes(), &mut plain) {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .terminator(csv::Terminator::Any(b'\n'))
                    .from_reader(record.as_bytes());
                let mut expected = csv::ByteRecord::new();
                proptest::prop_assert!(reader.read_byte_record(&mut expected).unwrap());
                let expected: Vec<&[u8]> = expected.iter().collect();
                let got: Vec<&[u8]> = plain.iter().collect();
                proptest::prop_assert_eq!(got, expected);
            }
        }
    }

    proptest::proptest! {
        /// Reading a record into a batch buffer and reading it into the
        /// splitter's own buffer give the same records, whatever the quotes
        /// and line breaks (`all` compares the two).
        #[test]
        fn appending_reader_agrees(text in "[a,\"\r\n]{0,64}") {
            all(text.as_bytes());
        }
    }

    #[test]
    fn plain_split_takes_retriever_rows_only() {
        let mut f = Fields::default();
        assert!(split_plain(br#"t,Web,Logon,,c,s,"{'a': 'b, c'}""#, &mut f));
        assert_eq!(f.get(6), Some(&b"{'a': 'b, c'}"[..]));
        assert!(split_plain(b"t,Web,Logon,,c,s,{}", &mut f));
        assert!(!split_plain(br#"a,"b",c"#, &mut f));
        assert!(!split_plain(br#"a,"b""c""#, &mut f));
        assert!(!split_plain(b"a,b\"c", &mut f));
        assert!(!split_plain(b"a,\"b\nc\"", &mut f));
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
