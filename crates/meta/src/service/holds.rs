//! Files held open by a local client (FUSE), which POSIX keeps alive after
//! their last name is removed: such a file stays, with no links, until its
//! last holder lets go.
//!
//! Holds live in memory only. A file orphaned when the process dies keeps
//! its inode (nlink 0, no name) in the store; nothing reaches it again.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::error::{FsError, FsResult};
use crate::extents;
use crate::types::InodeId;

use super::{MetadataService, transact};

#[derive(Default)]
struct Hold {
    count: u64,
    /// Its last link is gone: delete it when the count reaches zero.
    orphaned: bool,
}

#[derive(Default)]
pub(crate) struct Holds(Mutex<HashMap<InodeId, Hold>>);

impl Holds {
    pub(crate) fn is_held(&self, inode: InodeId) -> bool {
        self.0.lock().contains_key(&inode)
    }

    /// Marks a held file as having lost its last link. False when no hold
    /// is left (it was let go meanwhile): the caller deletes it then.
    fn orphan(&self, inode: InodeId) -> bool {
        match self.0.lock().get_mut(&inode) {
            Some(h) => {
                h.orphaned = true;
                true
            }
            None => false,
        }
    }
}

impl MetadataService {
    /// Someone opened the file: removing its last name keeps it (with no
    /// links) until the matching [`MetadataService::let_go`].
    pub fn hold(&self, inode: InodeId) {
        self.holds.0.lock().entry(inode).or_default().count += 1;
    }

    /// One holder closed the file; the last one deletes an orphan.
    pub async fn let_go(&self, inode: InodeId) -> FsResult<()> {
        let reap = {
            let mut holds = self.holds.0.lock();
            match holds.get_mut(&inode) {
                Some(h) if h.count > 1 => {
                    h.count -= 1;
                    false
                }
                Some(_) => holds.remove(&inode).is_some_and(|h| h.orphaned),
                None => false,
            }
        };
        if reap { self.reap(inode).await } else { Ok(()) }
    }

    /// A held file lost its last link inside a committed transaction.
    pub(crate) async fn orphaned(&self, inode: InodeId) -> FsResult<()> {
        if self.holds.orphan(inode) {
            Ok(())
        } else {
            self.reap(inode).await
        }
    }

    /// Deletes a file that has no link and no holder left.
    async fn reap(&self, inode: InodeId) -> FsResult<()> {
        let released = transact!(self, |tx| {
            match tx.get_inode(inode).await? {
                // Linked again meanwhile (linkat of an open file): it stays.
                Some(i) if i.nlink == 0 => {
                    let released = extents::truncate(tx, inode, 0).await?;
                    tx.delete_inode(inode).await?;
                    Ok(released)
                }
                _ => Ok(Vec::new()),
            }
        })
        .or_else(|e| match e {
            FsError::Stale => Ok(Vec::new()),
            e => Err(e),
        })?;
        if let Some(h) = self.hooks() {
            h.file_removed(inode);
        }
        self.release(released);
        Ok(())
    }
}
