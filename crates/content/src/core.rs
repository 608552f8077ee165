//! The state of one share's data path, shared by the content service, the
//! metadata hooks and the background flusher.

use std::collections::HashMap;
use std::sync::Arc;

use dittofs_blocks::{BlockId, BlockStore};
use dittofs_meta::{Extent, ExtentData, FsError, InodeId, MetadataService, MetadataStore};
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::DataPath;
use crate::cache::BlockCache;
use crate::dirty::{DirtyBudget, DirtyMap};
use crate::journal::{Journal, Lsn};
use crate::locks::{BlockLocks, FileLocks};

/// A failure of the block store, the journal or a task, reported as the
/// block store being unavailable.
pub(crate) fn unavailable(detail: impl std::fmt::Display) -> FsError {
    FsError::Block(dittofs_blocks::BlockError::Unavailable(detail.to_string()))
}

/// When a client's "stable" means stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// COMMIT and stable writes wait for the journal's sync (the default).
    #[default]
    Local,
    /// They wait until the data is in the block store and the metadata
    /// store: for several servers sharing those stores.
    Remote,
    /// Nothing waits for a disk, and nothing is journalled: scratch data.
    None,
}

pub(crate) struct Core {
    pub meta: Arc<MetadataService>,
    pub blocks: Arc<dyn BlockStore>,
    pub block_locks: BlockLocks,
    pub file_locks: FileLocks,
    pub journal: Journal,
    pub dirty: DirtyMap,
    pub budget: Arc<DirtyBudget>,
    pub cache: BlockCache,
    pub durability: Durability,
    pub block_size: u64,
    /// Wakes the flusher (a COMMIT in remote mode, a settle).
    pub wake: Notify,
    /// Journal records flushed but not releasable before the metadata
    /// store syncs the flush: per file, the last flushed record.
    pub to_release: Mutex<HashMap<InodeId, Lsn>>,
    /// Where sequential readers were last seen, for read-ahead.
    pub readers: Mutex<HashMap<InodeId, u64>>,
}

impl Core {
    pub fn new(
        meta: Arc<MetadataService>,
        blocks: Arc<dyn BlockStore>,
        journal: Journal,
        shared: &DataPath,
        durability: Durability,
        block_size: u64,
    ) -> Self {
        Self {
            meta,
            blocks,
            block_locks: BlockLocks::new(),
            file_locks: FileLocks::new(),
            journal,
            dirty: DirtyMap::new(),
            budget: shared.budget.clone(),
            cache: shared.cache.clone(),
            durability,
            block_size,
            wake: Notify::new(),
            to_release: Mutex::new(HashMap::new()),
            readers: Mutex::new(HashMap::new()),
        }
    }

    pub fn store(&self) -> &Arc<dyn MetadataStore> {
        self.meta.metadata_store()
    }

    pub fn defer_release(&self, inode: InodeId, upto: Lsn) {
        let mut r = self.to_release.lock();
        let e = r.entry(inode).or_insert(upto);
        *e = (*e).max(upto);
    }

    /// Once the metadata store has synced every flush so far, the journal
    /// records they covered are not needed any more.
    pub async fn release_flushed(&self) -> dittofs_meta::FsResult<()> {
        let pending: Vec<(InodeId, Lsn)> = std::mem::take(&mut *self.to_release.lock())
            .into_iter()
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.store().sync().await {
            let mut r = self.to_release.lock();
            for (i, l) in pending {
                r.entry(i).or_insert(l);
            }
            return Err(e.into());
        }
        for (inode, upto) in pending {
            self.journal.release(inode, upto);
        }
        Ok(())
    }

    /// Bytes `range` of a block: straight from a local store (the kernel's
    /// page cache already caches it), through the block cache otherwise.
    pub async fn fetch(
        &self,
        id: &BlockId,
        range: std::ops::Range<u64>,
    ) -> Result<bytes::Bytes, dittofs_blocks::BlockError> {
        if self.blocks.is_local() {
            self.blocks.get(id, range).await
        } else {
            self.cache.read(&self.blocks, id, range).await
        }
    }

    /// File bytes `lo..hi` (within `e`) of an extent: from the extent itself
    /// when inline, else from its block, checked to be all there.
    pub async fn extent_bytes(
        &self,
        e: &Extent,
        lo: u64,
        hi: u64,
    ) -> Result<bytes::Bytes, dittofs_blocks::BlockError> {
        let part = e.slice(lo, hi);
        match &part.data {
            ExtentData::Inline(b) => Ok(b.clone()),
            ExtentData::Block { id, offset } => {
                let data = self.fetch(id, *offset..offset + part.len).await?;
                if data.len() as u64 != part.len {
                    return Err(dittofs_blocks::BlockError::Corrupt {
                        id: *id,
                        detail: format!(
                            "extent wants {} bytes, block has {}",
                            part.len,
                            data.len()
                        ),
                    });
                }
                Ok(data)
            }
        }
    }

    /// Deletes blocks nothing references any more (after re-checking,
    /// under the block's lock, that nothing took a reference since).
    pub async fn reclaim(&self, ids: Vec<BlockId>) {
        for id in ids {
            let _guard = self.block_locks.lock(&id).await;
            let _lease = match self.store().lease_blocks(&[id]).await {
                Ok(lease) => lease,
                Err(e) => {
                    tracing::warn!(block = %id, error = %e, "could not lock a released block; a later collection will retry");
                    continue;
                }
            };
            match self.store().block_ref(&id).await {
                Ok(None) => {
                    if let Err(e) = self.blocks.delete(&id).await {
                        tracing::warn!(block = %id, error = %e, "could not delete an unreferenced block; a later collection will retry");
                    }
                }
                Ok(Some(_)) => {}
                Err(e) => {
                    tracing::warn!(block = %id, error = %e, "could not check a released block")
                }
            }
        }
    }
}
