//! The content service of one share: its construction (journal replay
//! before anything is served), COMMIT and FSSTAT. Reads and writes are in
//! `read.rs` and `write.rs`.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use dittofs_blocks::BlockStore;
use dittofs_meta::{
    AuthContext, FileHandle, FileKind, FsError, FsResult, Inode, MetadataService, WriteOutcome,
};

use crate::DataPath;
use crate::core::{Core, Durability, unavailable};
use crate::flush::spawn_flusher;
use crate::hooks::Hooks;
use crate::journal::{Journal, JournalError, Record};

/// Past this much unsynced journal, COMMIT flushes the file instead.
const JOURNAL_SYNC_LIMIT: u64 = 8 << 20;

/// The largest file offset a write may reach (the largest signed 64-bit
/// offset, as local file systems allow).
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// How durable a write is when acknowledged, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stability {
    Unstable,
    DataSync,
    FileSync,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOutcome {
    pub data: Bytes,
    pub eof: bool,
    pub attrs: Inode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteResult {
    pub count: u32,
    pub committed: Stability,
    pub verifier: [u8; 8],
    pub outcome: WriteOutcome,
}

/// Space and file counts for FSSTAT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsStat {
    pub attrs: Inode,
    pub total_bytes: u64,
    pub free_bytes: u64,
    pub total_files: u64,
    pub free_files: u64,
}

/// How one share's data path is set up.
/// One share's data path as the admin endpoint reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContentStats {
    pub journal: crate::journal::JournalStats,
    /// Written and not yet in the block store.
    pub dirty_bytes: u64,
    /// Files with such data: what the flusher has queued.
    pub dirty_files: usize,
}

#[derive(Debug, Clone)]
pub struct ContentOptions {
    /// The share's journal directory; `None` keeps no journal (the share's
    /// metadata does not outlive the process either).
    pub journal: Option<PathBuf>,
    pub durability: Durability,
    /// Size of the windows files are cut into for blocks.
    pub block_size: u64,
}

impl Default for ContentOptions {
    fn default() -> Self {
        Self {
            journal: None,
            durability: Durability::Local,
            block_size: 4 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("replaying the journal: {0}")]
    Replay(FsError),
}

/// The bytes of one share's files.
pub struct ContentService {
    pub(crate) core: Arc<Core>,
    pub(crate) verifier: [u8; 8],
}

impl ContentService {
    /// Opens the share's data path: replays its journal into memory before
    /// returning, so nothing is served before every acknowledged write is
    /// back; then starts the flusher.
    pub async fn open(
        meta: Arc<MetadataService>,
        blocks: Arc<dyn BlockStore>,
        options: ContentOptions,
        shared: &DataPath,
    ) -> Result<Arc<Self>, ContentError> {
        let journaled = options
            .journal
            .filter(|_| options.durability != Durability::None);
        let (journal, recovered) = match journaled {
            Some(dir) => {
                let (j, r) = tokio::task::spawn_blocking(move || Journal::open(&dir))
                    .await
                    .map_err(|e| ContentError::Replay(unavailable(e)))??;
                (j, Some(r))
            }
            None => (Journal::disabled(), None),
        };
        let core = Arc::new(Core::new(
            meta.clone(),
            blocks,
            journal,
            shared,
            options.durability,
            options.block_size.max(4096),
        ));
        if let Some(rec) = recovered {
            let n = rec.records.len();
            replay(&core, rec.records)
                .await
                .map_err(ContentError::Replay)?;
            core.journal.prune();
            if n > 0 {
                tracing::info!(share = meta.share_name(), records = n, "journal replayed");
            }
        }
        meta.set_hooks(Arc::new(Hooks(Arc::downgrade(&core))));
        spawn_flusher(Arc::downgrade(&core));
        Ok(Arc::new(Self {
            core,
            verifier: new_verifier(),
        }))
    }

    pub fn metadata(&self) -> &Arc<MetadataService> {
        &self.core.meta
    }

    pub fn block_store(&self) -> &Arc<dyn BlockStore> {
        &self.core.blocks
    }

    /// Changes on every start, so clients resend what was not committed.
    pub fn write_verifier(&self) -> [u8; 8] {
        self.verifier
    }

    pub fn durability(&self) -> Durability {
        self.core.durability
    }

    /// Journal segment files kept on disk.
    pub fn journal_segments(&self) -> usize {
        self.core.journal.segments()
    }

    /// Bytes written and not yet flushed to the block store.
    pub fn dirty_bytes(&self) -> u64 {
        self.core.dirty.bytes()
    }

    /// The share's journal and unflushed data, for the admin endpoint.
    pub fn stats(&self) -> ContentStats {
        ContentStats {
            journal: self.core.journal.stats(),
            dirty_bytes: self.core.dirty.bytes(),
            dirty_files: self.core.dirty.files(),
        }
    }

    /// Writes every file's held data to the stores (tests, shutdown).
    pub async fn flush_all(&self) -> FsResult<()> {
        for c in self.core.dirty.candidates() {
            self.core.flush(c.inode, true).await?;
        }
        self.core.release_flushed().await
    }

    /// At shutdown, after the last request: makes the journal durable
    /// (enough for the next start to bring every write back), then flushes
    /// what memory holds into the stores for up to `budget` (so the next
    /// start has little to replay), and syncs the metadata store. Data a
    /// failing or slow block store does not take stays in the journal.
    pub async fn settle(&self, budget: std::time::Duration) -> FsResult<()> {
        let journalled = self.core.journal.sync().await;
        let flushed = match tokio::time::timeout(budget, self.flush_all()).await {
            Ok(r) => r,
            Err(_) => Err(FsError::Busy),
        };
        self.core.store().sync().await?;
        match (journalled, flushed) {
            (_, Ok(())) => Ok(()),
            // Everything is in the synced journal.
            (Ok(()), Err(e)) if self.core.durability != Durability::None => {
                tracing::warn!(error = %e, dirty_bytes = self.dirty_bytes(), "not all written data reached the stores; the journal keeps it for the next start");
                Ok(())
            }
            (Err(j), Err(_)) => Err(unavailable(j)),
            (Ok(()), Err(e)) => Err(e),
        }
    }

    /// Makes everything written to the file stable, as the share's
    /// durability says.
    pub async fn commit(&self, ctx: &AuthContext, fh: &FileHandle) -> FsResult<(Inode, [u8; 8])> {
        let inode = self.core.meta.getattr(ctx, fh).await?;
        match inode.kind {
            FileKind::Regular => {}
            FileKind::Directory => return Err(FsError::IsDir),
            _ => return Err(FsError::Invalid),
        }
        self.make_stable(inode.id, true).await?;
        Ok((inode, self.verifier))
    }

    /// `commit`, except that the metadata store is not synced: for a caller
    /// that changes metadata next (an S3 PUT renames the file into place)
    /// and syncs the store once after, which makes both durable.
    pub async fn commit_data(&self, ctx: &AuthContext, fh: &FileHandle) -> FsResult<Inode> {
        let inode = self.core.meta.getattr(ctx, fh).await?;
        match inode.kind {
            FileKind::Regular => {}
            FileKind::Directory => return Err(FsError::IsDir),
            _ => return Err(FsError::Invalid),
        }
        self.make_stable(inode.id, false).await?;
        Ok(inode)
    }

    /// Makes every metadata change so far survive a crash of the machine,
    /// as the share's durability asks: with `none` nothing waits for a
    /// disk. For a caller that changed the namespace and acknowledges it
    /// as stable (an S3 PUT).
    pub async fn sync_metadata(&self) -> FsResult<()> {
        if self.core.durability == Durability::None {
            return Ok(());
        }
        Ok(self.core.store().sync().await?)
    }

    pub(crate) async fn make_stable(
        &self,
        inode: dittofs_meta::InodeId,
        sync_metadata: bool,
    ) -> FsResult<()> {
        match self.core.durability {
            // After a bulk write, syncing the journal would write out far
            // more (every file's unsynced records) than this file still
            // holds in memory; flushing the file puts its data where it
            // belongs instead, and makes its records unnecessary.
            Durability::Local
                if self.core.journal.unsynced_bytes() > JOURNAL_SYNC_LIMIT
                    && self.core.dirty.file_bytes(inode) * 4
                        < self.core.journal.unsynced_bytes() =>
            {
                self.core.flush(inode, true).await?;
                self.core.release_flushed().await?;
            }
            Durability::Local => {
                self.core.journal.sync().await.map_err(unavailable)?;
                // The file itself must exist after power loss too.
                if sync_metadata {
                    self.core.store().sync().await?;
                }
            }
            Durability::Remote => {
                self.core.flush(inode, true).await?;
                self.core.release_flushed().await?;
                // The flush's metadata must be as stable as its blocks.
                self.core.store().sync().await?;
            }
            Durability::None => {}
        }
        Ok(())
    }

    pub async fn fsstat(&self, ctx: &AuthContext, fh: &FileHandle) -> FsResult<FsStat> {
        let attrs = self.core.meta.getattr(ctx, fh).await?;
        let stats = self.core.store().recent_stats().await?;
        let cap = self.core.blocks.capacity().await?;
        // A store that cannot tell what it holds (an object store) reports
        // nothing used; the metadata's count of block bytes says it.
        let used = (cap.total_bytes - cap.free_bytes.min(cap.total_bytes)).max(stats.block_bytes);
        let free_bytes = cap.total_bytes.saturating_sub(used);
        // An inode costs well under a kilobyte of metadata; free space is
        // the real bound on how many more files fit.
        let free_files = free_bytes / 1024;
        Ok(FsStat {
            attrs,
            total_bytes: cap.total_bytes,
            free_bytes,
            total_files: stats.inodes + free_files,
            free_files,
        })
    }
}

/// Puts journalled writes back in memory, in journal order, on top of what
/// the stores hold. Writes already flushed come back too; replaying them is
/// harmless because every later write or truncation of the same bytes is
/// also in the journal (segments are only ever dropped from the front).
async fn replay(core: &Core, records: Vec<(crate::journal::Lsn, Record)>) -> FsResult<()> {
    let mut seen = std::collections::HashSet::new();
    for (lsn, record) in records {
        let id = record.inode();
        let Some(inode) = core.store().get_inode(id).await? else {
            continue;
        };
        if inode.kind != FileKind::Regular {
            continue;
        }
        match record {
            Record::Write {
                offset,
                mtime,
                data,
                ..
            } => {
                let base = core.dirty.pending(id).map_or(inode.size, |p| p.size);
                // A later SETATTR of the times set ctime past this write;
                // its time then must not come back.
                let mtime = if mtime > inode.ctime {
                    mtime
                } else {
                    inode.mtime
                };
                let charged = core.dirty.insert(id, offset, data, lsn, mtime, base);
                if charged > 0 {
                    core.budget.force(charged as u64);
                } else {
                    core.budget.release(charged.unsigned_abs());
                }
            }
            Record::Truncate { size, .. } => {
                core.budget.release(core.dirty.truncate(id, size));
            }
            Record::Discard { start, end, .. } => {
                core.budget.release(core.dirty.discard(id, start, end));
            }
        }
        core.journal.note_replayed(lsn, id);
        seen.insert(id);
    }
    // Files left with nothing to flush need none of their records.
    for id in seen {
        if core.dirty.pending(id).is_none() {
            core.journal.release(id, crate::journal::Lsn::MAX);
        }
    }
    Ok(())
}

fn new_verifier() -> [u8; 8] {
    let mut v = [0u8; 8];
    if getrandom::fill(&mut v).is_err() {
        // Time alone still differs between starts.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        v = nanos.to_be_bytes();
    }
    v
}
