use dittofs_blocks::BlockId;
use dittofs_meta::InodeId;
use tokio::sync::{Mutex, MutexGuard, OwnedMutexGuard};

use std::sync::Arc;

/// Serializes, per block id, "store the block, then reference it" against
/// "see it unreferenced, then delete it". Without it a write that dedups
/// onto a block could reference it just as reclamation deletes it.
pub(crate) struct BlockLocks {
    stripes: Vec<Arc<Mutex<()>>>,
}

const STRIPES: usize = 256;

impl BlockLocks {
    pub(crate) fn new() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Arc::new(Mutex::new(()))).collect(),
        }
    }

    fn stripe(id: &BlockId) -> usize {
        id.0[0] as usize % STRIPES
    }

    pub(crate) async fn lock(&self, id: &BlockId) -> MutexGuard<'_, ()> {
        self.stripes[Self::stripe(id)].lock().await
    }

    /// Locks every id's stripe, each once, in one global order (so two
    /// callers locking overlapping sets cannot deadlock).
    pub(crate) async fn lock_all(
        &self,
        ids: impl IntoIterator<Item = BlockId>,
    ) -> Vec<OwnedMutexGuard<()>> {
        let mut stripes: Vec<usize> = ids.into_iter().map(|id| Self::stripe(&id)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        let mut guards = Vec::with_capacity(stripes.len());
        for s in stripes {
            guards.push(self.stripes[s].clone().lock_owned().await);
        }
        guards
    }
}

/// One flush of a file at a time, and none while its size or times are
/// being changed.
pub(crate) struct FileLocks {
    stripes: Vec<Arc<Mutex<()>>>,
}

impl FileLocks {
    pub(crate) fn new() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Arc::new(Mutex::new(()))).collect(),
        }
    }

    pub(crate) async fn lock(&self, inode: InodeId) -> OwnedMutexGuard<()> {
        self.stripes[(inode as usize) % STRIPES]
            .clone()
            .lock_owned()
            .await
    }
}
