//! From a checked configuration to running shares: open every named store
//! once, build the registry, run the adapters, stop gracefully.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dittofs_blocks::BlockStore;
use dittofs_content::{ContentOptions, DataPath, Durability};
use dittofs_meta::{Cidr, ClientRules, MetadataStore, RootAttrs, ShareOptions, Squash};
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config, ShareConfig, share_bucket, valid_bucket_name};
use crate::registry::{BucketSettings, CREATED_XATTR, ShareFactory};
use crate::stores::{OpenContext, StoreKinds};
use crate::traced::{TracedBlockStore, TracedMetadataStore};
use crate::{
    Adapter, AdapterError, DataDir, DataDirError, Registry, RegistryError, ShareSpec, run_adapters,
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error("{section}.stores.{name}: cannot open {kind} store: {detail}")]
    Store {
        section: &'static str,
        name: String,
        kind: String,
        detail: String,
    },
    #[error("{section}.stores.{name}: type {kind:?} is not available in this build")]
    Unavailable {
        section: &'static str,
        name: String,
        kind: String,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// The uid and gid running this process: the default owner of a new share
/// root, as with a directory the user would create themselves.
fn process_owner() -> (u32, u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(m) = std::fs::metadata("/proc/self") {
            return (m.uid(), m.gid());
        }
    }
    (0, 0)
}

fn durability(d: config::Durability) -> Durability {
    match d {
        config::Durability::Local => Durability::Local,
        config::Durability::Remote => Durability::Remote,
        config::Durability::None => Durability::None,
    }
}

pub fn share_options(s: &ShareConfig) -> ShareOptions {
    let cidrs = |list: &[String]| list.iter().filter_map(|c| c.parse::<Cidr>().ok()).collect();
    ShareOptions {
        read_only: s.read_only,
        squash: Squash {
            all: s.squash.map_all_to_anonymous,
            privileged: s.squash.map_privileged_to_anonymous,
            anon_uid: s.squash.anonymous_uid,
            anon_gid: s.squash.anonymous_gid,
        },
        clients: ClientRules {
            allowed: cidrs(&s.allowed_clients),
            denied: cidrs(&s.denied_clients),
        },
        dump_restricted: s.dump_restricted,
    }
}

/// Each named store opened once, however many shares name it.
struct Stores<'a> {
    config: &'a Config,
    kinds: &'a StoreKinds,
    data_dir: &'a DataDir,
    metas: BTreeMap<String, Arc<dyn MetadataStore>>,
    payloads: BTreeMap<String, Arc<dyn BlockStore>>,
}

impl Stores<'_> {
    async fn metadata(&mut self, name: &str) -> Result<Arc<dyn MetadataStore>, StartError> {
        if let Some(s) = self.metas.get(name) {
            return Ok(s.clone());
        }
        let cfg = &self.config.metadata.stores[name];
        let kind = self
            .kinds
            .metadata(&cfg.kind)
            .ok_or_else(|| StartError::Unavailable {
                section: "metadata",
                name: name.to_owned(),
                kind: cfg.kind.clone(),
            })?;
        let cx = OpenContext {
            name,
            data_dir: self.data_dir,
        };
        let store = kind
            .open(cfg, &cx)
            .await
            .map_err(|detail| StartError::Store {
                section: "metadata",
                name: name.to_owned(),
                kind: cfg.kind.clone(),
                detail,
            })?;
        let store: Arc<dyn MetadataStore> = if self.config.telemetry.enabled {
            Arc::new(TracedMetadataStore(store))
        } else {
            store
        };
        self.metas.insert(name.to_owned(), store.clone());
        Ok(store)
    }

    async fn payload(&mut self, name: &str) -> Result<Arc<dyn BlockStore>, StartError> {
        if let Some(s) = self.payloads.get(name) {
            return Ok(s.clone());
        }
        let cfg = &self.config.payload.stores[name];
        let kind = self
            .kinds
            .payload(&cfg.kind)
            .ok_or_else(|| StartError::Unavailable {
                section: "payload",
                name: name.to_owned(),
                kind: cfg.kind.clone(),
            })?;
        let cx = OpenContext {
            name,
            data_dir: self.data_dir,
        };
        let store = kind
            .open(cfg, &cx)
            .await
            .map_err(|detail| StartError::Store {
                section: "payload",
                name: name.to_owned(),
                kind: cfg.kind.clone(),
                detail,
            })?;
        let store: Arc<dyn BlockStore> = if self.config.telemetry.enabled {
            Arc::new(TracedBlockStore(store))
        } else {
            store
        };
        let store = crate::meter::MeteredBlockStore::wrap(name, store);
        self.payloads.insert(name.to_owned(), store.clone());
        Ok(store)
    }
}

/// The shares S3 CreateBucket made on earlier runs: those in the bucket
/// store whose root carries the created mark and that the configuration
/// does not name.
async fn created_shares(config: &Config, f: &ShareFactory) -> Result<Vec<ShareSpec>, StartError> {
    let store_error = |e: dittofs_meta::StoreError| StartError::Store {
        section: "metadata",
        name: "(buckets)".into(),
        kind: f.metadata.kind().into(),
        detail: e.to_string(),
    };
    let mut specs = Vec::new();
    for (name, root) in f.metadata.list_shares().await.map_err(store_error)? {
        if config.shares.iter().any(|s| s.name == name) {
            continue;
        }
        let Some(inode) = f.metadata.get_inode(root).await.map_err(store_error)? else {
            continue;
        };
        if !inode.xattrs.contains_key(CREATED_XATTR) {
            continue;
        }
        let bucket = name.trim_start_matches('/').to_owned();
        if !valid_bucket_name(&bucket)
            || config
                .shares
                .iter()
                .any(|s| share_bucket(s).as_deref() == Some(&bucket))
        {
            tracing::warn!(share = %name, "created share hidden by a configured bucket of that name");
            continue;
        }
        specs.push(ShareSpec {
            content: ContentOptions {
                journal: ShareFactory::journal_of(&f.journals, &name),
                durability: f.durability,
                block_size: f.block_size,
            },
            name,
            metadata: f.metadata.clone(),
            blocks: f.blocks.clone(),
            options: ShareOptions::default(),
            root: RootAttrs {
                mode: inode.mode,
                uid: inode.uid,
                gid: inode.gid,
            },
            bucket: BucketSettings {
                name: Some(bucket),
                anonymous_read: false,
                access: BTreeMap::new(),
            },
            created: true,
        });
    }
    Ok(specs)
}

/// An opened store, of either section.
#[derive(Clone)]
pub enum StoreHandle {
    Metadata(Arc<dyn MetadataStore>),
    Blocks(Arc<dyn BlockStore>),
}

/// A store the configuration names, as opened (for health and status).
#[derive(Clone)]
pub struct NamedStore {
    /// `metadata` or `payload`, the configuration section.
    pub section: &'static str,
    pub name: String,
    pub kind: String,
    pub store: StoreHandle,
}

/// The shares of a configuration, served.
pub struct Server {
    pub registry: Arc<Registry>,
    pub data_dir: DataDir,
    /// Every store opened, metadata stores first, each by name.
    pub stores: Vec<NamedStore>,
    shutdown_timeout: Duration,
}

impl Server {
    /// Opens every store that a share names (each once, however many
    /// shares name it) and builds the registry.
    pub async fn start(config: &Config, kinds: &StoreKinds) -> Result<Self, StartError> {
        let data_dir = if config.server.data_dir.trim().is_empty() {
            DataDir::default_location()?
        } else {
            DataDir::new(config.server.data_dir.trim())
        };
        data_dir.create()?;
        let key = match config.server.handle_key_file.trim() {
            "" => data_dir.handle_key()?,
            file => data_dir.handle_key_in(std::path::Path::new(file))?,
        };
        let mut stores = Stores {
            config,
            kinds,
            data_dir: &data_dir,
            metas: BTreeMap::new(),
            payloads: BTreeMap::new(),
        };
        let (uid, gid) = process_owner();
        let journals = |meta: &Arc<dyn MetadataStore>| {
            // A store that forgets at exit needs no journal to survive a
            // crash.
            (meta.kind() != "memory").then(|| data_dir.path().join("journal"))
        };
        let mut specs = Vec::new();
        for share in &config.shares {
            let meta = stores.metadata(&share.metadata_store).await?;
            let blocks = stores.payload(&share.payload_store).await?;
            specs.push(ShareSpec {
                name: share.name.clone(),
                content: ContentOptions {
                    journal: ShareFactory::journal_of(&journals(&meta), &share.name),
                    durability: durability(share.durability),
                    block_size: config.payload.stores[&share.payload_store].block_size.0,
                },
                metadata: meta,
                blocks,
                options: share_options(share),
                root: RootAttrs {
                    mode: share.root.mode.0,
                    uid: share.root.uid.unwrap_or(uid),
                    gid: share.root.gid.unwrap_or(gid),
                },
                bucket: BucketSettings {
                    name: share_bucket(share),
                    anonymous_read: share.s3.anonymous_read,
                    access: share.s3.access.clone(),
                },
                created: false,
            });
        }
        let factory = if config.adapters.s3.enabled {
            let b = &config.adapters.s3.buckets;
            let (meta_name, payload_name) = if b.metadata_store.is_empty() {
                let first = &config.shares[0];
                (first.metadata_store.as_str(), first.payload_store.as_str())
            } else {
                (b.metadata_store.as_str(), b.payload_store.as_str())
            };
            let meta = stores.metadata(meta_name).await?;
            let blocks = stores.payload(payload_name).await?;
            let factory = ShareFactory {
                journals: journals(&meta),
                metadata: meta,
                blocks,
                durability: durability(b.durability),
                block_size: config.payload.stores[payload_name].block_size.0,
            };
            specs.extend(created_shares(config, &factory).await?);
            Some(factory)
        } else {
            None
        };
        for name in config
            .metadata
            .stores
            .keys()
            .filter(|n| !stores.metas.contains_key(n.as_str()))
        {
            tracing::warn!(store = %name, "metadata store is not used by any share; not opened");
        }
        for name in config
            .payload
            .stores
            .keys()
            .filter(|n| !stores.payloads.contains_key(n.as_str()))
        {
            tracing::warn!(store = %name, "payload store is not used by any share; not opened");
        }
        let mut named: Vec<NamedStore> = stores
            .metas
            .iter()
            .map(|(name, s)| NamedStore {
                section: "metadata",
                name: name.clone(),
                kind: s.kind().to_owned(),
                store: StoreHandle::Metadata(s.clone()),
            })
            .collect();
        named.extend(stores.payloads.iter().map(|(name, s)| NamedStore {
            section: "payload",
            name: name.clone(),
            kind: s.kind().to_owned(),
            store: StoreHandle::Blocks(s.clone()),
        }));
        let data_path = DataPath::new(config.cache.max_size.0);
        let mut registry = Registry::build(key, specs, &data_path, factory).await?;
        registry.limit_requests(crate::RequestLimit::new(&config.server.rate_limiting));
        Ok(Self {
            registry: Arc::new(registry),
            data_dir,
            stores: named,
            shutdown_timeout: config.server.shutdown_timeout.0,
        })
    }

    /// Serves until `shutdown` is cancelled; requests in progress then get
    /// `shutdown_timeout` to finish before their connections are dropped.
    /// Then every share's written data is made durable
    /// ([`Registry::settle`]).
    pub async fn run(
        self,
        adapters: Vec<Box<dyn Adapter>>,
        shutdown: CancellationToken,
    ) -> Result<(), AdapterError> {
        let served = run_adapters(
            adapters,
            self.registry.clone(),
            shutdown,
            self.shutdown_timeout,
        )
        .await;
        // Even after a failed adapter: what was acknowledged must not wait
        // for the next start's replay to be durable.
        if !self.registry.settle(self.shutdown_timeout).await {
            return served.and(Err(AdapterError::Failed {
                adapter: "shutdown",
                detail: "written data of some shares could not be made durable (see the log)"
                    .into(),
            }));
        }
        tracing::info!("written data is durable");
        served
    }
}
