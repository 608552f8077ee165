//! Byte encodings of the data model for stores that keep bytes (the
//! embedded store, and any other key-value store). Keys sort as the model
//! needs: big-endian integers, so byte order is numeric order.

use bytes::Bytes;
use dittofs_blocks::BlockId;

use crate::error::StoreError;
use crate::store::StoreResult;
use crate::types::{
    BlockRef, DirEntry, Extent, ExtentData, FileKind, Inode, InodeId, MAX_INLINE, Timestamp,
};

const INODE_FORMAT: u8 = 1;

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("malformed {what} record"))
}

/// Reads fixed-size fields off a byte slice.
struct Fields<'a> {
    b: &'a [u8],
    what: &'static str,
}

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> StoreResult<&'a [u8]> {
        if self.b.len() < n {
            return Err(corrupt(self.what));
        }
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Ok(head)
    }

    fn u8(&mut self) -> StoreResult<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> StoreResult<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(a))
    }

    fn u64(&mut self) -> StoreResult<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }

    fn time(&mut self) -> StoreResult<Timestamp> {
        Ok(Timestamp {
            secs: self.u64()? as i64,
            nanos: self.u32()?,
        })
    }

    fn done(&self) -> StoreResult<()> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(corrupt(self.what))
        }
    }
}

fn kind_code(k: FileKind) -> u8 {
    match k {
        FileKind::Regular => 1,
        FileKind::Directory => 2,
        FileKind::Symlink => 3,
        FileKind::CharDevice => 4,
        FileKind::BlockDevice => 5,
        FileKind::Socket => 6,
        FileKind::Fifo => 7,
    }
}

fn kind_of(c: u8) -> StoreResult<FileKind> {
    Ok(match c {
        1 => FileKind::Regular,
        2 => FileKind::Directory,
        3 => FileKind::Symlink,
        4 => FileKind::CharDevice,
        5 => FileKind::BlockDevice,
        6 => FileKind::Socket,
        7 => FileKind::Fifo,
        _ => return Err(corrupt("inode")),
    })
}

pub fn encode_inode(i: &Inode) -> Vec<u8> {
    let mut b = Vec::with_capacity(112 + i.symlink.as_ref().map_or(0, Bytes::len));
    b.push(INODE_FORMAT);
    b.extend_from_slice(&i.id.to_be_bytes());
    b.extend_from_slice(&i.generation.to_be_bytes());
    b.push(kind_code(i.kind));
    for v in [i.mode, i.uid, i.gid, i.nlink] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(&i.size.to_be_bytes());
    for t in [i.atime, i.mtime, i.ctime] {
        b.extend_from_slice(&(t.secs as u64).to_be_bytes());
        b.extend_from_slice(&t.nanos.to_be_bytes());
    }
    b.extend_from_slice(&i.rdev.0.to_be_bytes());
    b.extend_from_slice(&i.rdev.1.to_be_bytes());
    b.extend_from_slice(&i.parent.to_be_bytes());
    b.extend_from_slice(&i.next_cookie.to_be_bytes());
    let flags = u8::from(i.create_verifier.is_some())
        | (u8::from(i.symlink.is_some()) << 1)
        | (u8::from(!i.xattrs.is_empty()) << 2);
    b.push(flags);
    if let Some(v) = &i.create_verifier {
        b.extend_from_slice(v);
    }
    if let Some(t) = &i.symlink {
        b.extend_from_slice(&(t.len() as u32).to_be_bytes());
        b.extend_from_slice(t);
    }
    if !i.xattrs.is_empty() {
        b.extend_from_slice(&(i.xattrs.len() as u32).to_be_bytes());
        for (name, value) in &i.xattrs {
            b.extend_from_slice(&(name.len() as u32).to_be_bytes());
            b.extend_from_slice(name);
            b.extend_from_slice(&(value.len() as u32).to_be_bytes());
            b.extend_from_slice(value);
        }
    }
    b
}

pub fn decode_inode(bytes: &[u8]) -> StoreResult<Inode> {
    let mut f = Fields {
        b: bytes,
        what: "inode",
    };
    if f.u8()? != INODE_FORMAT {
        return Err(StoreError::Corrupt(
            "inode record of an unknown format".into(),
        ));
    }
    let id = f.u64()?;
    let generation = f.u32()?;
    let kind = kind_of(f.u8()?)?;
    let (mode, uid, gid, nlink) = (f.u32()?, f.u32()?, f.u32()?, f.u32()?);
    let size = f.u64()?;
    let (atime, mtime, ctime) = (f.time()?, f.time()?, f.time()?);
    let rdev = (f.u32()?, f.u32()?);
    let parent = f.u64()?;
    let next_cookie = f.u64()?;
    let flags = f.u8()?;
    let create_verifier = if flags & 1 != 0 {
        let mut v = [0u8; 8];
        v.copy_from_slice(f.take(8)?);
        Some(v)
    } else {
        None
    };
    let symlink = if flags & 2 != 0 {
        let n = f.u32()? as usize;
        Some(Bytes::copy_from_slice(f.take(n)?))
    } else {
        None
    };
    let mut xattrs = crate::types::Xattrs::new();
    if flags & 4 != 0 {
        for _ in 0..f.u32()? {
            let n = f.u32()? as usize;
            let name = Bytes::copy_from_slice(f.take(n)?);
            let n = f.u32()? as usize;
            xattrs.insert(name, Bytes::copy_from_slice(f.take(n)?));
        }
    }
    f.done()?;
    Ok(Inode {
        id,
        generation,
        kind,
        mode,
        uid,
        gid,
        nlink,
        size,
        atime,
        mtime,
        ctime,
        rdev,
        parent,
        symlink,
        create_verifier,
        next_cookie,
        xattrs,
    })
}

/// `dir` then `suffix`: keys of a directory's entries sort by name.
pub fn dir_key(dir: InodeId, suffix: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + suffix.len());
    k.extend_from_slice(&dir.to_be_bytes());
    k.extend_from_slice(suffix);
    k
}

/// Two big-endian numbers: (dir, cookie) and (inode, offset) keys.
pub fn pair_key(a: u64, b: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&a.to_be_bytes());
    k[8..].copy_from_slice(&b.to_be_bytes());
    k
}

pub fn split_pair_key(k: &[u8]) -> StoreResult<(u64, u64)> {
    let mut f = Fields { b: k, what: "key" };
    let pair = (f.u64()?, f.u64()?);
    f.done()?;
    Ok(pair)
}

/// The value of an entry key: what the name points to and its cookie.
pub fn encode_entry(e: &DirEntry) -> [u8; 16] {
    pair_key(e.inode, e.cookie)
}

pub fn decode_entry(name: Bytes, value: &[u8]) -> StoreResult<DirEntry> {
    let (inode, cookie) = split_pair_key(value).map_err(|_| corrupt("directory entry"))?;
    Ok(DirEntry {
        name,
        inode,
        cookie,
    })
}

/// First byte of an inline extent's value. A block extent's value starts
/// with its length, whose first byte is 0 (no extent reaches 2^56 bytes).
const INLINE_EXTENT: u8 = b'I';

/// A block extent is its length, block and offset in the block (48 bytes);
/// an inline one is a tag and its bytes.
pub fn encode_extent(e: &Extent) -> Vec<u8> {
    match &e.data {
        ExtentData::Block { id, offset } => {
            let mut v = Vec::with_capacity(48);
            v.extend_from_slice(&e.len.to_be_bytes());
            v.extend_from_slice(id.as_bytes());
            v.extend_from_slice(&offset.to_be_bytes());
            v
        }
        ExtentData::Inline(b) => {
            let mut v = Vec::with_capacity(1 + b.len());
            v.push(INLINE_EXTENT);
            v.extend_from_slice(b);
            v
        }
    }
}

pub fn decode_extent(offset: u64, value: &[u8]) -> StoreResult<Extent> {
    if let Some((&INLINE_EXTENT, bytes)) = value.split_first() {
        if bytes.is_empty() || bytes.len() > MAX_INLINE {
            return Err(corrupt("extent"));
        }
        return Ok(Extent::inline(offset, Bytes::copy_from_slice(bytes)));
    }
    let mut f = Fields {
        b: value,
        what: "extent",
    };
    let len = f.u64()?;
    let mut block = [0u8; 32];
    block.copy_from_slice(f.take(32)?);
    let block_offset = f.u64()?;
    f.done()?;
    Ok(Extent::in_block(offset, len, BlockId(block), block_offset))
}

pub fn encode_block_ref(r: &BlockRef) -> [u8; 16] {
    pair_key(r.refs, r.size)
}

pub fn decode_block_ref(value: &[u8]) -> StoreResult<BlockRef> {
    let (refs, size) = split_pair_key(value).map_err(|_| corrupt("block reference"))?;
    Ok(BlockRef { refs, size })
}

pub fn encode_u64(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

pub fn decode_u64(value: &[u8]) -> StoreResult<u64> {
    let mut f = Fields {
        b: value,
        what: "counter",
    };
    let v = f.u64()?;
    f.done()?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn inode_strategy() -> impl Strategy<Value = Inode> {
        (
            (
                any::<u64>(),
                any::<u32>(),
                0u8..7,
                any::<u32>(),
                any::<u32>(),
                any::<u32>(),
                any::<u32>(),
                any::<u64>(),
            ),
            (
                any::<i64>(),
                0u32..1_000_000_000,
                any::<i64>(),
                any::<u32>(),
                any::<(u32, u32)>(),
                any::<u64>(),
                any::<u64>(),
            ),
            (
                proptest::option::of(any::<[u8; 8]>()),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
                proptest::collection::btree_map(
                    proptest::collection::vec(any::<u8>(), 0..20),
                    proptest::collection::vec(any::<u8>(), 0..50),
                    0..4,
                ),
            ),
        )
            .prop_map(
                |(
                    (id, generation, k, mode, uid, gid, nlink, size),
                    (s1, n1, s2, n2, rdev, parent, next_cookie),
                    (cv, sl, xa),
                )| Inode {
                    id,
                    generation,
                    kind: kind_of(k + 1).unwrap(),
                    mode,
                    uid,
                    gid,
                    nlink,
                    size,
                    atime: Timestamp {
                        secs: s1,
                        nanos: n1,
                    },
                    mtime: Timestamp {
                        secs: s2,
                        nanos: n2,
                    },
                    ctime: Timestamp { secs: -1, nanos: 7 },
                    rdev,
                    parent,
                    symlink: sl.map(Bytes::from),
                    create_verifier: cv,
                    next_cookie,
                    xattrs: xa
                        .into_iter()
                        .map(|(k, v)| (Bytes::from(k), Bytes::from(v)))
                        .collect(),
                },
            )
    }

    proptest! {
        #[test]
        fn inodes_round_trip(i in inode_strategy()) {
            prop_assert_eq!(decode_inode(&encode_inode(&i)).unwrap(), i);
        }

        #[test]
        fn truncated_inodes_are_corrupt(i in inode_strategy(), cut in 0usize..100) {
            let b = encode_inode(&i);
            let cut = cut.min(b.len() - 1);
            prop_assert!(decode_inode(&b[..cut]).is_err());
        }

        #[test]
        fn pair_keys_sort_numerically(a in any::<(u64, u64)>(), b in any::<(u64, u64)>()) {
            prop_assert_eq!(pair_key(a.0, a.1).cmp(&pair_key(b.0, b.1)), a.cmp(&b));
        }
    }

    #[test]
    fn extents_and_refs_round_trip() {
        let e = Extent::in_block(9, u64::MAX, BlockId::of(b"x"), 77);
        assert_eq!(decode_extent(9, &encode_extent(&e)).unwrap(), e);
        for n in [1, 47, 48, MAX_INLINE] {
            let e = Extent::inline(5, Bytes::from(vec![7u8; n]));
            assert_eq!(decode_extent(5, &encode_extent(&e)).unwrap(), e);
        }
        assert!(
            decode_extent(0, &[INLINE_EXTENT]).is_err(),
            "an empty inline extent"
        );
        let mut big = vec![INLINE_EXTENT];
        big.resize(MAX_INLINE + 2, 0);
        assert!(
            decode_extent(0, &big).is_err(),
            "more than an extent may carry"
        );
        let r = BlockRef {
            refs: 3,
            size: 4 << 20,
        };
        assert_eq!(decode_block_ref(&encode_block_ref(&r)).unwrap(), r);
        assert!(decode_extent(0, &[1, 2, 3]).is_err());
    }
}
