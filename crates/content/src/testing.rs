//! A share on memory stores with small windows, for the content layer's
//! own tests.

use std::sync::Arc;

use dittofs_blocks::MemoryBlockStore;
use dittofs_meta::{
    AuthContext, FileHandle, HandleKey, MemoryMetadataStore, MetadataService, MetadataStore,
    RootAttrs, ShareOptions,
};

use crate::{ContentOptions, ContentService, DataPath};

/// The block size of the test share.
pub(crate) const WINDOW: u64 = 4096;

pub(crate) struct Share {
    pub content: Arc<ContentService>,
    pub blocks: Arc<MemoryBlockStore>,
    pub store: Arc<dyn MetadataStore>,
    pub root: FileHandle,
}

pub(crate) async fn share() -> Share {
    let store: Arc<dyn MetadataStore> = Arc::new(MemoryMetadataStore::new());
    let key = Arc::new(HandleKey::from_bytes([3; 32]));
    let attrs = RootAttrs {
        mode: 0o777,
        uid: 0,
        gid: 0,
    };
    let meta = Arc::new(
        MetadataService::open("/t", store.clone(), key, ShareOptions::default(), attrs)
            .await
            .expect("open the share"),
    );
    let root = meta.root_fh(&AuthContext::root()).await.expect("root");
    let blocks = Arc::new(MemoryBlockStore::new());
    let options = ContentOptions {
        block_size: WINDOW,
        ..ContentOptions::default()
    };
    let content = ContentService::open(meta, blocks.clone(), options, &DataPath::new(64 << 20))
        .await
        .expect("open the content service");
    Share {
        content,
        blocks,
        store,
        root,
    }
}
