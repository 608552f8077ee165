use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;

use crate::BlockId;

#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("block {0} does not exist")]
    NotFound(BlockId),
    #[error("range {start}..{end} is outside block {id} of {len} bytes")]
    InvalidRange {
        id: BlockId,
        start: u64,
        end: u64,
        len: u64,
    },
    #[error("block {id} is damaged: {detail}")]
    Corrupt { id: BlockId, detail: String },
    #[error("block store unavailable: {0}")]
    Unavailable(String),
    #[error("block store I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Space of the medium under a block store, for FSSTAT and `df`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub total_bytes: u64,
    pub free_bytes: u64,
}

/// Immutable, content-addressed blobs.
///
/// Contract (checked by the conformance suite):
/// - `put` of an id that exists is a no-op success; a block is visible to
///   `get` only once complete (a torn block is never returned).
/// - `get` returns exactly the requested range; a range that ends past the
///   block is cut short at its end; a range starting past the end is
///   `InvalidRange`; an unknown id is `NotFound`.
/// - `delete` is idempotent.
/// - `list` pages through every id in ascending order, after `after`.
#[async_trait]
pub trait BlockStore: Send + Sync + 'static {
    /// The store type as named in configuration (`memory`, `fs`, `s3`...).
    fn kind(&self) -> &'static str;

    async fn put(&self, id: &BlockId, data: Bytes) -> Result<(), BlockError>;

    async fn get(&self, id: &BlockId, range: Range<u64>) -> Result<Bytes, BlockError>;

    async fn contains(&self, id: &BlockId) -> Result<bool, BlockError>;

    async fn delete(&self, id: &BlockId) -> Result<(), BlockError>;

    async fn delete_many(&self, ids: &[BlockId]) -> Result<(), BlockError> {
        for id in ids {
            self.delete(id).await?;
        }
        Ok(())
    }

    async fn list(&self, after: Option<&BlockId>, limit: usize)
    -> Result<Vec<BlockId>, BlockError>;

    async fn capacity(&self) -> Result<Capacity, BlockError>;

    /// Whether reads are as cheap as the kernel's page cache (a local disk
    /// or memory): callers then need no cache of their own in front.
    fn is_local(&self) -> bool {
        false
    }
}

/// Cuts `range` down to a block of `len` bytes per the trait contract.
pub(crate) fn clamp_range(
    id: &BlockId,
    range: Range<u64>,
    len: u64,
) -> Result<Range<usize>, BlockError> {
    if range.start > len || range.start > range.end {
        return Err(BlockError::InvalidRange {
            id: *id,
            start: range.start,
            end: range.end,
            len,
        });
    }
    Ok(range.start as usize..range.end.min(len) as usize)
}
