use async_trait::async_trait;
use dittofs_blocks::BlockId;

use crate::error::StoreError;
use crate::types::{BlockRef, DirEntry, Extent, Inode, InodeId, StoreStats};

pub type StoreResult<T> = Result<T, StoreError>;

/// Held while a server decides, for some blocks, whether to delete them or
/// to reference them without uploading them again; dropping it lets go.
pub type BlockLease = Box<dyn std::any::Any + Send + Sync>;

/// Where the namespace, attributes, extent maps and block reference counts
/// are kept.
///
/// A store is plain storage: it never checks a permission, validates a
/// name or decides what an operation means. The metadata service does that
/// inside a [`MetaTxn`], so every multi-step change (create, link, unlink,
/// rename over a target, truncate) commits or vanishes as a whole.
///
/// Reads on the store itself see committed state only. Transactions are
/// serializable: a store either serializes writers or returns
/// [`StoreError::Conflict`], which the service retries.
#[async_trait]
pub trait MetadataStore: Send + Sync + 'static {
    /// The store type as named in configuration (`memory`, `embedded`...).
    fn kind(&self) -> &'static str;

    /// Starts a read-write transaction. Dropping it without `commit` rolls
    /// it back.
    async fn begin(&self) -> StoreResult<Box<dyn MetaTxn>>;

    async fn get_inode(&self, id: InodeId) -> StoreResult<Option<Inode>>;

    /// Several inodes at once (a directory listing's), in order.
    async fn get_inodes(&self, ids: &[InodeId]) -> StoreResult<Vec<Option<Inode>>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.get_inode(*id).await?);
        }
        Ok(out)
    }

    async fn lookup(&self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>>;

    /// Entries of `dir` with a cookie above `after_cookie`, in cookie order.
    async fn list_by_cookie(
        &self,
        dir: InodeId,
        after_cookie: u64,
        limit: usize,
    ) -> StoreResult<Vec<DirEntry>>;

    /// Entries of `dir` whose name sorts after `after` (bytewise), in name
    /// order.
    async fn list_by_name(
        &self,
        dir: InodeId,
        after: Option<&[u8]>,
        limit: usize,
    ) -> StoreResult<Vec<DirEntry>>;

    /// Extents of `inode` overlapping `start..end`, in offset order.
    async fn extents(&self, inode: InodeId, start: u64, end: u64) -> StoreResult<Vec<Extent>>;

    async fn block_ref(&self, id: &BlockId) -> StoreResult<Option<BlockRef>>;

    /// The root directory recorded for a share name.
    async fn share_root(&self, share: &str) -> StoreResult<Option<InodeId>>;

    /// Every share recorded in the store and its root, in name order.
    async fn list_shares(&self) -> StoreResult<Vec<(String, InodeId)>>;

    async fn stats(&self) -> StoreResult<StoreStats>;

    /// [`stats`](Self::stats), possibly a few seconds old: what FSSTAT
    /// shows. Stores that count rows to answer `stats` reuse a recent
    /// count here.
    async fn recent_stats(&self) -> StoreResult<StoreStats> {
        self.stats().await
    }

    /// Keeps every other server sharing this store from deleting `blocks`,
    /// or from referencing them without uploading them, until the lease
    /// drops. Within one server the content service's own block locks do
    /// this; a store that several servers share must lock across them, or
    /// one server could delete a block another has just deduplicated
    /// against.
    async fn lease_blocks(&self, blocks: &[BlockId]) -> StoreResult<BlockLease> {
        let _ = blocks;
        Ok(Box::new(()))
    }

    /// Makes every committed transaction survive power loss. Commits
    /// already survive a crash of the process; stores that need more for
    /// power loss do it here, coalescing concurrent calls.
    async fn sync(&self) -> StoreResult<()> {
        Ok(())
    }
}

/// One serializable read-write transaction. Reads see the transaction's own
/// writes.
#[async_trait]
pub trait MetaTxn: Send {
    async fn get_inode(&mut self, id: InodeId) -> StoreResult<Option<Inode>>;

    /// Inserts or replaces the inode with `inode.id`.
    async fn put_inode(&mut self, inode: &Inode) -> StoreResult<()>;

    async fn delete_inode(&mut self, id: InodeId) -> StoreResult<()>;

    /// A number never handed out before by this store (1 is never used, so
    /// it can mean "none").
    async fn allocate_inode_id(&mut self) -> StoreResult<InodeId>;

    async fn lookup(&mut self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>>;

    /// Inserts or replaces the entry with `entry.name` in `dir`.
    async fn put_entry(&mut self, dir: InodeId, entry: &DirEntry) -> StoreResult<()>;

    /// Removes the entry, returning it if it existed.
    async fn remove_entry(&mut self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>>;

    async fn has_entries(&mut self, dir: InodeId) -> StoreResult<bool>;

    async fn extents(&mut self, inode: InodeId, start: u64, end: u64) -> StoreResult<Vec<Extent>>;

    /// Inserts or replaces the extent starting at `extent.offset`.
    async fn put_extent(&mut self, inode: InodeId, extent: &Extent) -> StoreResult<()>;

    async fn delete_extent(&mut self, inode: InodeId, offset: u64) -> StoreResult<()>;

    async fn block_ref(&mut self, id: &BlockId) -> StoreResult<Option<BlockRef>>;

    async fn put_block_ref(&mut self, id: &BlockId, r: &BlockRef) -> StoreResult<()>;

    async fn delete_block_ref(&mut self, id: &BlockId) -> StoreResult<()>;

    async fn share_root(&mut self, share: &str) -> StoreResult<Option<InodeId>>;

    async fn set_share_root(&mut self, share: &str, root: InodeId) -> StoreResult<()>;

    /// Forgets a share's root (the root inode itself is deleted separately).
    async fn remove_share_root(&mut self, share: &str) -> StoreResult<()>;

    async fn commit(self: Box<Self>) -> StoreResult<()>;
}
