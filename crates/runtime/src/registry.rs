use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use dittofs_blocks::BlockStore;
use dittofs_content::{ContentError, ContentOptions, ContentService, DataPath, Durability};
use dittofs_meta::{
    AuthContext, FileHandle, FsError, FsResult, HandleKey, MetadataService, MetadataStore,
    RootAttrs, ShareId, ShareOptions, share_id,
};
use parking_lot::RwLock;

use crate::config::S3Access;
use crate::meter::{AdapterMeter, Vocabulary};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("share {0:?} is defined twice")]
    DuplicateShare(String),
    #[error("shares {a:?} and {b:?} have the same share id; rename one")]
    ShareIdCollision { a: String, b: String },
    #[error("share {share:?}: {source}")]
    Open { share: String, source: FsError },
    #[error("share {share:?}: {source}")]
    Content { share: String, source: ContentError },
    #[error("this server creates no shares at run time")]
    NoFactory,
}

/// The root xattr that marks a share created at run time (by S3
/// CreateBucket), so the server opens it again on its next start.
pub const CREATED_XATTR: &[u8] = b"dittofs.created";

/// How a share looks as an S3 bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketSettings {
    /// The bucket name; `None` when the share is not a bucket.
    pub name: Option<String>,
    pub anonymous_read: bool,
    /// Access of particular keys, over their default.
    pub access: BTreeMap<String, S3Access>,
}

/// What a share is made of, once its stores exist.
pub struct ShareSpec {
    pub name: String,
    pub metadata: Arc<dyn MetadataStore>,
    pub blocks: Arc<dyn BlockStore>,
    pub options: ShareOptions,
    pub root: RootAttrs,
    pub content: ContentOptions,
    pub bucket: BucketSettings,
    /// Created at run time rather than configured.
    pub created: bool,
}

/// One exported tree and the services that serve it.
pub struct Share {
    pub name: String,
    pub id: ShareId,
    pub meta: Arc<MetadataService>,
    pub content: Arc<ContentService>,
    pub bucket: BucketSettings,
    pub created: bool,
    journal: Option<PathBuf>,
}

/// Where shares created at run time go.
pub struct ShareFactory {
    pub metadata: Arc<dyn MetadataStore>,
    pub blocks: Arc<dyn BlockStore>,
    /// The directory under which each share's journal directory goes;
    /// `None` for stores that keep nothing across restarts.
    pub journals: Option<PathBuf>,
    pub durability: Durability,
    pub block_size: u64,
}

impl ShareFactory {
    /// The journal directory of the share `name`.
    pub fn journal_of(journals: &Option<PathBuf>, name: &str) -> Option<PathBuf> {
        journals
            .as_ref()
            .map(|j| j.join(format!("{:016x}", share_id(name))))
    }
}

#[derive(Default)]
struct State {
    by_id: HashMap<ShareId, Arc<Share>>,
    ordered: Vec<Arc<Share>>,
}

/// Every share of the server, found by name (MOUNT), by bucket (S3) or by
/// the share id inside a file handle. Shares may be added and removed
/// while serving.
pub struct Registry {
    key: Arc<HandleKey>,
    state: RwLock<State>,
    data_path: DataPath,
    factory: Option<ShareFactory>,
    /// Serializes creating and removing shares.
    changing: tokio::sync::Mutex<()>,
    limit: crate::RequestLimit,
    /// One per adapter serving, for the admin endpoint.
    meters: parking_lot::Mutex<Vec<Arc<AdapterMeter>>>,
}

impl Registry {
    pub async fn build(
        key: HandleKey,
        specs: Vec<ShareSpec>,
        data_path: &DataPath,
        factory: Option<ShareFactory>,
    ) -> Result<Self, RegistryError> {
        let registry = Self {
            key: Arc::new(key),
            state: RwLock::new(State::default()),
            data_path: data_path.clone(),
            factory,
            changing: tokio::sync::Mutex::new(()),
            limit: crate::RequestLimit::default(),
            meters: parking_lot::Mutex::new(Vec::new()),
        };
        for spec in specs {
            let share = registry.open(spec).await?;
            registry.insert(share)?;
        }
        Ok(registry)
    }

    /// Limits the rate of requests every adapter admits.
    pub fn limit_requests(&mut self, limit: crate::RequestLimit) {
        self.limit = limit;
    }

    /// At shutdown, once no adapter serves: every share's written data
    /// goes to its stores (for up to `budget` each), or stays safe in its
    /// synced journal, and the metadata stores are synced. Returns whether
    /// every share settled.
    pub async fn settle(&self, budget: std::time::Duration) -> bool {
        let mut ok = true;
        for share in self.shares() {
            if let Err(e) = share.content.settle(budget).await {
                tracing::error!(share = %share.name, error = %e, "could not make the share's written data durable");
                ok = false;
            }
        }
        ok
    }

    /// Whether a request may be served now (`server.rate_limiting`).
    pub fn admit(&self) -> bool {
        self.limit.admit()
    }

    /// The meter of an adapter about to serve, kept so that the admin
    /// endpoint can report on it.
    pub fn meter(&self, vocabulary: Vocabulary) -> Arc<AdapterMeter> {
        let m = Arc::new(AdapterMeter::new(vocabulary));
        self.meters.lock().push(m.clone());
        m
    }

    /// The meters of the adapters serving, in the order they started.
    pub fn meters(&self) -> Vec<Arc<AdapterMeter>> {
        self.meters.lock().clone()
    }

    /// The block cache and dirty-data budget every share uses.
    pub fn data_path(&self) -> &DataPath {
        &self.data_path
    }

    async fn open(&self, spec: ShareSpec) -> Result<Arc<Share>, RegistryError> {
        if self.share(&spec.name).is_some() {
            return Err(RegistryError::DuplicateShare(spec.name));
        }
        let meta = MetadataService::open(
            &spec.name,
            spec.metadata,
            self.key.clone(),
            spec.options,
            spec.root,
        )
        .await
        .map_err(|source| RegistryError::Open {
            share: spec.name.clone(),
            source,
        })?;
        let meta = Arc::new(meta);
        let journal = spec.content.journal.clone();
        let content =
            ContentService::open(meta.clone(), spec.blocks, spec.content, &self.data_path)
                .await
                .map_err(|source| RegistryError::Content {
                    share: spec.name.clone(),
                    source,
                })?;
        tracing::info!(share = %spec.name, bucket = spec.bucket.name.as_deref().unwrap_or("-"), metadata = meta.metadata_store().kind(), blocks = content.block_store().kind(), "share ready");
        Ok(Arc::new(Share {
            id: meta.share_id(),
            name: spec.name,
            meta,
            content,
            bucket: spec.bucket,
            created: spec.created,
            journal,
        }))
    }

    fn insert(&self, share: Arc<Share>) -> Result<(), RegistryError> {
        let mut state = self.state.write();
        if let Some(other) = state.by_id.get(&share.id) {
            return Err(RegistryError::ShareIdCollision {
                a: other.name.clone(),
                b: share.name.clone(),
            });
        }
        state.by_id.insert(share.id, share.clone());
        state.ordered.push(share);
        Ok(())
    }

    /// Shares in configuration order, then those created since.
    pub fn shares(&self) -> Vec<Arc<Share>> {
        self.state.read().ordered.clone()
    }

    pub fn share(&self, name: &str) -> Option<Arc<Share>> {
        self.state
            .read()
            .ordered
            .iter()
            .find(|s| s.name == name)
            .cloned()
    }

    /// The share served as S3 bucket `name`.
    pub fn bucket(&self, name: &str) -> Option<Arc<Share>> {
        self.state
            .read()
            .ordered
            .iter()
            .find(|s| s.bucket.name.as_deref() == Some(name))
            .cloned()
    }

    /// The share a handle belongs to and what the handle names. A handle
    /// not sealed by this server is `BadHandle`; one for a share that no
    /// longer exists is `Stale`.
    pub fn resolve(&self, handle: &[u8]) -> FsResult<(Arc<Share>, FileHandle)> {
        let fh = self.key.open(handle)?;
        let share = self
            .state
            .read()
            .by_id
            .get(&fh.share)
            .cloned()
            .ok_or(FsError::Stale)?;
        Ok((share, fh))
    }

    /// Creates share `/<bucket>` on the factory's stores, its root owned by
    /// `owner`, with `xattrs` on its root (besides the created mark).
    /// `Exists` if a share or bucket of that name is already served.
    pub async fn create_share(
        &self,
        bucket: &str,
        owner: (u32, u32),
        xattrs: Vec<(Bytes, Option<Bytes>)>,
        settings: BucketSettings,
    ) -> Result<Arc<Share>, RegistryError> {
        let f = self.factory.as_ref().ok_or(RegistryError::NoFactory)?;
        let _changing = self.changing.lock().await;
        let name = format!("/{bucket}");
        if self.share(&name).is_some() || self.bucket(bucket).is_some() {
            return Err(RegistryError::Open {
                share: name,
                source: FsError::Exists,
            });
        }
        let spec = ShareSpec {
            name: name.clone(),
            metadata: f.metadata.clone(),
            blocks: f.blocks.clone(),
            options: ShareOptions::default(),
            root: RootAttrs {
                mode: 0o755,
                uid: owner.0,
                gid: owner.1,
            },
            content: ContentOptions {
                journal: ShareFactory::journal_of(&f.journals, &name),
                durability: f.durability,
                block_size: f.block_size,
            },
            bucket: settings,
            created: true,
        };
        let share = self.open(spec).await?;
        let root = share
            .meta
            .root_handle(&AuthContext::root())
            .await
            .and_then(|h| self.key.open(&h));
        let mut marks = vec![(
            Bytes::from_static(CREATED_XATTR),
            Some(Bytes::from(
                dittofs_meta::Timestamp::now().secs.to_string().into_bytes(),
            )),
        )];
        marks.extend(xattrs);
        let marked = match root {
            Ok(fh) => {
                share
                    .meta
                    .set_xattrs(&AuthContext::root(), &fh, &marks)
                    .await
            }
            Err(e) => Err(e),
        };
        marked.map_err(|source| RegistryError::Open {
            share: name.clone(),
            source,
        })?;
        self.insert(share.clone())?;
        Ok(share)
    }

    /// Removes an empty share that was created at run time, as `ctx`
    /// (who must own its root).
    pub async fn remove_share(&self, name: &str, ctx: &AuthContext) -> FsResult<()> {
        let _changing = self.changing.lock().await;
        let share = self.share(name).ok_or(FsError::NotFound)?;
        if !share.created {
            return Err(FsError::NotPermitted);
        }
        share.meta.remove_share(ctx).await?;
        {
            let mut state = self.state.write();
            state.by_id.remove(&share.id);
            state.ordered.retain(|s| s.id != share.id);
        }
        if let Some(dir) = &share.journal
            && let Err(e) = std::fs::remove_dir_all(dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(share = name, dir = %dir.display(), error = %e, "could not remove the journal of a removed share");
        }
        tracing::info!(share = name, "share removed");
        Ok(())
    }
}
