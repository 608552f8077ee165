//! The metadata half of file I/O: may the caller read or write, and the
//! transaction that maps newly written blocks into a file.

use dittofs_blocks::BlockId;

use crate::error::{FsError, FsResult};
use crate::extents::{self, NewExtent};
use crate::handle::FileHandle;
use crate::types::{AuthContext, FileKind, Inode, InodeId, S_ISGID, S_ISUID, Timestamp};

use super::access::{R, W, X, require_data};
use super::{MetadataService, PreAttrs, load, transact};

/// What a write did to the file's attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    pub before: PreAttrs,
    pub after: Inode,
}

/// One file range a flush replaces, and what replaces it (gaps are holes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushRange {
    pub start: u64,
    pub end: u64,
    pub extents: Vec<NewExtent>,
}

/// Writes being moved from the content layer into a file's extent map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushCommit {
    pub ranges: Vec<FlushRange>,
    /// The file's size after the writes flushed.
    pub size: u64,
    /// The time of the last write flushed.
    pub mtime: Timestamp,
}

fn regular(inode: Inode) -> FsResult<Inode> {
    match inode.kind {
        FileKind::Regular => Ok(inode),
        FileKind::Directory => Err(FsError::IsDir),
        _ => Err(FsError::Invalid),
    }
}

impl MetadataService {
    /// Checks that the caller may read the file's data.
    pub async fn check_read(&self, ctx: &AuthContext, fh: &FileHandle) -> FsResult<Inode> {
        let ctx = self.effective(ctx)?;
        let inode = regular(self.attrs(fh).await?)?;
        // Reading is also allowed with execute permission: loading a
        // program over NFS reads what may only be executed.
        if require_data(&ctx, &inode, R).is_err() {
            require_data(&ctx, &inode, X)?;
        }
        Ok(inode)
    }

    /// Checks that the caller may write the file's data.
    pub async fn check_write(&self, ctx: &AuthContext, fh: &FileHandle) -> FsResult<Inode> {
        let ctx = self.effective(ctx)?;
        let inode = regular(self.attrs(fh).await?)?;
        self.writable()?;
        require_data(&ctx, &inode, W)?;
        Ok(inode)
    }

    /// Drops set-uid and set-gid from a file a non-root caller writes to,
    /// as a kernel does, so a program cannot be altered and keep running
    /// as its owner.
    pub async fn drop_set_id_bits(&self, ctx: &AuthContext, fh: &FileHandle) -> FsResult<()> {
        let ctx = self.effective(ctx)?;
        if ctx.is_root() {
            return Ok(());
        }
        transact!(self, |tx| {
            let mut inode = regular(load(tx, fh).await?)?;
            if inode.mode & (S_ISUID | S_ISGID) != 0 {
                inode.mode &= !S_ISUID;
                if inode.mode & 0o010 != 0 {
                    inode.mode &= !S_ISGID;
                }
                inode.ctime = Timestamp::now();
                tx.put_inode(&inode).await?;
            }
            Ok(())
        })
    }

    /// Puts flushed writes into a file, as one transaction: each range is
    /// replaced by its new extents, and the size and modification time
    /// become those of the writes. `Stale` if the file is gone (its data
    /// is then dropped by the caller).
    pub async fn commit_flush(&self, inode: InodeId, flush: &FlushCommit) -> FsResult<()> {
        let released: Vec<BlockId> = transact!(self, |tx| {
            let mut file = tx.get_inode(inode).await?.ok_or(FsError::Stale)?;
            let mut released = Vec::new();
            for r in &flush.ranges {
                released
                    .extend(extents::replace_range(tx, inode, r.start, r.end, &r.extents).await?);
            }
            // A block one range let go of may be the very block another
            // range of this flush points to (same bytes): it stays.
            let mut kept = Vec::with_capacity(released.len());
            for block in released {
                if tx.block_ref(&block).await?.is_none() && !kept.contains(&block) {
                    kept.push(block);
                }
            }
            let released = kept;
            file.size = flush.size;
            if flush.mtime > file.mtime {
                file.mtime = flush.mtime;
            }
            if flush.mtime > file.ctime {
                file.ctime = flush.mtime;
            }
            tx.put_inode(&file).await?;
            Ok(released)
        })?;
        self.release(released);
        Ok(())
    }

    /// Extents of a file overlapping `start..end`, for reads.
    ///
    /// The map is read outside a transaction, after `inode` was. If the
    /// file lost its last link in between (a REMOVE, or a RENAME over it),
    /// the map read may already be the emptied one, which would read as
    /// zeros: so the file must still exist afterwards (a removal commits as
    /// one, so then the map read was whole), or the read is `Stale`.
    pub async fn extents(
        &self,
        inode: &Inode,
        start: u64,
        end: u64,
    ) -> FsResult<Vec<crate::types::Extent>> {
        let extents = self.store().extents(inode.id, start, end).await?;
        match self.store().get_inode(inode.id).await? {
            Some(now) if now.generation == inode.generation => Ok(extents),
            _ => Err(FsError::Stale),
        }
    }
}
