//! The configuration file's shape. Every struct refuses unknown keys, and
//! every key has a default, so a file only says what differs.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::adapters::Adapters;
use super::stores::{MetadataStoreConfig, PayloadStoreConfig, Stores};
use super::telemetry::Telemetry;
use super::units::{ByteSize, Mode, Seconds};

/// A section left empty (`server:` with every key commented out) means
/// its defaults, as if it were absent.
pub(super) fn null_is_default<'de, D, T>(d: D) -> Result<T, D::Error>
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
