//! The adapters' part of the configuration file: NFS, S3 and FUSE.

use serde::{Deserialize, Serialize};

use super::schema::{Durability, RateLimiting, S3Access, null_is_default};
use super::units::{ByteSize, Seconds};

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
