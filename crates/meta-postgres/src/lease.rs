//! Block leases across servers: session advisory locks on a connection of
//! their own pool, so a server waiting for a lease never holds a
//! connection its transactions need.

use deadpool_postgres::{Object, Pool};
use dittofs_blocks::BlockId;
use dittofs_meta::{BlockLease, StoreResult};

use crate::error;

/// One advisory-lock key per block (its first 8 bytes, mixed with the
/// schema's lock class); two blocks sharing a key only wait for each other.
fn key(block: &BlockId, class: i32) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&block.as_bytes()[..8]);
    i64::from_le_bytes(b) ^ (i64::from(class) << 32)
}

struct Lease {
    client: Option<Object>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if client
                        .batch_execute("SELECT pg_advisory_unlock_all()")
                        .await
                        .is_err()
                    {
                        // Closing the connection releases its locks.
                        drop(Object::take(client));
                    }
                });
            }
            Err(_) => drop(Object::take(client)),
        }
    }
}

pub(crate) async fn take(pool: &Pool, class: i32, blocks: &[BlockId]) -> StoreResult<BlockLease> {
    if blocks.is_empty() {
        return Ok(Box::new(()));
    }
    // Always in key order, so two servers leasing overlapping sets cannot
    // wait for each other in a cycle.
    let mut keys: Vec<i64> = blocks.iter().map(|b| key(b, class)).collect();
    keys.sort_unstable();
    keys.dedup();
    let client = pool.get().await.map_err(error::pool)?;
    let lease = Lease {
        client: Some(client),
    };
    if let Some(c) = &lease.client {
        let st = c
            .prepare_cached("SELECT pg_advisory_lock(k) FROM unnest($1::bigint[]) AS k")
            .await
            .map_err(error::db)?;
        c.execute(&st, &[&keys]).await.map_err(error::db)?;
    }
    Ok(Box::new(lease))
}
