//! The embedded metadata store: the whole metadata model in one local
//! fjall database (an LSM tree with a write-ahead journal).
//!
//! It owns the on-disk layout of inodes, directory entries (by name and by
//! cookie), extent maps, block reference counts and share roots, and the
//! store's durability: every commit is one atomic fjall batch written to the
//! journal before the transaction returns (so it survives a crash of the
//! process), and [`EmbeddedStore::sync`] makes everything committed survive
//! power loss with one `fdatasync` shared by every caller waiting at that
//! moment. It knows nothing of permissions, names or protocols; the
//! metadata service in `dittofs-meta` runs every operation on it.

mod dirs;
mod keys;
mod sync;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use dittofs_blocks::BlockId;
use dittofs_meta::codec;
use dittofs_meta::overlay::{Changes, Committed, WriterLock};
use dittofs_meta::{
    BlockRef, DirEntry, Extent, Inode, InodeId, MetaTxn, MetadataStore, StoreError, StoreResult,
    StoreStats,
};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, Readable, Snapshot};

use crate::keys::{BLOCK_BYTES, INODE_COUNT, LAST_INODE};
use crate::sync::Syncer;

/// How an embedded store is opened.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    pub path: PathBuf,
    /// How often committed changes are made power-loss durable in the
    /// background. `Duration::ZERO` makes every commit wait for it.
    pub sync_interval: Duration,
}

impl EmbeddedOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            sync_interval: Duration::from_secs(1),
        }
    }
}

pub(crate) struct Db {
    db: Database,
    inodes: Keyspace,
    /// (dir, name) -> (inode, cookie)
    entries: Keyspace,
    /// (dir, cookie) -> name
    cookies: Keyspace,
    /// (inode, offset) -> extent
    extents: Keyspace,
    /// dir -> how many entries it has (none when it has none)
    dirs: Keyspace,
    blocks: Keyspace,
    roots: Keyspace,
    counters: Keyspace,
    syncer: Syncer,
    sync_every_commit: bool,
    /// Serializes transactions; a sync holds it too (`sync.rs`).
    writer: WriterLock,
}

pub(crate) fn io(e: fjall::Error) -> StoreError {
    StoreError::Io(e.to_string())
}

/// The metadata store of `type: embedded`.
pub struct EmbeddedStore {
    db: Arc<Db>,
    path: PathBuf,
}

impl EmbeddedStore {
    /// Opens (creating if needed) the database at `options.path`. Start-up
    /// work is bounded by the journal, never by the size of the store.
    pub fn open(options: EmbeddedOptions) -> StoreResult<Self> {
        std::fs::create_dir_all(&options.path)
            .map_err(|e| StoreError::Io(format!("{}: {e}", options.path.display())))?;
        let db = Database::builder(options.path.as_path())
            .max_journaling_size(64 << 20)
            .open()
            .map_err(|e| match e {
                // Only one process may have the store open.
                fjall::Error::Locked => StoreError::Unavailable(format!(
                    "{} is in use by another process (a dittofs server or mount using the same data directory?)",
                    options.path.display()
                )),
                e => StoreError::Io(format!("{}: {e}", options.path.display())),
            })?;
        let ks = |name: &str| {
            db.keyspace(name, KeyspaceCreateOptions::default)
                .map_err(io)
        };
        let inner = Db {
            inodes: ks("inodes")?,
            entries: ks("entries")?,
            cookies: ks("cookies")?,
            extents: ks("extents")?,
            dirs: ks("dirs")?,
            blocks: ks("blocks")?,
            roots: ks("roots")?,
            counters: ks("counters")?,
            db,
            syncer: Syncer::default(),
            sync_every_commit: options.sync_interval.is_zero(),
            writer: WriterLock::default(),
        };
        inner.count_entries_if_uncounted()?;
        let db = Arc::new(inner);
        if !options.sync_interval.is_zero() {
            sync::spawn_background(Arc::downgrade(&db), options.sync_interval);
        }
        Ok(Self {
            db,
            path: options.path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Db {
    /// A consistent view of everything committed: a batch is seen whole or
    /// not at all.
    fn view(&self) -> View<'_> {
        View {
            db: self,
            snap: self.db.snapshot(),
        }
    }
}

/// Reads at one snapshot.
struct View<'a> {
    db: &'a Db,
    snap: Snapshot,
}

impl View<'_> {
    fn counter(&self, key: &[u8]) -> StoreResult<u64> {
        match self.snap.get(&self.db.counters, key).map_err(io)? {
            Some(v) => codec::decode_u64(&v),
            None => Ok(0),
        }
    }

    fn entry_count(&self, dir: InodeId) -> StoreResult<u64> {
        match self
            .snap
            .get(&self.db.dirs, codec::encode_u64(dir))
            .map_err(io)?
        {
            Some(v) => codec::decode_u64(&v),
            None => Ok(0),
        }
    }

    fn inode(&self, id: InodeId) -> StoreResult<Option<Inode>> {
        match self
            .snap
            .get(&self.db.inodes, codec::encode_u64(id))
            .map_err(io)?
        {
            Some(v) => Ok(Some(codec::decode_inode(&v)?)),
            None => Ok(None),
        }
    }

    fn has_inode(&self, id: InodeId) -> StoreResult<bool> {
        self.snap
            .contains_key(&self.db.inodes, codec::encode_u64(id))
            .map_err(io)
    }

    fn entry(&self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>> {
        match self
            .snap
            .get(&self.db.entries, codec::dir_key(dir, name))
            .map_err(io)?
        {
            Some(v) => Ok(Some(codec::decode_entry(Bytes::copy_from_slice(name), &v)?)),
            None => Ok(None),
        }
    }

    fn entries_after(
        &self,
        dir: InodeId,
        after: Option<&[u8]>,
        limit: usize,
    ) -> StoreResult<Vec<DirEntry>> {
        keys::names_after(&self.snap, &self.db.entries, dir, after)
            .take(limit)
            .map(|kv| kv.and_then(|(name, v)| codec::decode_entry(name, &v)))
            .collect()
    }

    fn entries_by_cookie(
        &self,
        dir: InodeId,
        after_cookie: u64,
        limit: usize,
    ) -> StoreResult<Vec<DirEntry>> {
        let Some(start) = after_cookie.checked_add(1) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(limit.min(1024));
        let range = codec::pair_key(dir, start)..=codec::pair_key(dir, u64::MAX);
        for kv in self.snap.range(&self.db.cookies, range).take(limit) {
            let (k, v) = kv.into_inner().map_err(io)?;
            let (_, cookie) = codec::split_pair_key(&k)?;
            if v.len() < 8 {
                return Err(StoreError::Corrupt("malformed cookie record".into()));
            }
            out.push(DirEntry {
                name: Bytes::copy_from_slice(&v[8..]),
                inode: codec::decode_u64(&v[..8])?,
                cookie,
            });
        }
        Ok(out)
    }

    fn extents(&self, inode: InodeId, start: u64, end: u64) -> StoreResult<Vec<Extent>> {
        let mut out = Vec::new();
        let range = codec::pair_key(inode, 0)..codec::pair_key(inode, end);
        for kv in self.snap.range(&self.db.extents, range).rev() {
            let (k, v) = kv.into_inner().map_err(io)?;
            let (_, offset) = codec::split_pair_key(&k)?;
            let e = codec::decode_extent(offset, &v)?;
            if e.end() <= start {
                break;
            }
            out.push(e);
        }
        out.reverse();
        Ok(out)
    }

    fn block_ref(&self, id: &BlockId) -> StoreResult<Option<BlockRef>> {
        match self.snap.get(&self.db.blocks, id.as_bytes()).map_err(io)? {
            Some(v) => Ok(Some(codec::decode_block_ref(&v)?)),
            None => Ok(None),
        }
    }

    fn share_root(&self, share: &str) -> StoreResult<Option<InodeId>> {
        match self
            .snap
            .get(&self.db.roots, share.as_bytes())
            .map_err(io)?
        {
            Some(v) => Ok(Some(codec::decode_u64(&v)?)),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl Committed for Db {
    fn inode(&self, id: InodeId) -> StoreResult<Option<Inode>> {
        self.view().inode(id)
    }

    fn entry(&self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>> {
        self.view().entry(dir, name)
    }

    fn entry_names(
        &self,
        dir: InodeId,
        after: Option<&[u8]>,
        limit: usize,
    ) -> StoreResult<Vec<Bytes>> {
        Ok(self
            .view()
            .entries_after(dir, after, limit)?
            .into_iter()
            .map(|e| e.name)
            .collect())
    }

    fn extents(&self, inode: InodeId, start: u64, end: u64) -> StoreResult<Vec<Extent>> {
        self.view().extents(inode, start, end)
    }

    fn block_ref(&self, id: &BlockId) -> StoreResult<Option<BlockRef>> {
        self.view().block_ref(id)
    }

    fn share_root(&self, share: &str) -> StoreResult<Option<InodeId>> {
        self.view().share_root(share)
    }

    fn last_inode_id(&self) -> StoreResult<InodeId> {
        self.view().counter(LAST_INODE)
    }

    fn entry_count(&self, dir: InodeId) -> StoreResult<Option<u64>> {
        self.view().entry_count(dir).map(Some)
    }

    fn apply(&self, changes: Changes) -> StoreResult<()> {
        // Only this writer changes the store, so what the view shows is
        // what the batch applies to.
        let view = self.view();
        let mut batch = self.db.batch();
        let mut inode_delta = 0i64;
        for (id, v) in &changes.inodes {
            let key = codec::encode_u64(*id);
            let existed = view.has_inode(*id)?;
            match v {
                Some(inode) => {
                    inode_delta += i64::from(!existed);
                    batch.insert(&self.inodes, key, codec::encode_inode(inode));
                }
                None => {
                    inode_delta -= i64::from(existed);
                    batch.remove(&self.inodes, key);
                }
            }
        }
        let mut counts = dirs::CountChanges::default();
        for ((dir, name), v) in &changes.entries {
            let key = codec::dir_key(*dir, name);
            let old = view.entry(*dir, name)?;
            counts.entry(*dir, old.is_some(), v.is_some());
            if let Some(old) = old {
                batch.remove(&self.cookies, codec::pair_key(*dir, old.cookie));
            }
            match v {
                Some(e) => {
                    batch.insert(&self.entries, key, codec::encode_entry(e));
                    let mut value = codec::encode_u64(e.inode).to_vec();
                    value.extend_from_slice(name);
                    batch.insert(&self.cookies, codec::pair_key(*dir, e.cookie), value);
                }
                None => batch.remove(&self.entries, key),
            }
        }
        counts.write(self, |dir| view.entry_count(dir), &mut batch)?;
        for ((inode, offset), v) in &changes.extents {
            let key = codec::pair_key(*inode, *offset);
            match v {
                Some(e) => batch.insert(&self.extents, key, codec::encode_extent(e)),
                None => batch.remove(&self.extents, key),
            }
        }
        let mut bytes_delta = 0i64;
        for (id, v) in &changes.blocks {
            let old = view.block_ref(id)?;
            bytes_delta -= old.map_or(0, |r| r.size as i64);
            bytes_delta += v.map_or(0, |r| r.size as i64);
            match v {
                Some(r) => batch.insert(
                    &self.blocks,
                    id.as_bytes().to_vec(),
                    codec::encode_block_ref(r),
                ),
                None => batch.remove(&self.blocks, id.as_bytes().to_vec()),
            }
        }
        for (share, root) in &changes.roots {
            match root {
                Some(root) => batch.insert(
                    &self.roots,
                    share.as_bytes().to_vec(),
                    codec::encode_u64(*root),
                ),
                None => batch.remove(&self.roots, share.as_bytes().to_vec()),
            }
        }
        if let Some(id) = changes.last_id {
            batch.insert(&self.counters, LAST_INODE, codec::encode_u64(id));
        }
        if inode_delta != 0 {
            let n = (view.counter(INODE_COUNT)? as i64 + inode_delta).max(0) as u64;
            batch.insert(&self.counters, INODE_COUNT, codec::encode_u64(n));
        }
        if bytes_delta != 0 {
            let n = (view.counter(BLOCK_BYTES)? as i64 + bytes_delta).max(0) as u64;
            batch.insert(&self.counters, BLOCK_BYTES, codec::encode_u64(n));
        }
        // Written to the journal (the OS has it) before this returns.
        batch.commit().map_err(io)?;
        self.syncer.committed();
        Ok(())
    }

    async fn durable(&self) -> StoreResult<()> {
        if self.sync_every_commit {
            sync::sync(self).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl MetadataStore for EmbeddedStore {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    async fn begin(&self) -> StoreResult<Box<dyn MetaTxn>> {
        Ok(Box::new(self.db.writer.begin(self.db.clone()).await))
    }

    async fn get_inode(&self, id: InodeId) -> StoreResult<Option<Inode>> {
        self.db.view().inode(id)
    }

    async fn get_inodes(&self, ids: &[InodeId]) -> StoreResult<Vec<Option<Inode>>> {
        let view = self.db.view();
        ids.iter().map(|id| view.inode(*id)).collect()
    }

    async fn lookup(&self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>> {
        self.db.view().entry(dir, name)
    }

    async fn list_by_cookie(
        &self,
        dir: InodeId,
        after_cookie: u64,
        limit: usize,
    ) -> StoreResult<Vec<DirEntry>> {
        self.db.view().entries_by_cookie(dir, after_cookie, limit)
    }

    async fn list_by_name(
        &self,
        dir: InodeId,
        after: Option<&[u8]>,
        limit: usize,
    ) -> StoreResult<Vec<DirEntry>> {
        self.db.view().entries_after(dir, after, limit)
    }

    async fn extents(&self, inode: InodeId, start: u64, end: u64) -> StoreResult<Vec<Extent>> {
        self.db.view().extents(inode, start, end)
    }

    async fn block_ref(&self, id: &BlockId) -> StoreResult<Option<BlockRef>> {
        self.db.view().block_ref(id)
    }

    async fn share_root(&self, share: &str) -> StoreResult<Option<InodeId>> {
        self.db.view().share_root(share)
    }

    async fn list_shares(&self) -> StoreResult<Vec<(String, InodeId)>> {
        let view = self.db.view();
        let mut out = Vec::new();
        for kv in view.snap.iter(&self.db.roots) {
            let (k, v) = kv.into_inner().map_err(io)?;
            let name = String::from_utf8(k.to_vec())
                .map_err(|_| StoreError::Corrupt("share name is not UTF-8".into()))?;
            out.push((name, codec::decode_u64(&v)?));
        }
        Ok(out)
    }

    async fn stats(&self) -> StoreResult<StoreStats> {
        let v = self.db.view();
        Ok(StoreStats {
            inodes: v.counter(INODE_COUNT)?,
            block_bytes: v.counter(BLOCK_BYTES)?,
        })
    }

    async fn sync(&self) -> StoreResult<()> {
        sync::sync(&self.db).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path, sync_interval: Duration) -> Arc<dyn MetadataStore> {
        Arc::new(
            EmbeddedStore::open(EmbeddedOptions {
                path: dir.join("meta"),
                sync_interval,
            })
            .expect("open the embedded store"),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passes_the_conformance_suite() {
        let tmp = tempfile::tempdir().unwrap();
        let n = std::sync::atomic::AtomicUsize::new(0);
        dittofs_meta::conformance::run(|| {
            let dir = tmp.path().join(
                n.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    .to_string(),
            );
            async move { open(&dir, Duration::from_millis(50)) }
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn survives_close_and_reopen() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        dittofs_meta::conformance::run_reopen(|| {
            let dir = dir.clone();
            async move { open(&dir, Duration::ZERO) }
        })
        .await;
    }
}
