//! Chain of custody: the SHA-256 and size of every input, taken from the
//! bytes as they are read, so the hash describes exactly what was parsed
//! and the file is never read a second time for it (docs/custody.md).
//!
//! Hashing runs on its own thread: the reading thread only copies each
//! block it read into a buffer and hands full buffers over a short queue,
//! so the parse does not wait for the hash.

use sha2::{Digest, Sha256};
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// The hash and byte count of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Custody {
    pub sha256: [u8; 32],
    pub bytes: u64,
}

impl Custody {
    /// Lower-case hex, as `sha256sum` prints it.
    pub fn hex(&self) -> String {
        use std::fmt::Write;
        self.sha256
            .iter()
            .fold(String::with_capacity(64), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
    }
}

/// Bytes handed to the hashing thread at a time.
const BLOCK: usize = 1 << 18;
/// Blocks queued before the reader waits: with [`BLOCK`], about 1.5 MiB.
const QUEUED: usize = 4;

/// A reader that passes every byte through to the hashing thread.
pub struct Hashing<R> {
    inner: R,
    pending: Vec<u8>,
    /// `None` once the source ended: the hasher then finishes.
    to_hasher: Option<SyncSender<Vec<u8>>>,
    /// Emptied buffers coming back, so a long file reuses a few.
    spare: Receiver<Vec<u8>>,
}

/// Collects the result once the reader is done (ended or dropped).
pub struct Hasher(JoinHandle<Custody>);

impl Hasher {
    /// Waits for the hash; call after the [`Hashing`] reader was dropped
    /// or reached the end, else this waits for ever.
    pub fn finish(self) -> io::Result<Custody> {
        self.0
            .join()
            .map_err(|_| io::Error::other("the hashing thread failed"))
    }
}

/// Wraps `inner`; the returned [`Hasher`] gives its hash when reading ends.
pub fn hashing<R: Read>(inner: R) -> (Hashing<R>, Hasher) {
    let (to_hasher, blocks) = sync_channel::<Vec<u8>>(QUEUED);
    let (give_back, spare) = sync_channel::<Vec<u8>>(QUEUED + 2);
    let thread = std::thread::spawn(move || {
        let mut sha = Sha256::new();
        let mut bytes = 0u64;
        for mut block in blocks {
            sha.update(&block);
            bytes += block.len() as u64;
            block.clear();
            // The reader may be gone; a lost spare is only a lost reuse.
            let _ = give_back.try_send(block);
        }
        Custody {
            sha256: sha.finalize().into(),
            bytes,
        }
    });
    let reader = Hashing {
        inner,
        pending: Vec::with_capacity(BLOCK),
        to_hasher: Some(to_hasher),
        spare,
    };
    (reader, Hasher(thread))
}

impl<R> Hashing<R> {
    fn hand_over(&mut self) {
        let Some(tx) = &self.to_hasher else { return };
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BLOCK));
        let full = std::mem::replace(&mut self.pending, next);
        if !full.is_empty() {
            // The hasher only stops when the sender is dropped.
            let _ = tx.send(full);
        }
    }

    fn end(&mut self) {
        self.hand_over();
        self.to_hasher = None;
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.end();
            return Ok(0);
        }
        self.pending.extend_from_slice(&buf[..n]);
        if self.pending.len() >= BLOCK {
            self.hand_over();
        }
        Ok(n)
    }
}

impl<R> Drop for Hashing<R> {
    fn drop(&mut self) {
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_a_direct_hash_over_many_blocks() {
        let data: Vec<u8> = (0..(3 * BLOCK + 12345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let (mut reader, hasher) = hashing(&data[..]);
        let mut sink = Vec::new();
        // Odd-sized reads, as a BufReader's are not.
        let mut buf = [0u8; 7777];
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            sink.extend_from_slice(&buf[..n]);
        }
        drop(reader);
        let got = hasher.finish().unwrap();
        assert_eq!(sink, data);
        assert_eq!(got.bytes, data.len() as u64);
        assert_eq!(got.sha256, <[u8; 32]>::from(Sha256::digest(&data)));
    }

    #[test]
    fn empty_input_is_the_empty_hash() {
        let (reader, hasher) = hashing(&b""[..]);
        drop(reader);
        assert_eq!(
            hasher.finish().unwrap().hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
