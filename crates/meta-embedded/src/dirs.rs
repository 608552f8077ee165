//! How many entries each directory has, kept beside the entries. In an LSM
//! tree a removed entry stays as a tombstone until compaction, so finding
//! out whether a directory has anything left by walking its names passes
//! every entry removed from it so far: emptying a big directory one name at
//! a time (an S3 client deleting a prefix, each delete asking whether the
//! prefix's directory is now empty) was quadratic. A count answers at once.

use std::collections::HashMap;

use dittofs_meta::{InodeId, StoreResult, codec};
use fjall::Readable;

use crate::keys::DIR_COUNTS;
use crate::{Db, io};

impl Db {
    /// Counts every directory's entries once, for a store made before
    /// counts were kept (one walk of the entries, at the first start of a
    /// server that keeps them).
    pub(crate) fn count_entries_if_uncounted(&self) -> StoreResult<()> {
        if self.counters.get(DIR_COUNTS).map_err(io)?.is_some() {
            return Ok(());
        }
        let mut counts: HashMap<InodeId, u64> = HashMap::new();
        for kv in self.db.snapshot().iter(&self.entries) {
            let key = kv.key().map_err(io)?;
            let dir = codec::decode_u64(key.get(..8).unwrap_or_default())?;
            *counts.entry(dir).or_default() += 1;
        }
        let mut batch = self.db.batch();
        for (dir, n) in &counts {
            batch.insert(&self.dirs, codec::encode_u64(*dir), codec::encode_u64(*n));
        }
        batch.insert(&self.counters, DIR_COUNTS, codec::encode_u64(1));
        batch.commit().map_err(io)?;
        if !counts.is_empty() {
            tracing::info!(
                directories = counts.len(),
                "counted the entries of every directory"
            );
        }
        Ok(())
    }
}

/// Entries added (+) and removed (-) per directory by one batch.
#[derive(Default)]
pub(crate) struct CountChanges(HashMap<InodeId, i64>);

impl CountChanges {
    pub(crate) fn entry(&mut self, dir: InodeId, existed: bool, exists: bool) {
        let d = i64::from(exists) - i64::from(existed);
        if d != 0 {
            *self.0.entry(dir).or_default() += d;
        }
    }

    /// Adds the new counts to `batch`.
    pub(crate) fn write(
        self,
        db: &Db,
        now: impl Fn(InodeId) -> StoreResult<u64>,
        batch: &mut fjall::OwnedWriteBatch,
    ) -> StoreResult<()> {
        for (dir, d) in self.0 {
            if d == 0 {
                continue;
            }
            let key = codec::encode_u64(dir);
            match (now(dir)? as i64 + d).max(0) as u64 {
                0 => batch.remove(&db.dirs, key),
                n => batch.insert(&db.dirs, key, codec::encode_u64(n)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use bytes::Bytes;
    use dittofs_meta::{DirEntry, MetadataStore};
    use fjall::{Database, KeyspaceCreateOptions};

    use crate::keys::DIR_COUNTS;
    use crate::{EmbeddedOptions, EmbeddedStore};

    fn open(path: &std::path::Path) -> Arc<EmbeddedStore> {
        Arc::new(
            EmbeddedStore::open(EmbeddedOptions {
                path: path.to_path_buf(),
                sync_interval: Duration::ZERO,
            })
            .expect("open"),
        )
    }

    async fn put(store: &EmbeddedStore, dir: u64, names: &[&str]) {
        let mut tx = store.begin().await.expect("begin");
        for (i, n) in names.iter().enumerate() {
            let e = DirEntry {
                name: Bytes::copy_from_slice(n.as_bytes()),
                inode: 100 + i as u64,
                cookie: 3 + i as u64,
            };
            tx.put_entry(dir, &e).await.expect("put_entry");
        }
        tx.commit().await.expect("commit");
    }

    async fn has_entries(store: &EmbeddedStore, dir: u64) -> bool {
        let mut tx = store.begin().await.expect("begin");
        tx.has_entries(dir).await.expect("has_entries")
    }

    #[tokio::test]
    async fn a_store_made_without_counts_is_counted_when_opened() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("meta");
        {
            let store = open(&path);
            put(&store, 7, &["a", "b"]).await;
            put(&store, 8, &["c"]).await;
        }
        // What a server from before counts were kept left behind.
        {
            let db = Database::builder(&path).open().expect("raw open");
            let dirs = db
                .keyspace("dirs", KeyspaceCreateOptions::default)
                .expect("dirs");
            let counters = db
                .keyspace("counters", KeyspaceCreateOptions::default)
                .expect("counters");
            let mut batch = db.batch();
            batch.remove(&dirs, 7u64.to_be_bytes());
            batch.remove(&dirs, 8u64.to_be_bytes());
            batch.remove(&counters, DIR_COUNTS);
            batch.commit().expect("commit");
            db.persist(fjall::PersistMode::SyncAll).expect("persist");
        }
        let store = open(&path);
        assert_eq!(store.db.view().entry_count(7).unwrap(), 2);
        assert_eq!(store.db.view().entry_count(8).unwrap(), 1);
        assert!(has_entries(&store, 7).await);
        let mut tx = store.begin().await.expect("begin");
        tx.remove_entry(8, b"c").await.expect("remove_entry");
        assert!(!tx.has_entries(8).await.unwrap(), "its own removal seen");
        tx.commit().await.expect("commit");
        assert!(!has_entries(&store, 8).await);
        assert_eq!(store.db.view().entry_count(8).unwrap(), 0);
    }

    #[tokio::test]
    async fn counts_follow_adds_replacements_and_removals() {
        let tmp = tempfile::tempdir().unwrap();
        let store = open(&tmp.path().join("meta"));
        put(&store, 5, &["x", "y", "z"]).await;
        // Replacing a name does not add one.
        put(&store, 5, &["x"]).await;
        assert_eq!(store.db.view().entry_count(5).unwrap(), 3);
        let mut tx = store.begin().await.expect("begin");
        for n in ["x", "y", "nothing-there"] {
            tx.remove_entry(5, n.as_bytes())
                .await
                .expect("remove_entry");
        }
        assert!(tx.has_entries(5).await.unwrap(), "z is left");
        tx.commit().await.expect("commit");
        assert_eq!(store.db.view().entry_count(5).unwrap(), 1);
    }
}
