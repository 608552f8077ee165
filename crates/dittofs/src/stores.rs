//! The store types that live in their own crates, registered on top of the
//! runtime's built-in ones.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use dittofs_meta::MetadataStore;
use dittofs_meta_embedded::{EmbeddedOptions, EmbeddedStore};
use dittofs_runtime::config::MetadataStoreConfig;
use dittofs_runtime::{MetadataStoreKind, OpenContext, StoreKinds};

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

/// Every store type this binary can open.
pub fn kinds() -> StoreKinds {
    let mut kinds = StoreKinds::builtin();
    kinds.register_metadata("embedded", Embedded);
    kinds
}
