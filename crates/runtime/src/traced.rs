//! Stores that leave a span per call, for traces (`telemetry.enabled`).
//!
//! Each wraps an opened store and forwards every call, default methods
//! included, inside a span of target `dittofs_trace`; a call made while
//! serving a request becomes a child of the request's span. Stores are
//! wrapped only when traces are exported, so without them a store call
//! costs exactly what it did.

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use dittofs_blocks::{BlockError, BlockId, BlockStore, Capacity};
use dittofs_meta::{
    BlockRef, DirEntry, Extent, Inode, InodeId, MetaTxn, MetadataStore, StoreResult, StoreStats,
};
use tracing::Instrument;

/// `$call` inside a span named `$name`, tagged with the store's type.
macro_rules! traced {
    ($name:literal, $kind:expr, $call:expr) => {
        $call
            .instrument(tracing::info_span!(
                target: "dittofs_trace",
                $name,
                db.system = $kind
            ))
            .await
    };
}

/// A metadata store whose calls, and whose transactions' calls, are spans.
pub struct TracedMetadataStore(pub Arc<dyn MetadataStore>);

#[async_trait]
impl MetadataStore for TracedMetadataStore {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }

    async fn begin(&self) -> StoreResult<Box<dyn MetaTxn>> {
        let kind = self.0.kind();
        let txn = traced!("meta.begin", kind, self.0.begin())?;
        Ok(Box::new(TracedTxn { txn, kind }))
    }

    async fn get_inode(&self, id: InodeId) -> StoreResult<Option<Inode>> {
        traced!("meta.get_inode", self.0.kind(), self.0.get_inode(id))
    }

    async fn get_inodes(&self, ids: &[InodeId]) -> StoreResult<Vec<Option<Inode>>> {
        traced!("meta.get_inodes", self.0.kind(), self.0.get_inodes(ids))
    }

    async fn lookup(&self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>> {
        traced!("meta.lookup", self.0.kind(), self.0.lookup(dir, name))
    }

    async fn list_by_cookie(
        &self,
        dir: InodeId,
        after_cookie: u64,
        limit: usize,
    ) -> StoreResult<Vec<DirEntry>> {
        traced!(
            "meta.list_by_cookie",
            self.0.kind(),
            self.0.list_by_cookie(dir, after_cookie, limit)
        )
    }

    async fn list_by_name(
        &self,
        dir: InodeId,
        after: Option<&[u8]>,
        limit: usize,
    ) -> StoreResult<Vec<DirEntry>> {
        traced!(
            "meta.list_by_name",
            self.0.kind(),
            self.0.list_by_name(dir, after, limit)
        )
    }

    async fn extents(&self, inode: InodeId, start: u64, end: u64) -> StoreResult<Vec<Extent>> {
        traced!(
            "meta.extents",
            self.0.kind(),
            self.0.extents(inode, start, end)
        )
    }

    async fn block_ref(&self, id: &BlockId) -> StoreResult<Option<BlockRef>> {
        traced!("meta.block_ref", self.0.kind(), self.0.block_ref(id))
    }

    async fn share_root(&self, share: &str) -> StoreResult<Option<InodeId>> {
        traced!("meta.share_root", self.0.kind(), self.0.share_root(share))
    }

    async fn list_shares(&self) -> StoreResult<Vec<(String, InodeId)>> {
        traced!("meta.list_shares", self.0.kind(), self.0.list_shares())
    }

    async fn stats(&self) -> StoreResult<StoreStats> {
        traced!("meta.stats", self.0.kind(), self.0.stats())
    }

    async fn recent_stats(&self) -> StoreResult<StoreStats> {
        traced!("meta.recent_stats", self.0.kind(), self.0.recent_stats())
    }

    async fn sync(&self) -> StoreResult<()> {
        traced!("meta.sync", self.0.kind(), self.0.sync())
    }

    async fn lease_blocks(&self, blocks: &[BlockId]) -> StoreResult<dittofs_meta::BlockLease> {
        traced!(
            "meta.lease_blocks",
            self.0.kind(),
            self.0.lease_blocks(blocks)
        )
    }
}

struct TracedTxn {
    txn: Box<dyn MetaTxn>,
    kind: &'static str,
}

#[async_trait]
impl MetaTxn for TracedTxn {
    async fn get_inode(&mut self, id: InodeId) -> StoreResult<Option<Inode>> {
        traced!("meta.txn.get_inode", self.kind, self.txn.get_inode(id))
    }

    async fn put_inode(&mut self, inode: &Inode) -> StoreResult<()> {
        traced!("meta.txn.put_inode", self.kind, self.txn.put_inode(inode))
    }

    async fn delete_inode(&mut self, id: InodeId) -> StoreResult<()> {
        traced!(
            "meta.txn.delete_inode",
            self.kind,
            self.txn.delete_inode(id)
        )
    }

    async fn allocate_inode_id(&mut self) -> StoreResult<InodeId> {
        traced!(
            "meta.txn.allocate_inode_id",
            self.kind,
            self.txn.allocate_inode_id()
        )
    }

    async fn lookup(&mut self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>> {
        traced!("meta.txn.lookup", self.kind, self.txn.lookup(dir, name))
    }

    async fn put_entry(&mut self, dir: InodeId, entry: &DirEntry) -> StoreResult<()> {
        traced!(
            "meta.txn.put_entry",
            self.kind,
            self.txn.put_entry(dir, entry)
        )
    }

    async fn remove_entry(&mut self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>> {
        traced!(
            "meta.txn.remove_entry",
            self.kind,
            self.txn.remove_entry(dir, name)
        )
    }

    async fn has_entries(&mut self, dir: InodeId) -> StoreResult<bool> {
        traced!("meta.txn.has_entries", self.kind, self.txn.has_entries(dir))
    }

    async fn extents(&mut self, inode: InodeId, start: u64, end: u64) -> StoreResult<Vec<Extent>> {
        traced!(
            "meta.txn.extents",
            self.kind,
            self.txn.extents(inode, start, end)
        )
    }

    async fn put_extent(&mut self, inode: InodeId, extent: &Extent) -> StoreResult<()> {
        traced!(
            "meta.txn.put_extent",
            self.kind,
            self.txn.put_extent(inode, extent)
        )
    }

    async fn delete_extent(&mut self, inode: InodeId, offset: u64) -> StoreResult<()> {
        traced!(
            "meta.txn.delete_extent",
            self.kind,
            self.txn.delete_extent(inode, offset)
        )
    }

    async fn block_ref(&mut self, id: &BlockId) -> StoreResult<Option<BlockRef>> {
        traced!("meta.txn.block_ref", self.kind, self.txn.block_ref(id))
    }

    async fn put_block_ref(&mut self, id: &BlockId, r: &BlockRef) -> StoreResult<()> {
        traced!(
            "meta.txn.put_block_ref",
            self.kind,
            self.txn.put_block_ref(id, r)
        )
    }

    async fn delete_block_ref(&mut self, id: &BlockId) -> StoreResult<()> {
        traced!(
            "meta.txn.delete_block_ref",
            self.kind,
            self.txn.delete_block_ref(id)
        )
    }

    async fn share_root(&mut self, share: &str) -> StoreResult<Option<InodeId>> {
        traced!("meta.txn.share_root", self.kind, self.txn.share_root(share))
    }

    async fn set_share_root(&mut self, share: &str, root: InodeId) -> StoreResult<()> {
        traced!(
            "meta.txn.set_share_root",
            self.kind,
            self.txn.set_share_root(share, root)
        )
    }

    async fn remove_share_root(&mut self, share: &str) -> StoreResult<()> {
        traced!(
            "meta.txn.remove_share_root",
            self.kind,
            self.txn.remove_share_root(share)
        )
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        traced!("meta.commit", self.kind, self.txn.commit())
    }
}

/// A block store whose calls are spans.
pub struct TracedBlockStore(pub Arc<dyn BlockStore>);

#[async_trait]
impl BlockStore for TracedBlockStore {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }

    async fn put(&self, id: &BlockId, data: Bytes) -> Result<(), BlockError> {
        traced!("block.put", self.0.kind(), self.0.put(id, data))
    }

    async fn get(&self, id: &BlockId, range: Range<u64>) -> Result<Bytes, BlockError> {
        traced!("block.get", self.0.kind(), self.0.get(id, range))
    }

    async fn contains(&self, id: &BlockId) -> Result<bool, BlockError> {
        traced!("block.contains", self.0.kind(), self.0.contains(id))
    }

    async fn delete(&self, id: &BlockId) -> Result<(), BlockError> {
        traced!("block.delete", self.0.kind(), self.0.delete(id))
    }

    async fn delete_many(&self, ids: &[BlockId]) -> Result<(), BlockError> {
        traced!("block.delete_many", self.0.kind(), self.0.delete_many(ids))
    }

    async fn list(
        &self,
        after: Option<&BlockId>,
        limit: usize,
    ) -> Result<Vec<BlockId>, BlockError> {
        traced!("block.list", self.0.kind(), self.0.list(after, limit))
    }

    async fn capacity(&self) -> Result<Capacity, BlockError> {
        traced!("block.capacity", self.0.kind(), self.0.capacity())
    }

    fn is_local(&self) -> bool {
        self.0.is_local()
    }
}
