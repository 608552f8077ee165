//! The model in rows, and the statements that read it: the same reads
//! serve the store (one statement, its own snapshot) and a transaction.
//!
//! Unsigned numbers whose order matters (cookies, extent offsets) are
//! stored with the top bit flipped, so `bigint` order is `u64` order.

use bytes::Bytes;
use deadpool_postgres::Object;
use dittofs_blocks::BlockId;
use dittofs_meta::{BlockRef, DirEntry, Extent, Inode, InodeId, StoreError, StoreResult, codec};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::error;

pub(crate) fn ordered(v: u64) -> i64 {
    (v ^ (1 << 63)) as i64
}

pub(crate) fn unordered(v: i64) -> u64 {
    (v as u64) ^ (1 << 63)
}

/// Inode numbers only need to be distinct, so they are stored as is.
pub(crate) fn id(v: InodeId) -> i64 {
    v as i64
}

pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub(crate) async fn opt(c: &Object, sql: &str, params: Params<'_>) -> StoreResult<Option<Row>> {
    let st = c.prepare_cached(sql).await.map_err(error::db)?;
    c.query_opt(&st, params).await.map_err(error::db)
}

pub(crate) async fn all(c: &Object, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
    let st = c.prepare_cached(sql).await.map_err(error::db)?;
    c.query(&st, params).await.map_err(error::db)
}

pub(crate) async fn exec(c: &Object, sql: &str, params: Params<'_>) -> StoreResult<u64> {
    let st = c.prepare_cached(sql).await.map_err(error::db)?;
    c.execute(&st, params).await.map_err(error::db)
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> StoreResult<T> {
    row.try_get(i)
        .map_err(|e| StoreError::Corrupt(format!("unexpected row: {e}")))
}

pub(crate) fn entry(row: &Row) -> StoreResult<DirEntry> {
    let name: &[u8] = get(row, 0)?;
    Ok(DirEntry {
        name: Bytes::copy_from_slice(name),
        inode: get::<i64>(row, 1)? as u64,
        cookie: unordered(get(row, 2)?),
    })
}

pub(crate) async fn inode(c: &Object, id: InodeId) -> StoreResult<Option<Inode>> {
    match opt(c, "SELECT data FROM inodes WHERE id = $1", &[&self::id(id)]).await? {
        Some(row) => Ok(Some(codec::decode_inode(get(&row, 0)?)?)),
        None => Ok(None),
    }
}

pub(crate) async fn inodes(c: &Object, ids: &[InodeId]) -> StoreResult<Vec<Option<Inode>>> {
    let keys: Vec<i64> = ids.iter().map(|i| id(*i)).collect();
    let rows = all(
        c,
        "SELECT id, data FROM inodes WHERE id = ANY($1)",
        &[&keys],
    )
    .await?;
    let mut found = std::collections::HashMap::with_capacity(rows.len());
    for row in &rows {
        found.insert(
            get::<i64>(row, 0)? as u64,
            codec::decode_inode(get(row, 1)?)?,
        );
    }
    Ok(ids.iter().map(|i| found.get(i).cloned()).collect())
}

pub(crate) async fn lookup(c: &Object, dir: InodeId, name: &[u8]) -> StoreResult<Option<DirEntry>> {
    let sql = "SELECT name, inode, cookie FROM entries WHERE dir = $1 AND name = $2";
    match opt(c, sql, &[&id(dir), &name]).await? {
        Some(row) => Ok(Some(entry(&row)?)),
        None => Ok(None),
    }
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) async fn by_cookie(
    c: &Object,
    dir: InodeId,
    after: u64,
    n: usize,
) -> StoreResult<Vec<DirEntry>> {
    let sql = "SELECT name, inode, cookie FROM entries WHERE dir = $1 AND cookie > $2 \
               ORDER BY cookie LIMIT $3";
    let rows = all(c, sql, &[&id(dir), &ordered(after), &limit(n)]).await?;
    rows.iter().map(entry).collect()
}

pub(crate) async fn by_name(
    c: &Object,
    dir: InodeId,
    after: Option<&[u8]>,
    n: usize,
) -> StoreResult<Vec<DirEntry>> {
    let rows = match after {
        Some(after) => {
            let sql = "SELECT name, inode, cookie FROM entries WHERE dir = $1 AND name > $2 \
                       ORDER BY name LIMIT $3";
            all(c, sql, &[&id(dir), &after, &limit(n)]).await?
        }
        None => {
            let sql = "SELECT name, inode, cookie FROM entries WHERE dir = $1 \
                       ORDER BY name LIMIT $2";
            all(c, sql, &[&id(dir), &limit(n)]).await?
        }
    };
    rows.iter().map(entry).collect()
}

pub(crate) async fn has_entries(c: &Object, dir: InodeId) -> StoreResult<bool> {
    let sql = "SELECT 1 FROM entries WHERE dir = $1 LIMIT 1";
    Ok(opt(c, sql, &[&id(dir)]).await?.is_some())
}

/// Extents overlapping `start..end`: those starting in the range, and the
/// last one starting at or before `start`, which may reach into it
/// (extents of one file never overlap each other).
pub(crate) async fn extents(
    c: &Object,
    inode: InodeId,
    start: u64,
    end: u64,
) -> StoreResult<Vec<Extent>> {
    if end <= start {
        return Ok(Vec::new());
    }
    let sql = "SELECT off, data FROM extents WHERE inode = $1 AND off < $3 AND off >= \
               coalesce((SELECT max(off) FROM extents WHERE inode = $1 AND off <= $2), $2) \
               ORDER BY off";
    let rows = all(c, sql, &[&id(inode), &ordered(start), &ordered(end)]).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let e = codec::decode_extent(unordered(get(row, 0)?), get(row, 1)?)?;
        if e.end() > start {
            out.push(e);
        }
    }
    Ok(out)
}

pub(crate) async fn block_ref(c: &Object, block: &BlockId) -> StoreResult<Option<BlockRef>> {
    let sql = "SELECT refs, size FROM block_refs WHERE id = $1";
    match opt(c, sql, &[&block.as_bytes().as_slice()]).await? {
        Some(row) => Ok(Some(BlockRef {
            refs: get::<i64>(&row, 0)? as u64,
            size: get::<i64>(&row, 1)? as u64,
        })),
        None => Ok(None),
    }
}

pub(crate) async fn share_root(c: &Object, share: &str) -> StoreResult<Option<InodeId>> {
    let sql = "SELECT root FROM share_roots WHERE share = $1";
    match opt(c, sql, &[&share]).await? {
        Some(row) => Ok(Some(get::<i64>(&row, 0)? as u64)),
        None => Ok(None),
    }
}

pub(crate) async fn shares(c: &Object) -> StoreResult<Vec<(String, InodeId)>> {
    let sql = "SELECT share, root FROM share_roots ORDER BY share COLLATE \"C\"";
    let rows = all(c, sql, &[]).await?;
    rows.iter()
        .map(|r| Ok((get::<String>(r, 0)?, get::<i64>(r, 1)? as u64)))
        .collect()
}
