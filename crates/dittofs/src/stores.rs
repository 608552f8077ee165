//! The store types that live in their own crates, registered on top of the
//! runtime's built-in ones.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use dittofs_blocks::BlockStore;
use dittofs_blocks_s3::{S3BlockSettings, S3BlockStore};
use dittofs_meta::MetadataStore;
use dittofs_meta_embedded::{EmbeddedOptions, EmbeddedStore};
use dittofs_meta_postgres::{PostgresOptions, PostgresStore, SslMode};
use dittofs_runtime::config::{MetadataStoreConfig, PayloadStoreConfig};
use dittofs_runtime::{MetadataStoreKind, OpenContext, PayloadStoreKind, StoreKinds};

struct Embedded;

#[async_trait]
impl MetadataStoreKind for Embedded {
    async fn open(
        &self,
        config: &MetadataStoreConfig,
        cx: &OpenContext<'_>,
    ) -> Result<Arc<dyn MetadataStore>, String> {
        let settings = config.embedded.clone().unwrap_or_default();
        let path = match settings.path.trim() {
            "" => cx.data_dir.path().join("metadata").join(cx.name),
            p => PathBuf::from(p),
        };
        let options = EmbeddedOptions {
            path,
            sync_interval: settings.sync_interval.0,
        };
        let store = tokio::task::spawn_blocking(move || EmbeddedStore::open(options))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(store))
    }
}

struct Postgres;

#[async_trait]
impl MetadataStoreKind for Postgres {
    async fn open(
        &self,
        config: &MetadataStoreConfig,
        _cx: &OpenContext<'_>,
    ) -> Result<Arc<dyn MetadataStore>, String> {
        let c = config.postgres.clone().unwrap_or_default();
        let options = PostgresOptions {
            dsn: c.dsn,
            host: c.host,
            port: c.port,
            database: c.database,
            user: c.user,
            password: c.password,
            sslmode: SslMode::parse(&c.sslmode)
                .ok_or_else(|| format!("sslmode {:?} is not a mode", c.sslmode))?,
            ssl_root_cert: c.ssl_root_cert,
            max_conns: c.max_conns as usize,
            schema: c.schema,
            connect_timeout: c.connect_timeout.0,
            stats_ttl: c.stats_ttl.0,
            synchronous_commit: c.synchronous_commit,
        };
        let store = PostgresStore::open(&options)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(store))
    }
}

struct S3Blocks;

#[async_trait]
impl PayloadStoreKind for S3Blocks {
    async fn open(
        &self,
        config: &PayloadStoreConfig,
        _cx: &OpenContext<'_>,
    ) -> Result<Arc<dyn BlockStore>, String> {
        let c = config.s3.clone().unwrap_or_default();
        let settings = S3BlockSettings {
            endpoint: c.endpoint,
            region: c.region,
            bucket: c.bucket,
            prefix: c.prefix,
            access_key: c.access_key,
            secret_key: c.secret_key,
            virtual_hosted: c.virtual_hosted,
            timeout: c.timeout.0,
            max_retries: c.max_retries as usize,
            multipart_threshold: c.multipart_threshold.0,
        };
        let store = S3BlockStore::open(&settings).map_err(|e| e.to_string())?;
        Ok(Arc::new(store))
    }
}

/// Every store type this binary can open.
pub fn kinds() -> StoreKinds {
    let mut kinds = StoreKinds::builtin();
    kinds.register_metadata("embedded", Embedded);
    kinds.register_metadata("postgres", Postgres);
    kinds.register_payload("s3", S3Blocks);
    kinds
}
