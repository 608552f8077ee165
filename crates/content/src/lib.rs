//! The content layer of DittoFS: the bytes of files.
//!
//! [`ContentService`] owns one share's data path. A WRITE goes to the
//! share's journal (append-only segments, a checksum per record, group
//! sync) and into memory, and is acknowledged; a background flusher later
//! cuts files into blocks named by their BLAKE3 hash, stores the ones the
//! block store does not already have, and maps them into the file in one
//! metadata transaction. READs overlay what is still in memory on the
//! extent map, with blocks from a cache shared by every share, and
//! read-ahead for sequential readers. Memory for unflushed data is bounded;
//! past it writers are pushed back. A writer that makes a whole new file
//! at once (an S3 PUT) skips the journal: a [`DirectWriter`] stores its
//! blocks as they fill, or keeps a small file inline, and
//! [`ContentService::publish`] links the file in one metadata transaction.
//!
//! It asks the metadata service whether a caller may read or write and has
//! it record every extent-map change in a metadata transaction; it never
//! decides a permission itself and knows no wire protocol. Adapters call
//! it for READ, WRITE, COMMIT and FSSTAT.

mod cache;
mod core;
mod direct;
mod dirty;
mod flush;
mod hooks;
mod journal;
mod locks;
mod read;
mod service;
#[cfg(test)]
mod testing;
mod write;

use std::sync::Arc;

pub use crate::cache::{BlockCache, CacheStats};
pub use crate::core::Durability;
pub use crate::direct::{DirectContent, DirectWriter};
pub use crate::dirty::DirtyBudget;
pub use crate::journal::{JournalError, JournalStats};
pub use service::{
    ContentError, ContentOptions, ContentService, ContentStats, FsStat, MAX_FILE_SIZE, ReadOutcome,
    Stability, WriteResult,
};

/// What every share's data path shares: the block cache and the memory
/// budget for unflushed data.
#[derive(Clone)]
pub struct DataPath {
    pub cache: BlockCache,
    pub budget: Arc<DirtyBudget>,
}

impl DataPath {
    /// `cache_bytes` for cached blocks, and half as much again for data
    /// written and not yet flushed.
    pub fn new(cache_bytes: u64) -> Self {
        Self {
            cache: BlockCache::new(cache_bytes),
            budget: Arc::new(DirtyBudget::new(cache_bytes / 2)),
        }
    }
}
