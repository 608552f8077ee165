//! The configuration file's shape. Every struct refuses unknown keys, and
//! every key has a default, so a file only says what differs.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::telemetry::Telemetry;
use super::units::{ByteSize, Mode, Seconds};

/// A section left empty (`server:` with every key commented out) means
/// its defaults, as if it were absent.
fn null_is_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    #[serde(deserialize_with = "null_is_default")]
    pub logging: Logging,
    #[serde(deserialize_with = "null_is_default")]
    pub telemetry: Telemetry,
    #[serde(deserialize_with = "null_is_default")]
    pub server: Server,
    #[serde(deserialize_with = "null_is_default")]
    pub metadata: Stores<MetadataStoreConfig>,
    /// Where file content goes. Some documents call this `content`.
    #[serde(alias = "content", deserialize_with = "null_is_default")]
    pub payload: Stores<PayloadStoreConfig>,
    #[serde(deserialize_with = "null_is_default")]
    pub cache: Cache,
    #[serde(deserialize_with = "null_is_default")]
    pub shares: Vec<ShareConfig>,
    #[serde(deserialize_with = "null_is_default")]
    pub adapters: Adapters,
}

impl Default for Config {
    fn default() -> Self {
        let mut metadata = BTreeMap::new();
        metadata.insert("default".to_owned(), MetadataStoreConfig::embedded());
        let mut payload = BTreeMap::new();
        payload.insert("default".to_owned(), PayloadStoreConfig::fs());
        Self {
            logging: Logging::default(),
            telemetry: Telemetry::default(),
            server: Server::default(),
            metadata: Stores { stores: metadata },
            payload: Stores { stores: payload },
            cache: Cache::default(),
            shares: vec![ShareConfig::named("/export", "default", "default")],
            adapters: Adapters::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Logging {
    /// DEBUG, INFO, WARN or ERROR (any case), or a tracing filter such as
    /// `info,dittofs_nfs=debug`.
    pub level: String,
    pub format: LogFormat,
    /// `stdout`, `stderr`, or a file path to append to.
    pub output: String,
}

impl Default for Logging {
    fn default() -> Self {
        Self {
            level: "INFO".into(),
            format: LogFormat::Text,
            output: "stderr".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// How long in-flight requests may run after SIGTERM/SIGINT before
    /// their connections are closed.
    pub shutdown_timeout: Seconds,
    /// Where the server keeps its state; empty means
    /// `$XDG_DATA_HOME/dittofs` (or `~/.local/share/dittofs`).
    pub data_dir: String,
    /// The key that seals file handles; empty means
    /// `<data_dir>/handle.key`. Servers sharing a metadata store must
    /// share this file, so that any of them accepts any handle.
    pub handle_key_file: String,
    #[serde(deserialize_with = "null_is_default")]
    pub rate_limiting: RateLimiting,
    #[serde(deserialize_with = "null_is_default")]
    pub metrics: Metrics,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            shutdown_timeout: Seconds::from_secs(30),
            data_dir: String::new(),
            handle_key_file: String::new(),
            rate_limiting: RateLimiting::default(),
            metrics: Metrics::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimiting {
    pub enabled: bool,
    pub requests_per_second: u32,
    pub burst: u32,
}

impl Default for RateLimiting {
    fn default() -> Self {
        Self {
            enabled: false,
            requests_per_second: 5000,
            burst: 10000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Metrics {
    /// Serves `/metrics`, `/health`, `/health/ready` and `/status`.
    pub enabled: bool,
    pub port: u16,
    /// Loopback by default, like the adapters: `/status` names shares and
    /// stores, so exposing it is a choice.
    pub bind: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            enabled: false,
            port: 9090,
            bind: "127.0.0.1".into(),
        }
    }
}

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cache {
    /// Memory for cached and not yet flushed file content.
    pub max_size: ByteSize,
}

impl Default for Cache {
    fn default() -> Self {
        Self {
            max_size: ByteSize(256 << 20),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareConfig {
    /// The export path clients mount, such as `/export`.
    pub name: String,
    pub metadata_store: String,
    #[serde(alias = "content_store")]
    pub payload_store: String,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default, deserialize_with = "null_is_default")]
    pub squash: SquashConfig,
    /// CIDR blocks that may use the share; empty means every client.
    #[serde(default)]
    pub allowed_clients: Vec<String>,
    /// CIDR blocks refused even when also allowed.
    #[serde(default)]
    pub denied_clients: Vec<String>,
    /// Only clients on this machine see the share's mounts (MOUNT DUMP).
    #[serde(default)]
    pub dump_restricted: bool,
    #[serde(default, deserialize_with = "null_is_default")]
    pub root: RootConfig,
    /// What a client's COMMIT (or stable write) waits for.
    #[serde(default)]
    pub durability: Durability,
    /// How the share looks as an S3 bucket.
    #[serde(default, deserialize_with = "null_is_default")]
    pub s3: ShareS3Config,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ShareS3Config {
    /// The bucket name; empty means the share name without its leading
    /// `/` (a share whose name is no valid bucket name is not a bucket).
    pub bucket: String,
    /// Requests without a signature may read (GET, HEAD, list).
    pub anonymous_read: bool,
    /// Access of particular keys to this bucket, overriding their
    /// `default_access`.
    pub access: BTreeMap<String, S3Access>,
}

/// What a key may do in a bucket, each level including the ones below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum S3Access {
    /// The default, so a key reaches only what it is given.
    #[default]
    None,
    /// GET, HEAD and listings.
    Read,
    /// Also PUT, DELETE, copies and multipart uploads.
    Write,
    /// Also deleting the bucket.
    Owner,
}

/// What "stable" means on a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// The share's journal is synced to local disk (the default).
    #[default]
    Local,
    /// The data is in the block store and the metadata store: for several
    /// servers sharing those stores.
    Remote,
    /// Nothing waits for a disk and nothing is journalled: scratch data.
    None,
}

impl ShareConfig {
    pub fn named(name: &str, metadata_store: &str, payload_store: &str) -> Self {
        Self {
            name: name.into(),
            metadata_store: metadata_store.into(),
            payload_store: payload_store.into(),
            read_only: false,
            squash: SquashConfig::default(),
            allowed_clients: Vec::new(),
            denied_clients: Vec::new(),
            dump_restricted: false,
            durability: Durability::Local,
            root: RootConfig::default(),
            s3: ShareS3Config::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SquashConfig {
    /// Every client identity becomes the anonymous one (all_squash).
    pub map_all_to_anonymous: bool,
    /// uid 0 becomes the anonymous identity (root_squash).
    pub map_privileged_to_anonymous: bool,
    pub anonymous_uid: u32,
    pub anonymous_gid: u32,
}

impl Default for SquashConfig {
    fn default() -> Self {
        Self {
            map_all_to_anonymous: false,
            map_privileged_to_anonymous: false,
            anonymous_uid: 65534,
            anonymous_gid: 65534,
        }
    }
}

/// Owner and mode of the share's root directory when it is first created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RootConfig {
    pub mode: Mode,
    /// Defaults to the user running the server.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl Default for RootConfig {
    fn default() -> Self {
        Self {
            mode: Mode(0o755),
            uid: None,
            gid: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Adapters {
    #[serde(deserialize_with = "null_is_default")]
    pub nfs: NfsAdapterConfig,
    #[serde(deserialize_with = "null_is_default")]
    pub s3: S3AdapterConfig,
    #[serde(deserialize_with = "null_is_default")]
    pub fuse: FuseAdapterConfig,
}

/// Shares mounted as local file systems by `dittofs start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FuseAdapterConfig {
    pub enabled: bool,
    pub mounts: Vec<FuseMount>,
    /// Threads serving each mount's requests.
    pub threads: u32,
}

impl Default for FuseAdapterConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            mounts: Vec::new(),
            threads: 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FuseMount {
    /// The share's name (`shares[].name`).
    pub share: String,
    /// An existing directory.
    pub mountpoint: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3AdapterConfig {
    pub enabled: bool,
    /// The address to listen on.
    pub bind: String,
    pub port: u16,
    /// The region SigV4 signatures name.
    pub region: String,
    /// Keys that may sign requests; empty means one generated key pair,
    /// kept in `<data_dir>/s3-credentials`.
    pub credentials: Vec<S3Credential>,
    /// Where CreateBucket puts a new bucket's share.
    #[serde(deserialize_with = "null_is_default")]
    pub buckets: BucketStores,
    /// Multipart uploads neither completed nor aborted are removed after
    /// this long.
    pub multipart_expiry: Seconds,
    /// S3's own request rate, on top of `server.rate_limiting`.
    #[serde(deserialize_with = "null_is_default")]
    pub rate_limiting: RateLimiting,
}

impl Default for S3AdapterConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: "127.0.0.1".into(),
            port: 12080,
            region: "us-east-1".into(),
            credentials: Vec::new(),
            buckets: BucketStores::default(),
            multipart_expiry: Seconds::from_secs(7 * 24 * 3600),
            rate_limiting: RateLimiting::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Credential {
    pub access_key: String,
    pub secret_key: String,
    /// The identity its requests act as on files (permissions, owners).
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
    /// Its access to buckets it did not create and that do not list it.
    #[serde(default)]
    pub default_access: S3Access,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct BucketStores {
    /// Empty means the stores of the first share.
    pub metadata_store: String,
    pub payload_store: String,
    pub durability: Durability,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NfsAdapterConfig {
    pub enabled: bool,
    /// The address to listen on.
    pub bind: String,
    /// NFS, MOUNT and the portmapper all answer here.
    pub port: u16,
    /// 0 means no limit.
    pub max_connections: u32,
    /// Largest READ/WRITE (FSINFO rtmax/wtmax).
    pub max_io_size: ByteSize,
    /// Largest RPC record accepted; a bigger one closes its connection.
    pub max_record_size: ByteSize,
    #[serde(deserialize_with = "null_is_default")]
    pub portmapper: Portmapper,
    /// NFS's own request rate, on top of `server.rate_limiting`.
    #[serde(deserialize_with = "null_is_default")]
    pub rate_limiting: RateLimiting,
}

impl Default for NfsAdapterConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: "127.0.0.1".into(),
            port: 12049,
            max_connections: 0,
            max_io_size: ByteSize(1 << 20),
            max_record_size: ByteSize((1 << 20) + (64 << 10)),
            portmapper: Portmapper::default(),
            rate_limiting: RateLimiting::default(),
        }
    }
}

/// The portmapper on its standard port, for clients that know no other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Portmapper {
    pub enabled: bool,
    pub port: u16,
}

impl Default for Portmapper {
    fn default() -> Self {
        Self {
            enabled: false,
            port: 111,
        }
    }
}
