use bytes::{BufMut, Bytes, BytesMut};

/// A value that does not follow the XDR rules or does not fit its bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XdrError {
    #[error("input ends {needed} bytes early")]
    Truncated { needed: usize },
    #[error("length {len} is over the limit of {max}")]
    TooLong { len: usize, max: usize },
    #[error("{value} is not a valid {what}")]
    BadValue { what: &'static str, value: u32 },
    #[error("{0} bytes left over after the last field")]
    TrailingBytes(usize),
}

/// Reads XDR values out of one received buffer.
///
/// Variable-length data comes back as slices of that buffer, never copies.
#[derive(Debug, Clone)]
pub struct XdrReader {
    buf: Bytes,
    pos: usize,
}

impl XdrReader {
    pub fn new(buf: Bytes) -> Self {
        Self { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    /// Errors if anything is left unread: arguments must be consumed exactly.
    pub fn finish(&self) -> Result<(), XdrError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(XdrError::TrailingBytes(n)),
        }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], XdrError> {
        if self.remaining() < n {
            return Err(XdrError::Truncated {
                needed: n - self.remaining(),
            });
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.buf[start..self.pos])
    }

    pub fn u32(&mut self) -> Result<u32, XdrError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn i32(&mut self) -> Result<i32, XdrError> {
        Ok(self.u32()? as i32)
    }

    pub fn u64(&mut self) -> Result<u64, XdrError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    pub fn i64(&mut self) -> Result<i64, XdrError> {
        Ok(self.u64()? as i64)
    }

    pub fn bool(&mut self) -> Result<bool, XdrError> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(XdrError::BadValue {
                what: "bool",
                value,
            }),
        }
    }

    /// Fixed-length opaque data of `N` bytes plus padding.
    pub fn fixed<const N: usize>(&mut self) -> Result<[u8; N], XdrError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        self.take(pad(N))?;
        Ok(out)
    }

    /// Variable-length opaque data (or a string) of at most `max` bytes.
    ///
    /// The length is checked against `max` and against what was received
    /// before anything is sliced, so a forged length cannot make us allocate.
    pub fn opaque(&mut self, max: usize) -> Result<Bytes, XdrError> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(XdrError::TooLong { len, max });
        }
        let padded = len + pad(len);
        if self.remaining() < padded {
            return Err(XdrError::Truncated {
                needed: padded - self.remaining(),
            });
        }
        let out = self.buf.slice(self.pos..self.pos + len);
        self.pos += padded;
        Ok(out)
    }

    /// A counted array whose element count is bounded by `max` and by the
    /// bytes left (every XDR element takes at least four bytes).
    pub fn array<T: Xdr>(&mut self, max: usize) -> Result<Vec<T>, XdrError> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(XdrError::TooLong { len, max });
        }
        if len > self.remaining() / 4 {
            return Err(XdrError::Truncated {
                needed: len * 4 - self.remaining(),
            });
        }
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            out.push(T::decode(self)?);
        }
        Ok(out)
    }

    /// XDR optional-data (`*T`).
    pub fn optional<T: Xdr>(&mut self) -> Result<Option<T>, XdrError> {
        if self.bool()? {
            Ok(Some(T::decode(self)?))
        } else {
            Ok(None)
        }
    }
}

/// Builds an XDR message as a list of segments.
///
/// Small fields are appended to a growing buffer; large payloads passed to
/// [`XdrWriter::opaque_bytes`] become their own segment, so they reach the
/// socket through a vectored write without an extra copy.
#[derive(Debug, Default)]
pub struct XdrWriter {
    cur: BytesMut,
    done: Vec<Bytes>,
    len: usize,
}

/// Payloads at least this large are kept as their own segment instead of
/// being copied; below it a copy is cheaper than another iovec.
const ZERO_COPY_MIN: usize = 8 * 1024;

impl XdrWriter {
    pub fn new() -> Self {
        Self::with_capacity(256)
    }

    pub fn with_capacity(cap: usize) -> Self {
        Self {
            cur: BytesMut::with_capacity(cap),
            done: Vec::new(),
            len: 0,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn u32(&mut self, v: u32) {
        self.cur.put_u32(v);
        self.len += 4;
    }

    pub fn i32(&mut self, v: i32) {
        self.u32(v as u32);
    }

    pub fn u64(&mut self, v: u64) {
        self.cur.put_u64(v);
        self.len += 8;
    }

    pub fn i64(&mut self, v: i64) {
        self.u64(v as u64);
    }

    pub fn bool(&mut self, v: bool) {
        self.u32(v as u32);
    }

    pub fn fixed(&mut self, data: &[u8]) {
        self.cur.put_slice(data);
        self.put_pad(data.len());
        self.len += data.len();
    }

    pub fn opaque(&mut self, data: &[u8]) {
        self.u32(data.len() as u32);
        self.fixed(data);
    }

    /// Variable-length opaque data that is already shared; large payloads are
    /// referenced rather than copied.
    pub fn opaque_bytes(&mut self, data: Bytes) {
        if data.len() < ZERO_COPY_MIN {
            self.opaque(&data);
            return;
        }
        let n = data.len();
        self.u32(n as u32);
        let cur = self.cur.split().freeze();
        if !cur.is_empty() {
            self.done.push(cur);
        }
        self.done.push(data);
        self.len += n;
        self.put_pad(n);
    }

    pub fn array<T: Xdr>(&mut self, items: &[T]) {
        self.u32(items.len() as u32);
        for item in items {
            item.encode(self);
        }
    }

    pub fn optional<T: Xdr>(&mut self, v: Option<&T>) {
        match v {
            Some(v) => {
                self.bool(true);
                v.encode(self);
            }
            None => self.bool(false),
        }
    }

    fn put_pad(&mut self, n: usize) {
        let p = pad(n);
        if p > 0 {
            self.cur.put_bytes(0, p);
            self.len += p;
        }
    }

    /// The first 32-bit word written, if four bytes were: the status of
    /// an NFS or MOUNT result.
    pub fn first_u32(&self) -> Option<u32> {
        let head = self.done.first().map_or(&self.cur[..], |b| &b[..]);
        let word: [u8; 4] = head.get(..4)?.try_into().ok()?;
        Some(u32::from_be_bytes(word))
    }

    /// The finished message as segments in order.
    pub fn into_segments(mut self) -> Vec<Bytes> {
        if !self.cur.is_empty() {
            self.done.push(self.cur.freeze());
        }
        self.done
    }

    /// The finished message as one contiguous buffer (copies large segments).
    pub fn into_bytes(self) -> Bytes {
        let segs = self.into_segments();
        if segs.len() == 1 {
            return segs.into_iter().next().unwrap_or_default();
        }
        let mut out = BytesMut::with_capacity(segs.iter().map(Bytes::len).sum());
        for s in segs {
            out.put_slice(&s);
        }
        out.freeze()
    }
}

fn pad(n: usize) -> usize {
    (4 - n % 4) % 4
}

/// A type with an XDR representation. Every wire type implements both
/// directions so that codecs can be checked by round trip.
pub trait Xdr: Sized {
    fn encode(&self, w: &mut XdrWriter);
    fn decode(r: &mut XdrReader) -> Result<Self, XdrError>;
}

impl Xdr for u32 {
    fn encode(&self, w: &mut XdrWriter) {
        w.u32(*self);
    }
    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        r.u32()
    }
}

impl Xdr for u64 {
    fn encode(&self, w: &mut XdrWriter) {
        w.u64(*self);
    }
    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        r.u64()
    }
}

impl Xdr for bool {
    fn encode(&self, w: &mut XdrWriter) {
        w.bool(*self);
    }
    fn decode(r: &mut XdrReader) -> Result<Self, XdrError> {
        r.bool()
    }
}

impl Xdr for () {
    fn encode(&self, _: &mut XdrWriter) {}
    fn decode(_: &mut XdrReader) -> Result<Self, XdrError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn first_word_of_any_writer() {
        assert_eq!(XdrWriter::new().first_u32(), None);
        let mut w = XdrWriter::new();
        w.u32(70);
        w.opaque_bytes(Bytes::from(vec![1u8; 3 * ZERO_COPY_MIN]));
        assert_eq!(w.first_u32(), Some(70));
        let mut w = XdrWriter::new();
        w.opaque_bytes(Bytes::from(vec![1u8; ZERO_COPY_MIN]));
        assert_eq!(w.first_u32(), Some(ZERO_COPY_MIN as u32), "the length word");
    }

    #[test]
    fn forged_opaque_length_is_rejected_without_allocating() {
        let mut r = XdrReader::new(Bytes::from_static(&[0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4]));
        assert!(matches!(
            r.opaque(usize::MAX),
            Err(XdrError::Truncated { .. })
        ));
        let mut r = XdrReader::new(Bytes::from_static(&[0, 0, 1, 0]));
        assert_eq!(r.opaque(255), Err(XdrError::TooLong { len: 256, max: 255 }));
    }

    #[test]
    fn forged_array_count_is_rejected_before_reserving() {
        let mut r = XdrReader::new(Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff]));
        assert!(r.array::<u32>(usize::MAX).is_err());
    }

    #[test]
    fn bool_must_be_zero_or_one() {
        let mut r = XdrReader::new(Bytes::from_static(&[0, 0, 0, 2]));
        assert!(matches!(r.bool(), Err(XdrError::BadValue { .. })));
    }

    #[test]
    fn large_payload_is_a_separate_segment() {
        let payload = Bytes::from(vec![7u8; 10_001]);
        let mut w = XdrWriter::new();
        w.u32(1);
        w.opaque_bytes(payload.clone());
        w.u32(2);
        assert_eq!(w.len(), 4 + 4 + 10_001 + 3 + 4);
        let segs = w.into_segments();
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[1].as_ptr(), payload.as_ptr());
    }

    proptest! {
        #[test]
        fn opaque_round_trips(data in proptest::collection::vec(any::<u8>(), 0..20_000), tail in any::<u32>()) {
            let mut w = XdrWriter::new();
            w.opaque_bytes(Bytes::from(data.clone()));
            w.u32(tail);
            let buf = w.into_bytes();
            prop_assert_eq!(buf.len() % 4, 0);
            let mut r = XdrReader::new(buf);
            prop_assert_eq!(&r.opaque(usize::MAX).unwrap()[..], &data[..]);
            prop_assert_eq!(r.u32().unwrap(), tail);
            prop_assert!(r.finish().is_ok());
        }

        #[test]
        fn integers_round_trip(a in any::<u32>(), b in any::<u64>(), c in any::<i64>(), d in any::<i32>()) {
            let mut w = XdrWriter::new();
            w.u32(a); w.u64(b); w.i64(c); w.i32(d);
            let mut r = XdrReader::new(w.into_bytes());
            prop_assert_eq!(r.u32().unwrap(), a);
            prop_assert_eq!(r.u64().unwrap(), b);
            prop_assert_eq!(r.i64().unwrap(), c);
            prop_assert_eq!(r.i32().unwrap(), d);
        }
    }
}
