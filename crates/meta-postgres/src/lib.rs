//! The PostgreSQL metadata store: the whole metadata model in the tables
//! of one PostgreSQL schema, so that several DittoFS servers on one
//! database (and one block store) serve one namespace.
//!
//! It owns the schema and its migrations, the connection pool and the
//! mapping of inodes, entries, extents, block references and share roots
//! to rows. Every [`MetaTxn`] is one REPEATABLE READ (snapshot) database
//! transaction, first waiting its turn on the inode it works on: when two
//! servers race (two renames in one directory), the second writer of a
//! row fails, the metadata service retries, and the tree stays
//! consistent. It knows nothing of permissions, names or
//! protocols.

mod error;
mod lease;
mod options;
mod rows;
mod schema;
mod tls;
mod txn;

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use dittofs_blocks::BlockId;
use dittofs_meta::{
    BlockRef, DirEntry, Extent, Inode, InodeId, MetaTxn, MetadataStore, StoreError, StoreResult,
    StoreStats,
};
use parking_lot::Mutex;

pub use options::{PostgresOptions, SslMode, valid_schema_name};

/// The metadata store of `type: postgres`.
pub struct PostgresStore {
    pool: Pool,
    /// Connections that hold block leases, apart from `pool` so leases
    /// and transactions never wait for each other's connections.
    lease_pool: Pool,
    stats_ttl: std::time::Duration,
    /// Advisory locks of this store's schema, apart from other schemas'.
    lock_class: i32,
    synchronous_commit: bool,
    recent: Arc<Mutex<Option<(Instant, StoreStats)>>>,
}

impl PostgresStore {
    /// Connects, and applies the schema migrations this server knows. An
    /// unreachable database is [`StoreError::Unavailable`].
    pub async fn open(options: &PostgresOptions) -> StoreResult<Self> {
        let config = options.pg_config().map_err(StoreError::Io)?;
        let tls = tls::Tls::new(options.sslmode, &options.ssl_root_cert).map_err(StoreError::Io)?;
        let pool = |size: usize| {
            let manager = Manager::from_config(
                config.clone(),
                tls.clone(),
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(manager)
                .max_size(size.max(1))
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(options.connect_timeout * 2))
                .create_timeout(Some(options.connect_timeout))
                .build()
                .map_err(|e| StoreError::Io(format!("PostgreSQL connection pool: {e}")))
        };
        let store = Self {
            pool: pool(options.max_conns)?,
            // Only flushes and block deletions lease, a few at a time.
            lease_pool: pool(options.max_conns.div_ceil(4))?,
            stats_ttl: options.stats_ttl,
            lock_class: lock_class(&options.schema),
            synchronous_commit: options.synchronous_commit,
            recent: Arc::default(),
        };
        let c = store.conn().await?;
        schema::migrate(&c, &options.schema).await?;
        Ok(store)
    }

    /// Whether this store's connections to PostgreSQL are encrypted.
    pub async fn encrypted(&self) -> StoreResult<bool> {
        let c = self.conn().await?;
        let sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
        let row = rows::opt(&c, sql, &[]).await?;
        Ok(row.is_some_and(|r| r.try_get::<_, bool>(0).unwrap_or(false)))
    }

    async fn conn(&self) -> StoreResult<Object> {
        self.pool.get().await.map_err(error::pool)
    }
}

/// FNV-1a of the schema name.
fn lock_class(schema: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in schema.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h as i32
}

#[async_trait]
impl MetadataStore for PostgresStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn begin(&self) -> StoreResult<Box<dyn MetaTxn>> {
        Ok(Box::new(
            txn::PgTxn::begin(&self.pool, self.lock_class).await?,
        ))
    }

    async fn get_inode(&self, id: InodeId) -> StoreResult<Option<Inode>> {
        rows::inode(&self.conn().await?, id).await
    }

    async fn get_inodes(&self, ids: &[InodeId]) -> StoreResult<Vec<Option<Inode>>> {
        rows::inodes(&self.conn().await?, ids).await
    }

    async fn lookup(&self, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>> {
        rows::lookup(&self.conn().await?, dir, name).await
    }

    async fn list_by_cookie(
        &self,
        dir: InodeId,
        after_cookie: u64,
        limit: usize,
    ) -> StoreResult<Vec<DirEntry>> {
        rows::by_cookie(&self.conn().await?, dir, after_cookie, limit).await
    }

    async fn list_by_name(
        &self,
        dir: InodeId,
        after: Option<&[u8]>,
        limit: usize,
    ) -> StoreResult<Vec<DirEntry>> {
        rows::by_name(&self.conn().await?, dir, after, limit).await
    }

    async fn extents(&self, inode: InodeId, start: u64, end: u64) -> StoreResult<Vec<Extent>> {
        rows::extents(&self.conn().await?, inode, start, end).await
    }

    async fn block_ref(&self, id: &BlockId) -> StoreResult<Option<BlockRef>> {
        rows::block_ref(&self.conn().await?, id).await
    }

    async fn share_root(&self, share: &str) -> StoreResult<Option<InodeId>> {
        rows::share_root(&self.conn().await?, share).await
    }

    async fn list_shares(&self) -> StoreResult<Vec<(String, InodeId)>> {
        rows::shares(&self.conn().await?).await
    }

    /// Counted, not kept in a counter row: a counter every transaction
    /// updates would make every two concurrent transactions conflict.
    async fn stats(&self) -> StoreResult<StoreStats> {
        let c = self.conn().await?;
        let sql = "SELECT (SELECT count(*) FROM inodes), \
                   (SELECT coalesce(sum(size), 0)::bigint FROM block_refs)";
        let row = rows::opt(&c, sql, &[])
            .await?
            .ok_or_else(|| StoreError::Corrupt("stats query returned nothing".into()))?;
        let get = |i| {
            row.try_get::<_, i64>(i)
                .map_err(|e| StoreError::Corrupt(format!("stats: {e}")))
        };
        let stats = StoreStats {
            inodes: get(0)?.max(0) as u64,
            block_bytes: get(1)?.max(0) as u64,
        };
        *self.recent.lock() = Some((Instant::now(), stats));
        Ok(stats)
    }

    /// With asynchronous commits, one synchronous commit: PostgreSQL then
    /// flushes its WAL up to it, so every earlier commit is durable too.
    async fn sync(&self) -> StoreResult<()> {
        if self.synchronous_commit {
            return Ok(());
        }
        let c = self.conn().await?;
        // pg_current_xact_id gives the transaction an id, without which a
        // commit writes nothing and waits for nothing.
        c.batch_execute(
            "BEGIN; SET LOCAL synchronous_commit = on; SELECT pg_current_xact_id(); COMMIT",
        )
        .await
        .map_err(error::db)
    }

    async fn lease_blocks(&self, blocks: &[BlockId]) -> StoreResult<dittofs_meta::BlockLease> {
        lease::take(&self.lease_pool, self.lock_class, blocks).await
    }

    async fn recent_stats(&self) -> StoreResult<StoreStats> {
        if let Some((at, stats)) = *self.recent.lock()
            && at.elapsed() < self.stats_ttl
        {
            return Ok(stats);
        }
        self.stats().await
    }
}
