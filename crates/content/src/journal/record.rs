//! One journal record on disk:
//!
//! ```text
//! magic u32 | body length u32 | crc32c(body) u32 | body
//! body = lsn u64 | kind u8 | inode u64 | offset u64 | mtime secs i64 | mtime nanos u32 | data
//! ```
//!
//! The magic lets recovery look past a damaged record for intact ones, which
//! tells a torn tail (nothing valid after it) from damage in the middle.

use bytes::Bytes;
use dittofs_meta::{InodeId, Timestamp};

pub const MAGIC: u32 = 0x4446_534a; // "DFSJ"
pub const HEADER: usize = 12;
const BODY_FIXED: usize = 8 + 1 + 8 + 8 + 8 + 4;

/// Position in the journal: segment number in the high 32 bits, byte
/// offset in the segment in the low 32. Grows with every record.
pub type Lsn = u64;

pub fn lsn(segment: u32, offset: u32) -> Lsn {
    ((segment as u64) << 32) | offset as u64
}

pub fn segment_of(lsn: Lsn) -> u32 {
    (lsn >> 32) as u32
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// `data` was written at `offset`.
    Write {
        inode: InodeId,
        offset: u64,
        mtime: Timestamp,
        data: Bytes,
    },
    /// The file was cut to `size`: later replay must not bring back what
    /// lay beyond.
    Truncate { inode: InodeId, size: u64 },
    /// `start..end` was replaced outside the journal (its blocks now come
    /// from elsewhere): later replay must not bring back earlier writes
    /// there.
    Discard {
        inode: InodeId,
        start: u64,
        end: u64,
    },
}

impl Record {
    pub fn inode(&self) -> InodeId {
        match self {
            Self::Write { inode, .. }
            | Self::Truncate { inode, .. }
            | Self::Discard { inode, .. } => *inode,
        }
    }
}

/// The bytes to write for `record` at `lsn`: a header-and-fixed-fields
/// buffer, then the data (kept separate so it is not copied).
pub fn encode(lsn: Lsn, record: &Record) -> (Vec<u8>, Bytes) {
    let (kind, inode, offset, mtime, data) = match record {
        Record::Write {
            inode,
            offset,
            mtime,
            data,
        } => (1u8, *inode, *offset, *mtime, data.clone()),
        Record::Truncate { inode, size } => {
            (2u8, *inode, *size, Timestamp::default(), Bytes::new())
        }
        Record::Discard { inode, start, end } => (
            3u8,
            *inode,
            *start,
            Timestamp::default(),
            Bytes::copy_from_slice(&end.to_be_bytes()),
        ),
    };
    let mut body = Vec::with_capacity(HEADER + BODY_FIXED);
    body.extend_from_slice(&[0u8; HEADER]);
    body.extend_from_slice(&lsn.to_be_bytes());
    body.push(kind);
    body.extend_from_slice(&inode.to_be_bytes());
    body.extend_from_slice(&offset.to_be_bytes());
    body.extend_from_slice(&(mtime.secs as u64).to_be_bytes());
    body.extend_from_slice(&mtime.nanos.to_be_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&body[HEADER..]), &data);
    let len = (BODY_FIXED + data.len()) as u32;
    body[..4].copy_from_slice(&MAGIC.to_be_bytes());
    body[4..8].copy_from_slice(&len.to_be_bytes());
    body[8..12].copy_from_slice(&crc.to_be_bytes());
    (body, data)
}

/// What decoding found at one position.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A whole, intact record and its encoded size.
    Record(Lsn, Record, usize),
    /// Not enough bytes for the record the header announces.
    Short,
    /// Bytes that are not an intact record.
    Bad,
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(a)
}

/// Decodes the record starting at the beginning of `buf`, which must be the
/// record that `expected_lsn` names.
pub fn decode(buf: &Bytes, expected_lsn: Lsn) -> Decoded {
    if buf.len() < HEADER {
        return Decoded::Short;
    }
    if u32_at(buf, 0) != MAGIC {
        return Decoded::Bad;
    }
    let len = u32_at(buf, 4) as usize;
    if len < BODY_FIXED {
        return Decoded::Bad;
    }
    if buf.len() < HEADER + len {
        return Decoded::Short;
    }
    let body = &buf[HEADER..HEADER + len];
    if crc32c::crc32c(body) != u32_at(buf, 8) {
        return Decoded::Bad;
    }
    let lsn = u64_at(body, 0);
    if lsn != expected_lsn {
        return Decoded::Bad;
    }
    let kind = body[8];
    let inode = u64_at(body, 9);
    let offset = u64_at(body, 17);
    let mtime = Timestamp {
        secs: u64_at(body, 25) as i64,
        nanos: u32_at(body, 33),
    };
    let record = match kind {
        1 => Record::Write {
            inode,
            offset,
            mtime,
            data: buf.slice(HEADER + BODY_FIXED..HEADER + len),
        },
        2 => Record::Truncate {
            inode,
            size: offset,
        },
        3 if len == BODY_FIXED + 8 => Record::Discard {
            inode,
            start: offset,
            end: u64_at(body, BODY_FIXED),
        },
        _ => return Decoded::Bad,
    };
    Decoded::Record(lsn, record, HEADER + len)
}

/// Where an intact record starts in segment `buf` after offset `from`, if
/// anywhere (used only after damage, to tell a torn tail from a corrupt
/// middle).
pub fn intact_record_after(buf: &Bytes, from: usize, segment: u32) -> Option<usize> {
    let magic = MAGIC.to_be_bytes();
    (from + 1..buf.len().saturating_sub(HEADER)).find(|&at| {
        buf[at..at + 4] == magic
            && matches!(
                decode(&buf.slice(at..), lsn(segment, at as u32)),
                Decoded::Record(..)
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(lsn: Lsn, r: &Record) -> Bytes {
        let (head, data) = encode(lsn, r);
        let mut v = head;
        v.extend_from_slice(&data);
        Bytes::from(v)
    }

    #[test]
    fn records_round_trip_and_damage_is_seen() {
        let r = Record::Write {
            inode: 7,
            offset: 1 << 40,
            mtime: Timestamp { secs: 5, nanos: 6 },
            data: Bytes::from_static(b"hello"),
        };
        let at = lsn(3, 100);
        let b = whole(at, &r);
        assert_eq!(decode(&b, at), Decoded::Record(at, r.clone(), b.len()));
        assert_eq!(decode(&b.slice(..b.len() - 1), at), Decoded::Short);
        assert_eq!(
            decode(&b, at + 1),
            Decoded::Bad,
            "a record copied to the wrong place"
        );
        let mut bad = b.to_vec();
        bad[HEADER + 40] ^= 1;
        assert_eq!(decode(&Bytes::from(bad), at), Decoded::Bad);
        let t = Record::Truncate { inode: 9, size: 12 };
        let b = whole(at, &t);
        assert_eq!(decode(&b, at), Decoded::Record(at, t, b.len()));
        let d = Record::Discard {
            inode: 9,
            start: 4096,
            end: 1 << 33,
        };
        let b = whole(at, &d);
        assert_eq!(decode(&b, at), Decoded::Record(at, d, b.len()));
    }

    #[test]
    fn an_intact_record_is_found_after_damage() {
        let r = Record::Truncate { inode: 1, size: 2 };
        let first = whole(lsn(0, 0), &r);
        let second = whole(lsn(0, first.len() as u32), &r);
        let mut buf = first.to_vec();
        buf[5] ^= 0xff;
        buf.extend_from_slice(&second);
        assert_eq!(
            intact_record_after(&Bytes::from(buf), 0, 0),
            Some(first.len())
        );
        assert_eq!(intact_record_after(&first, 0, 0), None);
    }
}
