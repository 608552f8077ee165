//! A transaction kept as a set of changes over committed state, for stores
//! that serialize writers and can apply a whole set of changes atomically
//! (the memory store, the embedded store).
//!
//! The writer lock is held from `begin` to commit or drop, so committed
//! state cannot change under the transaction: reading through to it is
//! serializable. Nothing is visible to readers until [`Committed::apply`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use dittofs_blocks::BlockId;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::store::{MetaTxn, StoreResult};
use crate::types::{BlockRef, DirEntry, Extent, Inode, InodeId};

/// Everything one transaction changed; `None` means deleted.
#[derive(Debug, Default)]
pub struct Changes {
    pub inodes: HashMap<InodeId, Option<Inode>>,
    pub entries: BTreeMap<(InodeId, Bytes), Option<DirEntry>>,
    pub extents: BTreeMap<(InodeId, u64), Option<Extent>>,
    pub blocks: HashMap<BlockId, Option<BlockRef>>,
    pub roots: HashMap<String, Option<InodeId>>,
    /// The highest inode number handed out, when this transaction took one.
    pub last_id: Option<InodeId>,
}

/// Committed state that a transaction reads through to and finally
/// applies its changes to.
#[async_trait]
pub trait Committed: Send + Sync + 'static {
    fn inode(&self, id: InodeId) -> StoreResult<Option<Inode>>;
    fn entry(&self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>>;
    /// Up to `limit` entry names of `dir` after `after`, in name order.
    fn entry_names(
        &self,
        dir: InodeId,
        after: Option<&[u8]>,
        limit: usize,
    ) -> StoreResult<Vec<Bytes>>;
    fn extents(&self, inode: InodeId, start: u64, end: u64) -> StoreResult<Vec<Extent>>;
    fn block_ref(&self, id: &BlockId) -> StoreResult<Option<BlockRef>>;
    fn share_root(&self, share: &str) -> StoreResult<Option<InodeId>>;
    fn last_inode_id(&self) -> StoreResult<InodeId>;
    /// How many entries `dir` has, for stores that count them (where
    /// walking names past removed ones is slow); `None` makes
    /// [`MetaTxn::has_entries`] look at the names instead.
    fn entry_count(&self, dir: InodeId) -> StoreResult<Option<u64>> {
        let _ = dir;
        Ok(None)
    }
    /// Makes all of `changes` visible at once.
    fn apply(&self, changes: Changes) -> StoreResult<()>;

    /// Waits, after the writer lock is released, until the applied changes
    /// are as durable as the store promises a commit to be.
    async fn durable(&self) -> StoreResult<()> {
        Ok(())
    }
}

/// Serializes the writers of one store.
pub struct WriterLock(Arc<Mutex<()>>);

impl Default for WriterLock {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(())))
    }
}

impl WriterLock {
    /// Keeps every writer out until the guard drops: for work that must not
    /// run while a commit does.
    pub async fn exclude(&self) -> OwnedMutexGuard<()> {
        self.0.clone().lock_owned().await
    }

    pub async fn begin<C: Committed>(&self, base: Arc<C>) -> OverlayTxn<C> {
        OverlayTxn {
            _writer: self.0.clone().lock_owned().await,
            base,
            changes: Changes::default(),
        }
    }
}

pub struct OverlayTxn<C> {
    _writer: OwnedMutexGuard<()>,
    base: Arc<C>,
    changes: Changes,
}

/// Entry names checked per round when asking whether a directory still
/// has entries after this transaction's removals.
const EMPTINESS_PAGE: usize = 64;

#[async_trait]
impl<C: Committed> MetaTxn for OverlayTxn<C> {
    async fn get_inode(&mut self, id: InodeId) -> StoreResult<Option<Inode>> {
        match self.changes.inodes.get(&id) {
            Some(v) => Ok(v.clone()),
            None => self.base.inode(id),
        }
    }

    async fn put_inode(&mut self, inode: &Inode) -> StoreResult<()> {
        self.changes.inodes.insert(inode.id, Some(inode.clone()));
        Ok(())
    }

    async fn delete_inode(&mut self, id: InodeId) -> StoreResult<()> {
        self.changes.inodes.insert(id, None);
        Ok(())
    }

    async fn allocate_inode_id(&mut self) -> StoreResult<InodeId> {
        let last = match self.changes.last_id {
            Some(v) => v,
            None => self.base.last_inode_id()?.max(1),
        };
        self.changes.last_id = Some(last + 1);
        Ok(last + 1)
    }

    async fn lookup(&mut self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>> {
        match self
            .changes
            .entries
            .get(&(dir, Bytes::copy_from_slice(name)))
        {
            Some(v) => Ok(v.clone()),
            None => self.base.entry(dir, name),
        }
    }

    async fn put_entry(&mut self, dir: InodeId, entry: &DirEntry) -> StoreResult<()> {
        self.changes
            .entries
            .insert((dir, entry.name.clone()), Some(entry.clone()));
        Ok(())
    }

    async fn remove_entry(&mut self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>> {
        let old = self.lookup(dir, name).await?;
        if old.is_some() {
            self.changes
                .entries
                .insert((dir, Bytes::copy_from_slice(name)), None);
        }
        Ok(old)
    }

    async fn has_entries(&mut self, dir: InodeId) -> StoreResult<bool> {
        let mine = || {
            self.changes
                .entries
                .range((dir, Bytes::new())..)
                .take_while(move |((d, _), _)| *d == dir)
        };
        if mine().any(|(_, v)| v.is_some()) {
            return Ok(true);
        }
        if let Some(n) = self.base.entry_count(dir)? {
            let mut removed = 0u64;
            for ((_, name), _) in mine() {
                removed += u64::from(self.base.entry(dir, name)?.is_some());
            }
            return Ok(n > removed);
        }
        let mut after: Option<Bytes> = None;
        loop {
            let names = self
                .base
                .entry_names(dir, after.as_deref(), EMPTINESS_PAGE)?;
            for name in &names {
                if !matches!(self.changes.entries.get(&(dir, name.clone())), Some(None)) {
                    return Ok(true);
                }
            }
            if names.len() < EMPTINESS_PAGE {
                return Ok(false);
            }
            after = names.last().cloned();
        }
    }

    async fn extents(&mut self, inode: InodeId, start: u64, end: u64) -> StoreResult<Vec<Extent>> {
        let mine = &self.changes.extents;
        // Committed extents, as this transaction changed them.
        let mut merged: BTreeMap<u64, Extent> = BTreeMap::new();
        for e in self.base.extents(inode, start, end)? {
            match mine.get(&(inode, e.offset)) {
                Some(Some(changed)) => merged.insert(e.offset, changed.clone()),
                Some(None) => None,
                None => merged.insert(e.offset, e),
            };
        }
        // Extents this transaction put: those starting in the range, and the
        // last one starting before it, which may reach into it. Only the
        // range is walked, so a transaction holding thousands of extents of
        // one file (a big flush) stays linear.
        let before = mine
            .range((inode, 0)..(inode, start))
            .rev()
            .find_map(|(_, v)| v.clone());
        for e in before.into_iter().chain(
            mine.range((inode, start)..(inode, end))
                .filter_map(|(_, v)| v.clone()),
        ) {
            merged.insert(e.offset, e);
        }
        for ((_, off), v) in mine.range((inode, start)..(inode, end)) {
            if v.is_none() {
                merged.remove(off);
            }
        }
        Ok(merged
            .into_values()
            .filter(|e| e.offset < end && e.end() > start)
            .collect())
    }

    async fn put_extent(&mut self, inode: InodeId, extent: &Extent) -> StoreResult<()> {
        self.changes
            .extents
            .insert((inode, extent.offset), Some(extent.clone()));
        Ok(())
    }

    async fn delete_extent(&mut self, inode: InodeId, offset: u64) -> StoreResult<()> {
        self.changes.extents.insert((inode, offset), None);
        Ok(())
    }

    async fn block_ref(&mut self, id: &BlockId) -> StoreResult<Option<BlockRef>> {
        match self.changes.blocks.get(id) {
            Some(v) => Ok(*v),
            None => self.base.block_ref(id),
        }
    }

    async fn put_block_ref(&mut self, id: &BlockId, r: &BlockRef) -> StoreResult<()> {
        self.changes.blocks.insert(*id, Some(*r));
        Ok(())
    }

    async fn delete_block_ref(&mut self, id: &BlockId) -> StoreResult<()> {
        self.changes.blocks.insert(*id, None);
        Ok(())
    }

    async fn share_root(&mut self, share: &str) -> StoreResult<Option<InodeId>> {
        match self.changes.roots.get(share) {
            Some(v) => Ok(*v),
            None => self.base.share_root(share),
        }
    }

    async fn set_share_root(&mut self, share: &str, root: InodeId) -> StoreResult<()> {
        self.changes.roots.insert(share.to_owned(), Some(root));
        Ok(())
    }

    async fn remove_share_root(&mut self, share: &str) -> StoreResult<()> {
        self.changes.roots.insert(share.to_owned(), None);
        Ok(())
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        let this = *self;
        // The writer lock is released once the changes are applied, so the
        // next writer can proceed while this one waits for durability.
        let result = this.base.apply(this.changes);
        drop(this._writer);
        result?;
        this.base.durable().await
    }
}
