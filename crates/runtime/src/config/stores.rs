//! The named stores of the configuration file: metadata and payload
//! stores by type, with each type's settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::units::{ByteSize, Seconds};

/// Named stores of one kind, each created once and shared by every share
/// that names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stores<T> {
    #[serde(default = "BTreeMap::new")]
    pub stores: BTreeMap<String, T>,
}

impl<T> Default for Stores<T> {
    fn default() -> Self {
        Self {
            stores: BTreeMap::new(),
        }
    }
}

/// The metadata store types this build knows.
pub const METADATA_STORE_TYPES: &[&str] = &["memory", "embedded", "postgres"];
/// The payload (block) store types this build knows.
pub const PAYLOAD_STORE_TYPES: &[&str] = &["memory", "fs", "s3"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataStoreConfig {
    #[serde(rename = "type")]
    pub kind: String,
    /// Settings of `type: embedded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded: Option<EmbeddedConfig>,
    /// Settings of `type: postgres`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresConfig>,
}

impl MetadataStoreConfig {
    pub fn memory() -> Self {
        Self {
            kind: "memory".into(),
            embedded: None,
            postgres: None,
        }
    }

    pub fn embedded() -> Self {
        Self {
            kind: "embedded".into(),
            embedded: Some(EmbeddedConfig::default()),
            postgres: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddedConfig {
    /// Database directory; empty means `<data_dir>/metadata/<store name>`.
    pub path: String,
    /// How often committed changes are made power-loss durable in the
    /// background; `0s` makes every change wait for it before the reply.
    pub sync_interval: Seconds,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self {
            path: String::new(),
            sync_interval: Seconds::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
    /// A libpq connection string (`postgres://user:pass@host:5432/db` or
    /// `host=... dbname=...`); when set, host, port, database and user are
    /// not used.
    pub dsn: String,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    /// Also applies with `dsn`, so the secret can come from the
    /// environment alone.
    pub password: String,
    /// `disable`, `prefer`, `require`, `verify-ca` or `verify-full`, as
    /// libpq means them.
    pub sslmode: String,
    /// PEM file of the certificates trusted for `verify-ca` and
    /// `verify-full`; empty means the system's store.
    pub ssl_root_cert: String,
    /// Connections in this server's pool.
    pub max_conns: u32,
    /// The PostgreSQL schema holding the tables; created if missing.
    pub schema: String,
    pub connect_timeout: Seconds,
    /// How long FSSTAT reuses the counted files and bytes.
    pub stats_ttl: Seconds,
    /// Whether every change waits for PostgreSQL's WAL flush; when off,
    /// only what clients make stable (COMMIT, FILE_SYNC) does.
    pub synchronous_commit: bool,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            dsn: String::new(),
            host: "localhost".into(),
            port: 5432,
            database: "dittofs".into(),
            user: "dittofs".into(),
            password: String::new(),
            sslmode: "prefer".into(),
            ssl_root_cert: String::new(),
            max_conns: 16,
            schema: "dittofs".into(),
            connect_timeout: Seconds::from_secs(5),
            stats_ttl: Seconds::from_secs(5),
            synchronous_commit: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadStoreConfig {
    #[serde(rename = "type")]
    pub kind: String,
    /// Settings of `type: fs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs: Option<FsConfig>,
    /// Settings of `type: s3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3StoreConfig>,
    /// Files are cut into blocks of this size (a file's last block, and
    /// small overwrites, are smaller).
    #[serde(default = "default_block_size")]
    pub block_size: ByteSize,
}

/// Blocks kept in an S3-compatible object store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3StoreConfig {
    /// `http(s)://host:port`; empty means AWS itself.
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// Every key starts with it (`<prefix>/blocks/...`).
    pub prefix: String,
    /// Empty: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    pub access_key: String,
    pub secret_key: String,
    /// `https://bucket.host/` instead of `https://host/bucket/`.
    pub virtual_hosted: bool,
    /// Deadline of one request.
    pub timeout: Seconds,
    /// Retries of a failed request (network errors, throttling, 5xx), with
    /// exponential backoff and jitter.
    pub max_retries: u32,
    /// Blocks this big or bigger are put in parts.
    pub multipart_threshold: ByteSize,
}

impl Default for S3StoreConfig {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            region: "us-east-1".into(),
            bucket: String::new(),
            prefix: String::new(),
            access_key: String::new(),
            secret_key: String::new(),
            virtual_hosted: false,
            timeout: Seconds::from_secs(30),
            max_retries: 10,
            multipart_threshold: ByteSize(16 << 20),
        }
    }
}

fn default_block_size() -> ByteSize {
    ByteSize(4 << 20)
}

impl PayloadStoreConfig {
    pub fn memory() -> Self {
        Self {
            kind: "memory".into(),
            fs: None,
            s3: None,
            block_size: default_block_size(),
        }
    }

    pub fn fs() -> Self {
        Self {
            kind: "fs".into(),
            fs: Some(FsConfig::default()),
            s3: None,
            block_size: default_block_size(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct FsConfig {
    /// Block directory; empty means `<data_dir>/blocks/<store name>`.
    pub path: String,
}
