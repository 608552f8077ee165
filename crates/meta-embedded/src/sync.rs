//! Power-loss durability: one `fdatasync` of the journal covers every
//! commit made before it, so concurrent callers share it.

use std::sync::Weak;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dittofs_meta::{StoreError, StoreResult};
use fjall::PersistMode;

use crate::Db;

#[derive(Default)]
pub(crate) struct Syncer {
    /// Commits applied so far.
    committed: AtomicU64,
    /// Commits known to be on stable storage.
    synced: AtomicU64,
    /// One sync at a time; those who wait behind it usually find their
    /// commit already covered.
    running: tokio::sync::Mutex<()>,
}

impl Syncer {
    pub(crate) fn committed(&self) {
        self.committed.fetch_add(1, Ordering::AcqRel);
    }
}

/// Returns once every commit applied before the call is on stable storage.
pub(crate) async fn sync(db: &Db) -> StoreResult<()> {
    let s = &db.syncer;
    let target = s.committed.load(Ordering::Acquire);
    if s.synced.load(Ordering::Acquire) >= target {
        return Ok(());
    }
    let _turn = s.running.lock().await;
    if s.synced.load(Ordering::Acquire) >= target {
        return Ok(());
    }
    // fjall holds its journal's lock through the fdatasync, and a commit
    // needs that lock: one made meanwhile would block its thread (an async
    // worker) until the disk answers. Writers wait here instead.
    let _writers = db.writer.exclude().await;
    // Everything committed up to now is in the journal; this sync covers it.
    let covered = s.committed.load(Ordering::Acquire);
    let handle = db.db.clone();
    tokio::task::spawn_blocking(move || handle.persist(PersistMode::SyncData))
        .await
        .map_err(|e| StoreError::Io(format!("sync task: {e}")))?
        .map_err(|e| StoreError::Io(e.to_string()))?;
    s.synced.fetch_max(covered, Ordering::AcqRel);
    Ok(())
}

/// Syncs every `interval` while the store is open, bounding how much a
/// power failure can take back.
pub(crate) fn spawn_background(db: Weak<Db>, interval: Duration) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("no async runtime: the embedded store syncs only when asked");
        return;
    };
    rt.spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(db) = db.upgrade() else { return };
            if let Err(e) = sync(&db).await {
                tracing::error!(error = %e, "background sync of the metadata store failed");
            }
        }
    });
}
