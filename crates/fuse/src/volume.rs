//! One mounted share: the services it calls, the inodes the kernel knows
//! and the files it has open.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dittofs_meta::{AuthContext, FileHandle, Inode, InodeId};
use dittofs_runtime::Share;
use fuser::{Errno, FileAttr, Generation, INodeNo};
use parking_lot::Mutex;

use crate::attrs::file_attr;
use crate::errno::Outcome;
use crate::inodes::Inodes;

/// How long the kernel may cache names and attributes: not at all, since
/// NFS and S3 clients change the same files through the same services,
/// and nothing tells the kernel when they do.
pub(crate) const TTL: Duration = Duration::ZERO;

/// What the kernel is told about a name it looked up or made.
pub(crate) struct Entry {
    pub(crate) attr: FileAttr,
    pub(crate) generation: Generation,
}

pub(crate) struct Volume {
    pub(crate) share: Arc<Share>,
    pub(crate) inodes: Inodes,
    /// Open regular files by file handle number: each holds its inode in
    /// the metadata service until released.
    open: Mutex<HashMap<u64, InodeId>>,
    next_fh: AtomicU64,
}

impl Volume {
    pub(crate) fn new(share: Arc<Share>, root: FileHandle) -> Self {
        Self {
            share,
            inodes: Inodes::new(root),
            open: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
        }
    }

    pub(crate) fn handle(&self, ino: INodeNo) -> Result<FileHandle, Errno> {
        self.inodes.handle(ino)
    }

    pub(crate) fn attr(&self, inode: &Inode) -> FileAttr {
        file_attr(self.inodes.ino(inode.id), inode)
    }

    /// An entry for the kernel, which from now on counts one more lookup
    /// of the inode.
    pub(crate) fn entry(&self, inode: &Inode) -> Entry {
        self.inodes.remember(inode);
        Entry {
            attr: self.attr(inode),
            generation: Generation(inode.generation as u64),
        }
    }

    /// Opens a file: holds its inode, so removing its last name leaves it
    /// readable until released.
    pub(crate) fn open_file(&self, inode: InodeId) -> u64 {
        self.share.meta.hold(inode);
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.open.lock().insert(fh, inode);
        fh
    }

    pub(crate) async fn release_file(&self, fh: u64) -> Outcome<()> {
        let inode = self.open.lock().remove(&fh);
        if let Some(inode) = inode {
            self.share.meta.let_go(inode).await?;
        }
        Ok(())
    }

    /// Releases every file still open (at unmount).
    pub(crate) async fn release_all(&self) {
        let open: Vec<InodeId> = self.open.lock().drain().map(|(_, i)| i).collect();
        for inode in open {
            if let Err(e) = self.share.meta.let_go(inode).await {
                tracing::warn!(share = %self.share.name, inode, error = %e, "releasing an open file");
            }
        }
    }

    /// Whether `ctx` has every right of `mask` (the service's ACCESS bits).
    pub(crate) async fn has_access(
        &self,
        ctx: &AuthContext,
        fh: &FileHandle,
        mask: u32,
    ) -> Outcome<Inode> {
        let (granted, inode) = self.share.meta.access(ctx, fh, mask).await?;
        if granted == mask {
            return Ok(inode);
        }
        let write = dittofs_meta::ACCESS_MODIFY | dittofs_meta::ACCESS_EXTEND;
        if mask & write != 0 && self.share.meta.options().read_only {
            return Err(Errno::EROFS.into());
        }
        Err(Errno::EACCES.into())
    }
}

pub(crate) fn name(n: &OsStr) -> &[u8] {
    n.as_bytes()
}
