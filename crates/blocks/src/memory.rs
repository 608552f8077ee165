use std::collections::BTreeMap;
use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::RwLock;

use crate::store::clamp_range;
use crate::{BlockError, BlockId, BlockStore, Capacity};

/// Blocks in a map in memory; gone when the process exits.
#[derive(Default)]
pub struct MemoryBlockStore {
    blocks: RwLock<BTreeMap<BlockId, Bytes>>,
}

impl MemoryBlockStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.blocks.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.read().is_empty()
    }
}

#[async_trait]
impl BlockStore for MemoryBlockStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn put(&self, id: &BlockId, data: Bytes) -> Result<(), BlockError> {
        // Own the bytes: `data` may be a slice of a larger network buffer
        // that should not stay pinned for the block's lifetime.
        self.blocks
            .write()
            .entry(*id)
            .or_insert_with(|| Bytes::copy_from_slice(&data));
        Ok(())
    }

    async fn get(&self, id: &BlockId, range: Range<u64>) -> Result<Bytes, BlockError> {
        let blocks = self.blocks.read();
        let data = blocks.get(id).ok_or(BlockError::NotFound(*id))?;
        let r = clamp_range(id, range, data.len() as u64)?;
        Ok(data.slice(r))
    }

    async fn contains(&self, id: &BlockId) -> Result<bool, BlockError> {
        Ok(self.blocks.read().contains_key(id))
    }

    async fn delete(&self, id: &BlockId) -> Result<(), BlockError> {
        self.blocks.write().remove(id);
        Ok(())
    }

    async fn list(
        &self,
        after: Option<&BlockId>,
        limit: usize,
    ) -> Result<Vec<BlockId>, BlockError> {
        let blocks = self.blocks.read();
        let iter: Box<dyn Iterator<Item = &BlockId>> = match after {
            Some(a) => Box::new(
                blocks
                    .range((std::ops::Bound::Excluded(*a), std::ops::Bound::Unbounded))
                    .map(|(k, _)| k),
            ),
            None => Box::new(blocks.keys()),
        };
        Ok(iter.take(limit).copied().collect())
    }

    fn is_local(&self) -> bool {
        true
    }

    async fn capacity(&self) -> Result<Capacity, BlockError> {
        // Blocks held here already count against MemAvailable.
        let (total, available) = host_memory().unwrap_or((u64::MAX / 2, u64::MAX / 2));
        Ok(Capacity {
            total_bytes: total,
            free_bytes: available,
        })
    }
}

/// (MemTotal, MemAvailable) from /proc/meminfo: the medium a memory store
/// really lives on.
fn host_memory() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("MemTotal:")?, field("MemAvailable:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn conformance() {
        crate::conformance::run(|| async { std::sync::Arc::new(MemoryBlockStore::new()) }).await;
    }
}
