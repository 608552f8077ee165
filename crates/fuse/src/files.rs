//! Attributes, opening, reading and writing, listing, and making data
//! stable.

use std::time::{Duration, Instant};

use bytes::Bytes;
use dittofs_content::Stability;
use dittofs_meta::{
    ACCESS_EXECUTE, ACCESS_LOOKUP, ACCESS_MODIFY, ACCESS_READ, AuthContext, FileKind, FsError,
    SetAttrs,
};
use fuser::{AccessFlags, Errno, FileAttr, FileType, INodeNo, TimeOrNow};

use crate::attrs::{BLOCK_SIZE, kind, set_time};
use crate::errno::Outcome;
use crate::volume::Volume;

/// How long a write waits, in total, for the server to take it when the
/// memory for unflushed data is full (a local write has no way to say
/// "retry later").
const BUSY_WAIT: Duration = Duration::from_secs(60);

/// One entry of a directory listing.
pub(crate) struct Listed {
    pub(crate) ino: INodeNo,
    pub(crate) offset: u64,
    pub(crate) kind: FileType,
    pub(crate) name: Bytes,
}

/// What SETATTR asks for, as FUSE gives it.
pub(crate) struct AttrChange {
    pub(crate) mode: Option<u32>,
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
    pub(crate) size: Option<u64>,
    pub(crate) atime: Option<TimeOrNow>,
    pub(crate) mtime: Option<TimeOrNow>,
    /// Through an open file (ftruncate, futimens) rather than a path.
    pub(crate) through_open_file: bool,
}

fn access_mask(flags: i32) -> u32 {
    match flags & libc::O_ACCMODE {
        libc::O_WRONLY => ACCESS_MODIFY,
        libc::O_RDWR => ACCESS_READ | ACCESS_MODIFY,
        _ => ACCESS_READ,
    }
}

impl Volume {
    pub(crate) async fn getattr(&self, ctx: &AuthContext, ino: INodeNo) -> Outcome<FileAttr> {
        let fh = self.handle(ino)?;
        let inode = self.share.meta.getattr(ctx, &fh).await?;
        Ok(self.attr(&inode))
    }

    pub(crate) async fn setattr(
        &self,
        ctx: &AuthContext,
        ino: INodeNo,
        change: AttrChange,
    ) -> Outcome<FileAttr> {
        let fh = self.handle(ino)?;
        if change.size.is_some() && !change.through_open_file {
            // truncate(2) needs write permission, even for the owner;
            // through a file opened for writing it was checked at open.
            self.has_access(ctx, &fh, ACCESS_MODIFY).await?;
        }
        let attrs = SetAttrs {
            mode: change.mode.map(|m| m & 0o7777),
            uid: change.uid,
            gid: change.gid,
            size: change.size,
            atime: set_time(change.atime),
            mtime: set_time(change.mtime),
        };
        let wcc = self.share.meta.setattr(ctx, &fh, attrs, None).await?;
        Ok(self.attr(&wcc.after))
    }

    pub(crate) async fn readlink(&self, ctx: &AuthContext, ino: INodeNo) -> Outcome<Bytes> {
        let fh = self.handle(ino)?;
        let (target, _) = self.share.meta.readlink(ctx, &fh).await?;
        Ok(target)
    }

    /// access(2): each right asked for must be granted.
    pub(crate) async fn access(
        &self,
        ctx: &AuthContext,
        ino: INodeNo,
        mask: AccessFlags,
    ) -> Outcome<()> {
        let fh = self.handle(ino)?;
        if mask == AccessFlags::F_OK {
            self.share.meta.getattr(ctx, &fh).await?;
            return Ok(());
        }
        let mut want = 0;
        if mask.contains(AccessFlags::R_OK) {
            want |= ACCESS_READ;
        }
        if mask.contains(AccessFlags::W_OK) {
            want |= ACCESS_MODIFY;
        }
        if mask.contains(AccessFlags::X_OK) {
            let inode = self.share.meta.getattr(ctx, &fh).await?;
            want |= if inode.is_dir() {
                ACCESS_LOOKUP
            } else {
                ACCESS_EXECUTE
            };
        }
        self.has_access(ctx, &fh, want).await?;
        Ok(())
    }

    /// Opens a file after checking the caller may read and write it as
    /// `flags` ask; returns the file handle number.
    pub(crate) async fn open(&self, ctx: &AuthContext, ino: INodeNo, flags: i32) -> Outcome<u64> {
        let fh = self.handle(ino)?;
        let inode = self.has_access(ctx, &fh, access_mask(flags)).await?;
        if flags & libc::O_TRUNC != 0 && inode.kind == FileKind::Regular && inode.size > 0 {
            let attrs = SetAttrs {
                size: Some(0),
                ..SetAttrs::default()
            };
            self.share.meta.setattr(ctx, &fh, attrs, None).await?;
        }
        Ok(self.open_file(inode.id))
    }

    pub(crate) async fn opendir(&self, ctx: &AuthContext, ino: INodeNo) -> Outcome<()> {
        let fh = self.handle(ino)?;
        let inode = self.has_access(ctx, &fh, ACCESS_READ).await?;
        if inode.is_dir() {
            Ok(())
        } else {
            Err(Errno::ENOTDIR.into())
        }
    }

    pub(crate) async fn read(
        &self,
        ctx: &AuthContext,
        ino: INodeNo,
        offset: u64,
        size: u32,
    ) -> Outcome<Bytes> {
        let fh = self.handle(ino)?;
        Ok(self.share.content.read(ctx, &fh, offset, size).await?.data)
    }

    pub(crate) async fn write(
        &self,
        ctx: &AuthContext,
        ino: INodeNo,
        offset: u64,
        data: &[u8],
        flags: i32,
    ) -> Outcome<u32> {
        let fh = self.handle(ino)?;
        let stability = if flags & (libc::O_SYNC | libc::O_DSYNC) != 0 {
            Stability::FileSync
        } else {
            Stability::Unstable
        };
        let data = Bytes::copy_from_slice(data);
        let deadline = Instant::now() + BUSY_WAIT;
        loop {
            match self
                .share
                .content
                .write(ctx, &fh, offset, data.clone(), stability)
                .await
            {
                Ok(w) => return Ok(w.count),
                Err(FsError::Busy) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// fsync(2): the file's data and attributes reach the journal and the
    /// metadata store, as NFS COMMIT does.
    pub(crate) async fn fsync(&self, ctx: &AuthContext, ino: INodeNo) -> Outcome<()> {
        let fh = self.handle(ino)?;
        let inode = self.share.meta.getattr(ctx, &fh).await?;
        if inode.kind == FileKind::Regular {
            self.share.content.commit(ctx, &fh).await?;
        } else {
            self.share.meta.sync().await?;
        }
        Ok(())
    }

    pub(crate) async fn fsyncdir(&self) -> Outcome<()> {
        self.share.meta.sync().await?;
        Ok(())
    }

    /// Up to `limit` entries after `offset` (0 at the start; else the
    /// offset of the last entry returned, which is its cookie).
    pub(crate) async fn readdir(
        &self,
        ctx: &AuthContext,
        ino: INodeNo,
        offset: u64,
        limit: usize,
    ) -> Outcome<Vec<Listed>> {
        let fh = self.handle(ino)?;
        let listing = self
            .share
            .meta
            .readdir(ctx, &fh, offset, [0; 8], limit, true)
            .await?;
        let dir_kind = kind(FileKind::Directory);
        Ok(listing
            .entries
            .into_iter()
            .filter_map(|e| {
                let kind = match &e.attrs {
                    Some(a) => kind(a.kind),
                    // "." and ".." come without attributes.
                    None if e.cookie <= 2 => dir_kind,
                    // Removed since the names were read.
                    None => return None,
                };
                Some(Listed {
                    ino: self.inodes.ino(e.inode),
                    offset: e.cookie,
                    kind,
                    name: e.name,
                })
            })
            .collect())
    }

    pub(crate) async fn statfs(&self, ctx: &AuthContext) -> Outcome<Statfs> {
        let root = self.inodes.root();
        let s = self.share.content.fsstat(ctx, &root).await?;
        let bsize = BLOCK_SIZE as u64;
        Ok(Statfs {
            blocks: s.total_bytes / bsize,
            bfree: s.free_bytes / bsize,
            files: s.total_files,
            ffree: s.free_files,
        })
    }
}

pub(crate) struct Statfs {
    pub(crate) blocks: u64,
    pub(crate) bfree: u64,
    pub(crate) files: u64,
    pub(crate) ffree: u64,
}
