//! The store's tables, as numbered migrations applied in order at start.
//!
//! Each migration runs once per schema, recorded in `schema_migrations`;
//! servers starting together take turns on an advisory lock, so a
//! migration is never applied twice. Never edit a released migration:
//! add the next one.

use deadpool_postgres::Object;
use dittofs_meta::{StoreError, StoreResult};

use crate::error;

const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    "CREATE SEQUENCE inode_ids START WITH 2 MINVALUE 2;
     CREATE TABLE inodes (id bigint PRIMARY KEY, data bytea NOT NULL);
     CREATE TABLE entries (
         dir bigint NOT NULL,
         name bytea NOT NULL,
         inode bigint NOT NULL,
         cookie bigint NOT NULL,
         PRIMARY KEY (dir, name)
     );
     CREATE INDEX entries_by_cookie ON entries (dir, cookie);
     CREATE TABLE extents (
         inode bigint NOT NULL,
         off bigint NOT NULL,
         data bytea NOT NULL,
         PRIMARY KEY (inode, off)
     );
     CREATE TABLE block_refs (id bytea PRIMARY KEY, refs bigint NOT NULL, size bigint NOT NULL);
     CREATE TABLE share_roots (share text PRIMARY KEY, root bigint NOT NULL);",
)];

/// Any number, the same in every server: the advisory lock migrations take.
const MIGRATION_LOCK: i64 = 0x0064_6974_746f_6673;

/// Brings `schema` up to the newest migration this server knows, and
/// refuses a schema that a newer server has already moved past.
pub(crate) async fn migrate(c: &Object, schema: &str) -> StoreResult<()> {
    c.batch_execute(&format!(
        "BEGIN;
         SELECT pg_advisory_xact_lock({MIGRATION_LOCK});
         CREATE SCHEMA IF NOT EXISTS \"{schema}\";
         CREATE TABLE IF NOT EXISTS \"{schema}\".schema_migrations (
             version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         );"
    ))
    .await
    .map_err(error::db)?;
    let result = apply(c, schema).await;
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    c.batch_execute(end).await.map_err(error::db)?;
    result
}

async fn apply(c: &Object, schema: &str) -> StoreResult<()> {
    let row = c
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM \"{schema}\".schema_migrations"),
            &[],
        )
        .await
        .map_err(error::db)?;
    let current: i32 = row
        .try_get(0)
        .map_err(|e| StoreError::Corrupt(format!("schema_migrations: {e}")))?;
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(StoreError::Io(format!(
            "schema {schema} is at version {current}, newer than this server knows \
             ({newest}); run a newer DittoFS"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        c.batch_execute(&format!("SET LOCAL search_path = \"{schema}\"; {sql}"))
            .await
            .map_err(error::db)?;
        c.execute(
            &format!("INSERT INTO \"{schema}\".schema_migrations (version) VALUES ($1)"),
            &[version],
        )
        .await
        .map_err(error::db)?;
        tracing::info!(schema, version, "applied metadata schema migration");
    }
    Ok(())
}
