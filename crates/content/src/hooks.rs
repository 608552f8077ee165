//! What the metadata service tells the content layer, and asks of it.

use std::sync::Weak;

use async_trait::async_trait;
use dittofs_blocks::BlockId;
use dittofs_meta::{DataHooks, FsError, FsResult, InodeId, PendingAttrs, SettleGuard};

use crate::core::{Core, unavailable};
use crate::journal::{Lsn, Record};

/// Registered with the share's metadata service. Holds the data path
/// weakly: the service must not keep it alive.
pub(crate) struct Hooks(pub(crate) Weak<Core>);

fn gone() -> FsError {
    FsError::Busy
}

#[async_trait]
impl DataHooks for Hooks {
    async fn settle(&self, inode: InodeId) -> FsResult<SettleGuard> {
        let core = self.0.upgrade().ok_or_else(gone)?;
        let guard = core.file_locks.lock(inode).await;
        if let Some(upto) = core.flush_locked(inode, true).await? {
            core.defer_release(inode, upto);
        }
        Ok(Box::new(guard))
    }

    fn resized(&self, inode: InodeId, size: u64) {
        let Some(core) = self.0.upgrade() else { return };
        core.budget.release(core.dirty.truncate(inode, size));
        // Earlier writes may still be replayed from the journal after a
        // crash; this record, replayed after them, cuts them off again.
        match core.journal.append(&Record::Truncate { inode, size }) {
            // With nothing else of the file held, no flush will release the
            // record; it is not needed once the truncation is synced.
            Ok(lsn) if core.dirty.oldest_lsn(inode).is_none() => core.defer_release(inode, lsn),
            Ok(_) => {}
            Err(e) => tracing::error!(inode, size, error = %e, "could not journal a truncation"),
        }
    }

    async fn discard(&self, inode: InodeId, start: u64, end: u64) -> FsResult<()> {
        let core = self.0.upgrade().ok_or_else(gone)?;
        core.budget.release(core.dirty.discard(inode, start, end));
        let record = Record::Discard { inode, start, end };
        let lsn = core.journal.append(&record).map_err(unavailable)?;
        if core.dirty.oldest_lsn(inode).is_none() {
            core.defer_release(inode, lsn);
        }
        // Durable before the change it guards against is: after a crash,
        // replay must find it if it finds that change.
        core.journal.sync().await.map_err(unavailable)
    }

    fn pending(&self, inode: InodeId) -> Option<PendingAttrs> {
        self.0.upgrade()?.dirty.pending(inode)
    }

    fn file_removed(&self, inode: InodeId) {
        let Some(core) = self.0.upgrade() else { return };
        core.budget.release(core.dirty.remove(inode));
        core.defer_release(inode, Lsn::MAX);
    }

    fn blocks_released(&self, blocks: Vec<BlockId>) {
        let Some(core) = self.0.upgrade() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move { core.reclaim(blocks).await });
            }
            Err(_) => tracing::warn!(
                count = blocks.len(),
                "no runtime to reclaim released blocks"
            ),
        }
    }
}
