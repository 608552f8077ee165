//! Extent-map arithmetic inside a transaction: replacing a byte range of a
//! file with new extents, and the block reference counts that follow.
//!
//! A block's reference count is the number of extents (in any file) that
//! point into it. Cutting an extent in two adds a reference; dropping one
//! removes a reference; a block whose count reaches zero is returned to the
//! caller, who deletes it from the block store after the commit.

use std::collections::BTreeMap;

use dittofs_blocks::BlockId;

use crate::store::{MetaTxn, StoreResult};
use crate::types::{BlockRef, Extent, InodeId};

/// An extent to insert, with the size of the block it points into (needed
/// when the block is referenced for the first time; unused for inline
/// extents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExtent {
    pub extent: Extent,
    pub block_size: u64,
}

impl NewExtent {
    pub fn inline(extent: Extent) -> Self {
        Self {
            extent,
            block_size: 0,
        }
    }
}

/// Replaces `start..end` of the file with `new` (which must lie inside that
/// range and not overlap each other; gaps become holes). Returns the blocks
/// no longer referenced by anything.
pub async fn replace_range(
    tx: &mut dyn MetaTxn,
    inode: InodeId,
    start: u64,
    end: u64,
    new: &[NewExtent],
) -> StoreResult<Vec<BlockId>> {
    let mut deltas: BTreeMap<BlockId, (i64, u64)> = BTreeMap::new();
    if start < end {
        for old in tx.extents(inode, start, end).await? {
            tx.delete_extent(inode, old.offset).await?;
            let mut delta = -1i64;
            if old.offset < start {
                tx.put_extent(inode, &old.slice(old.offset, start)).await?;
                delta += 1;
            }
            if old.end() > end {
                tx.put_extent(inode, &old.slice(end, old.end())).await?;
                delta += 1;
            }
            if let Some(block) = old.block() {
                deltas.entry(*block).or_insert((0, 0)).0 += delta;
            }
        }
    }
    debug_assert!(
        new.iter()
            .all(|n| n.extent.offset >= start && n.extent.end() <= end)
    );
    place(tx, inode, deltas, new).await
}

/// Writes the extents of an inode that has none yet (one just allocated):
/// [`replace_range`] without looking for extents that cannot be there.
pub async fn fill_new(tx: &mut dyn MetaTxn, inode: InodeId, new: &[NewExtent]) -> StoreResult<()> {
    // Only references are added, so no block is released.
    place(tx, inode, BTreeMap::new(), new).await.map(drop)
}

/// Puts `new` and applies `deltas` (reference changes and block sizes) plus
/// the references `new` adds. Returns the blocks left unreferenced.
async fn place(
    tx: &mut dyn MetaTxn,
    inode: InodeId,
    mut deltas: BTreeMap<BlockId, (i64, u64)>,
    new: &[NewExtent],
) -> StoreResult<Vec<BlockId>> {
    for n in new {
        if n.extent.len == 0 {
            continue;
        }
        tx.put_extent(inode, &n.extent).await?;
        if let Some(block) = n.extent.block() {
            let d = deltas.entry(*block).or_insert((0, 0));
            d.0 += 1;
            d.1 = n.block_size;
        }
    }
    let mut released = Vec::new();
    for (block, (delta, size)) in deltas {
        if delta == 0 {
            continue;
        }
        let current = tx.block_ref(&block).await?;
        let refs = current.map_or(0, |r| r.refs as i64) + delta;
        if refs <= 0 {
            if current.is_some() {
                tx.delete_block_ref(&block).await?;
            }
            released.push(block);
        } else {
            let size = current.map_or(size, |r| r.size);
            tx.put_block_ref(
                &block,
                &BlockRef {
                    refs: refs as u64,
                    size,
                },
            )
            .await?;
        }
    }
    Ok(released)
}

/// Drops everything at or past `size`.
pub async fn truncate(
    tx: &mut dyn MetaTxn,
    inode: InodeId,
    size: u64,
) -> StoreResult<Vec<BlockId>> {
    replace_range(tx, inode, size, u64::MAX, &[]).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryMetadataStore;
    use crate::store::MetadataStore;
    use crate::types::ExtentData;
    use bytes::Bytes;
    use proptest::prelude::*;

    fn block(n: u8) -> BlockId {
        BlockId::of(&[n])
    }

    /// Where one byte of a file comes from.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Src {
        Block(BlockId, u64),
        Inline(u8),
    }

    /// The byte-level model: for each file offset, where its byte is.
    fn model(extents: &[Extent], size: u64) -> Vec<Option<Src>> {
        let mut out = vec![None; size as usize];
        for e in extents {
            for i in 0..e.len {
                let at = (e.offset + i) as usize;
                if at < out.len() {
                    out[at] = Some(match &e.data {
                        ExtentData::Block { id, offset } => Src::Block(*id, offset + i),
                        ExtentData::Inline(b) => Src::Inline(b[i as usize]),
                    });
                }
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn replace_range_matches_a_byte_model(writes in proptest::collection::vec((0u64..200, 1u64..80, 0u8..4, any::<bool>()), 1..25)) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            rt.block_on(async {
                let store = MemoryMetadataStore::new();
                let mut want: Vec<Option<Src>> = vec![None; 300];
                let mut released_total = Vec::new();
                for (i, (off, len, b, inline)) in writes.iter().enumerate() {
                    let id = block(b.wrapping_add(i as u8 * 4));
                    let bytes: Vec<u8> = (0..*len).map(|k| (i as u64 * 31 + k) as u8).collect();
                    let new = if *inline {
                        NewExtent::inline(Extent::inline(*off, Bytes::from(bytes.clone())))
                    } else {
                        NewExtent { extent: Extent::in_block(*off, *len, id, 7), block_size: 100 }
                    };
                    let mut tx = store.begin().await.unwrap();
                    let rel = replace_range(&mut *tx, 1, *off, off + len, &[new]).await.unwrap();
                    tx.commit().await.unwrap();
                    released_total.extend(rel);
                    for k in 0..*len {
                        want[(off + k) as usize] = Some(if *inline {
                            Src::Inline(bytes[k as usize])
                        } else {
                            Src::Block(id, 7 + k)
                        });
                    }
                }
                let got = store.extents(1, 0, u64::MAX).await.unwrap();
                for w in got.windows(2) {
                    assert!(w[0].end() <= w[1].offset, "extents overlap: {w:?}");
                }
                assert_eq!(model(&got, 300), want);
                // Reference counts equal the number of extents using each block.
                let mut counts: BTreeMap<BlockId, u64> = BTreeMap::new();
                for e in &got {
                    if let Some(b) = e.block() {
                        *counts.entry(*b).or_default() += 1;
                    }
                }
                for (b, n) in &counts {
                    assert_eq!(store.block_ref(b).await.unwrap().map(|r| r.refs), Some(*n));
                }
                for b in released_total {
                    if !counts.contains_key(&b) {
                        assert_eq!(store.block_ref(&b).await.unwrap(), None);
                    }
                }
                let mut tx = store.begin().await.unwrap();
                let rel = truncate(&mut *tx, 1, 0).await.unwrap();
                tx.commit().await.unwrap();
                assert_eq!(rel.len(), counts.len());
                assert_eq!(store.stats().await.unwrap().block_bytes, 0);
                assert!(store.extents(1, 0, u64::MAX).await.unwrap().is_empty());
            });
        }
    }
}
