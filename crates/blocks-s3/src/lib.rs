//! File data in any S3-compatible object store: each block is one object,
//! named by its content hash (`<prefix>/blocks/<2 hex>/<64 hex>`), so two
//! servers sharing a bucket never overwrite each other's blocks and a
//! listing comes out in block-id order.
//!
//! It owns talking S3 (through `object_store`: SigV4, retries with
//! exponential backoff and jitter on network errors, throttling and 5xx,
//! timeouts), ranged reads, multipart puts of big blocks and batched
//! deletes. It must not know files or metadata: capacity figures for
//! FSSTAT come from the metadata layer's counters, not from here.

use std::ops::Range;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use dittofs_blocks::{BlockError, BlockId, BlockStore, Capacity};
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload,
    RetryConfig,
};

/// Where the blocks go and how to reach it.
#[derive(Debug, Clone)]
pub struct S3BlockSettings {
    /// `http(s)://host:port`; empty means AWS for `region`.
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// Prepended to every key, without a trailing `/`; may be empty.
    pub prefix: String,
    /// Empty: from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and
    /// AWS_SESSION_TOKEN).
    pub access_key: String,
    pub secret_key: String,
    pub virtual_hosted: bool,
    /// Deadline of one request.
    pub timeout: Duration,
    /// Retries of a failed request (network errors, 503 SlowDown, 5xx).
    pub max_retries: usize,
    /// Blocks at least this big are put in parts.
    pub multipart_threshold: u64,
}

pub struct S3BlockStore {
    store: AmazonS3,
    prefix: String,
    multipart_threshold: u64,
}

fn unavailable(e: object_store::Error) -> BlockError {
    BlockError::Unavailable(e.to_string())
}

impl S3BlockStore {
    pub fn open(s: &S3BlockSettings) -> Result<Self, BlockError> {
        // reqwest needs a process-wide TLS provider even for http://.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&s.bucket)
            .with_region(&s.region)
            .with_virtual_hosted_style_request(s.virtual_hosted)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(true)
                    .with_timeout(s.timeout)
                    .with_connect_timeout(s.timeout.min(Duration::from_secs(10))),
            )
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(15),
                    base: 2.0,
                },
                max_retries: s.max_retries,
                retry_timeout: s.timeout * (s.max_retries as u32 + 1),
            });
        if !s.endpoint.is_empty() {
            b = b.with_endpoint(&s.endpoint);
        }
        if !s.access_key.is_empty() {
            b = b
                .with_access_key_id(&s.access_key)
                .with_secret_access_key(&s.secret_key);
        }
        let store = b
            .build()
            .map_err(|e| BlockError::Unavailable(format!("S3 block store: {e}")))?;
        Ok(Self {
            store,
            prefix: s.prefix.trim_matches('/').to_owned(),
            multipart_threshold: s.multipart_threshold.max(5 << 20),
        })
    }

    fn blocks_dir(&self) -> String {
        if self.prefix.is_empty() {
            "blocks".to_owned()
        } else {
            format!("{}/blocks", self.prefix)
        }
    }

    fn path(&self, id: &BlockId) -> Path {
        let hex = id.to_hex();
        Path::from(format!("{}/{}/{}", self.blocks_dir(), &hex[..2], hex))
    }

    fn id_of(location: &Path) -> Option<BlockId> {
        location.filename().and_then(BlockId::from_hex)
    }

    async fn size(&self, id: &BlockId) -> Result<u64, BlockError> {
        match self.store.head(&self.path(id)).await {
            Ok(m) => Ok(m.size),
            Err(object_store::Error::NotFound { .. }) => Err(BlockError::NotFound(*id)),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[async_trait]
impl BlockStore for S3BlockStore {
    fn kind(&self) -> &'static str {
        "s3"
    }

    async fn put(&self, id: &BlockId, data: Bytes) -> Result<(), BlockError> {
        let path = self.path(id);
        if (data.len() as u64) < self.multipart_threshold {
            self.store
                .put(&path, PutPayload::from(data))
                .await
                .map_err(unavailable)?;
            return Ok(());
        }
        // An object appears only when its upload completes, so a reader
        // never sees part of a block.
        let mut upload = self.store.put_multipart(&path).await.map_err(unavailable)?;
        let part = self.multipart_threshold as usize;
        let mut at = 0;
        while at < data.len() {
            let end = (at + part).min(data.len());
            if let Err(e) = upload.put_part(PutPayload::from(data.slice(at..end))).await {
                let _ = upload.abort().await;
                return Err(unavailable(e));
            }
            at = end;
        }
        upload.complete().await.map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, id: &BlockId, range: Range<u64>) -> Result<Bytes, BlockError> {
        if range.start > range.end {
            return Err(BlockError::InvalidRange {
                id: *id,
                start: range.start,
                end: range.end,
                len: self.size(id).await?,
            });
        }
        if range.start < range.end {
            let opts = GetOptions {
                range: Some(GetRange::Bounded(range.clone())),
                ..GetOptions::default()
            };
            match self.store.get_opts(&self.path(id), opts).await {
                Ok(r) => return r.bytes().await.map_err(unavailable),
                Err(object_store::Error::NotFound { .. }) => return Err(BlockError::NotFound(*id)),
                // A start at or past the end: decided below from the size.
                Err(_) => {}
            }
        }
        let len = self.size(id).await?;
        if range.start > len {
            return Err(BlockError::InvalidRange {
                id: *id,
                start: range.start,
                end: range.end,
                len,
            });
        }
        if range.start >= range.end.min(len) {
            return Ok(Bytes::new());
        }
        // The ranged read failed for another reason: read it again.
        let opts = GetOptions {
            range: Some(GetRange::Bounded(range.start..range.end.min(len))),
            ..GetOptions::default()
        };
        let r = self
            .store
            .get_opts(&self.path(id), opts)
            .await
            .map_err(unavailable)?;
        r.bytes().await.map_err(unavailable)
    }

    async fn contains(&self, id: &BlockId) -> Result<bool, BlockError> {
        match self.size(id).await {
            Ok(_) => Ok(true),
            Err(BlockError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, id: &BlockId) -> Result<(), BlockError> {
        match self.store.delete(&self.path(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn delete_many(&self, ids: &[BlockId]) -> Result<(), BlockError> {
        let paths: Vec<Path> = ids.iter().map(|id| self.path(id)).collect();
        let stream = futures::stream::iter(paths.into_iter().map(Ok)).boxed();
        let mut deleted = self.store.delete_stream(stream);
        while let Some(r) = deleted.next().await {
            match r {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        Ok(())
    }

    async fn list(
        &self,
        after: Option<&BlockId>,
        limit: usize,
    ) -> Result<Vec<BlockId>, BlockError> {
        let dir = Path::from(self.blocks_dir());
        let listed = match after {
            Some(a) => self.store.list_with_offset(Some(&dir), &self.path(a)),
            None => self.store.list(Some(&dir)),
        };
        listed
            .try_filter_map(|m| futures::future::ready(Ok(Self::id_of(&m.location))))
            .take(limit)
            .try_collect::<Vec<_>>()
            .await
            .map_err(unavailable)
    }

    async fn capacity(&self) -> Result<Capacity, BlockError> {
        // An object store has no size; FSSTAT's used bytes come from the
        // metadata layer's counters.
        Ok(Capacity {
            total_bytes: 1 << 60,
            free_bytes: 1 << 60,
        })
    }
}
