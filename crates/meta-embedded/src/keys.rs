//! Key layout helpers for the embedded store.

use std::ops::Bound;

use bytes::Bytes;
use dittofs_meta::codec;
use dittofs_meta::{InodeId, StoreError, StoreResult};
use fjall::{Keyspace, Readable, Slice, Snapshot};

pub(crate) const LAST_INODE: &[u8] = b"last_inode";
pub(crate) const INODE_COUNT: &[u8] = b"inodes";
pub(crate) const BLOCK_BYTES: &[u8] = b"block_bytes";
/// Present once `dirs` counts every directory's entries.
pub(crate) const DIR_COUNTS: &[u8] = b"dir_counts";

/// Entries of `dir` in name order, starting after `after`: (name, value).
pub(crate) fn names_after(
    snap: &Snapshot,
    entries: &Keyspace,
    dir: InodeId,
    after: Option<&[u8]>,
) -> impl Iterator<Item = StoreResult<(Bytes, Slice)>> {
    let lower = match after {
        Some(name) => Bound::Excluded(codec::dir_key(dir, name)),
        None => Bound::Included(codec::dir_key(dir, &[])),
    };
    let upper = match dir.checked_add(1) {
        Some(next) => Bound::Excluded(codec::dir_key(next, &[])),
        None => Bound::Unbounded,
    };
    snap.range::<Vec<u8>, _>(entries, (lower, upper)).map(|kv| {
        let (k, v) = kv.into_inner().map_err(|e| StoreError::Io(e.to_string()))?;
        Ok((Bytes::copy_from_slice(&k[8..]), v))
    })
}
