use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const LAST_FRAGMENT: u32 = 0x8000_0000;
const READ_CHUNK: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("record of at least {len} bytes is over the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("connection closed in the middle of a record")]
    UnexpectedEof,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Cuts RPC records out of a byte stream (RFC 5531 section 11).
///
/// A record whose fragments add up to more than the cap is refused as soon
/// as the fragment header announcing it arrives, before any memory is set
/// aside for it. A single-fragment record (what every client sends) is
/// returned as a slice of the read buffer without being copied; fragments of
/// a multi-fragment record are copied once into one buffer.
pub struct RecordReader<R> {
    inner: R,
    buf: BytesMut,
    max_record: usize,
}

impl<R: AsyncRead + Unpin> RecordReader<R> {
    pub fn new(inner: R, max_record: usize) -> Self {
        Self {
            inner,
            buf: BytesMut::with_capacity(READ_CHUNK),
            max_record,
        }
    }

    /// Reads more bytes; returns false at end of stream.
    async fn fill(&mut self, want: usize) -> Result<bool, RecordError> {
        if self.buf.capacity() - self.buf.len() < want.min(READ_CHUNK) {
            self.buf.reserve(want.max(READ_CHUNK));
        }
        Ok(self.inner.read_buf(&mut self.buf).await? != 0)
    }

    /// Waits until `n` bytes are buffered. `Ok(false)` means the stream
    /// ended before any byte of this read arrived.
    async fn need(&mut self, n: usize, at_boundary: bool) -> Result<bool, RecordError> {
        while self.buf.len() < n {
            let want = n - self.buf.len();
            if !self.fill(want).await? {
                return if at_boundary && self.buf.is_empty() {
                    Ok(false)
                } else {
                    Err(RecordError::UnexpectedEof)
                };
            }
        }
        Ok(true)
    }

    /// The next whole record, or `None` when the peer closed the connection
    /// between records.
    pub async fn next(&mut self) -> Result<Option<Bytes>, RecordError> {
        let mut assembled: Option<BytesMut> = None;
        loop {
            let at_boundary = assembled.is_none();
            if !self.need(4, at_boundary).await? {
                return Ok(None);
            }
            let header = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
            let len = (header & !LAST_FRAGMENT) as usize;
            let last = header & LAST_FRAGMENT != 0;
            let so_far = assembled.as_ref().map_or(0, BytesMut::len);
            if so_far + len > self.max_record {
                return Err(RecordError::TooLarge {
                    len: so_far + len,
                    max: self.max_record,
                });
            }
            self.need(4 + len, false).await?;
            self.buf.advance(4);
            let fragment = self.buf.split_to(len);
            match (&mut assembled, last) {
                (None, true) => return Ok(Some(fragment.freeze())),
                (None, false) => assembled = Some(fragment),
                (Some(acc), _) => {
                    acc.extend_from_slice(&fragment);
                    if last {
                        return Ok(assembled.map(BytesMut::freeze));
                    }
                }
            }
        }
    }
}

/// The four-byte record mark for a single-fragment record of `len` bytes.
pub fn record_mark(len: usize) -> Bytes {
    Bytes::copy_from_slice(&(len as u32 | LAST_FRAGMENT).to_be_bytes())
}

/// Writes every segment with as few system calls as the kernel allows.
pub async fn write_segments<W: AsyncWrite + Unpin>(
    w: &mut W,
    segs: &mut Vec<Bytes>,
) -> std::io::Result<()> {
    let mut first = 0;
    while first < segs.len() {
        let slices: Vec<IoSlice<'_>> = segs[first..]
            .iter()
            .take(64)
            .map(|s| IoSlice::new(s))
            .collect();
        let mut n = w.write_vectored(&slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while n > 0 {
            let seg = &mut segs[first];
            if n >= seg.len() {
                n -= seg.len();
                first += 1;
            } else {
                seg.advance(n);
                n = 0;
            }
        }
    }
    segs.clear();
    Ok(())
}

/// Writes one single-fragment record made of `segs`.
pub async fn write_record<W: AsyncWrite + Unpin>(
    w: &mut W,
    segs: Vec<Bytes>,
) -> std::io::Result<()> {
    let len: usize = segs.iter().map(Bytes::len).sum();
    let mut all = Vec::with_capacity(segs.len() + 1);
    all.push(record_mark(len));
    all.extend(segs);
    write_segments(w, &mut all).await?;
    w.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(parts: &[(&[u8], bool)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (data, last) in parts {
            let mut h = data.len() as u32;
            if *last {
                h |= LAST_FRAGMENT;
            }
            out.extend_from_slice(&h.to_be_bytes());
            out.extend_from_slice(data);
        }
        out
    }

    #[tokio::test]
    async fn reads_single_and_multi_fragment_records() {
        let mut input = frame(&[(b"abcd", true)]);
        input.extend(frame(&[(b"ab", false), (b"", false), (b"cdef", true)]));
        let mut r = RecordReader::new(&input[..], 1024);
        assert_eq!(&r.next().await.unwrap().unwrap()[..], b"abcd");
        assert_eq!(&r.next().await.unwrap().unwrap()[..], b"abcdef");
        assert!(r.next().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn refuses_oversized_record_from_its_header() {
        let input = 0xffff_ffffu32.to_be_bytes();
        let mut r = RecordReader::new(&input[..], 1 << 20);
        assert!(matches!(r.next().await, Err(RecordError::TooLarge { .. })));
        let input = frame(&[(&[0; 600], false), (&[0; 600], true)]);
        let mut r = RecordReader::new(&input[..], 1000);
        assert!(matches!(
            r.next().await,
            Err(RecordError::TooLarge { len: 1200, .. })
        ));
    }

    #[tokio::test]
    async fn eof_inside_a_record_is_an_error() {
        let mut input = frame(&[(b"abcdefgh", true)]);
        input.truncate(7);
        let mut r = RecordReader::new(&input[..], 1024);
        assert!(matches!(r.next().await, Err(RecordError::UnexpectedEof)));
    }

    #[tokio::test]
    async fn write_record_frames_segments() {
        let mut out = Vec::new();
        write_record(
            &mut out,
            vec![Bytes::from_static(b"ab"), Bytes::from_static(b"cd")],
        )
        .await
        .unwrap();
        let mut r = RecordReader::new(&out[..], 1024);
        assert_eq!(&r.next().await.unwrap().unwrap()[..], b"abcd");
    }
}
