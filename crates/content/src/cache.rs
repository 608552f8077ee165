//! The block cache: pieces of blocks in memory, least recently used first
//! out, bounded by `cache.max_size`.
//!
//! Blocks are immutable and named by their content, so one cache serves
//! every share and every block store, and nothing in it is ever stale. A
//! block is cached in aligned chunks, so a 4 KiB read of a 4 MiB block
//! fetches one chunk, not the block; concurrent misses on one chunk share
//! one fetch.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use dittofs_blocks::{BlockError, BlockId, BlockStore};
use moka::future::Cache;

/// The unit of caching and of block-store reads.
pub const CHUNK: u64 = 128 * 1024;

#[derive(Clone)]
pub struct BlockCache {
    chunks: Cache<(BlockId, u32), Bytes>,
    capacity: u64,
    counts: Arc<Counts>,
}

/// Chunk lookups since start: one relaxed add per chunk read, which the
/// moka lookup beside it dwarfs.
#[derive(Default)]
struct Counts {
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

/// What the cache holds and how it has been doing since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub bytes: u64,
    pub capacity: u64,
    pub chunks: u64,
    /// Chunk reads served from memory (including those that waited on a
    /// fetch another reader started).
    pub hits: u64,
    /// Chunk reads that went to the block store.
    pub misses: u64,
    /// Chunks dropped to make room.
    pub evictions: u64,
}

/// A fetch error shared by every reader that waited on the same fetch.
fn unshare(id: &BlockId, e: Arc<BlockError>) -> BlockError {
    match &*e {
        BlockError::NotFound(id) => BlockError::NotFound(*id),
        // The store is down, not the block damaged: the caller may retry.
        BlockError::Unavailable(why) => BlockError::Unavailable(why.clone()),
        other => BlockError::Corrupt {
            id: *id,
            detail: other.to_string(),
        },
    }
}

impl BlockCache {
    pub fn new(capacity_bytes: u64) -> Self {
        let counts = Arc::new(Counts::default());
        let evicted = counts.clone();
        Self {
            chunks: Cache::builder()
                .max_capacity(capacity_bytes)
                .weigher(|_, v: &Bytes| (v.len() as u32).saturating_add(64))
                .eviction_listener(move |_, _, cause| {
                    if cause == moka::notification::RemovalCause::Size {
                        evicted.evictions.fetch_add(1, Ordering::Relaxed);
                    }
                })
                .build(),
            capacity: capacity_bytes,
            counts,
        }
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            bytes: self.chunks.weighted_size(),
            capacity: self.capacity,
            chunks: self.chunks.entry_count(),
            hits: self.counts.hits.load(Ordering::Relaxed),
            misses: self.counts.misses.load(Ordering::Relaxed),
            evictions: self.counts.evictions.load(Ordering::Relaxed),
        }
    }

    async fn chunk(
        &self,
        store: &Arc<dyn BlockStore>,
        id: &BlockId,
        n: u32,
    ) -> Result<Bytes, BlockError> {
        let start = n as u64 * CHUNK;
        let fetched = AtomicBool::new(false);
        let r = self
            .chunks
            .try_get_with((*id, n), async {
                fetched.store(true, Ordering::Relaxed);
                store.get(id, start..start + CHUNK).await
            })
            .await
            .map_err(|e| unshare(id, e));
        let count = if fetched.load(Ordering::Relaxed) {
            &self.counts.misses
        } else {
            &self.counts.hits
        };
        count.fetch_add(1, Ordering::Relaxed);
        r
    }

    /// Bytes `range` of block `id` (cut short at the block's end).
    pub async fn read(
        &self,
        store: &Arc<dyn BlockStore>,
        id: &BlockId,
        range: Range<u64>,
    ) -> Result<Bytes, BlockError> {
        if range.start >= range.end {
            return Ok(Bytes::new());
        }
        let first = (range.start / CHUNK) as u32;
        let last = ((range.end - 1) / CHUNK) as u32;
        if first == last {
            let c = self.chunk(store, id, first).await?;
            let lo = ((range.start % CHUNK) as usize).min(c.len());
            let hi = (lo + (range.end - range.start) as usize).min(c.len());
            return Ok(c.slice(lo..hi));
        }
        // Several chunks: fetch the missing ones at once.
        let mut fetches = tokio::task::JoinSet::new();
        for n in first..=last {
            let (this, store, id) = (self.clone(), store.clone(), *id);
            fetches.spawn(async move { (n, this.chunk(&store, &id, n).await) });
        }
        let mut parts = vec![Bytes::new(); (last - first + 1) as usize];
        while let Some(done) = fetches.join_next().await {
            let (n, r) = done.map_err(|e| BlockError::Unavailable(format!("cache fetch: {e}")))?;
            parts[(n - first) as usize] = r?;
        }
        let mut out = BytesMut::with_capacity((range.end - range.start) as usize);
        for (i, c) in parts.iter().enumerate() {
            let chunk_start = (first as u64 + i as u64) * CHUNK;
            let lo = (range.start.max(chunk_start) - chunk_start) as usize;
            let hi = ((range.end.min(chunk_start + CHUNK) - chunk_start) as usize).min(c.len());
            if lo < hi {
                out.extend_from_slice(&c[lo..hi]);
            }
            if c.len() < CHUNK as usize {
                break;
            }
        }
        Ok(out.freeze())
    }

    /// Loads `range` of a block in the background, for read-ahead.
    pub fn prefetch(&self, store: &Arc<dyn BlockStore>, id: BlockId, range: Range<u64>) {
        if range.start >= range.end {
            return;
        }
        let first = (range.start / CHUNK) as u32;
        let last = ((range.end - 1) / CHUNK) as u32;
        for n in first..=last {
            if self.chunks.contains_key(&(id, n)) {
                continue;
            }
            let (this, store) = (self.clone(), store.clone());
            tokio::spawn(async move {
                let _ = this.chunk(&store, &id, n).await;
            });
        }
    }

    pub fn weighted_size(&self) -> u64 {
        self.chunks.weighted_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dittofs_blocks::MemoryBlockStore;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_any_range_across_chunks() {
        let store: Arc<dyn BlockStore> = Arc::new(MemoryBlockStore::new());
        let data: Vec<u8> = (0..(3 * CHUNK as usize + 1000))
            .map(|i| (i * 7) as u8)
            .collect();
        let id = BlockId::of(&data);
        store.put(&id, Bytes::from(data.clone())).await.unwrap();
        let cache = BlockCache::new(64 << 20);
        for (a, b) in [
            (0u64, 10u64),
            (CHUNK - 5, CHUNK + 5),
            (100, 3 * CHUNK + 900),
            (3 * CHUNK, 3 * CHUNK + 5000),
        ] {
            let got = cache.read(&store, &id, a..b).await.unwrap();
            let hi = (b as usize).min(data.len());
            assert_eq!(&got[..], &data[a as usize..hi], "{a}..{b}");
        }
        // Served from the cache once the block is gone.
        store.delete(&id).await.unwrap();
        assert_eq!(
            cache.read(&store, &id, 5..9).await.unwrap(),
            Bytes::copy_from_slice(&data[5..9])
        );
        let stats = cache.stats();
        assert!(stats.misses >= 4, "every chunk was fetched once: {stats:?}");
        assert!(
            stats.hits >= 1,
            "the read after the delete was a hit: {stats:?}"
        );
        let other = BlockId::of(b"missing");
        assert!(matches!(
            cache.read(&store, &other, 0..4).await,
            Err(BlockError::NotFound(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_evictions_when_full() {
        let store: Arc<dyn BlockStore> = Arc::new(MemoryBlockStore::new());
        let cache = BlockCache::new(4 * CHUNK);
        for i in 0..16u32 {
            let data = vec![i as u8; CHUNK as usize];
            let id = BlockId::of(&data);
            store.put(&id, Bytes::from(data)).await.unwrap();
            cache.read(&store, &id, 0..CHUNK).await.unwrap();
        }
        cache.chunks.run_pending_tasks().await;
        let stats = cache.stats();
        assert_eq!(stats.misses, 16);
        assert!(stats.evictions >= 8, "16 chunks into room for 4: {stats:?}");
        assert!(stats.bytes <= stats.capacity);
    }
}
