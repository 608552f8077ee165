use std::collections::HashSet;

use async_trait::async_trait;
use bytes::Bytes;
use deadpool_postgres::{Object, Pool};
use dittofs_blocks::BlockId;
use dittofs_meta::{
    BlockRef, DirEntry, Extent, Inode, InodeId, MetaTxn, StoreError, StoreResult, codec,
};

use crate::error;
use crate::rows::{self, Params, all, exec, id, opt, ordered};

/// One REPEATABLE READ PostgreSQL transaction: it reads one snapshot, and
/// when a concurrent transaction wrote a row it also writes, the later one
/// fails with a serialization failure, reported as [`StoreError::Conflict`]
/// for the service to retry.
///
/// Snapshot isolation is serializable for the service because each of its
/// operations writes the rows its decision rests on: a change to a
/// directory's entries also writes the directory's inode, a change to a
/// file's extents the file's inode, a reference count is read and written
/// in one transaction, and a row read as absent is created with a plain
/// INSERT that fails if another transaction created it meanwhile. The
/// conformance suite holds under this isolation even without the queueing
/// below, and fails under READ COMMITTED. SERIALIZABLE was tried first:
/// its predicate locks on index pages made creates in different
/// directories abort each other until retries ran out.
pub(crate) struct PgTxn {
    /// Present until commit; dropping a transaction that still holds it
    /// rolls it back.
    client: Option<Object>,
    /// The advisory-lock class of this store's schema.
    lock_class: i32,
    state: State,
    /// Rows this transaction knows are absent (it read nothing there,
    /// deleted them, or took the inode number from the sequence).
    absent: HashSet<Row>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Row {
    Inode(InodeId),
    Entry(InodeId, Bytes),
    Block([u8; 32]),
    Root(String),
}

/// The three ways to write one row, all with the same parameters.
struct Write {
    insert: &'static str,
    update: &'static str,
    upsert: &'static str,
}

const INODE: Write = Write {
    insert: "INSERT INTO inodes (id, data) VALUES ($1, $2)",
    update: "UPDATE inodes SET data = $2 WHERE id = $1",
    upsert: "INSERT INTO inodes (id, data) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data",
};

const ENTRY: Write = Write {
    insert: "INSERT INTO entries (dir, name, inode, cookie) VALUES ($1, $2, $3, $4)",
    update: "UPDATE entries SET inode = $3, cookie = $4 WHERE dir = $1 AND name = $2",
    upsert: "INSERT INTO entries (dir, name, inode, cookie) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (dir, name) DO UPDATE SET inode = EXCLUDED.inode, cookie = EXCLUDED.cookie",
};

const BLOCK: Write = Write {
    insert: "INSERT INTO block_refs (id, refs, size) VALUES ($1, $2, $3)",
    update: "UPDATE block_refs SET refs = $2, size = $3 WHERE id = $1",
    upsert: "INSERT INTO block_refs (id, refs, size) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET refs = EXCLUDED.refs, size = EXCLUDED.size",
};

const ROOT: Write = Write {
    insert: "INSERT INTO share_roots (share, root) VALUES ($1, $2)",
    update: "UPDATE share_roots SET root = $2 WHERE share = $1",
    upsert: "INSERT INTO share_roots (share, root) VALUES ($1, $2) \
             ON CONFLICT (share) DO UPDATE SET root = EXCLUDED.root",
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    NotStarted,
    Started,
    /// Started, holding the session advisory lock of its first inode.
    Locked,
}

/// Inode numbers folded into an advisory lock key; two inodes sharing a
/// key only queue more than they need to.
fn fold(inode: InodeId) -> i32 {
    (inode ^ (inode >> 32)) as u32 as i32
}

impl PgTxn {
    pub(crate) async fn begin(pool: &Pool, lock_class: i32) -> StoreResult<Self> {
        let client = pool.get().await.map_err(error::pool)?;
        Ok(Self {
            client: Some(client),
            lock_class,
            state: State::NotStarted,
            absent: HashSet::new(),
        })
    }

    /// The connection, with the database transaction started. The first
    /// inode a transaction reads is nearly always the one it changes (the
    /// directory of a create, remove or rename; the file of a write), so
    /// the transaction first waits its turn on that inode across all
    /// servers and only then takes its snapshot: operations on one
    /// directory queue instead of colliding and retrying, while different
    /// directories proceed in parallel. The isolation still catches
    /// every other race.
    async fn c(&mut self, first_inode: Option<InodeId>) -> StoreResult<&Object> {
        let client = self
            .client
            .as_ref()
            .ok_or_else(|| StoreError::Io("transaction already finished".into()))?;
        if self.state == State::NotStarted {
            const BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ";
            match first_inode {
                Some(inode) => {
                    self.state = State::Locked;
                    // Sent together, run one after the other: the lock is
                    // held before the snapshot is taken.
                    let lock = format!(
                        "SELECT pg_advisory_lock({}, {})",
                        self.lock_class,
                        fold(inode)
                    );
                    let lock = client.batch_execute(&lock);
                    futures::future::try_join(lock, client.batch_execute(BEGIN))
                        .await
                        .map_err(error::db)?;
                }
                None => {
                    self.state = State::Started;
                    client.batch_execute(BEGIN).await.map_err(error::db)?;
                }
            }
        }
        Ok(client)
    }

    /// Writes `row`: a row this transaction saw absent with a plain
    /// INSERT, which fails with a unique violation (a conflict, retried)
    /// if another transaction made it meanwhile, where an upsert would
    /// silently write over it; any other row with an UPDATE, and an upsert
    /// only when that UPDATE found nothing.
    async fn write(
        &mut self,
        lock: Option<InodeId>,
        row: Row,
        how: &Write,
        params: Params<'_>,
    ) -> StoreResult<()> {
        let r = async {
            let known_absent = self.absent.remove(&row);
            let c = self.c(lock).await?;
            if known_absent {
                return exec(c, how.insert, params).await.map(drop);
            }
            if exec(c, how.update, params).await? == 0 {
                exec(c, how.upsert, params).await?;
            }
            Ok(())
        }
        .await;
        Self::pause_if_conflict(r).await
    }

    /// What ends the transaction's session state after COMMIT or ROLLBACK.
    fn release(&self) -> &'static str {
        match self.state {
            State::Locked => "SELECT pg_advisory_unlock_all()",
            _ => "",
        }
    }

    /// Spreads the retries of transactions that collided, so the same two
    /// do not collide again at once.
    async fn pause_if_conflict<T>(r: StoreResult<T>) -> StoreResult<T> {
        if matches!(r, Err(StoreError::Conflict)) {
            let mut b = [0u8; 2];
            let jitter = getrandom::fill(&mut b).map_or(500, |()| u16::from_le_bytes(b) % 2000);
            tokio::time::sleep(std::time::Duration::from_micros(u64::from(jitter))).await;
        }
        r
    }
}

impl Drop for PgTxn {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if self.state == State::NotStarted {
            return;
        }
        let end = format!("ROLLBACK; {}", self.release());
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if client.batch_execute(&end).await.is_err() {
                        // Never hand a connection in an unknown state back
                        // to the pool.
                        drop(Object::take(client));
                    }
                });
            }
            Err(_) => drop(Object::take(client)),
        }
    }
}

#[async_trait]
impl MetaTxn for PgTxn {
    async fn get_inode(&mut self, id: InodeId) -> StoreResult<Option<Inode>> {
        let r = rows::inode(self.c(Some(id)).await?, id).await;
        if let Ok(None) = r {
            self.absent.insert(Row::Inode(id));
        }
        Self::pause_if_conflict(r).await
    }

    async fn put_inode(&mut self, inode: &Inode) -> StoreResult<()> {
        let data = codec::encode_inode(inode);
        let params: Params<'_> = &[&id(inode.id), &data];
        self.write(Some(inode.id), Row::Inode(inode.id), &INODE, params)
            .await
    }

    async fn delete_inode(&mut self, inode: InodeId) -> StoreResult<()> {
        let sql = "DELETE FROM inodes WHERE id = $1";
        let r = exec(self.c(Some(inode)).await?, sql, &[&id(inode)]).await;
        self.absent.insert(Row::Inode(inode));
        Self::pause_if_conflict(r.map(drop)).await
    }

    async fn allocate_inode_id(&mut self) -> StoreResult<InodeId> {
        // A sequence hands out each number once, whatever happens to the
        // transaction that took it, and never makes two servers wait.
        let row = opt(self.c(None).await?, "SELECT nextval('inode_ids')", &[]).await?;
        let v: i64 = row
            .ok_or_else(|| StoreError::Corrupt("inode_ids sequence returned nothing".into()))?
            .try_get(0)
            .map_err(|e| StoreError::Corrupt(format!("inode_ids: {e}")))?;
        self.absent.insert(Row::Inode(v as u64));
        Ok(v as u64)
    }

    async fn lookup(&mut self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>> {
        let r = rows::lookup(self.c(Some(dir)).await?, dir, name).await;
        if let Ok(None) = r {
            self.absent
                .insert(Row::Entry(dir, Bytes::copy_from_slice(name)));
        }
        Self::pause_if_conflict(r).await
    }

    async fn put_entry(&mut self, dir: InodeId, entry: &DirEntry) -> StoreResult<()> {
        let (name, inode, cookie) = (entry.name.as_ref(), id(entry.inode), ordered(entry.cookie));
        let params: Params<'_> = &[&id(dir), &name, &inode, &cookie];
        let row = Row::Entry(dir, entry.name.clone());
        self.write(Some(dir), row, &ENTRY, params).await
    }

    async fn remove_entry(&mut self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>> {
        let sql = "DELETE FROM entries WHERE dir = $1 AND name = $2 RETURNING name, inode, cookie";
        let r = all(self.c(Some(dir)).await?, sql, &[&id(dir), &name]).await;
        let rows = Self::pause_if_conflict(r).await?;
        self.absent
            .insert(Row::Entry(dir, Bytes::copy_from_slice(name)));
        rows.first().map(rows::entry).transpose()
    }

    async fn has_entries(&mut self, dir: InodeId) -> StoreResult<bool> {
        Self::pause_if_conflict(rows::has_entries(self.c(Some(dir)).await?, dir).await).await
    }

    async fn extents(&mut self, inode: InodeId, start: u64, end: u64) -> StoreResult<Vec<Extent>> {
        Self::pause_if_conflict(rows::extents(self.c(Some(inode)).await?, inode, start, end).await)
            .await
    }

    async fn put_extent(&mut self, inode: InodeId, extent: &Extent) -> StoreResult<()> {
        let sql = "INSERT INTO extents (inode, off, data) VALUES ($1, $2, $3) \
                   ON CONFLICT (inode, off) DO UPDATE SET data = EXCLUDED.data";
        let data = codec::encode_extent(extent);
        let r = exec(
            self.c(Some(inode)).await?,
            sql,
            &[&id(inode), &ordered(extent.offset), &data.as_slice()],
        )
        .await;
        Self::pause_if_conflict(r.map(drop)).await
    }

    async fn delete_extent(&mut self, inode: InodeId, offset: u64) -> StoreResult<()> {
        let sql = "DELETE FROM extents WHERE inode = $1 AND off = $2";
        let r = exec(
            self.c(Some(inode)).await?,
            sql,
            &[&id(inode), &ordered(offset)],
        )
        .await;
        Self::pause_if_conflict(r.map(drop)).await
    }

    async fn block_ref(&mut self, block: &BlockId) -> StoreResult<Option<BlockRef>> {
        let r = rows::block_ref(self.c(None).await?, block).await;
        if let Ok(None) = r {
            self.absent.insert(Row::Block(*block.as_bytes()));
        }
        Self::pause_if_conflict(r).await
    }

    async fn put_block_ref(&mut self, block: &BlockId, r: &BlockRef) -> StoreResult<()> {
        let (key, refs, size) = (block.as_bytes().as_slice(), r.refs as i64, r.size as i64);
        let params: Params<'_> = &[&key, &refs, &size];
        let row = Row::Block(*block.as_bytes());
        self.write(None, row, &BLOCK, params).await
    }

    async fn delete_block_ref(&mut self, block: &BlockId) -> StoreResult<()> {
        let sql = "DELETE FROM block_refs WHERE id = $1";
        let r = exec(self.c(None).await?, sql, &[&block.as_bytes().as_slice()]).await;
        self.absent.insert(Row::Block(*block.as_bytes()));
        Self::pause_if_conflict(r.map(drop)).await
    }

    async fn share_root(&mut self, share: &str) -> StoreResult<Option<InodeId>> {
        let r = rows::share_root(self.c(None).await?, share).await;
        if let Ok(None) = r {
            self.absent.insert(Row::Root(share.to_owned()));
        }
        Self::pause_if_conflict(r).await
    }

    async fn set_share_root(&mut self, share: &str, root: InodeId) -> StoreResult<()> {
        let params: Params<'_> = &[&share, &id(root)];
        let row = Row::Root(share.to_owned());
        self.write(None, row, &ROOT, params).await
    }

    async fn remove_share_root(&mut self, share: &str) -> StoreResult<()> {
        let sql = "DELETE FROM share_roots WHERE share = $1";
        let r = exec(self.c(None).await?, sql, &[&share]).await;
        self.absent.insert(Row::Root(share.to_owned()));
        Self::pause_if_conflict(r.map(drop)).await
    }

    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        if self.state == State::NotStarted {
            return Ok(());
        }
        let end = format!("COMMIT; {}", self.release());
        let r = self
            .c(None)
            .await?
            .batch_execute(&end)
            .await
            .map_err(error::db);
        if r.is_ok() {
            // Committed: nothing left to roll back, and the connection goes
            // back to the pool as it is.
            self.client = None;
        }
        Self::pause_if_conflict(r).await
    }
}
