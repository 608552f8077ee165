//! Store types and how to open them. The runtime knows the light stores;
//! the binary registers heavier ones from their own crates, so this crate
//! never depends on a database client.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use dittofs_blocks::{BlockStore, FsBlockStore, MemoryBlockStore};
use dittofs_meta::{MemoryMetadataStore, MetadataStore};

use crate::DataDir;
use crate::config::{MetadataStoreConfig, PayloadStoreConfig};

/// What a store is opened with besides its own configuration.
pub struct OpenContext<'a> {
    /// The store's name in the configuration.
    pub name: &'a str,
    pub data_dir: &'a DataDir,
}

#[async_trait]
pub trait MetadataStoreKind: Send + Sync {
    async fn open(
        &self,
        config: &MetadataStoreConfig,
        cx: &OpenContext<'_>,
    ) -> Result<Arc<dyn MetadataStore>, String>;
}

#[async_trait]
pub trait PayloadStoreKind: Send + Sync {
    async fn open(
        &self,
        config: &PayloadStoreConfig,
        cx: &OpenContext<'_>,
    ) -> Result<Arc<dyn BlockStore>, String>;
}

/// The store types this server can open, by their `type` name.
pub struct StoreKinds {
    metadata: BTreeMap<String, Box<dyn MetadataStoreKind>>,
    payload: BTreeMap<String, Box<dyn PayloadStoreKind>>,
}

struct MemoryMeta;

#[async_trait]
impl MetadataStoreKind for MemoryMeta {
    async fn open(
        &self,
        _: &MetadataStoreConfig,
        _: &OpenContext<'_>,
    ) -> Result<Arc<dyn MetadataStore>, String> {
        Ok(Arc::new(MemoryMetadataStore::new()))
    }
}

struct FsBlocks;

#[async_trait]
impl PayloadStoreKind for FsBlocks {
    async fn open(
        &self,
        config: &PayloadStoreConfig,
        cx: &OpenContext<'_>,
    ) -> Result<Arc<dyn BlockStore>, String> {
        let settings = config.fs.clone().unwrap_or_default();
        let root = match settings.path.trim() {
            "" => cx.data_dir.path().join("blocks").join(cx.name),
            p => std::path::PathBuf::from(p),
        };
        let store = tokio::task::spawn_blocking(move || FsBlockStore::open(root))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(store))
    }
}

struct MemoryBlocks;

#[async_trait]
impl PayloadStoreKind for MemoryBlocks {
    async fn open(
        &self,
        _: &PayloadStoreConfig,
        _: &OpenContext<'_>,
    ) -> Result<Arc<dyn BlockStore>, String> {
        Ok(Arc::new(MemoryBlockStore::new()))
    }
}

impl StoreKinds {
    /// The stores that need nothing beyond this crate's dependencies: memory
    /// for both, and the fs block store.
    pub fn builtin() -> Self {
        let mut k = Self {
            metadata: BTreeMap::new(),
            payload: BTreeMap::new(),
        };
        k.register_metadata("memory", MemoryMeta);
        k.register_payload("memory", MemoryBlocks);
        k.register_payload("fs", FsBlocks);
        k
    }

    pub fn register_metadata(&mut self, kind: &str, opener: impl MetadataStoreKind + 'static) {
        self.metadata.insert(kind.to_owned(), Box::new(opener));
    }

    pub fn register_payload(&mut self, kind: &str, opener: impl PayloadStoreKind + 'static) {
        self.payload.insert(kind.to_owned(), Box::new(opener));
    }

    pub(crate) fn metadata(&self, kind: &str) -> Option<&dyn MetadataStoreKind> {
        self.metadata.get(kind).map(|b| &**b)
    }

    pub(crate) fn payload(&self, kind: &str) -> Option<&dyn PayloadStoreKind> {
        self.payload.get(kind).map(|b| &**b)
    }
}
